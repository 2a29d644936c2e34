-- trailgraph, beyond one machine: the detector `session_multi_ip` over every attributed event,
-- as `trailgraph anomalies` runs it with its default settings (docs/anomalies.md: prefix_len
-- 16, window 10 min, include_private false; no allow-list). One text for Spark SQL,
-- Trino/Athena and DuckDB.
--
-- Reads `attributed` (the result of dedup_attribute.sql). A temporary key (ASIA…) has a home
-- address, the IPv4 address of its earliest use (ties in evidence order: source_file,
-- record_index); the finding is the first use from another /prefix_len network within `window`
-- of a use from home, in the order the key's uses are walked: a use right after a home use
-- within the window fires at once; otherwise it waits for the next home use, which fires with
-- the earliest waiting use still within the window. One finding per key.
WITH params AS (
  SELECT 16 AS prefix_len, INTERVAL '10' MINUTE AS win, FALSE AS include_private
),
parsed AS (
  SELECT
    a.access_key_id AS access_key, a.event_time, a.event_id, a.origin, a.source_ip,
    a.source_file, a.record_index,
    CASE WHEN regexp_extract(a.source_ip, '^[0-9]{1,3}[.][0-9]{1,3}[.][0-9]{1,3}[.][0-9]{1,3}$', 0) = a.source_ip
         THEN TRY_CAST(split_part(a.source_ip, '.', 1) AS BIGINT) END AS o1,
    TRY_CAST(split_part(a.source_ip, '.', 2) AS BIGINT) AS o2,
    TRY_CAST(split_part(a.source_ip, '.', 3) AS BIGINT) AS o3,
    TRY_CAST(split_part(a.source_ip, '.', 4) AS BIGINT) AS o4
  FROM attributed a
  WHERE a.access_key_id LIKE 'ASIA%' AND a.event_time IS NOT NULL
),
uses AS (
  -- Uses from counted IPv4 addresses: public ones (and private ones with include_private);
  -- loopback, link-local, documentation, multicast, reserved and unspecified never count.
  SELECT p.*, p.o1 * 16777216 + p.o2 * 65536 + p.o3 * 256 + p.o4 AS ip
  FROM parsed p CROSS JOIN params
  WHERE p.o1 <= 255 AND p.o2 <= 255 AND p.o3 <= 255 AND p.o4 <= 255
    AND NOT (p.o1 = 0 OR p.o1 = 127 OR p.o1 >= 224
             OR (p.o1 = 169 AND p.o2 = 254)
             OR (p.o1 = 192 AND p.o2 = 0 AND p.o3 IN (0, 2))
             OR (p.o1 = 198 AND p.o2 = 51 AND p.o3 = 100)
             OR (p.o1 = 203 AND p.o2 = 0 AND p.o3 = 113)
             OR (p.o1 = 198 AND p.o2 IN (18, 19)))
    AND (params.include_private
         OR NOT (p.o1 = 10
                 OR (p.o1 = 172 AND p.o2 BETWEEN 16 AND 31)
                 OR (p.o1 = 192 AND p.o2 = 168)
                 OR (p.o1 = 100 AND p.o2 BETWEEN 64 AND 127)))
),
walked AS (
  SELECT u.*,
    ROW_NUMBER() OVER (PARTITION BY access_key ORDER BY event_time, source_file, record_index) AS seq,
    FIRST_VALUE(ip) OVER (PARTITION BY access_key ORDER BY event_time, source_file, record_index) AS home,
    FIRST_VALUE(source_ip) OVER (PARTITION BY access_key ORDER BY event_time, source_file, record_index) AS home_address
  FROM uses u
),
marked AS (
  SELECT w.*,
    FLOOR(w.ip / POWER(2, 32 - params.prefix_len)) <> FLOOR(w.home / POWER(2, 32 - params.prefix_len)) AS is_other,
    -- The last home use before this one, and the next home use after it.
    MAX(CASE WHEN w.ip = w.home THEN w.event_time END) OVER (
      PARTITION BY w.access_key ORDER BY w.seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_home_time,
    MIN(CASE WHEN w.ip = w.home THEN w.event_time END) OVER (
      PARTITION BY w.access_key ORDER BY w.seq ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_home_time,
    MIN(CASE WHEN w.ip = w.home THEN w.seq END) OVER (
      PARTITION BY w.access_key ORDER BY w.seq ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_home_seq
  FROM walked w CROSS JOIN params
),
triggered AS (
  -- Where in the walk each use from another network would fire: at itself, or at the next
  -- home use.
  SELECT m.*,
    CASE WHEN m.is_other AND m.prev_home_time IS NOT NULL AND m.event_time <= m.prev_home_time + params.win
           THEN m.seq
         WHEN m.is_other AND m.next_home_time IS NOT NULL AND m.next_home_time <= m.event_time + params.win
           THEN m.next_home_seq END AS fires_at
  FROM marked m CROSS JOIN params
),
first_fired AS (
  SELECT t.*, ROW_NUMBER() OVER (PARTITION BY access_key ORDER BY fires_at, seq) AS rank_in_key
  FROM triggered t
  WHERE t.fires_at IS NOT NULL
)
SELECT
  'session_multi_ip' AS kind,
  'medium' AS severity,
  f.access_key AS subject,
  f.origin,
  COALESCE(f.event_id, '') AS first_event_id,
  f.event_time AS "time",
  f.source_ip AS address,
  f.home_address
FROM first_fired f
WHERE f.rank_in_key = 1

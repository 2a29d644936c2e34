-- trailgraph, beyond one machine: the detector `workload_credential_exfiltration` over every
-- attributed event, as `trailgraph anomalies` runs it with its default settings
-- (docs/anomalies.md: no aws_ip_ranges, include_private false; no allow-list). One text for
-- Spark SQL, Trino/Athena and DuckDB.
--
-- Reads `attributed` (the result of dedup_attribute.sql) and `events` (for the identity ARN and
-- the two workload markers of an event). A workload is a role + session name; its sessions are
-- those issued to an AWS service (origin service:…, at any depth) and the orphan sessions
-- (issuance not in the input: origin unknown:…, depth 1) named like an EC2 instance or with an
-- event that says it is one (ec2RoleDelivery, inScopeOf.issuedTo). The workload's home is the
-- address of its earliest counted use (public addresses; IPv4 or IPv6); each of its sessions is
-- reported at its earliest use from another address.
WITH params AS (
  SELECT FALSE AS include_private
),
ev AS (
  SELECT
    a.session_id, a.origin, a.chain, a.event_id, a.event_time, a.source_ip, a.source_file,
    a.record_index, e.identity_arn, e.ec2_role_delivery, e.in_scope_of_issued_to
  FROM attributed a
  JOIN events e
    ON e.source_file = a.source_file
   AND e.record_index = a.record_index
   AND e.event_id IS NOT DISTINCT FROM a.event_id
   AND e.recipient_account IS NOT DISTINCT FROM a.recipient_account
  WHERE a.session_id IS NOT NULL
    AND (a.origin LIKE 'service:%' OR (a.origin LIKE 'unknown:%' AND a.depth = 1))
),
sessions AS (
  SELECT
    session_id,
    MIN(origin) AS origin,
    MAX(CASE WHEN origin LIKE 'service:%' THEN 1 ELSE 0 END) AS issued_to_service,
    -- The session's role: the last link of its chain.
    MAX(reverse(split_part(reverse(chain), '>', 1))) AS role_arn,
    -- The session name: arn:aws:sts::<account>:assumed-role/<role>/<session name>.
    MAX(split_part(identity_arn, '/', 3)) AS session_name,
    MAX(CASE WHEN ec2_role_delivery IS NOT NULL OR in_scope_of_issued_to IS NOT NULL THEN 1 ELSE 0 END) AS says_workload
  FROM ev
  GROUP BY session_id
),
workload_sessions AS (
  SELECT *
  FROM sessions
  WHERE issued_to_service = 1
     OR says_workload = 1
     OR regexp_extract(session_name, '^i-([0-9a-fA-F]{8}|[0-9a-fA-F]{17})$', 0) = session_name
),
addressed AS (
  SELECT
    ev.session_id, ev.event_id, ev.event_time, ev.source_ip, ev.source_file, ev.record_index,
    w.origin, w.role_arn, w.session_name,
    CASE WHEN regexp_extract(ev.source_ip, '^[0-9]{1,3}[.][0-9]{1,3}[.][0-9]{1,3}[.][0-9]{1,3}$', 0) = ev.source_ip
         THEN TRY_CAST(split_part(ev.source_ip, '.', 1) AS BIGINT) END AS o1,
    TRY_CAST(split_part(ev.source_ip, '.', 2) AS BIGINT) AS o2,
    TRY_CAST(split_part(ev.source_ip, '.', 3) AS BIGINT) AS o3,
    TRY_CAST(split_part(ev.source_ip, '.', 4) AS BIGINT) AS o4,
    -- IPv6, by its text (lower case): the first two groups, zero-padded.
    CASE WHEN ev.source_ip LIKE '%:%'
          AND regexp_extract(lower(ev.source_ip), '^[0-9a-f:.]+$', 0) = lower(ev.source_ip)
         THEN lower(ev.source_ip) END AS v6,
    lpad(lower(split_part(ev.source_ip, ':', 1)), 4, '0') AS g1,
    lpad(lower(split_part(ev.source_ip, ':', 2)), 4, '0') AS g2
  FROM ev
  JOIN workload_sessions w ON w.session_id = ev.session_id
  WHERE ev.event_time IS NOT NULL
),
classified AS (
  SELECT x.*,
    CASE
      WHEN x.o1 <= 255 AND x.o2 <= 255 AND x.o3 <= 255 AND x.o4 <= 255 THEN
        CASE
          WHEN x.o1 = 10 OR (x.o1 = 172 AND x.o2 BETWEEN 16 AND 31) OR (x.o1 = 192 AND x.o2 = 168)
               OR (x.o1 = 100 AND x.o2 BETWEEN 64 AND 127) THEN 'private'
          WHEN x.o1 = 0 OR x.o1 = 127 OR x.o1 >= 224 OR (x.o1 = 169 AND x.o2 = 254)
               OR (x.o1 = 192 AND x.o2 = 0 AND x.o3 IN (0, 2)) OR (x.o1 = 198 AND x.o2 = 51 AND x.o3 = 100)
               OR (x.o1 = 203 AND x.o2 = 0 AND x.o3 = 113) OR (x.o1 = 198 AND x.o2 IN (18, 19)) THEN 'other'
          ELSE 'public'
        END
      WHEN x.v6 IS NOT NULL THEN
        CASE
          WHEN x.v6 LIKE '::ffff:%.%' THEN 'mapped'
          WHEN substr(x.g1, 1, 2) IN ('fc', 'fd') THEN 'private'
          WHEN x.v6 IN ('::', '::1') OR substr(x.g1, 1, 3) IN ('fe8', 'fe9', 'fea', 'feb')
               OR substr(x.g1, 1, 2) = 'ff' OR (x.g1 = '2001' AND x.g2 = '0db8') THEN 'other'
          ELSE 'public'
        END
    END AS class
  FROM addressed x
),
uses AS (
  -- Counted uses; an IPv4-mapped IPv6 address is classed as its IPv4 address.
  SELECT c.*,
    CASE WHEN c.o1 <= 255 AND c.o2 <= 255 AND c.o3 <= 255 AND c.o4 <= 255
         THEN c.o1 * 16777216 + c.o2 * 65536 + c.o3 * 256 + c.o4 END AS v4
  FROM classified c CROSS JOIN params
  WHERE c.class = 'public'
     OR (c.class = 'private' AND params.include_private)
     OR (c.class = 'mapped' AND TRY_CAST(split_part(c.v6, '.', 1) AS BIGINT) IS NOT NULL)
),
homes AS (
  SELECT role_arn, session_name, v4 AS home_v4, v6 AS home_v6, source_ip AS home_address
  FROM (
    SELECT u.*, ROW_NUMBER() OVER (
      PARTITION BY u.role_arn, u.session_name ORDER BY u.event_time, u.source_file, u.record_index) AS rank_in_workload
    FROM uses u
  ) ranked
  WHERE rank_in_workload = 1
),
away AS (
  SELECT u.*, h.home_address, ROW_NUMBER() OVER (
      PARTITION BY u.session_id ORDER BY u.event_time, u.source_file, u.record_index) AS rank_in_session
  FROM uses u
  JOIN homes h
    ON h.role_arn IS NOT DISTINCT FROM u.role_arn
   AND h.session_name IS NOT DISTINCT FROM u.session_name
  WHERE NOT (u.v4 IS NOT DISTINCT FROM h.home_v4 AND u.v6 IS NOT DISTINCT FROM h.home_v6)
)
SELECT
  'workload_credential_exfiltration' AS kind,
  'high' AS severity,
  CASE WHEN a.session_id LIKE 'arn:%' THEN a.session_id ELSE split_part(a.session_id, '@', 1) END AS subject,
  a.origin,
  COALESCE(a.event_id, '') AS first_event_id,
  a.event_time AS "time",
  a.source_ip AS address,
  a.home_address
FROM away a
WHERE a.rank_in_session = 1

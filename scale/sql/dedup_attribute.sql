-- trailgraph, beyond one machine: every event of a partitioned case (format 3), de-duplicated
-- across ingest runs and attributed through the identity map of `trailgraph resolve`.
--
-- One text for Spark SQL, Trino/Athena and DuckDB (README "Beyond one machine" lists the few
-- dialect settings the runners make: double-quoted identifiers in Spark, UTC session time zone).
-- It reads three relations, which the runner defines over the case and the map:
--   events     CASE/events/**.parquet, exactly the files the manifests name
--   identities MAP/identities.parquet  (identity_sig, valid_from, valid_to, attribution columns)
--   event_map  MAP/events.parquet      (recipient_account, event_id, attribution columns)
-- and returns one row per distinct event, with the columns of `trailgraph attribute`, the
-- event's evidence (source_file, record_index) and the partition columns of the output
-- (account, region, date: the layout of the events).
WITH ranked AS (
  -- De-duplication across runs: among rows with the same (recipient_account, event_id) the one
  -- with the smallest (source_file, record_index); a null event_id is never a duplicate.
  SELECT
    e.event_id, e.event_time, e.event_name, e.event_source, e.recipient_account,
    e.aws_region, e.source_ip, e.access_key_id, e.identity_sig, e.source_file, e.record_index,
    ROW_NUMBER() OVER (
      PARTITION BY e.recipient_account, e.event_id
      ORDER BY e.source_file, e.record_index
    ) AS dup_rank
  FROM events e
),
deduped AS (
  SELECT * FROM ranked WHERE dup_rank = 1 OR event_id IS NULL
)
SELECT /*+ BROADCAST(m), BROADCAST(i) */
  d.event_id,
  d.event_time,
  d.event_name,
  d.event_source,
  d.recipient_account,
  d.aws_region,
  d.source_ip,
  d.access_key_id,
  -- A per-event row wins (even where its session_id or source_identity is null: CASE per
  -- column, not COALESCE); else the identity's row whose interval holds the event. An event
  -- neither matches would get nulls: `resolve` leaves none so (docs/resolve.md, "The join").
  CASE WHEN m.event_id IS NOT NULL THEN m.session_id ELSE i.session_id END AS session_id,
  CASE WHEN m.event_id IS NOT NULL THEN m.origin ELSE i.origin END AS origin,
  CASE WHEN m.event_id IS NOT NULL THEN m.chain ELSE i.chain END AS chain,
  CASE WHEN m.event_id IS NOT NULL THEN m.depth ELSE i.depth END AS depth,
  CASE WHEN m.event_id IS NOT NULL THEN m.confidence ELSE i.confidence END AS confidence,
  CASE WHEN m.event_id IS NOT NULL THEN m.source_identity ELSE i.source_identity END AS source_identity,
  d.source_file,
  d.record_index,
  d.recipient_account AS account,
  d.aws_region AS region,
  CAST(d.event_time AS DATE) AS "date"
FROM deduped d
LEFT JOIN event_map m
  ON m.recipient_account = d.recipient_account
 AND m.event_id = d.event_id
LEFT JOIN identities i
  ON i.identity_sig = d.identity_sig
 -- The time-range condition binds only the time-dependent rows (both bounds null: any time).
 AND (i.valid_from IS NULL OR d.event_time >= i.valid_from)
 AND (i.valid_to IS NULL OR d.event_time < i.valid_to)

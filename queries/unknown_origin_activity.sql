-- title: Activity with no known origin
-- description: Calls whose real origin is unknown: sessions whose issuance is not in the
--   input (origin unknown:<key>, e.g. stolen instance credentials or logs missing for the
--   issuing account) and calls with no usable identity (unknown:). Per key and API call.
-- columns: origin, chain, access_key_id, event_source, event_name, calls, failed_calls,
--   source_ips, first_seen, last_seen
SELECT
  origin,
  chain,
  access_key_id,
  event_source,
  event_name,
  COUNT(*) AS calls,
  SUM(CASE WHEN error_code IS NULL THEN 0 ELSE 1 END) AS failed_calls,
  STRING_AGG(DISTINCT source_ip, ';' ORDER BY source_ip) AS source_ips,
  MIN(event_time) AS first_seen,
  MAX(event_time) AS last_seen
FROM attribution
WHERE confidence = 'unknown'
GROUP BY origin, chain, access_key_id, event_source, event_name
ORDER BY origin, chain, access_key_id, event_source, event_name

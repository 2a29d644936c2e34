-- title: Long-term access key usage
-- description: Each long-term access key (AKIA…) seen signing calls: whose it is, first and
--   last use, calls, failures, and the source IP addresses and regions it was used from.
--   A key used from a new address or region is worth a look.
-- columns: access_key_id, identity_arn, calls, failed_calls, source_ips, regions,
--   first_use, last_use
SELECT
  access_key_id,
  identity_arn,
  COUNT(*) AS calls,
  SUM(CASE WHEN error_code IS NULL THEN 0 ELSE 1 END) AS failed_calls,
  STRING_AGG(DISTINCT source_ip, ';' ORDER BY source_ip) AS source_ips,
  STRING_AGG(DISTINCT aws_region, ';' ORDER BY aws_region) AS regions,
  MIN(event_time) AS first_use,
  MAX(event_time) AS last_use
FROM events
WHERE STARTS_WITH(access_key_id, 'AKIA')
GROUP BY access_key_id, identity_arn
ORDER BY access_key_id, identity_arn

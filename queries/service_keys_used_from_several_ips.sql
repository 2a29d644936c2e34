-- title: Service credentials used from several IP addresses
-- description: Sessions issued to an AWS service (EC2 instance profile, Lambda, ECS task, …;
--   origin service:…) whose key signed calls from more than one source IP address. Instance
--   credentials used from a second address may have been stolen (compare with the instance's
--   own address). AWS-internal callers (a service name as source IP, AWS Internal) are
--   ignored.
-- columns: origin, chain, session_id, issued_at, source_ips, ip_list, first_ip, events,
--   first_use, last_use
SELECT
  a.origin,
  a.chain,
  a.session_id,
  s.issued_at,
  COUNT(DISTINCT a.source_ip) AS source_ips,
  STRING_AGG(DISTINCT a.source_ip, ';' ORDER BY a.source_ip) AS ip_list,
  MIN(a.first_ip) AS first_ip,
  COUNT(*) AS events,
  MIN(a.event_time) AS first_use,
  MAX(a.event_time) AS last_use
FROM (
  SELECT
    *,
    FIRST_VALUE(source_ip) OVER (
      PARTITION BY session_id ORDER BY event_time, event_id, recipient_account
    ) AS first_ip
  FROM attribution
  WHERE STARTS_WITH(origin, 'service:')
    AND source_ip IS NOT NULL
    AND source_ip <> 'AWS Internal'
    AND NOT ENDS_WITH(source_ip, '.amazonaws.com')
) AS a
JOIN sessions AS s ON a.session_id = s.session_id
GROUP BY a.origin, a.chain, a.session_id, s.issued_at
HAVING COUNT(DISTINCT a.source_ip) > 1
ORDER BY a.origin, a.chain, s.issued_at, a.session_id

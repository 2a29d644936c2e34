-- title: First and last use of each issued key
-- description: Every temporary key issued by STS (or seen in use without its issuance):
--   when it was issued and expires, its first and last use, how many calls it signed and from
--   how many source IP addresses, and whether it was never used or used after it expired
--   (empty when the expiry is unknown). Uses are the calls attributed to the key's session
--   (console sessions sign with other keys than the one issued). Sessions whose key is
--   unknown or redacted are left out.
-- columns: issued_key, kind, issued_at, expires_at, first_use, last_use, events, source_ips,
--   unused, used_after_expiry, origin, chain, account, session_id
SELECT
  s.issued_key,
  s.kind,
  s.issued_at,
  s.expires_at,
  s.first_use,
  s.last_use,
  s.events,
  COALESCE(u.source_ips, 0) AS source_ips,
  s.events = 0 AS unused,
  CASE
    WHEN s.expires_at IS NULL THEN NULL
    ELSE COALESCE(s.last_use > s.expires_at, false)
  END AS used_after_expiry,
  s.origin,
  s.chain,
  s.account,
  s.session_id
FROM sessions AS s
LEFT JOIN (
  SELECT session_id, COUNT(DISTINCT source_ip) AS source_ips
  FROM attribution
  WHERE session_id IS NOT NULL
  GROUP BY session_id
) AS u ON s.session_id = u.session_id
WHERE s.issued_key IS NOT NULL
ORDER BY s.issued_key, s.issued_at, s.session_id

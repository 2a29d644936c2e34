-- title: What each human did through roles
-- description: The API calls that human origins (IAM users, root, SAML and Identity Center
--   federation, and IAM users of uncollected accounts, account:<acct>:AIDA…) made through
--   assumed roles (depth >= 1), per role chain and API call.
-- columns: origin, chain, depth, event_source, event_name, calls, failed_calls, accounts,
--   first_seen, last_seen
SELECT
  origin,
  chain,
  depth,
  event_source,
  event_name,
  COUNT(*) AS calls,
  SUM(CASE WHEN error_code IS NULL THEN 0 ELSE 1 END) AS failed_calls,
  STRING_AGG(DISTINCT recipient_account, ';' ORDER BY recipient_account) AS accounts,
  MIN(event_time) AS first_seen,
  MAX(event_time) AS last_seen
FROM attribution
WHERE depth >= 1
  AND (
    (STARTS_WITH(origin, 'arn:aws') AND (origin LIKE '%:user/%' OR ENDS_WITH(origin, ':root')))
    OR STARTS_WITH(origin, 'saml:')
    OR origin LIKE 'account:%:AIDA%'
  )
GROUP BY origin, chain, depth, event_source, event_name
ORDER BY origin, chain, event_source, event_name

-- title: Mutating calls by origin
-- description: Calls that change something (readOnly false; when readOnly is missing, any
--   call whose name does not start with Get, List, Describe, Head, Lookup, Search, Query,
--   Scan, BatchGet, Select or Assume and is not SwitchRole/ExitRole), per real origin,
--   whatever roles they went through. Most first.
-- columns: origin, calls, failed_calls, event_names, chains, accounts, first_seen, last_seen
SELECT
  origin,
  COUNT(*) AS calls,
  SUM(CASE WHEN error_code IS NULL THEN 0 ELSE 1 END) AS failed_calls,
  STRING_AGG(DISTINCT event_name, ';' ORDER BY event_name) AS event_names,
  COUNT(DISTINCT chain) AS chains,
  STRING_AGG(DISTINCT recipient_account, ';' ORDER BY recipient_account) AS accounts,
  MIN(event_time) AS first_seen,
  MAX(event_time) AS last_seen
FROM attribution
WHERE read_only = false
   OR (
     read_only IS NULL
     AND NOT REGEXP_LIKE(event_name, '^(Get|List|Describe|Head|Lookup|Search|Query|Scan|BatchGet|Select|Assume|SwitchRole$|ExitRole$)')
   )
GROUP BY origin
ORDER BY calls DESC, origin

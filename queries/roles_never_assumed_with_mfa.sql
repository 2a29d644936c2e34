-- title: Roles never assumed with MFA
-- description: Roles whose AssumeRole calls in the input (by users and roles, not by AWS
--   services) never carried MFA: no serialNumber in the request and no MFA-authenticated
--   caller. Orphan sessions (issuance not in the input) are left out: their MFA is unknown.
-- columns: role_arn, account, assumptions, origins, callers, first_assumed, last_assumed
SELECT
  role_arn,
  account,
  COUNT(*) AS assumptions,
  STRING_AGG(DISTINCT origin, ';' ORDER BY origin) AS origins,
  STRING_AGG(DISTINCT COALESCE(caller_arn, caller_account), ';' ORDER BY COALESCE(caller_arn, caller_account)) AS callers,
  MIN(issued_at) AS first_assumed,
  MAX(issued_at) AS last_assumed
FROM sessions
WHERE kind = 'AssumeRole'
  AND role_arn IS NOT NULL
  AND COALESCE(caller_type, '') <> 'AWSService'
GROUP BY role_arn, account
HAVING SUM(CASE WHEN mfa THEN 1 ELSE 0 END) = 0
ORDER BY role_arn, account

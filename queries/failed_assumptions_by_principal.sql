-- title: Failed role assumptions by principal
-- description: Denied or failed AssumeRole* / GetSessionToken / GetFederationToken /
--   AssumeRoot calls, per real origin, calling principal and target role (for AccessDenied
--   the role is read from the error message). A cross-account call counts once, under its
--   caller-account copy when that is in the input. Many failures against many roles
--   suggest role enumeration.
-- columns: origin, caller, kind, role_arn, error_code, attempts, first_attempt, last_attempt
SELECT
  a.origin,
  COALESCE(i.caller_arn, i.caller_principal_id, i.caller_account) AS caller,
  i.kind,
  i.role_arn,
  i.error_code,
  COUNT(DISTINCT COALESCE(i.shared_event_id, i.event_id)) AS attempts,
  MIN(i.event_time) AS first_attempt,
  MAX(i.event_time) AS last_attempt
FROM issuances AS i
JOIN attribution AS a
  ON i.event_id = a.event_id AND i.recipient_account = a.recipient_account
WHERE i.error_code IS NOT NULL
  -- Of a cross-account call, keep the caller-account copy when it is in the input (the
  -- role-account copy names the caller only by account and principal id).
  AND (
    COALESCE(i.caller_type, '') <> 'AWSAccount'
    OR i.shared_event_id IS NULL
    OR i.shared_event_id NOT IN (
      SELECT j.shared_event_id FROM issuances AS j
      WHERE COALESCE(j.caller_type, '') <> 'AWSAccount' AND j.shared_event_id IS NOT NULL
    )
  )
GROUP BY a.origin, caller, i.kind, i.role_arn, i.error_code
ORDER BY a.origin, caller, i.kind, i.role_arn, i.error_code

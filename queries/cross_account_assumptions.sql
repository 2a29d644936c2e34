-- title: Cross-account role assumptions
-- description: Every session whose caller lives in another account than the session's own
--   account: cross-account AssumeRole (either CloudTrail copy) and AssumeRoot into a member
--   account, with the real origin behind the caller. An account: origin means only the
--   role-account copy of the call is in the input.
-- columns: issued_at, caller_account, account, role_arn, session_name, kind, caller_type,
--   caller_arn, origin, chain, depth, confidence, mfa, source_identity, events, first_use,
--   last_use, session_id
SELECT
  issued_at,
  caller_account,
  account,
  role_arn,
  session_name,
  kind,
  caller_type,
  caller_arn,
  origin,
  chain,
  depth,
  confidence,
  mfa,
  source_identity,
  events,
  first_use,
  last_use,
  session_id
FROM sessions
WHERE cross_account
ORDER BY issued_at, session_id

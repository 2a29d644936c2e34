-- title: Console sign-ins and role switches
-- description: AWS console sign-in events (ConsoleLogin, SwitchRole, ExitRole, CheckMfa, …
--   from signin.amazonaws.com) with the origin behind each, where it came from and whether
--   it failed (ConsoleLogin failures carry an error message).
-- columns: event_time, event_name, origin, chain, depth, confidence, identity_type,
--   identity_arn, recipient_account, source_ip, mfa_authenticated, error_message, user_agent,
--   event_id
SELECT
  event_time,
  event_name,
  origin,
  chain,
  depth,
  confidence,
  identity_type,
  identity_arn,
  recipient_account,
  source_ip,
  mfa_authenticated,
  error_message,
  user_agent,
  event_id
FROM attribution
WHERE event_source = 'signin.amazonaws.com'
ORDER BY event_time, event_id, recipient_account

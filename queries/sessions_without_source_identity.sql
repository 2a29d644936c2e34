-- title: Role sessions without a sourceIdentity
-- description: Role sessions (AssumeRole*, not AssumeRoot, GetSessionToken or
--   GetFederationToken) with no sourceIdentity in effect (none set on the session or carried
--   down its chain). Where roles require sts:SetSourceIdentity, these show who
--   bypassed it; elsewhere, they are the sessions whose human is known only through the chain.
-- columns: issued_at, origin, chain, depth, confidence, role_arn, session_name, account,
--   kind, events, session_id
SELECT
  issued_at,
  origin,
  chain,
  depth,
  confidence,
  role_arn,
  session_name,
  account,
  kind,
  events,
  session_id
FROM sessions
WHERE role_arn LIKE '%:role/%'
  AND source_identity IS NULL
ORDER BY issued_at, session_id

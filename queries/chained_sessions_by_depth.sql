-- title: Chained sessions by depth
-- description: Sessions reached by role chaining (two or more hops below the origin, e.g.
--   user -> RoleA -> RoleB, or a role -> AssumeRoot), deepest first. Role chaining limits
--   sessions to one hour and is a common way to hide the origin.
-- columns: depth, origin, chain, confidence, cycle, issued_at, session_name, account,
--   source_identity, events, session_id, parent_session_id
SELECT
  depth,
  origin,
  chain,
  confidence,
  cycle,
  issued_at,
  session_name,
  account,
  source_identity,
  events,
  session_id,
  parent_session_id
FROM sessions
WHERE depth >= 2
ORDER BY depth DESC, origin, chain, issued_at, session_id

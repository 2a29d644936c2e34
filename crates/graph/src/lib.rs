//! The session graph and attribution, the heart of trailgraph:
//!
//! - `graph`: `SessionGraph`, built from the issuances of a case (origins and sessions as
//!   nodes, STS issuances as edges), resolving any caller identity to the session or origin
//!   behind it; the only user of petgraph;
//! - `attribute`: every event's attribution (session, origin, chain, depth, confidence) over
//!   the frames of the store, memoised per identity signature, in memory or a slice at a time.

pub mod attribute;
pub mod graph;
pub mod resolve;
pub mod scan;

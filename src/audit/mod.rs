//! Audits at organisation scale: many repositories in one run (`repos`, cloned by `clone`),
//! split over machines (`shard`), re-audited cheaply (`cache`), and one secret found in many
//! repositories or shard reports folded into one finding with all its places (`fold`).

pub mod cache;
pub mod clone;
pub mod fold;
pub mod repos;
pub mod shard;

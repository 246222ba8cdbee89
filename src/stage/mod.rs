//! Per-article transforms.
//!
//! Every stage has the same two halves: a serde config section that builds it,
//! and one synchronous [`Stage::process`] call per article. The async plumbing
//! that feeds them lives once, in [`crate::pipeline`].

pub mod boilerplate;
pub mod dedup;
pub mod entities;
pub mod normalize;
pub mod title;

use crate::record::Article;

/// A transform that can run on any worker thread, on articles in any order.
///
/// Stages that need to see articles in input order (dedup) are driven by the
/// pipeline's sequential step instead and do not implement this trait.
pub trait Stage: Send + Sync {
    /// Short name used in logs and in the summary.
    fn name(&self) -> &'static str;
    /// Transform one article in place.
    fn process(&self, article: &mut Article);
}

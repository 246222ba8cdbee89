//! Learned boilerplate: what each source prints around every story (its
//! masthead, donation asks, tip lines, footers), found by counting line
//! templates across the source's distinct stories.
//!
//! Pure algorithms, no I/O and no async, like [`crate::dedup`]:
//! [`template`] folds a line's variable parts (numbers, dates, counts) and
//! hashes it; [`learn`] counts templates once per distinct story of a source
//! and decides which are chrome. The rule-based pass and the stage that
//! applies what was learned are in [`crate::stage::boilerplate`].

pub mod learn;
pub mod report;
pub mod template;

pub use learn::{Chrome, LearnParams, Learned, Learner, Observation};
pub use template::{template, Template};

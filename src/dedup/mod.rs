//! Exact and near-duplicate detection: xxh3 over a folded hashing key, MinHash
//! over word shingles with LSH banding, candidates verified before they count.
//!
//! Pure algorithms: no I/O, no async. The pipeline's dedup stage
//! ([`crate::stage::dedup`]) computes [`Fingerprint`]s in parallel with a
//! [`Fingerprinter`], then feeds them to one [`DedupIndex`] in input order.
//!
//! ```
//! use newspipe::dedup::{DedupIndex, Fingerprinter, NearParams};
//! use newspipe::record::DedupStatus;
//!
//! let params = NearParams::default();
//! let fingerprinter = Fingerprinter::new(Some(&params));
//! let mut index = DedupIndex::new(Some(params));
//! let text = "One two three four five six seven eight nine ten eleven twelve.";
//! let first = index.check_and_insert("a", &fingerprinter.fingerprint(text));
//! let again = index.check_and_insert("b", &fingerprinter.fingerprint(text));
//! assert_eq!(first.status, DedupStatus::Unique);
//! assert_eq!(again.status, DedupStatus::Exact);
//! assert_eq!(again.duplicate_of.as_deref(), Some("a"));
//! ```

mod fold;
mod index;
mod minhash;
mod retain;

pub use fold::{fold_into, Folding};
pub use index::{DedupIndex, IndexStats};
pub use minhash::{estimate_similarity, MinHasher, Scheme, MAX_SHINGLE_WORDS};
pub use retain::RetainingIndex;

use crate::record::Fingerprint;

/// Parameters of the near-duplicate detector.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct NearParams {
    /// Words per shingle (at most [`MAX_SHINGLE_WORDS`]).
    pub shingle_words: usize,
    /// LSH bands; `bands * rows` MinHash permutations in all.
    pub bands: usize,
    /// Rows per LSH band.
    pub rows: usize,
    /// Estimated Jaccard similarity at or above which a candidate is a near duplicate.
    pub threshold: f64,
}

impl Default for NearParams {
    fn default() -> Self {
        NearParams {
            shingle_words: 5,
            bands: 24,
            rows: 3,
            threshold: 0.5,
        }
    }
}

/// Version of the fingerprint algorithm (folding, shingle hashing, MinHash
/// scheme and seeds). Fingerprints of different versions must not meet in
/// one index: bump it on any change that alters a fingerprint.
pub const FINGERPRINT_VERSION: u32 = 1;

/// The folding used by [`hashing_key`] and [`Fingerprinter`].
pub const DEFAULT_FOLDING: Folding = Folding::Words;

/// Fold text into the key used for hashing (never for output).
pub fn hashing_key(text: &str) -> String {
    let mut key = String::new();
    fold_into(text, DEFAULT_FOLDING, &mut key);
    key
}

/// Computes [`Fingerprint`]s. Build once, share across worker threads.
#[derive(Debug, Clone)]
pub struct Fingerprinter {
    folding: Folding,
    minhasher: Option<MinHasher>,
}

impl Fingerprinter {
    /// A fingerprinter with the default folding; `near` is `None` when
    /// near-duplicate detection is off (exact keys only).
    pub fn new(near: Option<&NearParams>) -> Self {
        Fingerprinter::with_options(near, DEFAULT_FOLDING, Scheme::default())
    }

    /// A fingerprinter with an explicit key folding and MinHash scheme (for evaluation).
    pub fn with_options(near: Option<&NearParams>, folding: Folding, scheme: Scheme) -> Self {
        Fingerprinter {
            folding,
            minhasher: near
                .map(|p| MinHasher::with_scheme(p.shingle_words, p.bands * p.rows, scheme)),
        }
    }

    /// Fingerprint of an article's body text.
    pub fn fingerprint(&self, text: &str) -> Fingerprint {
        let mut key = String::new();
        fold_into(text, self.folding, &mut key);
        Fingerprint {
            exact: xxhash_rust::xxh3::xxh3_64(key.as_bytes()),
            minhash: self
                .minhasher
                .as_ref()
                .map_or_else(Vec::new, |m| m.signature(&key)),
        }
    }
}

/// Compute an article's fingerprint. `near` is `None` when near-dup detection is off.
///
/// Convenience for one-off use; [`Fingerprinter`] avoids rebuilding the
/// permutation coefficients per call.
pub fn fingerprint(text: &str, near: Option<&NearParams>) -> Fingerprint {
    Fingerprinter::new(near).fingerprint(text)
}

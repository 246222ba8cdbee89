//! Exact and near-duplicate detection: xxh3 over a folded hashing key, MinHash
//! over word shingles with LSH banding, candidates verified before they count,
//! by resemblance (Jaccard) or by containment.
//!
//! Pure algorithms: no I/O, no async. The pipeline's dedup stage
//! ([`crate::stage::dedup`]) computes [`Fingerprint`]s in parallel with a
//! [`Fingerprinter`], then feeds them to one [`DedupIndex`] in input order.
//!
//! # The fingerprint
//!
//! The body is folded ([`Folding::Words`]: lowercase letters and digits,
//! apostrophes dropped, any other run of characters one space). `exact` is
//! xxh3-64 of that key. The shingles are the windows of `shingle_words`
//! consecutive words (the whole text when it is shorter; repeats count in the
//! shingle count), each hashed to 64 bits; `minhash` holds `bands * rows`
//! values by one-permutation hashing with optimal densification
//! ([`MinHasher`]), then the shingle count `n`.
//!
//! # The decision rule
//!
//! Articles are decided one at a time in input order against the
//! *canonical* articles before them (those that were themselves unique);
//! the first article of a cluster is its canonical, and duplicates are never
//! candidates, so there are no chains: `duplicate_of` always names a unique
//! article.
//!
//! 1. **Exact**: if an earlier article (canonical or not) had the same
//!    `exact` key, the verdict is `exact`, naming the canonical that article
//!    was stored under or matched to, unless the pair's estimates below would
//!    not make it a near duplicate and its `J` is under `threshold` (a 64-bit
//!    key collision).
//! 2. **Candidates**: for each band `b`, the key of values `b*rows ..
//!    (b+1)*rows` is looked up; the candidates are the stored canonicals with
//!    an equal key in the same band, at most [`MAX_BUCKET_WALK`] per band (the
//!    most recently stored first).
//! 3. **Verification** of each candidate, with `k = bands * rows`, `a` the
//!    new article's shingle count and `b` the candidate's:
//!    - `J = (positions where the low 16 bits of the values agree) / k`;
//!    - `C = min(1, J / (1 + J) * (a + b) / min(a, b))`, in IEEE doubles as
//!      written (the intersection implied by `J` over the smaller set);
//!    - rejected when `min(a, b) < MIN_NEAR_SHINGLES` (20);
//!    - `resembles` when `J >= threshold`; else `contained_in` when
//!      `C >= containment`, `J >= MIN_CONTAINED_JACCARD` (0.25),
//!      `min(a, b) >= MIN_CONTAINED_SHINGLES` (40) and `a <= b`; `contains` under the same conditions when `a > b`; else
//!      the candidate is rejected.
//! 4. **Winner**: the passing candidate with the highest `J`; on equal `J`,
//!    the earliest stored. The verdict is `near` with that candidate's `J`
//!    (`similarity`), `C` (`containment`) and relation. The new article is
//!    not stored, but its exact key is, pointing at the winner.
//! 5. Otherwise the article is unique and is stored: its id, `exact` key, one
//!    bucket entry per band, the low 16 bits of its values and `n`.
//!
//! In long-running modes, [`RetainingIndex`] applies the same rule over
//! generations of the retention window, oldest generation first: the first
//! generation (in that order) with a verdict decides.
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
pub use index::{DedupIndex, IndexStats, Signature, MAX_BUCKET_WALK};
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
    /// Estimated Jaccard similarity at or above which a candidate is a near
    /// duplicate that `resembles` the canonical.
    pub threshold: f64,
    /// Estimated containment (share of the smaller text's shingles found in
    /// the larger's) at or above which a candidate below `threshold` is still
    /// a near duplicate, `contained_in` or `contains` the canonical. Above 1
    /// turns containment off.
    pub containment: f64,
}

impl Default for NearParams {
    fn default() -> Self {
        NearParams {
            shingle_words: 2,
            bands: 28,
            rows: 2,
            threshold: 0.5,
            containment: 0.8,
        }
    }
}

/// Version of the fingerprint algorithm (folding, shingle hashing, MinHash
/// scheme and seeds, the layout of [`Fingerprint::minhash`]). Fingerprints of
/// different versions must not meet in one index: bump it on any change that
/// alters a fingerprint.
///
/// Version 2 appends the shingle count to the signature (for containment).
pub const FINGERPRINT_VERSION: u32 = 2;

/// The smaller text of a pair must have at least this many shingles to be a
/// near duplicate at all (shorter texts match only exactly): a signature of
/// fewer shingles than values is mostly densification, and its estimate is
/// as noisy as a sample of that many shingles.
pub const MIN_NEAR_SHINGLES: u32 = 20;

/// The smaller text of a pair must have at least this many shingles for
/// containment to count: a few shingles say little about where they came
/// from, and their signature is mostly densification.
pub const MIN_CONTAINED_SHINGLES: u32 = 40;

/// Containment counts only when the estimated Jaccard similarity is at least
/// this: a much shorter text inside a long one shares few signature positions,
/// and a handful of chance agreements would inflate its estimated containment.
pub const MIN_CONTAINED_JACCARD: f64 = 0.25;

/// The MinHash values and the shingle count of a fingerprint's `minhash`
/// (laid out as the values, then the count); `None` when it has no signature.
pub fn split_minhash(minhash: &[u32]) -> Option<(&[u32], u32)> {
    match minhash.split_last() {
        Some((&count, values)) if !values.is_empty() => Some((values, count)),
        _ => None,
    }
}

/// The folding used by [`hashing_key`] and [`Fingerprinter`].
pub const DEFAULT_FOLDING: Folding = Folding::Words;

/// Fold text into the key used for hashing (never for output).
pub fn hashing_key(text: &str) -> String {
    let mut key = String::new();
    fold_into(text, DEFAULT_FOLDING, &mut key);
    key
}

/// Computes [`Fingerprint`]s. Build once, share across worker threads.
/// Two that compare equal sign every text alike.
#[derive(Debug, Clone, PartialEq, Eq)]
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
        let mut minhash = Vec::new();
        if let Some(m) = &self.minhasher {
            let (sig, shingles) = m.signature_and_count(&key);
            if !sig.is_empty() {
                minhash = sig;
                minhash.push(shingles);
            }
        }
        Fingerprint {
            exact: xxhash_rust::xxh3::xxh3_64(key.as_bytes()),
            minhash,
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

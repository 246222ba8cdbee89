//! Exact and near-duplicate detection: xxh3 over a folded hashing key, MinHash
//! over word shingles with LSH banding, candidates verified before they count.
//!
//! Pure algorithms: no I/O, no async. The pipeline's dedup stage
//! ([`crate::stage::dedup`]) drives them in input order.

use crate::record::{DedupInfo, Fingerprint};

/// Parameters of the near-duplicate detector.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct NearParams {
    /// Words per shingle.
    pub shingle_words: usize,
    /// LSH bands; `bands * rows` MinHash permutations in all.
    pub bands: usize,
    /// Rows per band.
    pub rows: usize,
    /// Verified Jaccard similarity at or above which a candidate is a near duplicate.
    pub threshold: f64,
}

impl Default for NearParams {
    fn default() -> Self {
        NearParams {
            shingle_words: 5,
            bands: 16,
            rows: 8,
            threshold: 0.8,
        }
    }
}

/// Fold text into the key used for hashing (not for output).
pub fn hashing_key(text: &str) -> String {
    // TODO(dedup helper): choose folding by measurement.
    text.to_lowercase()
}

/// Compute an article's fingerprint. `near` is `None` when near-dup detection is off.
pub fn fingerprint(text: &str, near: Option<&NearParams>) -> Fingerprint {
    let _ = near; // TODO(dedup helper)
    Fingerprint {
        exact: xxhash_rust::xxh3::xxh3_64(hashing_key(text).as_bytes()),
        ..Fingerprint::default()
    }
}

/// The index of articles seen so far.
#[derive(Debug, Default)]
pub struct DedupIndex {
    exact: std::collections::HashMap<u64, String>,
}

impl DedupIndex {
    /// An empty index.
    pub fn new(near: Option<NearParams>) -> Self {
        let _ = near;
        DedupIndex::default()
    }

    /// Decide whether `fp` duplicates an earlier article; if not, remember it under `id`.
    pub fn check_and_insert(&mut self, id: &str, fp: &Fingerprint) -> DedupInfo {
        use crate::record::DedupStatus;
        if let Some(first) = self.exact.get(&fp.exact) {
            return DedupInfo {
                status: DedupStatus::Exact,
                duplicate_of: Some(first.clone()),
                similarity: Some(1.0),
            };
        }
        self.exact.insert(fp.exact, id.to_owned());
        DedupInfo::default()
    }

    /// Number of articles remembered.
    pub fn len(&self) -> usize {
        self.exact.len()
    }

    /// True when nothing has been remembered.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty()
    }

    /// Approximate heap bytes held by the index.
    pub fn heap_bytes(&self) -> usize {
        self.exact.capacity() * (8 + 24 + 32)
    }
}

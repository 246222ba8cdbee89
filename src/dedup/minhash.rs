//! Word shingles hashed once to 64 bits, then MinHash by cheap
//! multiply-add permutations of that one hash.

use xxhash_rust::xxh3::xxh3_64;

/// Largest supported shingle size; the sliding window is a fixed array.
pub const MAX_SHINGLE_WORDS: usize = 16;

/// Seed of the permutation coefficients. Fixed: signatures must be comparable
/// across runs and machines.
const PERMUTATION_SEED: u64 = 0x6e65_7773_7069_7065; // "newspipe"

/// SplitMix64: a tiny, well-mixed generator for the coefficients.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    mix64(*state)
}

/// The SplitMix64 finalizer: a bijection with full avalanche.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Computes MinHash signatures of a fixed length over word shingles.
#[derive(Debug, Clone)]
pub struct MinHasher {
    shingle_words: usize,
    /// Odd multipliers and offsets: `h_i(x) = (a_i * x + b_i) >> 32`.
    mul: Vec<u64>,
    add: Vec<u64>,
}

impl MinHasher {
    /// A hasher producing `permutations` values per signature over shingles of
    /// `shingle_words` words (clamped to `1..=MAX_SHINGLE_WORDS`).
    pub fn new(shingle_words: usize, permutations: usize) -> Self {
        let mut state = PERMUTATION_SEED;
        let mut mul = Vec::with_capacity(permutations);
        let mut add = Vec::with_capacity(permutations);
        for _ in 0..permutations {
            mul.push(splitmix64(&mut state) | 1);
            add.push(splitmix64(&mut state));
        }
        MinHasher {
            shingle_words: shingle_words.clamp(1, MAX_SHINGLE_WORDS),
            mul,
            add,
        }
    }

    /// Number of values in a signature.
    pub fn permutations(&self) -> usize {
        self.mul.len()
    }

    /// Signature of the space-separated words of `key`. Empty when `key` has no
    /// words: such texts can only match exactly. A text shorter than one
    /// shingle is a single shingle of all its words.
    pub fn signature(&self, key: &str) -> Vec<u32> {
        let mut sig = Vec::new();
        let mut window = [0u64; MAX_SHINGLE_WORDS];
        let w = self.shingle_words;
        let mut words = 0usize;
        for word in key.split_ascii_whitespace() {
            window[words % w] = xxh3_64(word.as_bytes());
            words += 1;
            if words >= w {
                if sig.is_empty() {
                    sig = vec![u32::MAX; self.mul.len()];
                }
                self.update(&mut sig, shingle_hash(&window, words % w, w));
            }
        }
        if (1..w).contains(&words) {
            sig = vec![u32::MAX; self.mul.len()];
            self.update(&mut sig, shingle_hash(&window, 0, words));
        }
        sig
    }

    fn update(&self, sig: &mut [u32], x: u64) {
        for ((s, &a), &b) in sig.iter_mut().zip(&self.mul).zip(&self.add) {
            let h = (a.wrapping_mul(x).wrapping_add(b) >> 32) as u32;
            *s = (*s).min(h);
        }
    }
}

/// Order-sensitive combination of `len` word hashes starting at `start` in the
/// ring `window`, finalized so that nearby shingles hash far apart.
fn shingle_hash(window: &[u64; MAX_SHINGLE_WORDS], start: usize, len: usize) -> u64 {
    let mut h = len as u64;
    for j in 0..len {
        let i = (start + j) % len.max(1);
        h = (h.rotate_left(27) ^ window[i]).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    mix64(h)
}

/// Fraction of positions where two signatures agree: an unbiased estimate of
/// the Jaccard similarity of the underlying shingle sets.
pub fn estimate_similarity(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() || a.len() != b.len() {
        return 0.0;
    }
    let equal = a.iter().zip(b).filter(|(x, y)| x == y).count();
    equal as f64 / a.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_keys_have_identical_signatures() {
        let m = MinHasher::new(3, 64);
        let a = m.signature("the cat sat on the mat today");
        assert_eq!(a.len(), 64);
        assert_eq!(a, m.signature("the cat sat on the mat today"));
    }

    #[test]
    fn word_order_changes_shingles() {
        let m = MinHasher::new(2, 64);
        let a = m.signature("alpha beta gamma");
        let b = m.signature("gamma beta alpha");
        assert!(estimate_similarity(&a, &b) < 0.5);
    }

    #[test]
    fn short_text_is_one_shingle_and_empty_text_has_none() {
        let m = MinHasher::new(5, 32);
        assert_eq!(m.signature("two words").len(), 32);
        assert_ne!(m.signature("two words"), m.signature("words two"));
        assert!(m.signature("").is_empty());
    }

    #[test]
    fn estimate_tracks_true_jaccard() {
        // 100 distinct 1-word shingles in each text, 60 shared: J = 60 / 140.
        let a: Vec<String> = (0..100).map(|i| format!("w{i}")).collect();
        let b: Vec<String> = (40..140).map(|i| format!("w{i}")).collect();
        let m = MinHasher::new(1, 512);
        let est = estimate_similarity(&m.signature(&a.join(" ")), &m.signature(&b.join(" ")));
        let truth = 60.0 / 140.0;
        // 4 standard deviations of the estimator at k = 512.
        let sd = (truth * (1.0 - truth) / 512.0_f64).sqrt();
        assert!((est - truth).abs() < 4.0 * sd, "estimate {est} vs {truth}");
    }
}

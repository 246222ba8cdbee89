//! Word shingles hashed once to 64 bits, then a MinHash signature by one of
//! two schemes: `k` multiply-add permutations of that hash (classic, `k`
//! operations per shingle), or one permutation hashing with optimal
//! densification (Shrivastava, ICML 2017: one operation per shingle, then a
//! pass over the `k` bins). Both estimate Jaccard similarity as the share of
//! equal positions.

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

/// How a signature is computed from the shingle hashes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scheme {
    /// `k` independent multiply-add permutations: `k` operations per shingle.
    Permutations,
    /// One permutation split into `k` bins, empty bins filled by optimal
    /// densification: one operation per shingle.
    #[default]
    OnePermutation,
}

/// Computes MinHash signatures of a fixed length over word shingles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinHasher {
    scheme: Scheme,
    shingle_words: usize,
    /// Odd multipliers and offsets: `h_i(x) = (a_i * x + b_i) >> 32`.
    mul: Vec<u64>,
    add: Vec<u64>,
}

impl MinHasher {
    /// A hasher producing `permutations` values per signature over shingles of
    /// `shingle_words` words (clamped to `1..=MAX_SHINGLE_WORDS`).
    pub fn new(shingle_words: usize, permutations: usize) -> Self {
        MinHasher::with_scheme(shingle_words, permutations, Scheme::default())
    }

    /// As [`MinHasher::new`], with an explicit scheme (for evaluation).
    pub fn with_scheme(shingle_words: usize, permutations: usize, scheme: Scheme) -> Self {
        let mut state = PERMUTATION_SEED;
        let mut mul = Vec::with_capacity(permutations);
        let mut add = Vec::with_capacity(permutations);
        for _ in 0..permutations {
            mul.push(splitmix64(&mut state) | 1);
            add.push(splitmix64(&mut state));
        }
        MinHasher {
            scheme,
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
        self.signature_and_count(key).0
    }

    /// [`MinHasher::signature`] and the number of shingles it was computed
    /// from (word windows, repeats included; 1 for a text shorter than one
    /// shingle, 0 for a text without words).
    pub fn signature_and_count(&self, key: &str) -> (Vec<u32>, u32) {
        let mut sig = Vec::new();
        let mut window = [0u64; MAX_SHINGLE_WORDS];
        let w = self.shingle_words;
        let mut words = 0usize;
        // Next position to write in the ring; also where the oldest word sits.
        let mut next = 0usize;
        for word in key.split_ascii_whitespace() {
            window[next] = xxh3_64(word.as_bytes());
            next = if next + 1 == w { 0 } else { next + 1 };
            words += 1;
            if words >= w {
                if sig.is_empty() {
                    sig = vec![u32::MAX; self.mul.len()];
                }
                self.update(&mut sig, shingle_hash(&window, next, w));
            }
        }
        if (1..w).contains(&words) {
            sig = vec![u32::MAX; self.mul.len()];
            self.update(&mut sig, shingle_hash(&window, 0, words));
        }
        if self.scheme == Scheme::OnePermutation && !sig.is_empty() {
            densify(&mut sig);
        }
        let shingles = match words {
            0 => 0,
            n if n < w => 1,
            n => n - w + 1,
        };
        (sig, u32::try_from(shingles).unwrap_or(u32::MAX))
    }

    fn update(&self, sig: &mut [u32], x: u64) {
        match self.scheme {
            Scheme::Permutations => {
                for ((s, &a), &b) in sig.iter_mut().zip(&self.mul).zip(&self.add) {
                    let h = (a.wrapping_mul(x).wrapping_add(b) >> 32) as u32;
                    *s = (*s).min(h);
                }
            }
            Scheme::OnePermutation => {
                // High bits pick the bin, low bits are the value: independent parts of one hash.
                let bin = (((x >> 32) * sig.len() as u64) >> 32) as usize;
                // `u32::MAX` marks an empty bin, so values stop one short of it.
                let value = (x as u32).min(u32::MAX - 1);
                if let Some(s) = sig.get_mut(bin) {
                    *s = (*s).min(value);
                }
            }
        }
    }
}

/// Optimal densification: an empty bin copies the bin reached by a hash
/// sequence of its own index (the same for every text), so two texts fill an
/// empty bin from the same place and agree there exactly when they agree at
/// that place. At least one bin is full when this is called.
fn densify(sig: &mut [u32]) {
    let k = sig.len();
    let mut empty = vec![0u64; k.div_ceil(64)];
    let mut empties = 0;
    for (i, &v) in sig.iter().enumerate() {
        if v == u32::MAX {
            empty[i / 64] |= 1 << (i % 64);
            empties += 1;
        }
    }
    if empties == 0 || empties == k {
        return;
    }
    let is_empty = |j: usize| empty[j / 64] >> (j % 64) & 1 == 1;
    for i in 0..k {
        if !is_empty(i) {
            continue;
        }
        let mut source = None;
        for attempt in 0..64 * k as u64 {
            let h = mix64((i as u64) << 32 | attempt);
            let j = (((h >> 32) * k as u64) >> 32) as usize;
            if !is_empty(j) {
                source = Some(j);
                break;
            }
        }
        // Practically unreachable; a fixed fallback keeps the result deterministic.
        let j = source.unwrap_or_else(|| (0..k).find(|&j| !is_empty(j)).unwrap_or(i));
        sig[i] = sig[j];
    }
}

/// Order-sensitive combination of `len` word hashes starting at `start` in the
/// ring `window`, finalized so that nearby shingles hash far apart.
fn shingle_hash(window: &[u64; MAX_SHINGLE_WORDS], start: usize, len: usize) -> u64 {
    let mut h = len as u64;
    // The ring holds `len` words from `start` onwards, wrapping at `len`.
    for &word in window[start..len].iter().chain(&window[..start]) {
        h = (h.rotate_left(27) ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
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
    fn estimate_tracks_true_jaccard_in_both_schemes() {
        // 1000 distinct 1-word shingles in each text, 600 shared: J = 600 / 1400.
        let a: Vec<String> = (0..1000).map(|i| format!("w{i}")).collect();
        let b: Vec<String> = (400..1400).map(|i| format!("w{i}")).collect();
        let truth = 600.0 / 1400.0;
        for scheme in [Scheme::Permutations, Scheme::OnePermutation] {
            let m = MinHasher::with_scheme(1, 512, scheme);
            let est = estimate_similarity(&m.signature(&a.join(" ")), &m.signature(&b.join(" ")));
            // 4 standard deviations of the classic estimator at k = 512.
            let sd = (truth * (1.0 - truth) / 512.0_f64).sqrt();
            assert!(
                (est - truth).abs() < 4.0 * sd,
                "{scheme:?}: estimate {est} vs {truth}"
            );
        }
    }

    #[test]
    fn densified_signature_has_no_empty_bins() {
        let m = MinHasher::with_scheme(1, 256, Scheme::OnePermutation);
        // 10 shingles cannot fill 256 bins by themselves.
        let sig = m.signature("a b c d e f g h i j");
        assert_eq!(sig.len(), 256);
        assert!(sig.iter().all(|&v| v != u32::MAX));
        assert!(sig.iter().collect::<std::collections::HashSet<_>>().len() <= 10);
    }
}

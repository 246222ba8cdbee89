//! Hashing helpers shared by the gazetteer, the features and the model.
//!
//! Every string the tagger looks at is reduced once to a 64-bit hash of its
//! folded form; features and gazetteer keys are then combinations of those
//! hashes, so the hot path compares integers, not strings.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Hash of a byte string (xxh3, stable across platforms and releases).
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// Combine two hashes; order matters, so `(a, b)` and `(b, a)` differ.
#[inline]
pub(crate) fn mix(a: u64, b: u64) -> u64 {
    let x = (a ^ b.rotate_left(23)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^ (x >> 29)
}

/// Fold a token for lookups: lower case, curly apostrophes made straight.
/// Writes into `buf` so that no allocation happens per token.
pub(crate) fn fold_into(word: &str, buf: &mut String) {
    buf.clear();
    if word.is_ascii() {
        buf.push_str(word);
        buf.make_ascii_lowercase();
        return;
    }
    for c in word.chars() {
        match c {
            '\u{2019}' | '\u{2018}' => buf.push('\''),
            c if c.is_lowercase() || !c.is_alphabetic() => buf.push(c),
            c => buf.extend(c.to_lowercase()),
        }
    }
}

/// A `Hasher` for keys that are already good 64-bit hashes.
#[derive(Default, Clone, Copy)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only reached for non-u64 keys, which these maps never use.
        for b in bytes {
            self.0 = mix(self.0, u64::from(*b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Map keyed by precomputed hashes.
pub(crate) type HashKeyMap<V> = HashMap<u64, V, BuildHasherDefault<PassThrough>>;
/// Set of precomputed hashes.
pub(crate) type HashKeySet = HashSet<u64, BuildHasherDefault<PassThrough>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_and_apostrophe_style() {
        let (mut a, mut b) = (String::new(), String::new());
        fold_into("TRUMP’S", &mut a);
        fold_into("trump's", &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn mix_is_order_sensitive() {
        assert_ne!(mix(1, 2), mix(2, 1));
    }
}

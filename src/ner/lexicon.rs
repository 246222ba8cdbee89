//! Word classes learned from large unlabeled text: a Brown cluster and a
//! rarity bucket per word form, so that a word never seen in `eng.train`
//! still tells the tagger which words it behaves like.
//!
//! Built at training time from `spacy-lookups-data` 1.0.5 (MIT):
//! `en_lexeme_cluster.json.gz` (word -> Brown cluster bit path, 1,000
//! classes) and `en_lexeme_prob.json.gz` (word -> smoothed log unigram
//! probability), then stored inside the model file, so tagging never reads
//! them. Only what a lookup can reach is kept: words with a reliable cluster
//! (spaCy writes 0 for forms seen fewer than three times), and no cased form
//! whose folded form already gives the same answer.
//!
//! A cluster integer is the bit path from the root with the first branch in
//! the lowest bit, so `path & ((1 << k) - 1)` is its ancestor `k` levels down.
//! Words are keyed by 32 bits of the xxh3 hash of their exact form (the
//! tagger hashes every word anyway); a collision costs a wrong class for one
//! rare word, not an error.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use super::hash::{fold_into, hash_bytes};
use crate::error::Error;

/// Cluster file name inside the lexicon directory.
pub(crate) const CLUSTER_FILE: &str = "en_lexeme_cluster.json.gz";
/// Probability file name inside the lexicon directory.
pub(crate) const PROB_FILE: &str = "en_lexeme_prob.json.gz";

/// Rarity bucket of a word the lexicon does not know.
pub(crate) const RARITY_UNKNOWN: u8 = 16;

/// What the lexicon says about one word form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct WordClass {
    /// Brown cluster bit path, lowest bit first; 0 when unknown.
    pub cluster: u32,
    /// `0..=15` from frequent to rare, [`RARITY_UNKNOWN`] when unknown.
    pub rarity: u8,
}

impl WordClass {
    const UNKNOWN: WordClass = WordClass {
        cluster: 0,
        rarity: RARITY_UNKNOWN,
    };
}

/// Word forms with their cluster and rarity, searchable by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Lexicon {
    /// Distinct cluster bit paths, sorted.
    classes: Vec<u32>,
    /// Sorted word keys.
    keys: Vec<u32>,
    /// Per key: class index in bits 0..10, rarity in bits 10..14.
    vals: Vec<u16>,
    /// Where each run of keys sharing their top [`BUCKET_BITS`] bits starts
    /// in `keys`, and one past the last. Derived from `keys`, not stored in
    /// the model. A lookup happens for every word the tagger has not met
    /// yet, and a plain binary search over the 175,000 keys touched about
    /// ten cache lines for it; this touches one or two.
    starts: Vec<u32>,
}

/// Bits of a key that pick its bucket: 2^14 starts (64 KB) for about ten
/// keys per bucket.
const BUCKET_BITS: u32 = 14;

/// Bucket starts of sorted `keys` (see [`Lexicon::starts`]).
fn bucket_starts(keys: &[u32]) -> Vec<u32> {
    let mut starts = Vec::with_capacity((1 << BUCKET_BITS) + 1);
    let mut i = 0usize;
    for b in 0..=(1u64 << BUCKET_BITS) {
        // Keys are u32 and sorted: advance past every key below bucket `b`.
        while i < keys.len() && u64::from(keys[i]) >> (32 - BUCKET_BITS) < b {
            i += 1;
        }
        starts.push(i as u32);
    }
    starts
}

/// The 32-bit key of a word from the hash of its exact form.
#[inline]
pub(crate) fn key_of(word_hash: u64) -> u32 {
    (word_hash >> 32) as u32
}

/// Rarity bucket of a log probability: 0 for `-5` and more frequent, one
/// step per natural-log unit, 15 for `-19` and rarer.
fn rarity_of(logprob: f64) -> u8 {
    let b = (-logprob).floor() - 4.0;
    b.clamp(0.0, 15.0) as u8
}

fn read_gz_json(path: &Path) -> Result<String, Error> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        op: "cannot open",
        path: path.to_owned(),
        source,
    })?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::io::BufReader::new(file))
        .read_to_string(&mut text)
        .map_err(|source| Error::Io {
            op: "cannot read",
            path: path.to_owned(),
            source,
        })?;
    Ok(text)
}

impl Lexicon {
    /// Build from the two spaCy lookup files in `dir`.
    pub(crate) fn from_dir(dir: &Path) -> Result<Lexicon, Error> {
        let bad = |p: &Path, e: serde_json::Error| {
            Error::Model(format!("{}: not a JSON word table: {e}", p.display()))
        };
        let cpath = dir.join(CLUSTER_FILE);
        let ppath = dir.join(PROB_FILE);
        let clusters: HashMap<String, u64> =
            serde_json::from_str(&read_gz_json(&cpath)?).map_err(|e| bad(&cpath, e))?;
        let probs: HashMap<String, f64> =
            serde_json::from_str(&read_gz_json(&ppath)?).map_err(|e| bad(&ppath, e))?;
        let entries = clusters
            .iter()
            .map(|(w, &c)| (w.as_str(), c, probs.get(w).copied().unwrap_or(-20.0)));
        Lexicon::from_entries(entries)
    }

    /// Build from `(word, cluster, log probability)` triples (any order).
    pub(crate) fn from_entries<'a>(
        entries: impl Iterator<Item = (&'a str, u64, f64)>,
    ) -> Result<Lexicon, Error> {
        let mut words: Vec<(&str, u32, u8)> = Vec::new();
        for (w, c, p) in entries {
            // 0 marks a cluster spaCy found unreliable; forms with spaces
            // never come out of the tokenizer.
            if c == 0 || w.is_empty() || w.chars().any(char::is_whitespace) {
                continue;
            }
            let c = u32::try_from(c)
                .map_err(|_| Error::Model(format!("cluster {c} of {w:?} is out of range")))?;
            words.push((w, c, rarity_of(p)));
        }
        words.sort_unstable();
        let known: HashMap<&str, (u32, u8)> = words.iter().map(|&(w, c, r)| (w, (c, r))).collect();
        let mut buf = String::new();
        let mut kept: Vec<(u32, &str, u32, u8)> = Vec::with_capacity(words.len());
        for &(w, c, r) in &words {
            fold_into(w, &mut buf);
            // The folded form answers for this one at lookup time.
            if buf != w && known.get(buf.as_str()) == Some(&(c, r)) {
                continue;
            }
            kept.push((key_of(hash_bytes(w.as_bytes())), w, c, r));
        }
        // Sorted by key then word, so a key collision keeps the same word
        // every time.
        kept.sort_unstable();
        kept.dedup_by_key(|e| e.0);
        let mut classes: Vec<u32> = kept.iter().map(|e| e.2).collect();
        classes.sort_unstable();
        classes.dedup();
        if classes.len() > 1 << 10 {
            return Err(Error::Model(format!(
                "{} clusters; at most 1024 fit the model format",
                classes.len()
            )));
        }
        let mut lex = Lexicon {
            keys: Vec::with_capacity(kept.len()),
            vals: Vec::with_capacity(kept.len()),
            classes: Vec::new(),
            starts: Vec::new(),
        };
        for (k, _, c, r) in kept {
            let ci = classes.binary_search(&c).unwrap_or(0) as u16;
            lex.keys.push(k);
            lex.vals.push(ci | u16::from(r) << 10);
        }
        lex.classes = classes;
        lex.starts = bucket_starts(&lex.keys);
        Ok(lex)
    }

    /// Number of word forms.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    fn get(&self, key: u32) -> Option<WordClass> {
        let b = (key >> (32 - BUCKET_BITS)) as usize;
        let (from, to) = match (self.starts.get(b), self.starts.get(b + 1)) {
            (Some(&f), Some(&t)) => (f as usize, t as usize),
            _ => (0, self.keys.len()),
        };
        let i = from + self.keys.get(from..to)?.binary_search(&key).ok()?;
        let v = *self.vals.get(i)?;
        Some(WordClass {
            cluster: self
                .classes
                .get(usize::from(v & 0x3ff))
                .copied()
                .unwrap_or(0),
            rarity: (v >> 10) as u8,
        })
    }

    /// The class of a word: its exact form, else (for an all-capitals word
    /// such as a headline's "CLINTON") its capitalized form, else its folded
    /// form. `word_hash` is `hash_bytes(word)`, `folded` its folded form.
    pub(crate) fn class_of(
        &self,
        word: &str,
        word_hash: u64,
        folded: &str,
        buf: &mut String,
    ) -> WordClass {
        if self.keys.is_empty() {
            return WordClass::UNKNOWN;
        }
        if let Some(c) = self.get(key_of(word_hash)) {
            return c;
        }
        let mut chars = folded.chars();
        if let Some(first) = chars.next() {
            let all_caps = word.chars().count() > 1
                && word.chars().any(char::is_uppercase)
                && !word.chars().any(char::is_lowercase);
            if all_caps {
                buf.clear();
                buf.extend(first.to_uppercase());
                buf.push_str(chars.as_str());
                if let Some(c) = self.get(key_of(hash_bytes(buf.as_bytes()))) {
                    return c;
                }
            }
        }
        if folded != word {
            if let Some(c) = self.get(key_of(hash_bytes(folded.as_bytes()))) {
                return c;
            }
        }
        WordClass::UNKNOWN
    }

    /// Append the encoded lexicon: class count, classes, word count, then
    /// per word the key delta as a LEB128 varint and the packed value.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.classes.len() as u32).to_le_bytes());
        for c in &self.classes {
            out.extend_from_slice(&c.to_le_bytes());
        }
        out.extend_from_slice(&(self.keys.len() as u32).to_le_bytes());
        let mut last = 0u32;
        for (k, v) in self.keys.iter().zip(&self.vals) {
            super::model::write_varint(out, k - last);
            last = *k;
            out.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// Parse what [`Lexicon::encode`] wrote.
    pub(crate) fn decode(r: &mut super::model::Reader<'_>) -> Result<Lexicon, Error> {
        let nclasses = r.u32()? as usize;
        if nclasses > 1 << 10 {
            return Err(Error::Model(format!("{nclasses} word classes in model")));
        }
        let mut classes = Vec::with_capacity(nclasses);
        for _ in 0..nclasses {
            classes.push(r.u32()?);
        }
        let n = r.u32()? as usize;
        let mut keys = Vec::with_capacity(n.min(1 << 22));
        let mut vals = Vec::with_capacity(n.min(1 << 22));
        let mut key = 0u32;
        for i in 0..n {
            let d = r.varint()?;
            key = key
                .checked_add(d)
                .filter(|_| i == 0 || d > 0)
                .ok_or_else(|| Error::Model("lexicon keys out of order".into()))?;
            let v = r.u16()?;
            if usize::from(v & 0x3ff) >= nclasses {
                return Err(Error::Model("lexicon class index out of range".into()));
            }
            keys.push(key);
            vals.push(v);
        }
        Ok(Lexicon {
            classes,
            starts: bucket_starts(&keys),
            keys,
            vals,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex() -> Lexicon {
        Lexicon::from_entries(
            [
                ("Paris", 678u64, -11.8),
                ("paris", 478, -14.3),
                ("London", 678, -10.9),
                ("london", 678, -10.9),
                ("clinton", 0, -15.0),
                ("Clinton", 86, -11.8),
                ("the", 11, -3.5),
                ("New York", 5, -9.0),
            ]
            .into_iter(),
        )
        .unwrap()
    }

    fn class(l: &Lexicon, w: &str) -> WordClass {
        let mut folded = String::new();
        fold_into(w, &mut folded);
        l.class_of(w, hash_bytes(w.as_bytes()), &folded, &mut String::new())
    }

    #[test]
    fn bucketed_lookup_finds_every_key_and_nothing_else() {
        // Keys at both ends of the range and across bucket edges, sparse and dense.
        let mut keys: Vec<u32> = vec![0, 1, u32::MAX, u32::MAX - 1, 1 << 18, (1 << 18) - 1];
        let mut x = 0x9E37_79B9u32;
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            keys.push(x);
        }
        keys.sort_unstable();
        keys.dedup();
        let vals: Vec<u16> = (0..keys.len()).map(|i| (i % 7) as u16).collect();
        let lex = Lexicon {
            classes: (0..7).collect(),
            starts: bucket_starts(&keys),
            keys: keys.clone(),
            vals,
        };
        assert_eq!(lex.starts.len(), (1 << BUCKET_BITS) + 1);
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(lex.get(k).map(|c| c.cluster), Some((i % 7) as u32), "{k}");
            for probe in [k.wrapping_add(1), k.wrapping_sub(1)] {
                let want = keys.binary_search(&probe).ok().map(|j| (j % 7) as u32);
                assert_eq!(lex.get(probe).map(|c| c.cluster), want, "{probe}");
            }
        }
    }

    #[test]
    fn looks_up_exact_then_capitalized_then_folded_forms() {
        let l = lex();
        assert_eq!(class(&l, "Paris").cluster, 678);
        assert_eq!(class(&l, "paris").cluster, 478);
        // A headline's capitals find the capitalized form.
        assert_eq!(class(&l, "PARIS").cluster, 678);
        assert_eq!(class(&l, "CLINTON").cluster, 86);
        assert_eq!(class(&l, "THE").cluster, 11);
        assert_eq!(class(&l, "The").cluster, 11);
        assert_eq!(class(&l, "clinton"), WordClass::UNKNOWN);
        assert_eq!(class(&l, "Zyzzyva"), WordClass::UNKNOWN);
        assert_eq!(class(&l, "the").rarity, 0);
        assert_eq!(class(&l, "Paris").rarity, 7);
    }

    #[test]
    fn prunes_unreliable_spaced_and_redundant_forms() {
        // "London" is answered by "london"; "clinton" (0) and "New York"
        // (a space) are dropped.
        assert_eq!(lex().len(), 5);
    }

    #[test]
    fn encode_decode_round_trips() {
        let l = lex();
        let mut bytes = Vec::new();
        l.encode(&mut bytes);
        let mut r = super::super::model::Reader {
            bytes: &bytes,
            pos: 0,
        };
        assert_eq!(Lexicon::decode(&mut r).unwrap(), l);
        assert_eq!(r.pos, bytes.len());
        let mut r = super::super::model::Reader {
            bytes: &bytes[..bytes.len() - 1],
            pos: 0,
        };
        assert!(Lexicon::decode(&mut r).is_err());
    }
}

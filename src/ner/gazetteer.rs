//! The compact gazetteer: place names with GeoNames ids, and census first and
//! last names. Built by `scripts/build_gazetteer.py` into `models/gazetteer.tsv`.
//!
//! Names are keyed by the hash of their folded tokens (see [`super::hash`]),
//! so matching a span of text is a few integer lookups.

use super::hash::{fold_into, hash_bytes, mix, HashKeyMap, HashKeySet};
use super::tokenize::{tokenize, Token};
use crate::error::Error;

/// What kind of place a gazetteer name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlaceKind {
    /// A country (by its GeoNames name).
    Country,
    /// A common short form of a country ("U.S.", "Britain").
    CountryAlias,
    /// A continent.
    Continent,
    /// A US state.
    State,
    /// A city of 15,000+ people.
    City,
}

impl PlaceKind {
    pub(crate) fn code(self) -> u64 {
        self as u64 + 1
    }
}

/// One place the gazetteer knows.
#[derive(Debug, Clone)]
pub(crate) struct Place {
    pub kind: PlaceKind,
    pub geonames_id: u64,
    /// ISO 3166-1 alpha-2 code; empty for continents.
    pub country: Box<str>,
    /// Canonical name when it differs from the matched name ("Kiev" -> "Kyiv").
    pub canonical: Option<Box<str>>,
}

/// Per-word name facts, packed: bits 0-2 first-name bucket + 1, bits 3-5 last-name bucket + 1.
pub(crate) type NameBits = u8;

/// The loaded gazetteer.
#[derive(Debug, Default)]
pub(crate) struct Gazetteer {
    places: HashKeyMap<Place>,
    /// Hashes of every proper token prefix of a multi-token place name.
    prefixes: HashKeySet,
    names: HashKeyMap<NameBits>,
    /// Longest place name, in tokens.
    pub max_tokens: usize,
}

/// Start value of a token-sequence key.
pub(crate) const SEQ_SEED: u64 = 0x5EED_0F91_ACE5;

impl Gazetteer {
    /// Parse the TSV written by `scripts/build_gazetteer.py`.
    pub(crate) fn parse(tsv: &str) -> Result<Self, Error> {
        let mut g = Gazetteer::default();
        let mut toks: Vec<Token> = Vec::new();
        let mut buf = String::new();
        for (n, line) in tsv.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || Error::Model(format!("gazetteer line {}: malformed: {line:?}", n + 1));
            let mut cols = line.split('\t');
            let tag = cols.next().ok_or_else(bad)?;
            let name = cols.next().ok_or_else(bad)?;
            match tag {
                "P" => {
                    let kind = match cols.next().ok_or_else(bad)? {
                        "C" => PlaceKind::Country,
                        "A" => PlaceKind::CountryAlias,
                        "K" => PlaceKind::Continent,
                        "S" => PlaceKind::State,
                        "T" => PlaceKind::City,
                        _ => return Err(bad()),
                    };
                    let geonames_id = cols.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
                    let country = cols.next().ok_or_else(bad)?.into();
                    let canonical = cols.next().filter(|c| !c.is_empty()).map(Box::from);
                    toks.clear();
                    tokenize(name, &mut toks);
                    let mut key = SEQ_SEED;
                    for (i, t) in toks.iter().enumerate() {
                        if i > 0 {
                            g.prefixes.insert(key);
                        }
                        fold_into(&name[t.start..t.end], &mut buf);
                        key = mix(key, hash_bytes(buf.as_bytes()));
                    }
                    g.max_tokens = g.max_tokens.max(toks.len());
                    g.places.insert(
                        key,
                        Place {
                            kind,
                            geonames_id,
                            country,
                            canonical,
                        },
                    );
                }
                "F" | "L" => {
                    let bucket: u8 = cols.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
                    fold_into(name, &mut buf);
                    let entry = g.names.entry(hash_bytes(buf.as_bytes())).or_insert(0);
                    let shift = if tag == "F" { 0 } else { 3 };
                    *entry |= (bucket.min(6) + 1) << shift;
                }
                _ => return Err(bad()),
            }
        }
        Ok(g)
    }

    /// Name facts for a folded word hash.
    pub(crate) fn name_bits(&self, word_hash: u64) -> NameBits {
        self.names.get(&word_hash).copied().unwrap_or(0)
    }

    /// Whether some place name starts with the folded word hash `word`
    /// (exactly when [`Gazetteer::longest_place`] can match from it).
    pub(crate) fn can_start(&self, word: u64) -> bool {
        let key = mix(SEQ_SEED, word);
        self.places.contains_key(&key) || self.prefixes.contains(&key)
    }

    /// Longest place match starting at `start` among folded word hashes `words`;
    /// returns its length in tokens and the place.
    pub(crate) fn longest_place(&self, words: &[u64], start: usize) -> Option<(usize, &Place)> {
        let mut key = SEQ_SEED;
        let mut found = None;
        for (n, w) in words[start..].iter().take(self.max_tokens).enumerate() {
            key = mix(key, *w);
            if let Some(p) = self.places.get(&key) {
                found = Some((n + 1, p));
            }
            if !self.prefixes.contains(&key) {
                break;
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(words: &[&str]) -> Vec<u64> {
        let mut buf = String::new();
        words
            .iter()
            .map(|w| {
                fold_into(w, &mut buf);
                hash_bytes(buf.as_bytes())
            })
            .collect()
    }

    const SAMPLE: &str = "# test\nP\tNew York\tS\t5128638\tUS\t\nP\tYork\tT\t2633352\tGB\t\n\
                          P\tU.S.\tA\t6252001\tUS\tUnited States\nF\tDONALD\t1\nL\tTRUMP\t3\n";

    #[test]
    fn matches_longest_multi_token_place() {
        let g = Gazetteer::parse(SAMPLE).unwrap();
        let w = hashes(&["in", "New", "York", "today"]);
        let (len, p) = g.longest_place(&w, 1).unwrap();
        assert_eq!((len, p.geonames_id), (2, 5128638));
        assert_eq!(g.longest_place(&w, 2).unwrap().1.geonames_id, 2633352);
        assert!(g.longest_place(&w, 0).is_none());
    }

    #[test]
    fn can_start_says_exactly_where_a_match_may_begin() {
        let g = Gazetteer::parse(SAMPLE).unwrap();
        let w = hashes(&["New", "York", "U.S.", "in", "Trump", "New", "Jersey"]);
        // "New" starts a name without being one; "York" and "U.S." are names.
        let want = [true, true, true, false, false, true, false];
        for (i, &h) in w.iter().enumerate() {
            assert_eq!(g.can_start(h), want[i], "token {i}");
            // Where no name can start, no match does.
            if !g.can_start(h) {
                assert!(g.longest_place(&w, i).is_none());
            }
        }
        // A name's start may still fail to match: "New Jersey" is unknown.
        assert!(g.longest_place(&w, 5).is_none());
    }

    #[test]
    fn alias_carries_canonical_name_case_insensitively() {
        let g = Gazetteer::parse(SAMPLE).unwrap();
        let (_, p) = g.longest_place(&hashes(&["u.s."]), 0).unwrap();
        assert_eq!(p.canonical.as_deref(), Some("United States"));
        assert_eq!(p.kind, PlaceKind::CountryAlias);
    }

    #[test]
    fn name_bits_pack_first_and_last_buckets() {
        let g = Gazetteer::parse(SAMPLE).unwrap();
        let w = hashes(&["Donald", "Trump", "Smith"]);
        assert_eq!(g.name_bits(w[0]), 2);
        assert_eq!(g.name_bits(w[1]), 4 << 3);
        assert_eq!(g.name_bits(w[2]), 0);
    }

    #[test]
    fn rejects_malformed_lines() {
        assert!(Gazetteer::parse("P\tParis\tZ\t1\tFR\t\n").is_err());
        assert!(Gazetteer::parse("P\tParis\tT\tnotanumber\tFR\t\n").is_err());
    }
}

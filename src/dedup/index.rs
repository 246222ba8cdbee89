//! The index of articles seen so far: exact keys, LSH band buckets and the
//! compact signatures used to verify candidates.

use std::collections::HashMap;

use super::minhash::mix64;
use super::{
    split_minhash, NearParams, MIN_CONTAINED_JACCARD, MIN_CONTAINED_SHINGLES, MIN_NEAR_SHINGLES,
};
use crate::record::{DedupInfo, DedupStatus, Fingerprint, Relation};

/// Bucket chains longer than this are cut short: only pathological inputs
/// (thousands of mutually similar but distinct texts) reach it, and it keeps
/// the sequential step's cost per article bounded.
pub const MAX_BUCKET_WALK: usize = 64;

const NO_SLOT: u32 = u32::MAX;

/// Articles seen so far. Only canonical (non-duplicate) articles are stored, so
/// `duplicate_of` always names an article that is itself unique; a near
/// duplicate adds only its exact key, so that its identical copies are found
/// as exact duplicates of the same canonical.
///
/// Cost per canonical article, all in flat arrays or one hash table each:
/// the id bytes plus a 4-byte end offset, one exact-key entry, `bands` bucket
/// entries with a 4-byte chain link each, 2 bytes per MinHash value and a
/// 4-byte shingle count.
#[derive(Debug, Default)]
pub struct DedupIndex {
    near: Option<NearParams>,
    /// Ids of stored articles, concatenated; `id_ends[slot]` ends each one.
    id_bytes: String,
    id_ends: Vec<u32>,
    /// Exact key -> slot.
    exact: HashMap<u64, u32>,
    /// Band key -> most recent slot in that bucket.
    buckets: HashMap<u32, u32>,
    /// `chain[slot * bands + band]`: the previous slot in the same bucket.
    chain: Vec<u32>,
    /// Low 16 bits of each MinHash value, `bands * rows` per slot (zeros for
    /// an article without words). Agreement by chance is 1 in 65,536, far
    /// below the estimator's own noise.
    sigs: Vec<u16>,
    /// Shingles of each slot's text (0 for an article without words).
    shingles: Vec<u32>,
    candidates: Vec<u32>,
    stats: IndexStats,
}

/// Counters of the work the index did, for the run summary and tuning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexStats {
    /// LSH candidates whose signatures were compared.
    pub candidates: u64,
    /// Candidates whose estimated similarity fell below the threshold.
    pub rejected: u64,
}

impl DedupIndex {
    /// An empty index. `near` is `None` for exact matching only.
    pub fn new(near: Option<NearParams>) -> Self {
        DedupIndex {
            near,
            ..DedupIndex::default()
        }
    }

    /// Decide whether `fp` duplicates an earlier article; if not, remember it
    /// under `id`. Call in input order: the first article seen is canonical.
    ///
    /// The rule is in the [module docs](crate::dedup#the-decision-rule).
    pub fn check_and_insert(&mut self, id: &str, fp: &Fingerprint) -> DedupInfo {
        if let Some(info) = self.exact_match(fp) {
            return info;
        }
        let keys = self.band_keys(&fp.minhash);
        if let Some(m) = self.best_candidate(&keys, &fp.minhash) {
            // Later identical copies of this text are exact duplicates of the same canonical.
            self.exact.entry(fp.exact).or_insert(m.slot);
            return self.near_info(&m);
        }
        self.insert(id, fp, &keys);
        DedupInfo::default()
    }

    /// Look `fp` up as [`DedupIndex::check_and_insert`] would, without
    /// remembering anything: `None` means it would be unique.
    pub fn find(&mut self, fp: &Fingerprint) -> Option<DedupInfo> {
        if let Some(info) = self.exact_match(fp) {
            return Some(info);
        }
        let keys = self.band_keys(&fp.minhash);
        self.best_candidate(&keys, &fp.minhash)
            .map(|m| self.near_info(&m))
    }

    /// Remember what an earlier run decided, in its input order, without
    /// deciding again: a canonical article is stored as it was, a near
    /// duplicate's exact key points at its canonical again. Fails, naming
    /// it, on an alias whose canonical is not among the ones restored.
    pub fn restore<'a>(
        &mut self,
        signatures: impl IntoIterator<Item = &'a Signature>,
    ) -> Result<(), String> {
        let mut slots: HashMap<&'a str, u32> = HashMap::new();
        for s in signatures {
            match s {
                Signature::Canonical { id, fp } => {
                    let slot = self.id_ends.len() as u32;
                    let keys = self.band_keys(&fp.minhash);
                    self.insert(id, fp, &keys);
                    if self.id_ends.len() as u32 > slot {
                        slots.entry(id).or_insert(slot);
                    }
                }
                Signature::Alias { exact, canonical } => {
                    let &slot = slots.get(canonical.as_str()).ok_or_else(|| {
                        format!("near duplicate of {canonical}, which is not before it")
                    })?;
                    self.exact.entry(*exact).or_insert(slot);
                }
            }
        }
        Ok(())
    }

    fn near_info(&self, m: &Match) -> DedupInfo {
        DedupInfo {
            status: DedupStatus::Near,
            duplicate_of: Some(self.id(m.slot).to_owned()),
            similarity: Some(m.similarity),
            containment: Some(m.containment),
            relation: Some(m.relation),
        }
    }

    fn exact_match(&self, fp: &Fingerprint) -> Option<DedupInfo> {
        let &slot = self.exact.get(&fp.exact)?;
        // `slot` is the canonical of an identical earlier article, which may
        // itself have been a near duplicate: report the similarity to the
        // canonical. A pair under the threshold that would not be a near
        // duplicate either can only mean a 64-bit key collision between
        // different texts, so it does not count.
        let estimate = self.estimate(slot, &fp.minhash);
        let accepted = match estimate {
            None => true,
            Some((similarity, containment)) => {
                similarity >= self.near.as_ref().map_or(1.0, |p| p.threshold)
                    || self.relation(similarity, containment).is_some()
            }
        };
        accepted.then(|| DedupInfo {
            status: DedupStatus::Exact,
            duplicate_of: Some(self.id(slot).to_owned()),
            similarity: Some(estimate.map_or(1.0, |e| e.0)),
            containment: Some(estimate.map_or(1.0, |e| e.1.value)),
            relation: None,
        })
    }

    /// Number of articles remembered (the canonical ones).
    pub fn len(&self) -> usize {
        self.id_ends.len()
    }

    /// True when nothing has been remembered.
    pub fn is_empty(&self) -> bool {
        self.id_ends.is_empty()
    }

    /// Work counters so far.
    pub fn stats(&self) -> IndexStats {
        self.stats
    }

    /// Heap bytes held by the index, counting allocated capacity (hash tables
    /// at one control byte plus one entry per bucket).
    pub fn heap_bytes(&self) -> usize {
        fn table<K, V>(m: &HashMap<K, V>) -> usize {
            // hashbrown keeps 7/8 of its buckets usable and rounds up to a power of two.
            let buckets = if m.capacity() == 0 {
                0
            } else {
                (m.capacity() * 8 / 7).next_power_of_two()
            };
            buckets * (std::mem::size_of::<(K, V)>() + 1)
        }
        self.id_bytes.capacity()
            + self.id_ends.capacity() * 4
            + table(&self.exact)
            + table(&self.buckets)
            + self.chain.capacity() * 4
            + self.sigs.capacity() * 2
            + self.shingles.capacity() * 4
            + self.candidates.capacity() * 4
    }

    fn id(&self, slot: u32) -> &str {
        let slot = slot as usize;
        let start = if slot == 0 {
            0
        } else {
            self.id_ends[slot - 1] as usize
        };
        &self.id_bytes[start..self.id_ends[slot] as usize]
    }

    fn stored_signature(&self, slot: u32) -> &[u16] {
        let k = self.permutations();
        let start = slot as usize * k;
        self.sigs.get(start..start + k).unwrap_or(&[])
    }

    /// Estimated similarity and containment of `minhash` (a fingerprint's)
    /// to a stored article; `None` when either side has no signature.
    fn estimate(&self, slot: u32, minhash: &[u32]) -> Option<(f64, Containment)> {
        let (sig, shingles) = split_minhash(minhash)?;
        let stored = self.stored_signature(slot);
        let stored_shingles = self.shingles.get(slot as usize).copied().unwrap_or(0);
        if stored.len() != sig.len() || stored_shingles == 0 {
            return None;
        }
        let similarity = agreements(stored, sig) as f64 / sig.len() as f64;
        Some((
            similarity,
            Containment::estimate(similarity, shingles, stored_shingles),
        ))
    }

    /// Whether two fingerprints' MinHash would pass verification as a
    /// candidate pair, in either order (the test is symmetric; only the
    /// relation's direction depends on which one is new). Exactly the
    /// arithmetic of a lookup, so a cluster can decide which pairs matter
    /// without an index.
    pub fn verifies(&self, a: &[u32], b: &[u32]) -> bool {
        let (Some((sig_a, n_a)), Some((sig_b, n_b))) = (split_minhash(a), split_minhash(b)) else {
            return false;
        };
        if sig_a.len() != sig_b.len() || sig_a.len() != self.permutations() || n_b == 0 {
            return false;
        }
        let stored: Vec<u16> = sig_b.iter().map(|&v| v as u16).collect();
        let similarity = agreements(&stored, sig_a) as f64 / sig_a.len() as f64;
        self.relation(similarity, Containment::estimate(similarity, n_a, n_b))
            .is_some()
    }

    /// The relation a pair with these estimates has, if it is a near duplicate.
    fn relation(&self, similarity: f64, c: Containment) -> Option<Relation> {
        let p = self.near.as_ref()?;
        if c.smaller < MIN_NEAR_SHINGLES {
            None
        } else if similarity >= p.threshold {
            Some(Relation::Resembles)
        } else if c.value >= p.containment
            && similarity >= MIN_CONTAINED_JACCARD
            && c.smaller >= MIN_CONTAINED_SHINGLES
        {
            Some(if c.new_is_smaller {
                Relation::ContainedIn
            } else {
                Relation::Contains
            })
        } else {
            None
        }
    }

    fn permutations(&self) -> usize {
        self.near.as_ref().map_or(0, |p| p.bands * p.rows)
    }

    /// The LSH bucket keys of a fingerprint's MinHash, one per band (the
    /// band number is mixed in, so equal keys mean the same band); empty when
    /// the article takes no part in near matching. Two articles can only be
    /// compared when they share a key or their exact keys.
    pub fn band_keys(&self, minhash: &[u32]) -> Vec<u32> {
        let Some(p) = &self.near else {
            return Vec::new();
        };
        let Some((sig, _)) = split_minhash(minhash) else {
            return Vec::new();
        };
        if sig.len() != p.bands * p.rows {
            return Vec::new();
        }
        sig.chunks_exact(p.rows)
            .enumerate()
            .map(|(band, rows)| {
                let mut h = band as u64;
                for &v in rows {
                    h = (h.rotate_left(29) ^ u64::from(v)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                }
                (mix64(h) >> 32) as u32
            })
            .collect()
    }

    fn best_candidate(&mut self, keys: &[u32], minhash: &[u32]) -> Option<Match> {
        let bands = keys.len();
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.clear();
        for (band, key) in keys.iter().enumerate() {
            let mut slot = self.buckets.get(key).copied().unwrap_or(NO_SLOT);
            let mut walked = 0;
            while slot != NO_SLOT && walked < MAX_BUCKET_WALK {
                candidates.push(slot);
                slot = self.chain[slot as usize * bands + band];
                walked += 1;
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut best: Option<Match> = None;
        self.stats.candidates += candidates.len() as u64;
        for &slot in &candidates {
            let verdict = self
                .estimate(slot, minhash)
                .and_then(|(s, c)| Some((s, c, self.relation(s, c)?)));
            let Some((similarity, containment, relation)) = verdict else {
                self.stats.rejected += 1;
                continue;
            };
            // Candidates are in slot order, so a strict `>` keeps the earliest on ties.
            if best.as_ref().is_none_or(|b| similarity > b.similarity) {
                best = Some(Match {
                    slot,
                    similarity,
                    containment: containment.value,
                    relation,
                });
            }
        }
        self.candidates = candidates;
        best
    }

    fn insert(&mut self, id: &str, fp: &Fingerprint, keys: &[u32]) {
        let Ok(end) = u32::try_from(self.id_bytes.len() + id.len()) else {
            return; // 4 GiB of ids: stop remembering rather than wrap offsets.
        };
        let slot = self.id_ends.len() as u32;
        self.id_bytes.push_str(id);
        self.id_ends.push(end);
        self.exact.entry(fp.exact).or_insert(slot);
        let Some(p) = &self.near else {
            return;
        };
        let (k, bands) = (p.bands * p.rows, p.bands);
        let signature = split_minhash(&fp.minhash).filter(|_| !keys.is_empty());
        let Some((sig, shingles)) = signature else {
            self.sigs.resize(self.sigs.len() + k, 0);
            self.shingles.push(0);
            self.chain.resize(self.chain.len() + bands, NO_SLOT);
            return;
        };
        self.sigs.extend(sig.iter().map(|&v| v as u16));
        self.shingles.push(shingles);
        for key in keys {
            let previous = self.buckets.insert(*key, slot).unwrap_or(NO_SLOT);
            self.chain.push(previous);
        }
    }
}

/// What one article leaves in the index for later runs
/// ([`DedupIndex::restore`]): exact duplicates leave nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// A unique article, stored under its id.
    Canonical {
        /// The article's id.
        id: String,
        /// Its fingerprint.
        fp: Fingerprint,
    },
    /// A near duplicate: its exact key, which names its canonical from then on.
    Alias {
        /// The near duplicate's exact key.
        exact: u64,
        /// The id of the canonical it duplicates.
        canonical: String,
    },
}

impl Signature {
    /// What an article decided as `info` leaves behind, if anything.
    pub fn of(id: &str, fp: &Fingerprint, info: &DedupInfo) -> Option<Signature> {
        match info.status {
            DedupStatus::Unique => Some(Signature::Canonical {
                id: id.to_owned(),
                fp: fp.clone(),
            }),
            DedupStatus::Near => Some(Signature::Alias {
                exact: fp.exact,
                canonical: info.duplicate_of.clone()?,
            }),
            DedupStatus::Exact => None,
        }
    }
}

/// A verified candidate.
#[derive(Debug, Clone, Copy)]
struct Match {
    slot: u32,
    similarity: f64,
    containment: f64,
    relation: Relation,
}

/// Estimated containment of a pair.
#[derive(Debug, Clone, Copy)]
struct Containment {
    /// Share of the smaller text's shingles in the larger one, at most 1.
    value: f64,
    /// Shingles of the smaller text.
    smaller: u32,
    /// Whether the new article is the smaller (ties count as smaller).
    new_is_smaller: bool,
}

impl Containment {
    /// From the estimated Jaccard `j` and the shingle counts `a` (new) and
    /// `b` (stored): the intersection is `j / (1 + j) * (a + b)`, divided by
    /// the smaller count.
    fn estimate(j: f64, a: u32, b: u32) -> Containment {
        let smaller = a.min(b);
        let intersection = j / (1.0 + j) * (f64::from(a) + f64::from(b));
        let value = if smaller == 0 {
            0.0
        } else {
            (intersection / f64::from(smaller)).min(1.0)
        };
        Containment {
            value,
            smaller,
            new_is_smaller: a <= b,
        }
    }
}

/// Positions where the stored (truncated) signature agrees with a full one.
fn agreements(stored: &[u16], sig: &[u32]) -> usize {
    stored
        .iter()
        .zip(sig)
        .filter(|(&s, &v)| s == v as u16)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::Fingerprinter;

    /// Deterministic prose: `n` words drawn from a small vocabulary by an LCG,
    /// so shingles repeat rarely but texts stay reproducible.
    fn prose(seed: u64, n: usize) -> Vec<String> {
        const VOCAB: [&str; 24] = [
            "market",
            "minister",
            "shares",
            "club",
            "season",
            "film",
            "said",
            "rose",
            "fell",
            "government",
            "phone",
            "players",
            "report",
            "deal",
            "firm",
            "the",
            "a",
            "new",
            "of",
            "in",
            "and",
            "chief",
            "plans",
            "year",
        ];
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // 1,200 word forms: bigrams of unrelated texts rarely meet.
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let x = (state >> 33) as usize;
                format!("{}{}", VOCAB[x % VOCAB.len()], x / VOCAB.len() % 50)
            })
            .collect()
    }

    fn setup() -> (Fingerprinter, DedupIndex) {
        let params = NearParams::default();
        (
            Fingerprinter::new(Some(&params)),
            DedupIndex::new(Some(params)),
        )
    }

    #[test]
    fn identical_texts_are_exact_duplicates() {
        let (f, mut index) = setup();
        let text = prose(1, 200).join(" ");
        assert_eq!(
            index.check_and_insert("a", &f.fingerprint(&text)).status,
            DedupStatus::Unique
        );
        let again = index.check_and_insert("b", &f.fingerprint(&text));
        assert_eq!(again.status, DedupStatus::Exact);
        assert_eq!(again.duplicate_of.as_deref(), Some("a"));
        assert_eq!(again.similarity, Some(1.0));
    }

    #[test]
    fn case_and_punctuation_changes_are_exact_duplicates() {
        let (f, mut index) = setup();
        let text = prose(2, 100).join(" ");
        index.check_and_insert("a", &f.fingerprint(&text));
        let shouted = format!("“{}!”", text.to_uppercase());
        assert_eq!(
            index.check_and_insert("b", &f.fingerprint(&shouted)).status,
            DedupStatus::Exact
        );
    }

    #[test]
    fn light_edit_is_a_near_duplicate() {
        let (f, mut index) = setup();
        let mut words = prose(3, 300);
        index.check_and_insert("a", &f.fingerprint(&words.join(" ")));
        words[150] = "zeppelin".to_owned();
        words.truncate(290);
        let verdict = index.check_and_insert("b", &f.fingerprint(&words.join(" ")));
        assert_eq!(verdict.status, DedupStatus::Near);
        assert_eq!(verdict.duplicate_of.as_deref(), Some("a"));
        let similarity = verdict.similarity.unwrap_or(0.0);
        assert!(similarity > 0.8 && similarity < 1.0, "{similarity}");
    }

    #[test]
    fn unrelated_texts_are_unique() {
        let (f, mut index) = setup();
        for seed in 0..50 {
            let verdict = index.check_and_insert(
                &format!("a{seed}"),
                &f.fingerprint(&prose(seed + 100, 200).join(" ")),
            );
            assert_eq!(verdict, DedupInfo::default(), "seed {seed}");
        }
        assert_eq!(index.len(), 50);
    }

    #[test]
    fn canonical_is_the_first_seen() {
        let (f, mut index) = setup();
        let words = prose(4, 300);
        let original = words.join(" ");
        let edited = words[..295].join(" ");
        index.check_and_insert("first", &f.fingerprint(&edited));
        index.check_and_insert("second", &f.fingerprint(&original));
        let third = index.check_and_insert("third", &f.fingerprint(&original));
        // "second" was a duplicate, so it was never stored: "first" stays canonical.
        assert_eq!(third.duplicate_of.as_deref(), Some("first"));
        assert_eq!(index.len(), 1);
    }

    #[test]
    fn copy_of_a_near_duplicate_is_exact_and_names_the_canonical() {
        let (f, mut index) = setup();
        let words = prose(6, 300);
        index.check_and_insert("canonical", &f.fingerprint(&words.join(" ")));
        let edited = words[..280].join(" ");
        let near = index.check_and_insert("near", &f.fingerprint(&edited));
        assert_eq!(near.status, DedupStatus::Near);
        let copy = index.check_and_insert("copy", &f.fingerprint(&edited));
        assert_eq!(copy.status, DedupStatus::Exact);
        assert_eq!(copy.duplicate_of.as_deref(), Some("canonical"));
        assert_eq!(copy.similarity, near.similarity);
    }

    #[test]
    fn verification_rejects_a_false_lsh_candidate() {
        let params = NearParams::default();
        let k = params.bands * params.rows;
        let mut index = DedupIndex::new(Some(params.clone()));
        let a = Fingerprint {
            exact: 1,
            minhash: (0..k as u32).chain([500]).collect(),
        };
        // Same first band, every other value different: a candidate with similarity rows / k.
        let mut other: Vec<u32> = (0..k as u32).map(|v| v + 10_000).chain([500]).collect();
        other[..params.rows].copy_from_slice(&a.minhash[..params.rows]);
        let b = Fingerprint {
            exact: 2,
            minhash: other,
        };
        index.check_and_insert("a", &a);
        let verdict = index.check_and_insert("b", &b);
        assert_eq!(verdict.status, DedupStatus::Unique);
        assert_eq!(
            index.stats(),
            IndexStats {
                candidates: 1,
                rejected: 1
            }
        );
    }

    #[test]
    fn exact_key_collision_with_different_signatures_is_not_exact() {
        let params = NearParams::default();
        let k = params.bands * params.rows;
        let mut index = DedupIndex::new(Some(params));
        let a = Fingerprint {
            exact: 7,
            minhash: (0..k as u32).chain([500]).collect(),
        };
        let b = Fingerprint {
            exact: 7,
            minhash: (0..k as u32).map(|v| v + 1).chain([500]).collect(),
        };
        index.check_and_insert("a", &a);
        assert_eq!(index.check_and_insert("b", &b).status, DedupStatus::Unique);
    }

    #[test]
    fn exact_only_index_ignores_signatures() {
        let f = Fingerprinter::new(None);
        let mut index = DedupIndex::new(None);
        let words = prose(5, 100);
        index.check_and_insert("a", &f.fingerprint(&words.join(" ")));
        assert_eq!(
            index
                .check_and_insert("b", &f.fingerprint(&words[1..].join(" ")))
                .status,
            DedupStatus::Unique
        );
        assert_eq!(
            index
                .check_and_insert("c", &f.fingerprint(&words.join(" ")))
                .status,
            DedupStatus::Exact
        );
    }

    #[test]
    fn texts_without_words_match_only_exactly() {
        let (f, mut index) = setup();
        assert_eq!(
            index.check_and_insert("a", &f.fingerprint("...")).status,
            DedupStatus::Unique
        );
        assert_eq!(
            index.check_and_insert("b", &f.fingerprint("!!")).status,
            DedupStatus::Exact
        );
        assert_eq!(
            index.check_and_insert("c", &f.fingerprint("one")).status,
            DedupStatus::Unique
        );
    }

    #[test]
    fn verdicts_are_deterministic() {
        let run = || {
            let (f, mut index) = setup();
            (0..40)
                .map(|i| {
                    let mut words = prose(i % 13, 150);
                    words.truncate(150 - (i as usize % 7));
                    index.check_and_insert(&format!("id{i}"), &f.fingerprint(&words.join(" ")))
                })
                .collect::<Vec<_>>()
        };
        let first = run();
        assert!(first.iter().any(|v| v.status == DedupStatus::Near));
        assert_eq!(first, run());
    }

    /// `paragraphs` paragraphs of 60 words each, all from one seed.
    fn story(seed: u64, paragraphs: usize) -> Vec<String> {
        (0..paragraphs)
            .map(|p| prose(seed * 1000 + p as u64, 60).join(" "))
            .collect()
    }

    #[test]
    fn cut_copy_is_contained_in_its_original_either_way_round() {
        let (f, mut index) = setup();
        let original = story(7, 10).join("\n\n");
        let cut = story(7, 4).join("\n\n");
        index.check_and_insert("original", &f.fingerprint(&original));
        let verdict = index.check_and_insert("cut", &f.fingerprint(&cut));
        assert_eq!(verdict.status, DedupStatus::Near);
        assert_eq!(verdict.relation, Some(Relation::ContainedIn));
        assert_eq!(verdict.duplicate_of.as_deref(), Some("original"));
        let similarity = verdict.similarity.unwrap_or(1.0);
        assert!(similarity < 0.5, "Jaccard about 0.4: {similarity}");
        assert!(verdict.containment.unwrap_or(0.0) >= 0.8, "{verdict:?}");

        let (f, mut index) = setup();
        index.check_and_insert("cut", &f.fingerprint(&cut));
        let verdict = index.check_and_insert("original", &f.fingerprint(&original));
        assert_eq!(verdict.relation, Some(Relation::Contains));
        assert_eq!(verdict.duplicate_of.as_deref(), Some("cut"));
    }

    #[test]
    fn follow_up_reusing_the_first_paragraph_is_unique() {
        let (f, mut index) = setup();
        let original = story(8, 8);
        let mut follow_up = vec![original[0].clone()];
        follow_up.extend(story(9, 7));
        index.check_and_insert("original", &f.fingerprint(&original.join("\n\n")));
        let verdict = index.check_and_insert("follow-up", &f.fingerprint(&follow_up.join("\n\n")));
        assert_eq!(verdict, DedupInfo::default());
    }

    #[test]
    fn resembling_copy_names_its_relation_and_exact_copies_none() {
        let (f, mut index) = setup();
        let words = prose(10, 300);
        index.check_and_insert("a", &f.fingerprint(&words.join(" ")));
        let near = index.check_and_insert("b", &f.fingerprint(&words[..280].join(" ")));
        assert_eq!(near.relation, Some(Relation::Resembles));
        let exact = index.check_and_insert("c", &f.fingerprint(&words.join(" ")));
        assert_eq!(exact.status, DedupStatus::Exact);
        assert_eq!(exact.relation, None);
        assert_eq!(exact.containment, Some(1.0));
    }

    #[test]
    fn containment_needs_enough_shingles_in_the_smaller_text() {
        let (f, mut index) = setup();
        let words = prose(11, 400);
        index.check_and_insert("long", &f.fingerprint(&words.join(" ")));
        // 30 words: contained, but too short for containment to count.
        let short = index.check_and_insert("short", &f.fingerprint(&words[..30].join(" ")));
        assert_eq!(short.status, DedupStatus::Unique);
    }

    #[test]
    fn containment_above_one_turns_it_off() {
        let params = NearParams {
            containment: 2.0,
            ..NearParams::default()
        };
        let f = Fingerprinter::new(Some(&params));
        let mut index = DedupIndex::new(Some(params));
        index.check_and_insert("original", &f.fingerprint(&story(12, 10).join("\n\n")));
        let cut = index.check_and_insert("cut", &f.fingerprint(&story(12, 5).join("\n\n")));
        assert_eq!(cut.status, DedupStatus::Unique);
    }

    #[test]
    fn heap_bytes_grow_with_stored_articles() {
        let (f, mut index) = setup();
        let empty = index.heap_bytes();
        for seed in 0..100 {
            index.check_and_insert(
                &format!("{seed:032x}"),
                &f.fingerprint(&prose(seed, 100).join(" ")),
            );
        }
        let per_article = (index.heap_bytes() - empty) / 100;
        // At least the signature (2 bytes per value) and the 32-byte id.
        let k = NearParams::default().bands * NearParams::default().rows;
        assert!(per_article >= k * 2 + 32, "{per_article}");
    }
}

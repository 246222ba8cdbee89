//! A dedup index that forgets: articles older than a retention window stop
//! counting, so a daemon that runs for months holds a bounded index.
//!
//! The window is covered by a few generations, each a [`DedupIndex`] of the
//! articles whose timestamps fall in one slice of it. New articles go into the
//! newest generation; a generation is dropped whole once all of it is older
//! than the window. Time comes from the articles, not the clock, so replaying
//! the same articles rebuilds the same generations.

use std::collections::VecDeque;

use super::{DedupIndex, NearParams};
use crate::record::{DedupInfo, Fingerprint};

/// Generations per retention window: memory overshoots the window by at most
/// one slice (1/8), and a lookup visits at most 9 indexes.
const GENERATIONS: u64 = 8;

/// A [`DedupIndex`] over the last `retention` seconds of articles.
#[derive(Debug)]
pub struct RetainingIndex {
    near: Option<NearParams>,
    retention: u64,
    span: u64,
    /// (first second covered, index), oldest first.
    generations: VecDeque<(u64, DedupIndex)>,
}

impl RetainingIndex {
    /// An empty index that remembers articles for `retention_secs`.
    pub fn new(near: Option<NearParams>, retention_secs: u64) -> Self {
        RetainingIndex {
            near,
            retention: retention_secs,
            span: (retention_secs / GENERATIONS).max(1),
            generations: VecDeque::new(),
        }
    }

    /// Decide on `fp`, seen at unix second `now`, and remember it if unique.
    /// Older generations are searched first so the earliest canonical wins.
    pub fn check_and_insert(&mut self, id: &str, fp: &Fingerprint, now: u64) -> DedupInfo {
        self.advance(now);
        let newest = self.generations.len().saturating_sub(1);
        for (_, gen) in self.generations.iter_mut().take(newest) {
            if let Some(info) = gen.find(fp) {
                return info;
            }
        }
        match self.generations.back_mut() {
            Some((_, gen)) => gen.check_and_insert(id, fp),
            None => DedupInfo::default(),
        }
    }

    /// Remember an earlier run's decisions as seen at unix second `now`
    /// (see [`DedupIndex::restore`]).
    pub fn restore<'a>(
        &mut self,
        signatures: impl IntoIterator<Item = &'a super::Signature>,
        now: u64,
    ) -> Result<(), String> {
        self.advance(now);
        match self.generations.back_mut() {
            Some((_, gen)) => gen.restore(signatures),
            None => Ok(()),
        }
    }

    /// The LSH bucket keys of `minhash` (see [`DedupIndex::band_keys`]).
    pub fn band_keys(&self, minhash: &[u32]) -> Vec<u32> {
        DedupIndex::new(self.near.clone()).band_keys(minhash)
    }

    /// Drop generations wholly older than the window and open one for `now`.
    fn advance(&mut self, now: u64) {
        let horizon = now.saturating_sub(self.retention);
        while self
            .generations
            .front()
            .is_some_and(|(start, _)| start.saturating_add(self.span) <= horizon)
        {
            self.generations.pop_front();
        }
        let start = now - now % self.span;
        if self.generations.back().is_none_or(|(s, _)| *s < start) {
            self.generations
                .push_back((start, DedupIndex::new(self.near.clone())));
        }
    }

    /// Articles remembered across generations.
    pub fn len(&self) -> usize {
        self.generations.iter().map(|(_, g)| g.len()).sum()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes across generations.
    pub fn heap_bytes(&self) -> usize {
        self.generations.iter().map(|(_, g)| g.heap_bytes()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::Fingerprinter;
    use crate::record::DedupStatus;

    fn fp(text: &str) -> Fingerprint {
        Fingerprinter::new(Some(&NearParams::default())).fingerprint(text)
    }

    const A: &str =
        "the council approved the harbour plan on tuesday after a long debate among residents";

    #[test]
    fn duplicate_within_window_is_found_across_generations() {
        let mut idx = RetainingIndex::new(Some(NearParams::default()), 800);
        assert_eq!(
            idx.check_and_insert("a", &fp(A), 1000).status,
            DedupStatus::Unique
        );
        let later = idx.check_and_insert("b", &fp(A), 1500);
        assert_eq!(later.status, DedupStatus::Exact);
        assert_eq!(later.duplicate_of.as_deref(), Some("a"));
        assert!(idx.generations.len() > 1, "1500 is in a later generation");
    }

    #[test]
    fn articles_older_than_the_window_are_forgotten() {
        let mut idx = RetainingIndex::new(Some(NearParams::default()), 800);
        idx.check_and_insert("a", &fp(A), 1000);
        assert_eq!(idx.len(), 1);
        let much_later = idx.check_and_insert("b", &fp(A), 1000 + 800 + 200);
        assert_eq!(
            much_later.status,
            DedupStatus::Unique,
            "a is out of the window"
        );
        assert_eq!(idx.len(), 1, "a's generation was dropped, b remembered");
    }

    #[test]
    fn replay_with_same_timestamps_gives_same_verdicts() {
        let texts = [
            A,
            "a different story about railways and budgets in the north",
            A,
        ];
        let run = || {
            let mut idx = RetainingIndex::new(Some(NearParams::default()), 100);
            texts
                .iter()
                .enumerate()
                .map(|(i, t)| idx.check_and_insert(&i.to_string(), &fp(t), 10 + 60 * i as u64))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }
}

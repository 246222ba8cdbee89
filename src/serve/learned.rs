//! The daemon learning boilerplate as it goes (`boilerplate.learn`).
//!
//! Every article's observation (made by the boilerplate stage, on the text as
//! the rules alone leave it) is folded into one bounded [`Learner`] by the
//! segment writer, in input order. The chrome the stage removes is a
//! snapshot: the chrome learned from every input before the last multiple of
//! `boilerplate.learn_refresh_articles` (R) in the daemon's whole input. So
//! that the inputs of a block see exactly its snapshot whatever the thread
//! count, the source waits before the first input of a block until every
//! input before it is folded and the new snapshot is in place ([`Gate`]); no
//! input of the block can be folded before the block's first one is read, so
//! the next snapshot cannot replace it early.
//!
//! The learner and the snapshot are saved with each segment
//! (`state_dir/learned/N.bin`, see [`super::state`]), so after a crash the
//! daemon resumes at the same position with the same learner and snapshot,
//! and decides as an uninterrupted run would.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::boilerplate::learn::{Bounds, LearnerSnapshot, SourceSnapshot, TemplateCount};
use crate::boilerplate::{Chrome, LearnParams, Learner};
use crate::record::Article;
use crate::stage::boilerplate::ChromeSlot;

use super::state::{decode_fingerprint, encode_fingerprint, Reader, Writer};

const LEARNED_MAGIC: &[u8; 4] = b"NPL1";

/// Holds the source back at the first input of a block until that block's
/// snapshot is in place.
#[derive(Debug, Default)]
pub struct Gate {
    /// Inputs at positions below this may be read.
    open_until: Mutex<u64>,
    opened: Condvar,
}

impl Gate {
    fn open(&self, until: u64) {
        let mut open = self.open_until.lock().unwrap_or_else(|e| e.into_inner());
        *open = until;
        self.opened.notify_all();
    }

    /// Wait until the input at `position` may be read, or `stop` is set.
    pub fn wait(&self, position: u64, stop: &AtomicBool) {
        let mut open = self.open_until.lock().unwrap_or_else(|e| e.into_inner());
        while position >= *open && !stop.load(Ordering::Relaxed) {
            // Wakes now and then to see a stop, which nobody notifies.
            open = match self.opened.wait_timeout(open, Duration::from_millis(50)) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }
}

/// The daemon's learner, its snapshot in the stage's slot, and the gate.
pub struct Online {
    learner: Learner,
    refresh: u64,
    /// Inputs folded, over the daemon's whole input.
    position: u64,
    /// The snapshot in the slot, saved with the learner.
    chrome: Arc<Chrome>,
    slot: Arc<ChromeSlot>,
    gate: Arc<Gate>,
}

/// What a saved learned state holds.
pub struct Saved {
    /// Inputs folded into it.
    pub position: u64,
    /// The snapshot in use at that position.
    pub chrome: Chrome,
    /// The learner.
    pub learner: LearnerSnapshot,
}

impl Online {
    /// Start at `position` (the inputs committed so far) from `saved`, put
    /// its snapshot in `slot` and turn observing on. A saved state of
    /// another position is not used: the learner starts afresh.
    pub fn start(
        slot: Arc<ChromeSlot>,
        params: LearnParams,
        bounds: Bounds,
        refresh: u64,
        position: u64,
        saved: Option<Saved>,
    ) -> Online {
        let (learner, chrome) = match saved {
            Some(s) if s.position == position => {
                (Learner::restore(params, bounds, s.learner), s.chrome)
            }
            _ => (Learner::bounded(params, bounds), Chrome::default()),
        };
        let chrome = Arc::new(chrome);
        slot.replace(Arc::clone(&chrome));
        slot.observe();
        let refresh = refresh.max(1);
        let gate = Arc::new(Gate::default());
        gate.open(position - position % refresh + refresh);
        Online {
            learner,
            refresh,
            position,
            chrome,
            slot,
            gate,
        }
    }

    /// The gate the source waits at.
    pub fn gate(&self) -> Arc<Gate> {
        Arc::clone(&self.gate)
    }

    /// Inputs folded so far, over the daemon's whole input.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Sources the learner holds.
    pub fn sources(&self) -> usize {
        self.learner.sources()
    }

    /// Fold the next input's outcome, in input order: `article` when it
    /// reached the sink (a rejected input has none, and teaches nothing).
    /// At a block boundary, the new snapshot goes in and the gate opens.
    pub fn fold(&mut self, article: Option<&Article>) {
        if let Some(obs) = article.and_then(|a| a.observation.as_deref()) {
            self.learner.add(obs.clone());
        }
        self.position += 1;
        if self.position % self.refresh == 0 {
            self.chrome = Arc::new(self.learner.chrome());
            self.slot.replace(Arc::clone(&self.chrome));
            self.gate.open(self.position + self.refresh);
        }
    }

    /// The learned state as saved with a segment.
    pub fn encode(&self) -> Vec<u8> {
        encode(&Saved {
            position: self.position,
            chrome: (*self.chrome).clone(),
            learner: self.learner.snapshot(),
        })
    }
}

/// Binary form of a saved learned state, sealed with a checksum.
pub fn encode(saved: &Saved) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(1 << 16));
    w.0.extend_from_slice(LEARNED_MAGIC);
    w.u64(saved.position);
    // The snapshot is small (chrome templates only); JSON keeps it simple.
    w.bytes(&serde_json::to_vec(&saved.chrome).unwrap_or_default());
    let l = &saved.learner;
    w.u64(l.seen);
    w.u64(l.sources.len() as u64);
    for s in &l.sources {
        w.bytes(s.name.as_bytes());
        w.u32(s.stories);
        w.u32(s.articles);
        w.u64(s.last_seen);
        w.u64(s.counts.len() as u64);
        for t in &s.counts {
            w.u64(t.hash);
            w.u32(t.stories);
            match &t.example {
                None => w.0.push(0),
                Some(e) => {
                    w.0.push(1);
                    w.bytes(e.as_bytes());
                }
            }
        }
        w.u32(s.generations.len() as u32);
        for g in &s.generations {
            w.u64(g.len() as u64);
            for fp in g {
                encode_fingerprint(&mut w, fp);
            }
        }
    }
    w.seal()
}

/// Inverse of [`encode`]; `None` when the bytes are damaged.
pub fn decode(bytes: &[u8]) -> Option<Saved> {
    let mut r = Reader::unseal(bytes)?;
    if r.take(4)? != LEARNED_MAGIC {
        return None;
    }
    let position = r.u64()?;
    let chrome: Chrome = serde_json::from_slice(r.bytes()?).ok()?;
    let seen = r.u64()?;
    let n = r.u64()?;
    let mut sources = Vec::new();
    for _ in 0..n {
        let name = String::from_utf8(r.bytes()?.to_vec()).ok()?;
        let stories = r.u32()?;
        let articles = r.u32()?;
        let last_seen = r.u64()?;
        let mut counts = Vec::new();
        for _ in 0..r.u64()? {
            let hash = r.u64()?;
            let stories = r.u32()?;
            let example = match r.take(1)?[0] {
                0 => None,
                _ => Some(String::from_utf8(r.bytes()?.to_vec()).ok()?),
            };
            counts.push(TemplateCount {
                hash,
                stories,
                example,
            });
        }
        let mut generations = Vec::new();
        for _ in 0..r.u32()? {
            let fps = (0..r.u64()?)
                .map(|_| decode_fingerprint(&mut r))
                .collect::<Option<Vec<_>>>()?;
            generations.push(fps);
        }
        sources.push(SourceSnapshot {
            name,
            stories,
            articles,
            last_seen,
            counts,
            generations,
        });
    }
    r.0.is_empty().then_some(Saved {
        position,
        chrome,
        learner: LearnerSnapshot { seen, sources },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boilerplate::learn::story_fingerprinter;
    use crate::boilerplate::Observation;

    fn params() -> LearnParams {
        LearnParams {
            min_stories: 3,
            min_share: 0.0,
            ..LearnParams::default()
        }
    }

    fn bounds() -> Bounds {
        Bounds {
            max_sources: 8,
            max_stories: 16,
            max_counted: 256,
        }
    }

    /// Input `n`: an article of one of two sources with a masthead, a story
    /// of its own (every fifth a copy of an earlier one) and a footer.
    fn article(n: usize) -> Article {
        let source = ["harbor", "ridge"][n % 2];
        let story = if n % 5 == 4 { n - 2 } else { n };
        let body = (0..50)
            .map(|i| format!("s{story}w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let text = format!(
            "The {source} Courier daily\n\n{body}.\n\n© {} {source} Media",
            1990 + n
        );
        let obs = Observation::new(
            source.into(),
            None,
            &text,
            &story_fingerprinter(),
            &params(),
        );
        Article {
            text,
            observation: Some(Box::new(obs)),
            ..Article::default()
        }
    }

    fn start(position: u64, saved: Option<Saved>) -> (Online, Arc<ChromeSlot>) {
        let slot = Arc::new(ChromeSlot::default());
        let online = Online::start(Arc::clone(&slot), params(), bounds(), 4, position, saved);
        (online, slot)
    }

    #[test]
    fn the_snapshot_changes_only_at_block_boundaries() {
        let (mut online, slot) = start(0, None);
        let masthead = |slot: &ChromeSlot| {
            slot.get()
                .and_then(|c| c.lookup("harbor", "The harbor Courier daily"))
        };
        let mut seen = Vec::new();
        for n in 0..16 {
            seen.push(masthead(&slot));
            online.fold(Some(&article(n)));
        }
        // Blocks of 4: learned (3 stories of harbor) once the second block ends.
        assert_eq!(seen[..8], [None; 8]);
        // Harbor's stories 0, 2 and 6 (input 4 copies story 2), then 8 and 10.
        assert!(seen[8..12].iter().all(|s| *s == Some(3)), "{seen:?}");
        assert!(seen[12..].iter().all(|s| *s == Some(5)), "{seen:?}");
        assert!(slot.observing());
    }

    #[test]
    fn a_saved_state_round_trips_and_resumes_as_the_uninterrupted_run() {
        // Input 7 is a reject, in the whole run and in the cut one.
        let outcome = |n: usize| (n != 7).then(|| article(n));
        let (mut whole, whole_slot) = start(0, None);
        let (mut first, _) = start(0, None);
        let mut want = Vec::new();
        for n in 0..30 {
            whole.fold(outcome(n).as_ref());
            want.push(whole_slot.get());
            if n < 13 {
                first.fold(outcome(n).as_ref());
            }
        }
        let bytes = first.encode();
        let saved = decode(&bytes).unwrap();
        assert_eq!(saved.position, 13);
        assert_eq!(encode(&saved), bytes);
        let (mut resumed, slot) = start(13, Some(saved));
        assert_eq!(slot.get(), want[12]);
        for (n, want) in want.iter().enumerate().skip(13) {
            resumed.fold(outcome(n).as_ref());
            assert_eq!(slot.get(), *want, "after input {n}");
        }
        assert_eq!(resumed.encode(), whole.encode());
        assert!(want
            .iter()
            .any(|c| c.as_ref().is_some_and(|c| !c.is_empty())));
    }

    #[test]
    fn damaged_bytes_are_refused() {
        let (mut online, _) = start(0, None);
        for n in 0..6 {
            online.fold(Some(&article(n)));
        }
        let mut bytes = online.encode();
        assert!(decode(&bytes).is_some());
        let mid = bytes.len() / 2;
        bytes[mid] ^= 1;
        assert!(decode(&bytes).is_none());
        assert!(decode(&bytes[..12]).is_none());
    }

    #[test]
    fn the_gate_holds_a_block_until_it_is_opened_or_stopped() {
        let (online, _) = start(6, None);
        let gate = online.gate();
        let stop = AtomicBool::new(false);
        // Positions 6 and 7 are in the open block; 8 waits.
        gate.wait(7, &stop);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| gate.wait(8, &stop));
            gate.open(12);
            waiter.join().unwrap();
            let stopped = s.spawn(|| gate.wait(12, &stop));
            stop.store(true, Ordering::Relaxed);
            stopped.join().unwrap();
        });
    }
}

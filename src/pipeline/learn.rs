//! The learning pass of a batch run: every input decoded, normalized and
//! cleaned by the rules on the worker threads, observed, and folded into a
//! [`Learner`] in input order, so what is learned does not depend on the
//! thread count. The second (normal) pass then applies it, resuming the
//! inputs the first pass kept (up to a memory budget) at the boilerplate
//! stage instead of reading and preparing them again.

use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};

use async_channel::bounded;

use crate::boilerplate::{Learner, Observation};
use crate::error::{Error, Result};
use crate::pipeline::{input_bytes, Core, BATCH_BYTES, BATCH_ITEMS};
use crate::source::{Emitter, Input, Kept};

/// The inputs a learning pass kept prepared for the second pass, by
/// position in input order.
pub type KeptInputs = HashMap<u64, Box<Kept>>;

/// Read every input with `read` (on a thread of its own), observe each on
/// `core`'s worker count of threads, and fold the observations into
/// `learner` in input order. Keeps prepared inputs, in input order, while
/// they fit in `keep_bytes`; which are kept changes no output, only how much
/// the second pass redoes. Stops early, with what it has, when `stop` is set.
pub fn learn_pass<R>(
    core: &Core,
    mut learner: Learner,
    read: R,
    stop: &AtomicBool,
    keep_bytes: usize,
) -> Result<(Learner, KeptInputs)>
where
    R: FnOnce(&mut Emitter<'_>) + Send,
{
    let stages = &core.stages;
    let capacity = core.config.channel_capacity.max(1);
    // Batches, as in the pipeline: a thread hand-off per input would cost
    // more than observing a short one.
    let batches = (capacity / BATCH_ITEMS).max(2);
    let (in_tx, in_rx) = bounded::<Vec<Input>>(batches);
    let (out_tx, out_rx) = bounded::<Vec<(u64, Option<Observed>)>>(batches);
    // Cleared once the budget is spent, so workers stop copying texts.
    let room = AtomicBool::new(keep_bytes > 0);
    let mut kept = KeptInputs::new();
    let mut kept_bytes = 0usize;
    std::thread::scope(|scope| -> Result<()> {
        std::thread::Builder::new()
            .name("newspipe-learn-source".into())
            .spawn_scoped(scope, move || {
                let mut batch = Vec::with_capacity(BATCH_ITEMS);
                let mut bytes = 0;
                let mut push = |input: Input| {
                    bytes += input_bytes(&input);
                    batch.push(input);
                    if batch.len() < BATCH_ITEMS && bytes < BATCH_BYTES {
                        return true;
                    }
                    bytes = 0;
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ITEMS));
                    in_tx.send_blocking(full).is_ok()
                };
                read(&mut Emitter::new(&mut push, stop));
                if !batch.is_empty() {
                    let _ = in_tx.send_blocking(batch);
                }
            })
            .map_err(|e| Error::Task(format!("cannot start the learning source thread: {e}")))?;
        for i in 0..core.threads() {
            let (rx, tx, room) = (in_rx.clone(), out_tx.clone(), &room);
            std::thread::Builder::new()
                .name(format!("newspipe-learn-{i}"))
                .spawn_scoped(scope, move || {
                    while let Ok(batch) = rx.recv_blocking() {
                        let observed = batch
                            .into_iter()
                            .map(|input| {
                                let seq = input.seq();
                                let keep = room.load(Ordering::Relaxed);
                                // An input that panics is left out of learning;
                                // the second pass reports it as it would
                                // without learning.
                                let obs =
                                    catch_unwind(AssertUnwindSafe(|| stages.observe(input, keep)));
                                (seq, obs.ok().flatten())
                            })
                            .collect();
                        if tx.send_blocking(observed).is_err() {
                            return;
                        }
                    }
                })
                .map_err(|e| Error::Task(format!("cannot start a learning thread: {e}")))?;
        }
        drop((in_rx, out_tx));
        // Put observations back in input order before folding them.
        let mut pending = BTreeMap::new();
        let mut next = 0u64;
        let mut take = |seq: u64, (obs, k): Observed| {
            learner.add(obs);
            if let Some(k) = k {
                let bytes = k.heap_bytes();
                if kept_bytes + bytes <= keep_bytes {
                    kept_bytes += bytes;
                    kept.insert(seq, k);
                } else {
                    room.store(false, Ordering::Relaxed);
                }
            }
        };
        while let Ok(observed) = out_rx.recv_blocking() {
            pending.extend(observed);
            while let Some(obs) = pending.remove(&next) {
                if let Some(obs) = obs {
                    take(next, obs);
                }
                next += 1;
            }
        }
        // Sequence numbers never seen (none, when every input was emitted).
        for (seq, obs) in pending {
            if let Some(obs) = obs {
                take(seq, obs);
            }
        }
        Ok(())
    })?;
    Ok((learner, kept))
}

/// One input as the learning pass saw it, and what it kept of it.
type Observed = (Observation, Option<Box<Kept>>);

/// The kept input at `seq` when it is the whole file `path` of `bytes`
/// bytes, taken out of `kept` (so the second pass need not read the file).
pub fn take_whole(kept: &mut KeptInputs, seq: u64, path: &str, bytes: u64) -> Option<Input> {
    let k = kept.get(&seq)?;
    let was = &k.article.source;
    if was.line.is_some() || was.path != path || was.bytes != bytes {
        return None;
    }
    kept.remove(&seq).map(Input::Prepared)
}

/// Put back what the learning pass kept of `input`, when it kept the same
/// input at that position (a file added or resized between the passes
/// shifts or changes what is read, and is then prepared afresh).
pub fn resume(kept: &mut KeptInputs, input: Input) -> Input {
    let Some(k) = kept.remove(&input.seq()) else {
        return input;
    };
    let was = &k.article.source;
    let same = |s: &crate::record::SourceInfo| {
        (&s.path, s.line, s.bytes, s.format) == (&was.path, was.line, was.bytes, was.format)
    };
    match &input {
        Input::Raw { source, .. } if same(source) => Input::Prepared(k),
        Input::Parsed(a) if same(&a.source) => Input::Prepared(k),
        _ => input,
    }
}

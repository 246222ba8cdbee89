//! The learning pass of a batch run: every input decoded, normalized and
//! cleaned by the rules on the worker threads, observed, and folded into a
//! [`Learner`] in input order, so what is learned does not depend on the
//! thread count. The second (normal) pass then applies it.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::AtomicBool;

use async_channel::bounded;

use crate::boilerplate::{Learner, Observation};
use crate::error::{Error, Result};
use crate::pipeline::Core;
use crate::source::{Emitter, Input};

/// Read every input with `read` (on a thread of its own), observe each on
/// `core`'s worker count of threads, and fold the observations into
/// `learner` in input order. Stops early, with what it has, when `stop` is set.
pub fn learn_pass<R>(
    core: &Core,
    mut learner: Learner,
    read: R,
    stop: &AtomicBool,
) -> Result<Learner>
where
    R: FnOnce(&mut Emitter<'_>) + Send,
{
    let stages = &core.stages;
    let capacity = core.config.channel_capacity.max(1);
    let (in_tx, in_rx) = bounded::<Input>(capacity);
    let (out_tx, out_rx) = bounded::<(u64, Option<Observation>)>(capacity);
    std::thread::scope(|scope| -> Result<()> {
        std::thread::Builder::new()
            .name("newspipe-learn-source".into())
            .spawn_scoped(scope, move || {
                let mut push = |input: Input| in_tx.send_blocking(input).is_ok();
                read(&mut Emitter::new(&mut push, stop));
            })
            .map_err(|e| Error::Task(format!("cannot start the learning source thread: {e}")))?;
        for i in 0..core.threads() {
            let (rx, tx) = (in_rx.clone(), out_tx.clone());
            std::thread::Builder::new()
                .name(format!("newspipe-learn-{i}"))
                .spawn_scoped(scope, move || {
                    while let Ok(input) = rx.recv_blocking() {
                        let seq = input.seq();
                        // An input that panics is left out of learning; the
                        // second pass reports it as it would without learning.
                        let obs = catch_unwind(AssertUnwindSafe(|| stages.observe(input)))
                            .ok()
                            .flatten();
                        if tx.send_blocking((seq, obs)).is_err() {
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
        while let Ok((seq, obs)) = out_rx.recv_blocking() {
            pending.insert(seq, obs);
            while let Some(obs) = pending.remove(&next) {
                if let Some(obs) = obs {
                    learner.add(obs);
                }
                next += 1;
            }
        }
        // Sequence numbers never seen (none, when every input was emitted).
        for obs in pending.into_values().flatten() {
            learner.add(obs);
        }
        Ok(())
    })?;
    Ok(learner)
}

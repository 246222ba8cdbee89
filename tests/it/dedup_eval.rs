//! Near-duplicate detection with the default parameters meets its targets
//! (precision >= 0.99, recall >= 0.97) on the BBC corpus and on the
//! syndication set generated from it. Skips (visibly, see `support`) when
//! `../shared` is absent.
//! `examples/dedup_eval.rs` shows how the defaults were chosen.

use std::path::PathBuf;

use newspipe::dedup::{Fingerprinter, NearParams};

use crate::support;
use crate::support::dedup_eval::{
    self as eval, bbc_truth, body, fingerprints, load_bbc, score, syndication_set, verdicts,
};

/// `../shared/data/bbc` with its `duplicates.json`, or `None` after a skip.
fn bbc_dir() -> Option<PathBuf> {
    let dir = eval::bbc_dir();
    if dir.is_none() {
        support::skip("../shared/data/bbc/duplicates.json not found (the shared data)");
    }
    dir
}

/// Same as the example's: 600 originals copied, a quarter of them twice.
const COPIES: usize = 600;
const SEED: u64 = 2026;

fn check(name: &str, bodies: &[String], truth: &eval::Truth) {
    let near = NearParams::default();
    let fps = fingerprints(bodies, &Fingerprinter::new(Some(&near)));
    let (v, _) = verdicts(&fps, Some(near));
    let s = score(&v, truth);
    println!("{name}: {s:?} P={:.4} R={:.4}", s.precision(), s.recall());
    assert!(s.hits > 100, "{name}: too few duplicates to measure: {s:?}");
    assert!(
        s.precision() >= 0.99,
        "{name}: precision {:.4} < 0.99 ({s:?})",
        s.precision()
    );
    assert!(
        s.recall() >= 0.97,
        "{name}: recall {:.4} < 0.97 ({s:?})",
        s.recall()
    );
}

#[test]
fn default_parameters_meet_targets_on_bbc_and_syndication_set() {
    let Some(dir) = bbc_dir() else { return };
    let docs = load_bbc(&dir).expect("read BBC corpus");
    let truth = bbc_truth(&dir, &docs).expect("read duplicates.json");
    let bodies: Vec<String> = docs.iter().map(|d| body(&d.raw)).collect();
    check("bbc", &bodies, &truth);

    let (set, truth) = syndication_set(&docs, bbc_truth(&dir, &docs).expect("truth"), COPIES, SEED);
    assert_eq!(set.len(), docs.len() + COPIES + COPIES / 4);
    let bodies: Vec<String> = set.iter().map(|d| body(&d.raw)).collect();
    check("syndication", &bodies, &truth);
}

#[test]
fn syndicated_copies_differ_from_their_originals() {
    let Some(dir) = bbc_dir() else { return };
    let docs = load_bbc(&dir).expect("read BBC corpus");
    let mut rng = eval::Rng::new(SEED);
    for doc in docs.iter().take(50) {
        let copy = eval::syndicate(&doc.raw, &mut rng);
        let (orig_head, copy_head) = (doc.raw.lines().next(), copy.lines().next());
        assert_ne!(orig_head, copy_head, "{}: headline kept", doc.name);
        let (orig, copy) = (body(&doc.raw), body(&copy));
        assert_ne!(orig, copy, "{}", doc.name);
        assert!(copy.contains(" - "), "{}: no dateline", doc.name);
    }
}

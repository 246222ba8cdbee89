//! Near-duplicate detection with the default parameters meets its targets
//! (precision >= 0.99, recall >= 0.97) on the BBC corpus and on the
//! syndication set generated from it, and per edit class on the edit set
//! (issue 15: recall >= 0.97 on cut and noisy copies, >= 0.99 on the other
//! classes, no trap marked). Skips (visibly, see `support`) when `../shared`
//! is absent.
//! `examples/dedup_eval.rs` shows how the defaults were chosen.

use std::path::PathBuf;

use newspipe::dedup::{Fingerprinter, NearParams};

use crate::support;
use crate::support::dedup_eval::{
    self as eval, bbc_truth, body, edit_report, edit_set, fingerprints, load_bbc, score,
    syndication_set, verdicts, Edit, EditSetParams,
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
    // Strictly by duplicates.json, `politics/293` containing `politics/111`
    // (94% of its 5-word shingles) is a false alarm; with issue 15's
    // containment it is a duplicate, so that pair is gray in the check.
    let near = NearParams::default();
    let fps = fingerprints(&bodies, &Fingerprinter::new(Some(&near)));
    let strict = score(&verdicts(&fps, Some(near)).0, &truth);
    assert!(strict.precision() >= 0.98, "strict bbc: {strict:?}");
    let truth = eval::bbc_truth_with_containment(&dir, &docs, &bodies).expect("truth");
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

#[test]
fn issue_15_default_parameters_meet_targets_per_edit_class_without_marking_traps() {
    let Some(dir) = bbc_dir() else { return };
    let docs = load_bbc(&dir).expect("read BBC corpus");
    let set = edit_set(&dir, &docs, &EditSetParams::default()).expect("edit set");
    let near = NearParams::default();
    let bodies: Vec<String> = set.docs.iter().map(|d| body(&d.raw)).collect();
    let (v, _) = verdicts(
        &fingerprints(&bodies, &Fingerprinter::new(Some(&near))),
        Some(near),
    );
    let report = edit_report(&set, &v);
    println!("{report:?}");
    for &(edit, n, hit) in &report.recall {
        let target = if matches!(edit, Edit::Cut | Edit::Noisy) {
            0.97
        } else {
            0.99
        };
        assert!(n >= 150, "{}: only {n} copies", edit.as_str());
        let recall = hit as f64 / n as f64;
        assert!(
            recall >= target,
            "{}: recall {recall:.3} < {target}",
            edit.as_str()
        );
    }
    for &(trap, n, marked) in &report.traps {
        assert!(n >= 50, "{}: only {n} traps", trap.as_str());
        assert_eq!(marked, 0, "{} traps marked as duplicates", trap.as_str());
    }
}

#[test]
fn edit_set_is_deterministic_and_cuts_keep_55_to_70_percent() {
    let Some(dir) = bbc_dir() else { return };
    let docs = load_bbc(&dir).expect("read BBC corpus");
    let p = EditSetParams {
        copies_per_class: 20,
        traps_per_kind: 5,
        ..EditSetParams::default()
    };
    let a = edit_set(&dir, &docs, &p).expect("edit set");
    let b = edit_set(&dir, &docs, &p).expect("edit set");
    let names = |s: &eval::EditSet| s.docs.iter().map(|d| d.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b));
    assert!(a.docs.iter().zip(&b.docs).all(|(x, y)| x.raw == y.raw));
    let position: std::collections::HashMap<&str, usize> = a
        .docs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name.as_str(), i))
        .collect();
    for i in (0..a.docs.len()).filter(|&i| a.edit(i) == Some(Edit::Cut)) {
        let original = a.docs[i].name.split('#').next().unwrap_or_default();
        let o = position[original];
        let (kept, all) = (eval::units(&a.docs[i].raw), eval::units(&a.docs[o].raw));
        let share = kept.len() as f64 / all.len() as f64;
        assert!(
            (0.55..=0.70).contains(&share),
            "{}: {share}",
            a.docs[i].name
        );
        assert_eq!(kept[..], all[..kept.len()], "{}", a.docs[i].name);
    }
    for i in (0..a.docs.len()).filter(|&i| a.edit(i) == Some(Edit::Noisy)) {
        let original = a.docs[i].name.split('#').next().unwrap_or_default();
        let letters = |raw: &str| -> Vec<char> {
            body(raw)
                .chars()
                .filter(char::is_ascii_alphabetic)
                .collect()
        };
        let (copy, orig) = (
            letters(&a.docs[i].raw),
            letters(&a.docs[position[original]].raw),
        );
        assert_eq!(copy.len(), orig.len(), "{}", a.docs[i].name);
        let changed = copy.iter().zip(&orig).filter(|(x, y)| x != y).count();
        let rate = changed as f64 / orig.len().max(1) as f64;
        assert!((0.01..0.05).contains(&rate), "{}: {rate}", a.docs[i].name);
    }
}

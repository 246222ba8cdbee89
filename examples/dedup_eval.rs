//! Parameter search for near-duplicate detection on the BBC corpus and the
//! edit set generated from it (`support::edit_set`: copies of BBC articles in
//! eight edit classes, and three kinds of precision traps). Reads
//! `../shared/data/bbc`; prints precision / recall per set, recall per edit
//! class and the traps marked, for each candidate setting.
//!
//! `cargo run --release --example dedup_eval` (add `grid` for the full grid)

#[path = "../tests/it/support/dedup_eval.rs"]
mod support;

use std::collections::{BTreeMap, HashSet};

use newspipe::dedup::{fold_into, Fingerprinter, Folding, NearParams};
use newspipe::record::{DedupInfo, Fingerprint};
use support::{
    bbc_dir, bbc_truth, body, edit_report, edit_set, fingerprints, load_bbc, score, verdicts, Edit,
    EditReport, EditSet, EditSetParams, Score, Truth,
};

fn shingle_set(text: &str, w: usize) -> HashSet<u64> {
    let mut key = String::new();
    fold_into(text, Folding::Words, &mut key);
    let words: Vec<&str> = key.split(' ').filter(|s| !s.is_empty()).collect();
    words
        .windows(w.min(words.len()).max(1))
        .map(|win| xxhash_rust::xxh3::xxh3_64(win.join(" ").as_bytes()))
        .collect()
}

/// (Jaccard, containment of the smaller set) of two shingle sets.
fn exact_measures(a: &HashSet<u64>, b: &HashSet<u64>) -> (f64, f64) {
    let inter = a.intersection(b).count() as f64;
    let union = (a.len() + b.len()) as f64 - inter;
    (
        inter / union.max(1.0),
        inter / a.len().min(b.len()).max(1) as f64,
    )
}

fn describe(label: &str, mut v: Vec<f64>) {
    if v.is_empty() {
        return;
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p) as usize];
    println!(
        "  {label:<34} n={:>4} min={:.3} p3={:.3} p5={:.3} median={:.3} max={:.3}",
        v.len(),
        v[0],
        q(0.03),
        q(0.05),
        q(0.5),
        v[v.len() - 1]
    );
}

/// One evaluated setting.
struct Outcome {
    bbc: Score,
    edits: Score,
    report: EditReport,
    bytes_per_article: usize,
    candidates_per_article: f64,
}

impl Outcome {
    fn meets_targets(&self) -> bool {
        let r = &self.report;
        let old_ok = Edit::ALL
            .iter()
            .filter(|e| !matches!(e, Edit::Cut | Edit::Noisy))
            .all(|&e| r.recall_of(e) >= 0.99);
        old_ok
            && r.recall_of(Edit::Cut) >= 0.97
            && r.recall_of(Edit::Noisy) >= 0.97
            && r.traps_marked() == 0
            && self.bbc.precision() >= 0.99
            && self.bbc.recall() >= 0.97
    }

    fn line(&self) -> String {
        let r = &self.report;
        let classes: Vec<String> = Edit::ALL
            .iter()
            .map(|&e| format!("{:.3}", r.recall_of(e)))
            .collect();
        format!(
            "bbc P={:.3} R={:.3} | edits P={:.3} R={:.3} | {} | traps {} | {} B, {:.1} cand",
            self.bbc.precision(),
            self.bbc.recall(),
            self.edits.precision(),
            self.edits.recall(),
            classes.join(" "),
            r.traps_marked(),
            self.bytes_per_article,
            self.candidates_per_article,
        )
    }
}

struct Sets {
    bbc_bodies: Vec<String>,
    bbc_truth: Truth,
    edits: EditSet,
    edit_bodies: Vec<String>,
}

fn evaluate(sets: &Sets, fps: &[Vec<Fingerprint>; 2], near: &NearParams) -> Outcome {
    let (bv, _) = verdicts(&fps[0], Some(near.clone()));
    let (ev, index) = verdicts(&fps[1], Some(near.clone()));
    Outcome {
        bbc: score(&bv, &sets.bbc_truth),
        edits: score(&ev, &sets.edits.truth),
        report: edit_report(&sets.edits, &ev),
        bytes_per_article: index.heap_bytes() / index.len().max(1),
        candidates_per_article: index.stats().candidates as f64 / sets.edit_bodies.len() as f64,
    }
}

fn print_table(name: &str, outcome: &Outcome, verdicts: &[DedupInfo]) {
    println!("\n# {name}: recall per edit class, traps marked");
    println!("  | class | copies | found | recall |");
    for &(e, n, hit) in &outcome.report.recall {
        println!(
            "  | {} | {n} | {hit} | {:.3} |",
            e.as_str(),
            hit as f64 / n.max(1) as f64
        );
    }
    for &(t, n, marked) in &outcome.report.traps {
        println!("  | trap {} | {n} | marked {marked} | |", t.as_str());
    }
    let mut relations: BTreeMap<String, usize> = BTreeMap::new();
    for v in verdicts {
        let key = match v.relation {
            Some(r) => format!("{r:?}"),
            None => format!("{:?}", v.status),
        };
        *relations.entry(key).or_default() += 1;
    }
    println!("  verdicts: {relations:?}");
    println!("  {}", outcome.line());
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(dir) = bbc_dir() else {
        println!("../shared/data/bbc not found: nothing to evaluate");
        return Ok(());
    };
    let full_grid = std::env::args().any(|a| a == "grid");
    let docs = load_bbc(&dir)?;
    let params = EditSetParams::default();
    let edits = edit_set(&dir, &docs, &params)?;
    let sets = Sets {
        bbc_bodies: docs.iter().map(|d| body(&d.raw)).collect(),
        bbc_truth: bbc_truth(&dir, &docs)?,
        edit_bodies: edits.docs.iter().map(|d| body(&d.raw)).collect(),
        edits,
    };
    println!(
        "bbc: {} articles; edit set: {} articles ({params:?})",
        docs.len(),
        sets.edits.docs.len()
    );

    // Exact Jaccard and containment of each copy to its original, per class
    // and shingle size: what any MinHash setting can at best see.
    println!("\n# Exact measures of copies vs originals (words folding)");
    let position: std::collections::HashMap<&str, usize> = sets
        .edits
        .docs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name.as_str(), i))
        .collect();
    for w in [1, 2, 3, 5] {
        let shingles: Vec<HashSet<u64>> =
            sets.edit_bodies.iter().map(|b| shingle_set(b, w)).collect();
        for edit in [Edit::Syndicated, Edit::Cut, Edit::Noisy] {
            let (mut js, mut cs) = (Vec::new(), Vec::new());
            for i in (0..sets.edits.docs.len()).filter(|&i| sets.edits.edit(i) == Some(edit)) {
                let original = sets.edits.docs[i]
                    .name
                    .split('#')
                    .next()
                    .unwrap_or_default();
                if let Some(&o) = position.get(original) {
                    let (j, c) = exact_measures(&shingles[i], &shingles[o]);
                    js.push(j);
                    cs.push(c);
                }
            }
            describe(&format!("w={w} {} Jaccard", edit.as_str()), js);
            describe(&format!("w={w} {} containment", edit.as_str()), cs);
        }
        let mut trap_c = Vec::new();
        for i in (0..sets.edits.docs.len()).filter(|&i| sets.edits.trap(i).is_some()) {
            // The trap's shared original is named after `:` and before `+`.
            let name = &sets.edits.docs[i].name;
            let shared = name
                .split_once(':')
                .and_then(|(_, r)| r.split_once('+'))
                .map(|(o, _)| o);
            if let Some(&o) = shared.and_then(|o| position.get(o)) {
                trap_c.push(exact_measures(&shingles[i], &shingles[o]).1);
            }
        }
        describe(&format!("w={w} traps vs shared original, C"), trap_c);
        let bbc_shingles: Vec<HashSet<u64>> =
            sets.bbc_bodies.iter().map(|b| shingle_set(b, w)).collect();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("duplicates.json"))?)?;
        let names: std::collections::HashMap<&str, usize> = docs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.name.as_str(), i))
            .collect();
        let mut negatives = Vec::new();
        for p in json["near_dup_pairs_jaccard_ge_0.3"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let (Some(&a), Some(&b)) = (
                p[1].as_str().and_then(|n| names.get(n)),
                p[2].as_str().and_then(|n| names.get(n)),
            ) else {
                continue;
            };
            if p[0].as_f64().unwrap_or(1.0) < 0.5 {
                negatives.push(exact_measures(&bbc_shingles[a], &bbc_shingles[b]).1);
            }
        }
        describe(&format!("w={w} bbc non-duplicate pairs, C"), negatives);
    }

    // The setting before this issue, and the chosen default.
    let before = NearParams {
        shingle_words: 5,
        bands: 24,
        rows: 3,
        threshold: 0.5,
        containment: 2.0,
    };
    let chosen = NearParams::default();
    for (name, near) in [
        ("before (w=5, 24x3, t=0.5, no containment)", &before),
        ("default", &chosen),
    ] {
        let f = Fingerprinter::new(Some(near));
        let fps = [
            fingerprints(&sets.bbc_bodies, &f),
            fingerprints(&sets.edit_bodies, &f),
        ];
        let outcome = evaluate(&sets, &fps, near);
        let (ev, _) = verdicts(&fps[1], Some(near.clone()));
        print_table(&format!("{name} {near:?}"), &outcome, &ev);
    }

    // Grid over shingle size, banding, threshold and containment.
    println!("\n# Grid: bbc P R | edit set P R | recall per class ({}) | traps | index B/article, LSH candidates/article",
        Edit::ALL.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(" "));
    let words: &[usize] = if full_grid { &[1, 2, 3, 4, 5] } else { &[2] };
    let bandings: &[(usize, usize)] = if full_grid {
        &[
            (24, 2),
            (32, 2),
            (40, 2),
            (48, 2),
            (24, 3),
            (32, 3),
            (48, 3),
        ]
    } else {
        &[(24, 2), (28, 2), (32, 2)]
    };
    let thresholds: &[f64] = &[0.45, 0.5, 0.55];
    let containments: &[f64] = &[0.75, 0.8, 0.85, 0.9, 2.0];
    let mut passing = Vec::new();
    for &w in words {
        for &(bands, rows) in bandings {
            let probe = NearParams {
                shingle_words: w,
                bands,
                rows,
                ..chosen.clone()
            };
            let f = Fingerprinter::new(Some(&probe));
            let fps = [
                fingerprints(&sets.bbc_bodies, &f),
                fingerprints(&sets.edit_bodies, &f),
            ];
            for &threshold in thresholds {
                for &containment in containments {
                    let near = NearParams {
                        threshold,
                        containment,
                        ..probe.clone()
                    };
                    let o = evaluate(&sets, &fps, &near);
                    let ok = o.meets_targets();
                    println!(
                        "  w={w} {bands}x{rows} t={threshold:.2} c={containment:.2}: {}{}",
                        o.line(),
                        if ok { "  PASS" } else { "" }
                    );
                    if ok {
                        let worst = Edit::ALL
                            .iter()
                            .map(|&e| o.report.recall_of(e))
                            .fold(1.0f64, f64::min);
                        passing.push((worst, o.bytes_per_article, near));
                    }
                }
            }
        }
    }
    passing.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    println!(
        "\n# Settings meeting every target, best worst-class recall first, then smallest index"
    );
    for (worst, bytes, near) in passing.iter().take(30) {
        println!(
            "  worst class recall {worst:.3}, {bytes} B: w={} {}x{} t={:.2} c={:.2}",
            near.shingle_words, near.bands, near.rows, near.threshold, near.containment
        );
    }

    // Where the default goes wrong.
    println!("\n# Errors of the default on the edit set and BBC");
    let f = Fingerprinter::new(Some(&chosen));
    for (name, bodies, truth, names) in [
        (
            "bbc",
            &sets.bbc_bodies,
            &sets.bbc_truth,
            docs.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
        ),
        (
            "edits",
            &sets.edit_bodies,
            &sets.edits.truth,
            sets.edits.docs.iter().map(|d| d.name.as_str()).collect(),
        ),
    ] {
        let (v, _) = verdicts(&fingerprints(bodies, &f), Some(chosen.clone()));
        for (i, verdict) in v.iter().enumerate() {
            let partner = verdict
                .duplicate_of
                .as_deref()
                .and_then(|id| id.parse::<usize>().ok());
            if let Some(p) = partner {
                if !truth.same(i, p) {
                    println!(
                        "  {name} {}: {} -> {} {:?} J~{:.3} C~{:.3}",
                        if truth.is_gray(i, p) {
                            "gray"
                        } else {
                            "false alarm"
                        },
                        names[i],
                        names[p],
                        verdict.relation,
                        verdict.similarity.unwrap_or(0.0),
                        verdict.containment.unwrap_or(0.0),
                    );
                }
            }
            let root = (0..i).find(|&j| truth.same(i, j));
            if let (Some(r), None) = (root, partner) {
                println!(
                    "  {name} miss: {} (earlier in its group: {})",
                    names[i], names[r]
                );
            }
        }
    }

    // Index memory when every article is canonical (the worst case): random
    // signatures, 32-byte hex ids, at sizes where hash tables have just grown.
    println!("\n# Index heap per canonical article, default parameters (random signatures)");
    let k = chosen.bands * chosen.rows;
    let mut rng = support::Rng::new(7);
    let mut index = newspipe::dedup::DedupIndex::new(Some(chosen.clone()));
    let reports = [10_000, 30_000, 100_000, 300_000, 600_000, 1_000_000];
    for i in 0..1_000_000u64 {
        let mut minhash: Vec<u32> = (0..k).map(|_| rng.next() as u32).collect();
        minhash.push(400);
        let fp = Fingerprint {
            exact: rng.next(),
            minhash,
        };
        index.check_and_insert(&format!("{i:032x}"), &fp);
        if reports.contains(&(i + 1)) {
            println!(
                "  {:>9} articles: {:>5} B/article ({:.1} MB)",
                i + 1,
                index.heap_bytes() / index.len(),
                index.heap_bytes() as f64 / 1e6
            );
        }
    }
    Ok(())
}

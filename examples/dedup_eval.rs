//! Parameter search for near-duplicate detection on the BBC corpus and the
//! syndication set generated from it. Reads `../shared/data/bbc`; prints
//! precision / recall per set for each candidate setting.
//!
//! `cargo run --release --example dedup_eval`

#[path = "../tests/support/dedup_eval.rs"]
mod support;

use std::collections::HashSet;
use std::time::Instant;

use newspipe::dedup::{fold_into, Fingerprinter, Folding, NearParams};
use support::{bbc_dir, bbc_truth, body, fingerprints, load_bbc, score, syndication_set, verdicts, Truth};

/// Syndicated copies in the syndication set, and its seed.
const COPIES: usize = 600;
const SEED: u64 = 2026;

struct Set {
    name: &'static str,
    bodies: Vec<String>,
    truth: Truth,
}

fn shingle_set(text: &str, w: usize) -> HashSet<u64> {
    let mut key = String::new();
    fold_into(text, Folding::Words, &mut key);
    let words: Vec<&str> = key.split(' ').filter(|s| !s.is_empty()).collect();
    words
        .windows(w.min(words.len()).max(1))
        .map(|win| xxhash_rust::xxh3::xxh3_64(win.join(" ").as_bytes()))
        .collect()
}

fn jaccard(a: &HashSet<u64>, b: &HashSet<u64>) -> f64 {
    let inter = a.intersection(b).count();
    inter as f64 / (a.len() + b.len() - inter).max(1) as f64
}

/// Share of the smaller set found in the larger one.
fn containment(a: &HashSet<u64>, b: &HashSet<u64>) -> f64 {
    let inter = a.intersection(b).count();
    inter as f64 / a.len().min(b.len()).max(1) as f64
}

fn describe(label: &str, mut v: Vec<f64>) {
    if v.is_empty() {
        return;
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p) as usize];
    println!(
        "  {label:<44} n={:>4} min={:.3} p5={:.3} median={:.3} max={:.3}",
        v.len(),
        v[0],
        q(0.05),
        q(0.5),
        v[v.len() - 1]
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(dir) = bbc_dir() else {
        println!("../shared/data/bbc not found: nothing to evaluate");
        return Ok(());
    };
    let docs = load_bbc(&dir)?;
    let bbc = bbc_truth(&dir, &docs)?;
    let (synd_docs, synd_truth) = syndication_set(&docs, bbc_truth(&dir, &docs)?, COPIES, SEED);
    let sets = [
        Set { name: "bbc", bodies: docs.iter().map(|d| body(&d.raw)).collect(), truth: bbc },
        Set { name: "synd", bodies: synd_docs.iter().map(|d| body(&d.raw)).collect(), truth: synd_truth },
    ];
    let bytes: usize = sets[0].bodies.iter().map(String::len).sum();
    println!(
        "bbc: {} articles, {} body bytes; synd: {} articles ({COPIES} originals copied, seed {SEED})",
        docs.len(),
        bytes,
        synd_docs.len()
    );

    // True body Jaccard (5-word shingles, words folding) of the pairs the truth names.
    println!("\n# Exact Jaccard of bodies (title dropped), 5-word shingles");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("duplicates.json"))?)?;
    let names: std::collections::HashMap<&str, usize> =
        docs.iter().enumerate().map(|(i, d)| (d.name.as_str(), i)).collect();
    let shingles: Vec<HashSet<u64>> = sets[0].bodies.iter().map(|b| shingle_set(b, 5)).collect();
    let (mut pos, mut gray, mut neg) = (Vec::new(), Vec::new(), Vec::new());
    let (mut gray_c, mut neg_c) = (Vec::new(), Vec::new());
    for p in json["near_dup_pairs_jaccard_ge_0.3"].as_array().into_iter().flatten() {
        let file_j = p[0].as_f64().unwrap_or(0.0);
        let (Some(&a), Some(&b)) = (
            p[1].as_str().and_then(|n| names.get(n)),
            p[2].as_str().and_then(|n| names.get(n)),
        ) else {
            continue;
        };
        let j = jaccard(&shingles[a], &shingles[b]);
        match file_j {
            x if x >= 0.8 => pos.push(j),
            x if x >= 0.5 => {
                gray.push(j);
                gray_c.push(containment(&shingles[a], &shingles[b]));
            }
            _ => {
                neg.push(j);
                neg_c.push(containment(&shingles[a], &shingles[b]));
            }
        }
    }
    describe("bbc pairs file J >= 0.8 (duplicates)", pos);
    describe("bbc pairs 0.5 <= file J < 0.8 (gray)", gray);
    describe("bbc pairs 0.3 <= file J < 0.5 (not duplicates)", neg);
    describe("  containment of gray pairs", gray_c);
    describe("  containment of non-duplicate pairs", neg_c);
    let mut copies = Vec::new();
    let mut copies_c = Vec::new();
    let syn = &sets[1];
    let syn_shingles: Vec<HashSet<u64>> = syn.bodies.iter().map(|b| shingle_set(b, 5)).collect();
    for (i, d) in synd_docs.iter().enumerate() {
        if d.name.contains("#copy") {
            let original = d.name.split('#').next().unwrap_or_default();
            if let Some(j) = synd_docs.iter().position(|o| o.name == original) {
                copies.push(jaccard(&syn_shingles[i], &syn_shingles[j]));
                copies_c.push(containment(&syn_shingles[i], &syn_shingles[j]));
            }
        }
    }
    let below = |v: &[f64], t: f64| v.iter().filter(|&&x| x < t).count();
    println!("  synd copies with J < 0.5: {}, < 0.55: {}, < 0.6: {}", below(&copies, 0.5), below(&copies, 0.55), below(&copies, 0.6));
    describe("synd copy vs original", copies);
    describe("  containment of copies", copies_c);

    // Key folding: exact verdicts on the BBC exact groups, accuracy, speed.
    println!("\n# Key folding (near params default: w=5, 16x8, t=0.8 as shipped by the skeleton)");
    for folding in Folding::ALL {
        let near = NearParams { shingle_words: 5, bands: 16, rows: 8, threshold: 0.8 };
        let f = Fingerprinter::with_folding(Some(&near), folding);
        let start = Instant::now();
        let fps = fingerprints(&sets[0].bodies, &f);
        let mbps = bytes as f64 / start.elapsed().as_secs_f64() / 1e6;
        let exact_only = score(&verdicts(&fingerprints(&sets[0].bodies, &Fingerprinter::with_folding(None, folding)), None).0, &sets[0].truth);
        let s = score(&verdicts(&fps, Some(near.clone())).0, &sets[0].truth);
        let fs = score(&verdicts(&fingerprints(&sets[1].bodies, &f), Some(near)).0, &sets[1].truth);
        println!(
            "  {:<12} exact-only: {:>3} exact verdicts, R={:.3} | near: bbc P={:.3} R={:.3} synd P={:.3} R={:.3} | {:.0} MB/s",
            folding.as_str(), exact_only.exact, exact_only.recall(), s.precision(), s.recall(), fs.precision(), fs.recall(), mbps
        );
    }

    // Grid over shingle size, banding and threshold with the chosen folding.
    println!("\n# Grid (folding = words). Per set: P R [false alarms/misses/gray]; bytes = index heap per stored article");
    let thresholds = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8];
    let bandings = [(8, 8), (16, 8), (10, 5), (16, 4), (20, 5), (32, 4), (12, 4), (20, 3)];
    let mut passing = Vec::new();
    for w in [3, 4, 5, 6, 7] {
        for (bands, rows) in bandings {
            let probe = NearParams { shingle_words: w, bands, rows, threshold: 0.5 };
            let f = Fingerprinter::new(Some(&probe));
            let fps: Vec<_> = sets.iter().map(|s| fingerprints(&s.bodies, &f)).collect();
            for t in thresholds {
                let near = NearParams { threshold: t, ..probe.clone() };
                let mut line = format!("  w={w} {bands:>2}x{rows} t={t:.2}");
                let mut ok = true;
                let mut worst_f1 = 1.0f64;
                let mut bytes_per = 0;
                for (set, fp) in sets.iter().zip(&fps) {
                    let (v, index) = verdicts(fp, Some(near.clone()));
                    let s = score(&v, &set.truth);
                    ok &= s.precision() >= 0.99 && s.recall() >= 0.97;
                    worst_f1 = worst_f1.min(s.f1());
                    bytes_per = index.heap_bytes() / index.len().max(1);
                    line += &format!(
                        " | {} P={:.3} R={:.3} [{}/{}/{}]",
                        set.name,
                        s.precision(),
                        s.recall(),
                        s.false_alarms,
                        s.misses,
                        s.gray
                    );
                }
                line += &format!(" | {bytes_per} B{}", if ok { "  PASS" } else { "" });
                println!("{line}");
                if ok {
                    passing.push((worst_f1, w, bands, rows, t));
                }
            }
        }
    }
    passing.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!("\n# Settings meeting P >= 0.99 and R >= 0.97 on both sets, best worst-set F1 first");
    for (f1, w, b, r, t) in passing.iter().take(40) {
        println!("  worst F1 {f1:.4}: w={w} {b}x{r} t={t:.2}");
    }
    Ok(())
}

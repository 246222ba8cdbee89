//! Dedup throughput over the BBC corpus bodies (fallback: the repo's `seeds/`):
//! fingerprinting (the parallel half, per thread) and `check_and_insert` (the
//! sequential half), both in MB/s of body text.
//!
//! `cargo bench --bench dedup`

#[path = "../tests/it/support/dedup_eval.rs"]
mod support;

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use newspipe::dedup::{DedupIndex, Fingerprinter, NearParams};

fn bodies() -> Vec<String> {
    if let Some(dir) = support::bbc_dir() {
        if let Ok(docs) = support::load_bbc(&dir) {
            return docs.iter().map(|d| support::body(&d.raw)).collect();
        }
    }
    eprintln!("../shared/data/bbc not found: benchmarking on seeds/");
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    std::fs::read_dir(seeds)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read(e.path()).ok())
        .map(|bytes| support::body(&support::lossy_decode(&bytes)))
        .collect()
}

fn dedup(c: &mut Criterion) {
    let bodies = bodies();
    let bytes: usize = bodies.iter().map(String::len).sum();
    let params = NearParams::default();
    // The setting before issue 15 (5-word shingles, 24x3, no containment), as
    // a same-run reference for the default's cost.
    let before = NearParams {
        shingle_words: 5,
        bands: 24,
        rows: 3,
        threshold: 0.5,
        containment: 2.0,
    };

    let mut group = c.benchmark_group("fingerprint");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);
    for (name, near) in [
        ("exact_only", None),
        ("near_before_issue_15", Some(&before)),
        ("near_default", Some(&params)),
    ] {
        let f = Fingerprinter::new(near);
        group.bench_function(name, |b| {
            b.iter(|| {
                for body in &bodies {
                    black_box(f.fingerprint(body));
                }
            })
        });
    }
    group.finish();

    let ids: Vec<String> = (0..bodies.len()).map(|i| format!("{i:032x}")).collect();
    let mut group = c.benchmark_group("check_and_insert");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(20);
    for (name, near) in [("near_before_issue_15", &before), ("near_default", &params)] {
        let f = Fingerprinter::new(Some(near));
        let fps: Vec<_> = bodies.iter().map(|b| f.fingerprint(b)).collect();
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut index = DedupIndex::new(Some(near.clone()));
                for (id, fp) in ids.iter().zip(&fps) {
                    black_box(index.check_and_insert(id, fp));
                }
                index.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, dedup);
criterion_main!(benches);

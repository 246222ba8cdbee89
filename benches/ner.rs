//! Tagger throughput: `tag_article` over real news text.
//!
//! Uses the BBC corpus from `../shared` when present (research use: read in
//! place, never copied), else the repository's seed article. Reported both
//! as tokens/s (target: >= 2,200,000 on one core) and bytes/s. Iterations
//! after the first run with a warm per-thread word-type cache, as a
//! long-running worker does; `newspipe run` over a fresh corpus shows the
//! cold-start cost.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use newspipe::ner::{tokenize, Tagger};

fn corpus() -> Vec<String> {
    let bbc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/bbc/business");
    let mut docs: Vec<String> = Vec::new();
    if let Ok(dir) = std::fs::read_dir(&bbc) {
        let mut paths: Vec<_> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths.into_iter().take(200) {
            if let Ok(t) = std::fs::read_to_string(&p) {
                docs.push(t);
            }
        }
    }
    if docs.is_empty() {
        eprintln!("../shared/data/bbc not found: benchmarking on the seed article");
        let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/000_104e59b0cc160511.txt");
        docs.push(std::fs::read_to_string(seed).expect("seed article is in the repo"));
    }
    docs
}

fn bench(c: &mut Criterion) {
    let tagger = Tagger::builtin().expect("built-in model loads");
    let docs = corpus();
    let bytes: usize = docs.iter().map(String::len).sum();
    let mut toks = Vec::new();
    let mut tokens = 0usize;
    for d in &docs {
        toks.clear();
        tokenize(d, &mut toks);
        tokens += toks.len();
    }
    let run = || {
        let mut n = 0;
        for d in &docs {
            let (_, e) = tagger.tag_article(None, d);
            n += e.len();
        }
        n
    };
    let mut g = c.benchmark_group("tagger");
    g.sample_size(20);
    g.throughput(Throughput::Elements(tokens as u64));
    g.bench_function("tag_article/tokens", |b| b.iter(run));
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("tag_article/bytes", |b| b.iter(run));
    g.finish();
    c.bench_function("load_builtin_model", |b| {
        b.iter(|| Tagger::builtin().map(|_| ()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Throughput of the text stages: decode, normalize, and title detection plus
//! boilerplate removal, over the BBC corpus in `../shared` when it is present,
//! else over `seeds/`.

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use newspipe::source::decode::decode;
use newspipe::stage::boilerplate::Rules;
use newspipe::stage::normalize::normalize;
use newspipe::stage::title::{split_headline, TitleConfig};

/// Raw bytes of every `.txt` file under `dir`, sorted by path.
fn read_tree(dir: &Path) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

fn corpus() -> (&'static str, Vec<Vec<u8>>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bbc = root.join("../shared/data/bbc");
    if bbc.is_dir() {
        ("bbc", read_tree(&bbc))
    } else {
        eprintln!("{} not present; benchmarking seeds/ instead", bbc.display());
        ("seeds", read_tree(&root.join("seeds")))
    }
}

fn bench_text(c: &mut Criterion) {
    let (name, raw) = corpus();
    let raw_bytes: usize = raw.iter().map(Vec::len).sum();
    let decoded: Vec<String> = raw
        .iter()
        .filter_map(|b| decode(b).ok())
        .map(|(t, _)| t)
        .collect();
    let normalized: Vec<String> = decoded.iter().map(|t| normalize(t)).collect();
    let norm_bytes: usize = normalized.iter().map(String::len).sum();
    let rules = Rules::builtin().expect("built-in rules compile");
    let title_cfg = TitleConfig::default();

    let mut g = c.benchmark_group(format!("text/{name}"));
    g.throughput(Throughput::Bytes(raw_bytes as u64));
    g.bench_function("decode", |b| {
        b.iter(|| {
            raw.iter()
                .map(|r| decode(r).map_or(0, |(t, _)| t.len()))
                .sum::<usize>()
        })
    });
    g.bench_function("normalize", |b| {
        b.iter(|| decoded.iter().map(|t| normalize(t).len()).sum::<usize>())
    });
    g.throughput(Throughput::Bytes(norm_bytes as u64));
    g.bench_function("title+boilerplate", |b| {
        b.iter(|| {
            normalized
                .iter()
                .map(|t| {
                    let body = split_headline(t, &title_cfg).map_or(t.as_str(), |(_, rest)| rest);
                    let (text, removed) = rules.clean(body);
                    text.len() + removed.len()
                })
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_text);
criterion_main!(benches);

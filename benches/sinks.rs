//! Sink write throughput: plain JSONL beside zstd and gzip JSONL and Parquet,
//! in bytes of JSON records per second, each iteration a complete file
//! (temporary name, compression, footer, fsync, rename).
//!
//! Articles are the BBC corpus from `../shared/data/bbc` when present, else
//! generated text; entities are every capitalised word, so the nested
//! columns carry realistic volume before the tagger is done.

use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use newspipe::record::{Article, Entity, Label, SourceInfo};
use newspipe::sink::{self, Record};

fn texts() -> Vec<String> {
    let bbc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/bbc");
    let mut out = Vec::new();
    if let Ok(categories) = std::fs::read_dir(&bbc) {
        for cat in categories.flatten().filter(|e| e.path().is_dir()) {
            for f in std::fs::read_dir(cat.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                if let Ok(bytes) = std::fs::read(f.path()) {
                    out.push(String::from_utf8_lossy(&bytes).into_owned());
                }
            }
        }
    }
    if out.is_empty() {
        eprintln!("{} not found; benchmarking generated text", bbc.display());
        out = (0..2000)
            .map(|i| {
                format!("Headline number {i}\n\n")
                    + &"The Council of Leeds met Acme Ltd in Paris on Monday to discuss the budget. "
                        .repeat(30)
            })
            .collect();
    }
    out.sort();
    out
}

fn articles() -> Vec<Article> {
    texts()
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            let (title, body) = raw.split_once("\n\n").unwrap_or(("", &raw));
            let mut a = Article::new(
                i as u64,
                SourceInfo {
                    path: format!("{i:05}.txt"),
                    bytes: raw.len() as u64,
                    encoding: "utf-8".into(),
                    ..SourceInfo::default()
                },
                body.trim().to_owned(),
            );
            a.id = format!("{:032x}", i * 7919);
            a.title = Some(title.trim().to_owned());
            let mut pos = 0;
            for word in a.text.split(' ') {
                let len = word.chars().count();
                if word.chars().next().is_some_and(char::is_uppercase) {
                    a.entities.push(Entity {
                        text: word.to_owned(),
                        label: Label::ALL[pos % 4],
                        start: pos,
                        end: pos + len,
                        canonical: None,
                        geonames_id: None,
                        country: None,
                    });
                }
                pos += len + 1;
            }
            a
        })
        .collect()
}

fn write_file(path: &Path, articles: &[Article], json: &[Vec<u8>]) {
    let mut out = sink::open(path.to_str().unwrap_or("-")).expect("sink opens");
    for (article, json) in articles.iter().zip(json) {
        out.write(Record { article, json }).expect("write");
    }
    out.commit().expect("commit");
}

fn sinks(c: &mut Criterion) {
    let articles = articles();
    let json: Vec<Vec<u8>> = articles
        .iter()
        .map(|a| serde_json::to_vec(a).expect("serializes"))
        .collect();
    let bytes: usize = json.iter().map(|j| j.len() + 1).sum();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("sink_write");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);
    for name in ["out.jsonl", "out.jsonl.zst", "out.jsonl.gz", "out.parquet"] {
        let path = dir.path().join(name);
        group.bench_with_input(BenchmarkId::from_parameter(name), &path, |b, path| {
            b.iter(|| write_file(path, &articles, &json))
        });
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        eprintln!(
            "{name}: {} records, {:.1} MB of JSON -> {:.1} MB on disk",
            articles.len(),
            bytes as f64 / 1e6,
            size as f64 / 1e6
        );
    }
    group.finish();
}

criterion_group!(benches, sinks);
criterion_main!(benches);

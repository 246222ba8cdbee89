//! The warehouse hand-off, proven against real engines: newspipe's Parquet and
//! compressed JSONL output is loaded into DuckDB and chDB (embedded
//! ClickHouse) with the DDL under `schema/`, and the engines' answers are
//! compared with the run's own summary and with the records themselves.
//!
//! Needs `NEWSPIPE_TEST_PYTHON` pointing at a Python with `duckdb` and `chdb`
//! (`export NEWSPIPE_TEST_PYTHON="$(scripts/ci-python-env.sh)"`); skips
//! visibly otherwise (see `support`). Reads the BBC corpus from
//! `../shared/data/bbc`, or the repository's `seeds/` when that is absent
//! (and logs that as a skip of the BBC part).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use newspipe::record::{Article, DedupInfo, DedupStatus, Entity, Label, SourceInfo};
use newspipe::sink::{self, Record};

use crate::support::{self, python, repo};

const ENGINES: [&str; 2] = ["duckdb", "chdb"];
/// Entities per label the query script reports; keep equal to its `TOP`.
const TOP: usize = 5;

/// The BBC corpus; `seeds/` when it is absent (a partial skip, logged).
fn input_dir() -> PathBuf {
    let bbc = repo().join("../shared/data/bbc");
    if bbc.is_dir() {
        bbc
    } else {
        support::skip(&format!(
            "{} not found; ran on seeds/ instead of the BBC corpus",
            bbc.display()
        ));
        support::seeds()
    }
}

/// Run the query script of `engine` over `file` and parse its JSON answer.
fn query(python: &Path, engine: &str, file: &Path) -> Value {
    let out = std::process::Command::new(python)
        .arg(repo().join("scripts/warehouse_queries.py"))
        .arg(engine)
        .arg(file)
        .arg(repo().join("schema"))
        .output()
        .expect("python starts");
    assert!(
        out.status.success(),
        "{engine} on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the script prints JSON")
}

/// What the engines must answer, computed from the records in Rust.
struct Expected {
    count: u64,
    distinct_ids: u64,
    clusters: BTreeMap<String, u64>,
    entities: BTreeMap<String, u64>,
    top_entities: BTreeMap<String, Vec<(String, u64)>>,
}

fn expected(records: &[Value]) -> Expected {
    let mut clusters = BTreeMap::new();
    let mut mentions: HashMap<(String, String), u64> = HashMap::new();
    let mut entities = BTreeMap::new();
    for r in records {
        let dedup = &r["dedup"];
        if dedup["status"] != "unique" {
            let cluster = dedup["duplicate_of"].as_str().or(r["id"].as_str()).unwrap();
            *clusters.entry(cluster.to_owned()).or_default() += 1;
        }
        for e in r["entities"]
            .as_array()
            .unwrap()
            .iter()
            .chain(r["title_entities"].as_array().unwrap())
        {
            let label = e["label"].as_str().unwrap().to_owned();
            *entities.entry(label.clone()).or_default() += 1;
            *mentions
                .entry((label, e["text"].as_str().unwrap().to_owned()))
                .or_default() += 1;
        }
    }
    let mut ranked: Vec<_> = mentions.into_iter().collect();
    ranked.sort_by(|((la, ta), na), ((lb, tb), nb)| (la, nb, ta).cmp(&(lb, na, tb)));
    let mut top_entities: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    for ((label, text), n) in ranked {
        let list = top_entities.entry(label).or_default();
        if list.len() < TOP {
            list.push((text, n));
        }
    }
    let ids: BTreeSet<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    Expected {
        count: records.len() as u64,
        distinct_ids: ids.len() as u64,
        clusters,
        entities,
        top_entities,
    }
}

fn check_answer(answer: &Value, want: &Expected, what: &str) {
    assert_eq!(answer["count"], json!(want.count), "{what}: article count");
    assert_eq!(
        answer["distinct_ids"],
        json!(want.distinct_ids),
        "{what}: ids"
    );
    assert_eq!(
        answer["clusters"],
        json!(want.clusters),
        "{what}: duplicates per cluster"
    );
    assert_eq!(
        answer["entities"],
        json!(want.entities),
        "{what}: entities by label"
    );
    assert_eq!(
        answer["top_entities"],
        json!(want.top_entities),
        "{what}: top entities by label"
    );
    assert_eq!(
        answer["upserted"],
        json!(want.distinct_ids),
        "{what}: upsert on id keeps one row per id"
    );
}

fn newspipe_run(input: &Path, output: &Path, summary: &Path) -> Value {
    let mut cmd = support::command();
    let out = cmd
        .arg("run")
        .arg(input)
        .arg("-o")
        .arg(output)
        .arg("--summary-json")
        .arg(summary)
        .arg("--quiet")
        .output()
        .expect("newspipe starts");
    // 3: finished with some inputs rejected, which the BBC corpus has.
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "newspipe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    support::json_file(summary)
}

#[test]
fn bbc_run_answers_the_same_in_duckdb_and_chdb_as_its_summary() {
    let Some(python) = python() else { return };
    let input = input_dir();
    let dir = tempfile::tempdir().unwrap();

    let plain = dir.path().join("out.jsonl");
    let summary = newspipe_run(&input, &plain, &dir.path().join("plain.json"));
    let records: Vec<Value> = support::json_lines_of(&plain);
    let want = expected(&records);
    // The records agree with the summary, so engines matching the records
    // match the summary too.
    assert_eq!(json!(want.count), summary["written"]);
    assert_eq!(
        json!(want.clusters.values().sum::<u64>()),
        json!(
            summary["exact_duplicates"].as_u64().unwrap()
                + summary["near_duplicates"].as_u64().unwrap()
        )
    );
    assert_eq!(json!(want.entities), summary["entities"]);

    for name in ["out.parquet", "out.jsonl.zst", "out.jsonl.gz"] {
        let file = dir.path().join(name);
        let s = newspipe_run(&input, &file, &dir.path().join(format!("{name}.json")));
        assert_eq!(s["written"], summary["written"], "{name}: same run");
        for engine in ENGINES {
            let answer = query(&python, engine, &file);
            let what = format!("{engine} on {name}");
            check_answer(&answer, &want, &what);
            assert_eq!(answer["count"], s["written"], "{what}: written");
            assert_eq!(
                answer["status"]["exact"].as_u64().unwrap_or(0),
                s["exact_duplicates"].as_u64().unwrap(),
                "{what}: exact duplicates"
            );
            assert_eq!(
                answer["status"]["near"].as_u64().unwrap_or(0),
                s["near_duplicates"].as_u64().unwrap(),
                "{what}: near duplicates"
            );
            assert_eq!(answer["entities"], s["entities"], "{what}: entities");
        }
    }
}

/// Records with entities, duplicates and every optional field, built in code
/// so the nested columns are exercised whatever the tagger finds today.
fn synthetic(n: u64) -> Vec<Article> {
    let names = [
        ("Alice Moreau", Label::Per),
        ("Acme Corp", Label::Org),
        ("Paris", Label::Loc),
        ("Olympics", Label::Misc),
        ("Bob O'Neil", Label::Per),
        ("Lyon", Label::Loc),
        ("Élysée", Label::Loc),
    ];
    (0..n)
        .map(|i| {
            let source = SourceInfo {
                path: "feed.jsonl".into(),
                line: (i % 2 == 0).then_some(i + 1),
                bytes: 100 + i,
                encoding: "utf-8".into(),
                ..SourceInfo::default()
            };
            let mut a = Article::new(i, source, format!("Article {i}."));
            a.id = format!("{:032x}", i % 40);
            a.title = (i % 3 != 0).then(|| format!("Title {i}"));
            a.url = (i % 5 == 0).then(|| format!("https://example.org/{i}"));
            if i >= 40 {
                a.dedup = DedupInfo {
                    status: if i % 2 == 0 {
                        DedupStatus::Exact
                    } else {
                        DedupStatus::Near
                    },
                    duplicate_of: Some(format!("{:032x}", i % 40)),
                    similarity: Some(0.9),
                    ..DedupInfo::default()
                };
            }
            let k = (i as usize * 7) % 11;
            a.entities = (0..k % 5)
                .map(|j| {
                    let (name, label) = names[(k + j * 3) % names.len()];
                    // Several spellings per name, unevenly often, so that the
                    // top-N cut and its tie-break are exercised.
                    let text = format!("{name} {}", (i as usize % 13) % (3 + j));
                    Entity {
                        text: text.clone(),
                        label,
                        start: j * 10,
                        end: j * 10 + text.chars().count(),
                        canonical: (label == Label::Per).then(|| name.into()),
                        geonames_id: (label == Label::Loc).then_some(2_988_507),
                        country: (label == Label::Loc).then(|| "FR".into()),
                    }
                })
                .collect();
            a.title_entities = a.entities.iter().take(1).cloned().collect();
            a
        })
        .collect()
}

#[test]
fn nested_entities_and_upserts_work_in_duckdb_and_chdb() {
    let Some(python) = python() else { return };
    let articles = synthetic(300);
    let records: Vec<Value> = articles
        .iter()
        .map(|a| serde_json::to_value(a).unwrap())
        .collect();
    let want = expected(&records);
    assert!(want.entities.len() == 4 && want.distinct_ids == 40);
    assert!(
        want.top_entities.values().all(|top| top.len() == TOP),
        "every label has more than TOP distinct texts"
    );
    let dir = tempfile::tempdir().unwrap();
    for name in ["s.parquet", "s.jsonl.gz", "s.jsonl"] {
        let path = dir.path().join(name);
        let mut out = sink::open(path.to_str().unwrap()).unwrap();
        for a in &articles {
            let json = serde_json::to_vec(a).unwrap();
            out.write(Record {
                article: a,
                json: &json,
            })
            .unwrap();
        }
        out.commit().unwrap();
        for engine in ENGINES {
            let answer = query(&python, engine, &path);
            check_answer(&answer, &want, &format!("{engine} on {name}"));
        }
    }
}

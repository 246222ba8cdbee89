//! `deploy/spark/run.sh` against a standalone Spark master and workers on
//! loopback: a cluster gives, article for article, the records of
//! `newspipe run` over the same folder, for any number of workers and parts,
//! and a two-day incremental run decides as one run over both days.
//!
//! The cluster tests are `#[ignore]`d in a plain `cargo test`, since each
//! starts Spark several times; `scripts/ci-spark.sh` (run by `.ci/run`)
//! installs pyspark into a cached virtualenv and runs them with `--ignored`:
//!
//! ```text
//! NEWSPIPE_SPARK_VENV=~/.cache/newspipe/spark-venv cargo test --test it spark:: -- --ignored
//! ```
//!
//! Without pyspark (`NEWSPIPE_SPARK_VENV`) or Java they say SKIP.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{self, json_lines_of};

/// The virtualenv with pyspark, or `None` after a skip.
fn spark_venv() -> Option<PathBuf> {
    let venv = match std::env::var_os("NEWSPIPE_SPARK_VENV") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => {
            support::skip(
                "NEWSPIPE_SPARK_VENV is not set (a virtualenv with pyspark; .ci/run makes one)",
            );
            return None;
        }
    };
    let has_pyspark = Command::new(venv.join("bin/python"))
        .args(["-c", "import pyspark"])
        .status()
        .is_ok_and(|s| s.success());
    let has_java = Command::new("java")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_pyspark || !has_java {
        support::skip(&format!(
            "pyspark in {} ({has_pyspark}) and java on PATH ({has_java}) are needed",
            venv.display()
        ));
        return None;
    }
    Some(venv)
}

/// Paragraph-level text of BBC article `n` (its headline, then paragraphs).
fn bbc(articles: &[String], n: usize) -> (String, Vec<String>) {
    let text = &articles[n % articles.len()];
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let title = lines.next().unwrap_or_default().to_owned();
    (title, lines.map(str::to_owned).collect())
}

fn page(title: &str, paras: &[String]) -> String {
    format!("{title}\n\n{}\n", paras.join("\n\n"))
}

/// A corpus over two days: BBC stories, copies syndicated by other outlets
/// (another headline, a credit line), updates, chains (B copies A, C copies
/// B but not A), exact copies across days, a JSONL feed with copies in it,
/// and inputs that are rejected.
fn corpus(dir: &Path, bbc_dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let mut articles = Vec::new();
    for cat in ["business", "politics", "tech"] {
        let mut names: Vec<_> = std::fs::read_dir(bbc_dir.join(cat))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for p in names.into_iter().take(70) {
            articles.push(String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned());
        }
    }
    let all = dir.join("all");
    let (d1, d2) = (all.join("d1"), all.join("d2"));
    for d in [&d1, &d2, &d1.join("wire"), &d2.join("wire")] {
        std::fs::create_dir_all(d).unwrap();
    }
    let mut feed = Vec::new();
    for n in 0..200 {
        let day = if n < 110 { &d1 } else { &d2 };
        let (title, paras) = bbc(&articles, n);
        std::fs::write(day.join(format!("{n:03}.txt")), page(&title, &paras)).unwrap();
        match n % 10 {
            // Syndicated: the same story under another outlet's headline and credit.
            1 => {
                let mut p = paras.clone();
                p.push("Reporting by the Harbor Wire newsroom.".into());
                let other = if n % 20 == 1 { &d2 } else { day };
                std::fs::write(
                    other.join("wire").join(format!("{n:03}-wire.txt")),
                    page(&format!("WIRE: {title}"), &p),
                )
                .unwrap();
            }
            // A chain: B drops A's first third and adds new text, C drops B's
            // first third and adds more, so C is far from A.
            3 if paras.len() >= 6 => {
                let (_, extra) = bbc(&articles, n + 101);
                let third = paras.len() / 3;
                let b: Vec<String> = paras[third..]
                    .iter()
                    .chain(extra.iter().take(third))
                    .cloned()
                    .collect();
                let (_, more) = bbc(&articles, n + 157);
                let c: Vec<String> = b[third..]
                    .iter()
                    .chain(more.iter().take(third))
                    .cloned()
                    .collect();
                std::fs::write(day.join(format!("{n:03}b.txt")), page(&title, &b)).unwrap();
                std::fs::write(d2.join(format!("{n:03}c.txt")), page(&title, &c)).unwrap();
            }
            // An exact copy, the next day.
            5 => {
                std::fs::write(d2.join(format!("{n:03}-again.txt")), page(&title, &paras)).unwrap()
            }
            // Into the feed, twice for some.
            7 => {
                let line =
                    serde_json::json!({ "id": format!("feed-{n}"), "text": page(&title, &paras) });
                feed.push(line.to_string());
                if n % 20 == 7 {
                    feed.push(line.to_string());
                }
            }
            _ => {}
        }
    }
    feed.push("{not json".into());
    std::fs::write(d1.join("feed.jsonl"), feed.join("\n") + "\n").unwrap();
    std::fs::write(d1.join("empty.txt"), "").unwrap();
    std::fs::write(d2.join("blank.txt"), "\n \n").unwrap();
    (all, d1, d2)
}

/// What a cluster test needs: pyspark, and the corpus made in a new
/// directory (the folder of both days, day 1, day 2); `None` after a skip.
fn cluster_corpus() -> Option<(PathBuf, tempfile::TempDir, (PathBuf, PathBuf, PathBuf))> {
    let venv = spark_venv()?;
    let bbc_dir = support::shared_data("data/bbc")?;
    let dir = tempfile::tempdir().unwrap();
    let folders = corpus(dir.path(), &bbc_dir);
    Some((venv, dir, folders))
}

/// `deploy/spark/run.sh` with `args`; panics with its output on failure.
fn spark_run(venv: &Path, args: &[&str], input: &Path, out: &Path) {
    let script = support::repo().join("deploy/spark/run.sh");
    let output = Command::new(script)
        .env("NEWSPIPE_SPARK_VENV", venv)
        .arg("--binary")
        .arg(support::bin())
        .args(args)
        .arg(input)
        .arg(out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "run.sh {args:?} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The records of a Spark output directory, the parts in order.
fn parts(out: &Path) -> Vec<Value> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("part-"))
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no parts in {}", out.display());
    assert!(out.join("_SUCCESS").exists());
    assert!(!out.join("_temporary").exists());
    names.iter().flat_map(|p| json_lines_of(p)).collect()
}

fn batch(input: &Path, out: &Path, against: Option<&Path>) -> Vec<Value> {
    let mut cmd = support::command();
    cmd.arg("run").arg(input).arg("-o").arg(out).arg("-q");
    if let Some(a) = against {
        cmd.arg("--against").arg(a);
    }
    let status = cmd.status().unwrap();
    assert!(
        matches!(status.code(), Some(0 | 3)),
        "newspipe run {}: {status}",
        input.display()
    );
    json_lines_of(out)
}

/// What dedup decided for each article, by id, in input order.
fn verdicts(records: &[Value]) -> Vec<(String, Value)> {
    records
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap_or_default().to_owned(),
                r["dedup"].clone(),
            )
        })
        .collect()
}

fn assert_same_records(cluster: &[Value], single: &[Value], what: &str) {
    assert_eq!(cluster.len(), single.len(), "{what}: record count");
    for (i, (c, s)) in cluster.iter().zip(single).enumerate() {
        assert_eq!(c, s, "{what}: record {i} differs");
    }
}

#[test]
#[ignore = "starts Spark clusters for minutes: scripts/ci-spark.sh runs it (-- --ignored)"]
fn a_cluster_writes_the_records_one_machine_writes() {
    let Some((venv, dir, (all, _, _))) = cluster_corpus() else {
        return;
    };
    let single = batch(&all, &dir.path().join("single.jsonl"), None);
    let statuses: Vec<&str> = single
        .iter()
        .map(|r| r["dedup"]["status"].as_str().unwrap_or_default())
        .collect();
    for status in ["unique", "exact", "near"] {
        assert!(
            statuses.contains(&status),
            "the corpus has {status} articles"
        );
    }

    let two = dir.path().join("two");
    spark_run(&venv, &["--workers", "2"], &all, &two);
    assert_same_records(&parts(&two), &single, "2 workers");
    let summary = support::json_file(&two.join("_summary.json"));
    assert_eq!(summary["written"].as_u64(), Some(single.len() as u64));
    let rejects: usize = std::fs::read_dir(two.join("_rejects"))
        .unwrap()
        .map(|e| json_lines_of(&e.unwrap().path()).len())
        .sum();
    assert_eq!(
        rejects, 3,
        "the empty file, the blank file and the bad JSONL line"
    );

    let one = dir.path().join("one");
    spark_run(&venv, &["--workers", "1"], &all, &one);
    assert_same_records(&parts(&one), &single, "1 worker");

    let eight = dir.path().join("eight");
    spark_run(
        &venv,
        &["--workers", "2", "--partitions", "8"],
        &all,
        &eight,
    );
    assert_eq!(
        std::fs::read_dir(&eight)
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("part-"))
            .count(),
        8
    );
    assert_same_records(&parts(&eight), &single, "8 partitions");

    // OUT is never written over.
    let script = support::repo().join("deploy/spark/run.sh");
    let again = Command::new(script)
        .env("NEWSPIPE_SPARK_VENV", &venv)
        .arg(&all)
        .arg(&two)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
}

#[test]
#[ignore = "starts Spark clusters for minutes: scripts/ci-spark.sh runs it (-- --ignored)"]
fn two_days_on_a_cluster_decide_as_one_run_over_both() {
    let Some((venv, dir, (all, d1, d2))) = cluster_corpus() else {
        return;
    };
    let both = verdicts(&batch(&all, &dir.path().join("both.jsonl"), None));

    let day1 = dir.path().join("day1");
    let day2 = dir.path().join("day2");
    spark_run(&venv, &["--workers", "2"], &d1, &day1);
    spark_run(
        &venv,
        &["--workers", "2", "--against", day1.to_str().unwrap()],
        &d2,
        &day2,
    );
    let mut days = verdicts(&parts(&day1));
    days.extend(verdicts(&parts(&day2)));
    assert_eq!(
        days, both,
        "two days on the cluster against one run over both"
    );
    assert!(
        days.iter().any(|(_, d)| d["status"] == "near")
            && days.iter().any(|(_, d)| d["status"] == "exact"),
        "the second day has duplicates of the first"
    );

    // The single machine continues from the cluster's signatures alike.
    let single_day2 = batch(&d2, &dir.path().join("day2.jsonl"), Some(&day1));
    let mut mixed = verdicts(&parts(&day1));
    mixed.extend(verdicts(&single_day2));
    assert_eq!(
        mixed, both,
        "day 2 on one machine against day 1 on the cluster"
    );
}

#[test]
fn two_days_on_one_machine_decide_as_one_run_over_both() {
    let Some(bbc_dir) = support::shared_data("data/bbc") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (all, d1, d2) = corpus(dir.path(), &bbc_dir);
    let both = verdicts(&batch(&all, &dir.path().join("both.jsonl"), None));
    let day1 = dir.path().join("day1.jsonl");
    let mut days = verdicts(&batch(&d1, &day1, None));
    assert!(dir
        .path()
        .join("day1.jsonl.signatures/dedup.parquet")
        .exists());
    days.extend(verdicts(&batch(
        &d2,
        &dir.path().join("day2.jsonl"),
        Some(&day1),
    )));
    assert_eq!(days, both);
    let near = both.iter().filter(|(_, d)| d["status"] == "near").count();
    let exact = both.iter().filter(|(_, d)| d["status"] == "exact").count();
    assert!(
        near >= 5 && exact >= 5,
        "{near} near and {exact} exact duplicates"
    );
}

#[test]
fn the_job_knows_the_bucket_walk_limit() {
    let job = std::fs::read_to_string(support::repo().join("deploy/spark/job.py")).unwrap();
    let line = format!("BUCKET_WALK = {}", newspipe::dedup::MAX_BUCKET_WALK);
    assert!(
        job.lines().any(|l| l == line),
        "deploy/spark/job.py needs `{line}`"
    );
}

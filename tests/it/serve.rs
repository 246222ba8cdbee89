//! Daemon mode through the binary: crash safety under SIGKILL, graceful
//! shutdown, config mismatch, metrics.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{self, similar_article as article, wait_for};

struct Dirs {
    _root: tempfile::TempDir,
    watch: PathBuf,
    out: PathBuf,
    state: PathBuf,
}

fn dirs() -> Dirs {
    let root = tempfile::tempdir().unwrap();
    let d = |n: &str| {
        let p = root.path().join(n);
        std::fs::create_dir(&p).unwrap();
        p
    };
    Dirs {
        watch: d("watch"),
        out: d("out"),
        state: d("state"),
        _root: root,
    }
}

fn daemon(d: &Dirs, extra_env: &[(&str, &str)]) -> Command {
    let mut cmd = support::command();
    cmd.args(["serve", "--watch"])
        .arg(&d.watch)
        .arg("--output-dir")
        .arg(&d.out)
        .arg("--state-dir")
        .arg(&d.state)
        .env("NEWSPIPE__METRICS__ADDR", "")
        .env("NEWSPIPE__SERVE__SETTLE_MS", "300")
        .env("NEWSPIPE__SERVE__SEGMENT_MAX_AGE_MS", "100")
        .env("NEWSPIPE__PIPELINE__THREADS", "2")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd
}

/// A running daemon whose stderr is drained line by line into a channel (so
/// the pipe never fills).
struct Daemon {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Daemon {
    fn start(d: &Dirs, env: &[(&str, &str)]) -> Daemon {
        let mut child = daemon(d, env).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Daemon { child, lines }
    }

    /// Wait for a log line containing `needle`; returns it.
    fn wait_line(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!("no log line with {needle:?}: {e}"),
            }
        }
    }

    /// Wait until the daemon has recovered its state and installed its handlers.
    fn ready(self) -> Daemon {
        self.wait_line("recovered state");
        self
    }
}

/// Drop file `name` into `dir` the way careful writers do: write a temp name, rename.
fn drop_file(dir: &Path, name: &str, body: &str) {
    let tmp = dir.join(format!("{name}.part"));
    std::fs::write(&tmp, body).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

/// What a record says about its input: (id, dedup status, duplicate_of).
type Verdict = (String, String, String);

fn verdict(r: &Value) -> (String, Verdict) {
    (
        r["source"]["path"].as_str().unwrap().to_owned(),
        (
            r["id"].as_str().unwrap().to_owned(),
            r["dedup"]["status"].as_str().unwrap().to_owned(),
            r["dedup"]["duplicate_of"].to_string(),
        ),
    )
}

/// (path -> verdict) over all committed segments, failing on any path seen
/// twice or any line that is not a whole JSON record.
fn committed(out: &Path) -> BTreeMap<String, Verdict> {
    let mut seen = BTreeMap::new();
    let mut names: Vec<_> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("seg-"))
        .collect();
    names.sort();
    for name in names {
        for r in support::json_lines_of(&out.join(&name)) {
            let (key, val) = verdict(&r);
            assert!(
                seen.insert(key.clone(), val).is_none(),
                "{key} committed twice"
            );
        }
    }
    seen
}

/// (path -> verdict) of one batch run over `dir`.
fn batch(dir: &Path) -> BTreeMap<String, Verdict> {
    let out = support::command()
        .args(["run", "-q", "--threads", "2"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    support::json_lines(&out.stdout)
        .iter()
        .map(verdict)
        .collect()
}

/// SIGTERM a daemon that must still be running; its exit status.
fn terminate(child: &mut Child) -> std::process::ExitStatus {
    support::signal(child, "TERM");
    support::wait_exit(child, Duration::from_secs(20), "daemon after SIGTERM")
}

/// Small deterministic PRNG so the kill schedule is reproducible.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn sigkill_at_random_moments_loses_nothing_and_repeats_nothing() {
    let d = dirs();
    const FILES: usize = 240;
    let watch = d.watch.clone();
    let writer = std::thread::spawn(move || {
        for i in 0..FILES {
            // Every fifth file repeats an earlier article under a new name.
            let body = if i % 5 == 4 {
                article(i / 3)
            } else {
                article(i)
            };
            drop_file(&watch, &format!("{i:05}.txt"), &body);
            std::thread::sleep(Duration::from_millis(12));
        }
    });
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut kills = 0;
    while kills < 20 {
        let mut child = daemon(&d, &[]).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(60 + rng.below(240)));
        support::sigkill(&mut child);
        kills += 1;
    }
    writer.join().unwrap();

    let mut last = Daemon::start(&d, &[]).ready();
    wait_for("every file committed", Duration::from_secs(60), || {
        committed(&d.out).len() == FILES
    });
    let status = terminate(&mut last.child);
    assert!(status.success(), "clean exit after SIGTERM: {status:?}");

    let got = committed(&d.out);
    let want = batch(&d.watch);
    assert_eq!(want.len(), FILES);
    let dup = |m: &BTreeMap<_, Verdict>| m.values().filter(|v| v.1 != "unique").count();
    assert!(dup(&want) >= FILES / 10, "the writer made duplicates");
    assert_eq!(
        got, want,
        "daemon output after {kills} kills equals one batch run"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&d.out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temp segments after a clean stop: {leftovers:?}"
    );
}

#[test]
fn sigterm_drains_and_commits_what_is_in_flight() {
    let d = dirs();
    for i in 0..30 {
        drop_file(&d.watch, &format!("{i:03}.txt"), &article(i));
    }
    let mut dm = Daemon::start(&d, &[("NEWSPIPE__SERVE__SEGMENT_MAX_AGE_MS", "600000")]).ready();
    // Give it time to take the files; with a 10-minute segment age nothing is
    // committed until shutdown.
    std::thread::sleep(Duration::from_millis(1500));
    let started = Instant::now();
    let status = terminate(&mut dm.child);
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(committed(&d.out).len(), 30);
}

#[test]
fn changed_dedup_config_is_refused_with_a_rebuild_hint() {
    let d = dirs();
    drop_file(&d.watch, "a.txt", &article(1));
    let mut child = daemon(&d, &[]).spawn().unwrap();
    wait_for("first commit", Duration::from_secs(20), || {
        committed(&d.out).len() == 1
    });
    assert!(terminate(&mut child).success());

    let out = daemon(&d, &[("NEWSPIPE__DEDUP__NEAR", "false")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("To rebuild"), "{stderr}");
}

#[test]
fn restart_does_not_repeat_committed_files() {
    let d = dirs();
    for i in 0..5 {
        drop_file(&d.watch, &format!("{i}.txt"), &article(i));
    }
    let mut child = daemon(&d, &[]).spawn().unwrap();
    wait_for("five records", Duration::from_secs(20), || {
        committed(&d.out).len() == 5
    });
    assert!(terminate(&mut child).success());
    let mut child = daemon(&d, &[]).spawn().unwrap();
    drop_file(&d.watch, "5.txt", &article(5));
    wait_for("the new file", Duration::from_secs(20), || {
        committed(&d.out).len() == 6
    });
    assert!(terminate(&mut child).success());
}

#[test]
fn metrics_endpoint_serves_prometheus_text() {
    let d = dirs();
    for i in 0..4 {
        drop_file(&d.watch, &format!("{i}.txt"), &article(i));
    }
    drop_file(&d.watch, "bad.txt", "");
    let mut dm = Daemon::start(&d, &[("NEWSPIPE__METRICS__ADDR", "127.0.0.1:0")]);
    let line = dm.wait_line("metrics on http://");
    let addr = support::metrics_addr(&line);
    wait_for("commits", Duration::from_secs(20), || {
        committed(&d.out).len() == 4
    });
    let get = |path: &str| support::http_get(&addr, path);
    assert!(get("/healthz").ends_with("ok\n"));
    // Segment files appear a moment before the counters move; poll.
    let mut resp = get("/metrics");
    for _ in 0..100 {
        if !resp.contains("newspipe_commits_total 0\n") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        resp = get("/metrics");
    }
    let value = support::scrape(&resp);
    assert_eq!(value("newspipe_inputs_total", None), Some(5.0));
    assert_eq!(value("newspipe_records_written_total", None), Some(4.0));
    assert_eq!(
        value("newspipe_rejected_total", Some(("reason", "empty"))),
        Some(1.0)
    );
    assert!(value("newspipe_commits_total", None).is_some_and(|v| v >= 1.0));
    assert!(value("newspipe_queue_depth", Some(("queue", "source"))).is_some());
    assert!(get("/nope").starts_with("HTTP/1.1 404"));
    assert!(terminate(&mut dm.child).success());
}

#[test]
fn parquet_segments_hold_every_record() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let d = dirs();
    for i in 0..12 {
        drop_file(&d.watch, &format!("{i:02}.txt"), &article(i));
    }
    let mut dm = Daemon::start(&d, &[("NEWSPIPE__SERVE__FORMAT", "parquet")]).ready();
    let rows = || -> i64 {
        std::fs::read_dir(&d.out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .map(|p| {
                let reader = SerializedFileReader::new(std::fs::File::open(&p).unwrap())
                    .expect("committed segments are whole Parquet files");
                reader.metadata().file_metadata().num_rows()
            })
            .sum()
    };
    wait_for("twelve rows", Duration::from_secs(20), || rows() == 12);
    assert!(terminate(&mut dm.child).success());
    assert_eq!(rows(), 12);
}

#[test]
fn stop_writes_the_summary_and_commits_rejects_with_their_segment() {
    let d = dirs();
    for i in 0..6 {
        drop_file(&d.watch, &format!("{i}.txt"), &article(i));
    }
    drop_file(&d.watch, "empty.txt", "");
    drop_file(&d.watch, "binary.txt", "\u{0}\u{1}\u{2}PK\u{3}\u{4}");
    let summary = d.state.join("../summary.json");
    let mut cmd = daemon(&d, &[]);
    cmd.arg("--summary-json").arg(&summary);
    let mut child = cmd.spawn().unwrap();
    wait_for("six records", Duration::from_secs(20), || {
        committed(&d.out).len() == 6
    });
    assert!(terminate(&mut child).success());

    let s = support::json_file(&summary);
    assert_eq!(s["inputs"], 8, "{s}");
    assert_eq!(s["written"], 6, "{s}");
    assert_eq!(s["rejected"]["empty"], 1, "{s}");
    assert_eq!(s["rejected"]["binary"], 1, "{s}");
    assert!(s["stages"]["normalize"]["seconds"].as_f64().unwrap() > 0.0);

    // The rejects sit beside the segments, never among them.
    let mut rejects = Vec::new();
    for e in std::fs::read_dir(d.out.join("_rejects")).unwrap() {
        let path = e.unwrap().path();
        assert!(!path.file_name().unwrap().to_string_lossy().starts_with('.'));
        rejects.extend(support::json_lines_of(&path));
    }
    let mut paths: Vec<&str> = rejects
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    paths.sort();
    assert_eq!(paths, ["binary.txt", "empty.txt"]);
    assert!(rejects.iter().all(|r| r["reason"].is_string()));

    // A restart redoes nothing: the rejects too are in the ledger.
    let mut child = daemon(&d, &[]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    assert!(terminate(&mut child).success());
    let again: usize = std::fs::read_dir(d.out.join("_rejects"))
        .unwrap()
        .map(|e| support::json_lines_of(&e.unwrap().path()).len())
        .sum();
    assert_eq!(again, 2);
}

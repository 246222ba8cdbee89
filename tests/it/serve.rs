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
    daemon_from(support::command(), d, extra_env)
}

/// [`daemon`] on a given base command (e.g. one under an fd limit).
fn daemon_from(mut cmd: Command, d: &Dirs, extra_env: &[(&str, &str)]) -> Command {
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

/// A test that fails midway must not leave its daemon running.
impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Daemon {
    fn start(d: &Dirs, env: &[(&str, &str)]) -> Daemon {
        Daemon::spawn(daemon(d, env))
    }

    fn spawn(mut cmd: Command) -> Daemon {
        let mut child = cmd.spawn().unwrap();
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

/// The outlets of the learned-chrome test: folder, name.
const OUTLETS: [(&str, &str); 3] = [
    ("harbor", "Harbor Courier"),
    ("ridge", "Ridge Gazette"),
    ("coast", "Coastline Post"),
];

/// Input `i` of the learned-chrome test: (path, body). A story of its own
/// (every seventh syndicated from an earlier input of another outlet)
/// between its outlet's masthead, tip line and footer, whose year changes.
fn outlet_file(i: usize) -> (String, String) {
    let (dir, name) = OUTLETS[i % OUTLETS.len()];
    let story = support::article(if i % 7 == 6 { i - 4 } else { i });
    let body = format!(
        "{name} is printed on the quay every single morning\n\n{story}\n\
         Send what you saw in {dir} to the {name} newsroom desk\n\n\
         © {} {name} Media Group\n",
        1990 + i % 30
    );
    (format!("{dir}/{i:05}.txt"), body)
}

/// Learning on, with thresholds a test of 150 inputs reaches.
const LEARN_ENV: [(&str, &str); 4] = [
    ("NEWSPIPE__BOILERPLATE__LEARN", "true"),
    ("NEWSPIPE__BOILERPLATE__LEARN_MIN_STORIES", "4"),
    ("NEWSPIPE__BOILERPLATE__LEARN_MIN_SHARE", "0"),
    ("NEWSPIPE__BOILERPLATE__LEARN_REFRESH_ARTICLES", "12"),
];

/// What the daemon decided about each input: path -> (id, text, removed spans).
fn cleaned(out: &Path) -> BTreeMap<String, (String, String, String)> {
    committed(out); // fails on an input committed twice
    all_records(out)
        .iter()
        .map(|r| {
            let path = r["source"]["path"].as_str().unwrap().to_owned();
            let id = r["id"].as_str().unwrap().to_owned();
            let text = r["text"].as_str().unwrap().to_owned();
            (path, (id, text, r["boilerplate"].to_string()))
        })
        .collect()
}

#[test]
fn learned_chrome_survives_sigkill_with_the_decisions_of_an_uninterrupted_run() {
    const FILES: usize = 150;
    let d = dirs();
    let files: Vec<(String, String)> = (0..FILES).map(outlet_file).collect();
    for (dir, _) in OUTLETS {
        std::fs::create_dir(d.watch.join(dir)).unwrap();
    }
    // Each daemon gets a share of the files while it runs, commits at least
    // one segment, and is killed at a random moment after.
    const KILLS: usize = 12;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for (k, chunk) in files.chunks(FILES.div_ceil(KILLS)).enumerate() {
        let mut child = Daemon::start(&d, &LEARN_ENV);
        for (path, body) in chunk {
            drop_file(&d.watch, path, body);
            std::thread::sleep(Duration::from_millis(12));
        }
        child.wait_line("committed segment");
        std::thread::sleep(Duration::from_millis(rng.below(300)));
        support::sigkill(&mut child.child);
        let done = committed(&d.out).len();
        assert!(done > 0, "daemon {k} committed nothing");
    }
    let kills = KILLS;
    let mut last = Daemon::start(&d, &LEARN_ENV).ready();
    wait_for("every file committed", Duration::from_secs(60), || {
        committed(&d.out).len() == FILES
    });
    assert!(terminate(&mut last.child).success());
    let got = cleaned(&d.out);

    // The same inputs, in the same order, to a daemon never interrupted.
    // Arrival order is by change time, whose clock ticks every few
    // milliseconds (then by name, which would mix the outlets): spaced alike.
    let u = dirs();
    for (dir, _) in OUTLETS {
        std::fs::create_dir(u.watch.join(dir)).unwrap();
    }
    for (path, body) in &files {
        drop_file(&u.watch, path, body);
        std::thread::sleep(Duration::from_millis(12));
    }
    let mut once = Daemon::start(&u, &LEARN_ENV).ready();
    wait_for("every file committed", Duration::from_secs(60), || {
        committed(&u.out).len() == FILES
    });
    assert!(terminate(&mut once.child).success());
    let want = cleaned(&u.out);
    assert_eq!(want.len(), FILES);

    // It did learn: the first block of 12 inputs is cleaned by the rules
    // alone (which know the footer), and later inputs lose their outlet's
    // masthead and tip line too.
    let learned = |i: usize| want[&files[i].0].2.matches("\"learned:").count();
    let counts: Vec<usize> = (0..FILES).map(learned).collect();
    assert!(counts[..12].iter().all(|&n| n == 0), "{counts:?}");
    assert!(counts[60..].iter().all(|&n| n == 2), "{counts:?}");
    for (path, body) in &files[60..] {
        let text = &want[path].1;
        assert!(
            !text.contains("newsroom desk") && !text.contains("quay"),
            "{body}\n->\n{text}"
        );
    }
    // ... and a syndicated story is kept whole in both outlets.
    let story_line = |i: usize| support::article(i).lines().nth(2).unwrap().to_owned();
    for i in (62..FILES).filter(|i| i % 7 == 6) {
        assert!(
            want[&files[i].0].1.contains(&story_line(i - 4)),
            "input {i}"
        );
        assert!(
            want[&files[i - 4].0].1.contains(&story_line(i - 4)),
            "input {}",
            i - 4
        );
    }
    let differ: Vec<&String> = want
        .keys()
        .filter(|k| got.get(*k) != want.get(*k))
        .collect();
    if let Some(first) = differ.first() {
        panic!(
            "after {kills} kills, {} inputs were cleaned otherwise than by an uninterrupted \
             run, the first {first}:\n{:?}\nuninterrupted:\n{:?}",
            differ.len(),
            got.get(*first).map(|v| &v.2),
            want[*first].2
        );
    }
    assert_eq!(got.len(), FILES);
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
fn changed_learning_values_are_refused_and_learning_may_be_turned_off() {
    let d = dirs();
    drop_file(&d.watch, "a.txt", &article(1));
    let mut child = daemon(&d, &LEARN_ENV).spawn().unwrap();
    wait_for("first commit", Duration::from_secs(20), || {
        committed(&d.out).len() == 1
    });
    assert!(terminate(&mut child).success());
    assert!(d.state.join("learned").read_dir().unwrap().count() == 1);

    let mut other = LEARN_ENV.to_vec();
    other.push(("NEWSPIPE__BOILERPLATE__LEARN_MAX_SOURCES", "7"));
    let out = daemon(&d, &other).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("max_sources=7") && stderr.contains("rebuild"),
        "{stderr}"
    );

    // Off: the daemon starts, and its next commit drops the learned state.
    let mut off = Daemon::start(&d, &[]).ready();
    drop_file(&d.watch, "b.txt", &article(2));
    wait_for("second commit", Duration::from_secs(20), || {
        committed(&d.out).len() == 2
    });
    assert!(terminate(&mut off.child).success());
    assert_eq!(d.state.join("learned").read_dir().unwrap().count(), 0);
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

    // A restart redoes nothing: the rejects too are in the ledger. (Ready
    // first: a SIGTERM before the handlers are in place would kill it, which
    // a loaded machine made happen.)
    let mut dm = Daemon::start(&d, &[]).ready();
    std::thread::sleep(Duration::from_millis(1000));
    assert!(terminate(&mut dm.child).success());
    let again: usize = std::fs::read_dir(d.out.join("_rejects"))
        .unwrap()
        .map(|e| support::json_lines_of(&e.unwrap().path()).len())
        .sum();
    assert_eq!(again, 2);
}

// ---------------------------------------------------------------- faults

/// Every record of every committed segment, in segment order.
fn all_records(out: &Path) -> Vec<Value> {
    let mut names: Vec<_> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("seg-"))
        .collect();
    names.sort();
    names
        .iter()
        .flat_map(|n| support::json_lines_of(&out.join(n)))
        .collect()
}

/// Every committed reject line.
fn all_rejects(out: &Path) -> Vec<Value> {
    let dir = out.join("_rejects");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("seg-"))
        .collect();
    paths.sort();
    paths
        .iter()
        .flat_map(|p| support::json_lines_of(p))
        .collect()
}

/// Run a daemon that must refuse to start: its exit code and stderr. A
/// daemon that starts instead is killed after 10 s and fails the test.
fn refused(cmd: &mut Command) -> (Option<i32>, String) {
    let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
    let status = support::wait_exit(
        &mut child,
        Duration::from_secs(10),
        "a daemon that must refuse to start",
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.code(), stderr)
}

#[test]
fn second_instance_on_a_state_dir_is_refused_and_the_lock_dies_with_the_first() {
    let d = dirs();
    let mut first = Daemon::start(&d, &[]).ready();
    let (code, stderr) = refused(&mut daemon(&d, &[]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("another newspipe") && stderr.contains(&*d.state.to_string_lossy()),
        "names the state directory: {stderr}"
    );
    assert!(
        stderr.contains(&first.child.id().to_string()),
        "names the pid holding it: {stderr}"
    );
    // A crash releases the lock: the next start works.
    support::sigkill(&mut first.child);
    let mut again = Daemon::start(&d, &[]).ready();
    drop_file(&d.watch, "a.txt", &article(1));
    wait_for("a commit after the crash", Duration::from_secs(20), || {
        committed(&d.out).len() == 1
    });
    assert!(terminate(&mut again.child).success());
}

#[test]
fn overlapping_directories_are_refused_naming_both() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let mk = |p: &str| {
        let p = r.join(p);
        std::fs::create_dir_all(&p).unwrap();
        p
    };
    let (w, o, s) = (mk("w"), mk("o"), mk("s"));
    // (watch, output, state, the two directories the message must name)
    let cases: Vec<(PathBuf, PathBuf, PathBuf, [&str; 2])> = vec![
        (w.clone(), w.clone(), s.clone(), ["watch_dir", "output_dir"]),
        (
            w.clone(),
            w.join("out"),
            s.clone(),
            ["watch_dir", "output_dir"],
        ),
        (
            w.join("in"),
            w.clone(),
            s.clone(),
            ["watch_dir", "output_dir"],
        ),
        (
            w.clone(),
            o.clone(),
            w.join("state"),
            ["watch_dir", "state_dir"],
        ),
        (
            w.clone(),
            o.clone(),
            o.join("state"),
            ["output_dir", "state_dir"],
        ),
        (w.clone(), o.clone(), o.clone(), ["output_dir", "state_dir"]),
    ];
    std::fs::create_dir_all(w.join("in")).unwrap();
    std::fs::write(w.join("a.txt"), article(1)).unwrap();
    for (watch, out, state, names) in cases {
        let mut cmd = support::command();
        cmd.args(["serve", "--watch"])
            .arg(&watch)
            .arg("--output-dir")
            .arg(&out)
            .arg("--state-dir")
            .arg(&state)
            .env("NEWSPIPE__METRICS__ADDR", "")
            .env("NEWSPIPE__SERVE__SETTLE_MS", "100")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let (code, stderr) = refused(&mut cmd);
        let case = format!("watch {watch:?} out {out:?} state {state:?}");
        assert_eq!(code, Some(2), "{case}: {stderr}");
        for n in names {
            assert!(stderr.contains(n), "{case}: names {n}: {stderr}");
        }
    }
    // Nothing was written into the watched directory.
    let mut left: Vec<String> = walk(&w);
    left.sort();
    assert_eq!(left, ["a.txt"], "the watch dir is untouched");
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
        }
    }
    out
}

/// A daemon that committed `n` files into `d`, then stopped cleanly.
fn committed_run(d: &Dirs, n: usize) {
    for i in 0..n {
        drop_file(&d.watch, &format!("{i}.txt"), &article(i));
    }
    let mut dm = Daemon::start(d, &[]).ready();
    wait_for("the files committed", Duration::from_secs(20), || {
        committed(&d.out).len() == n
    });
    assert!(terminate(&mut dm.child).success());
}

#[test]
fn lost_state_with_committed_segments_is_refused_with_a_repair_hint() {
    let d = dirs();
    committed_run(&d, 3);
    let seg0 = d.out.join("seg-00000000.jsonl");
    let before = std::fs::read(&seg0).unwrap();
    std::fs::remove_file(d.state.join("state.json")).unwrap();
    drop_file(&d.watch, "new.txt", &article(9));
    let (code, stderr) = refused(&mut daemon(&d, &[]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("state.json")
            && stderr.contains("seg-00000000")
            && stderr.contains("To repair"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&seg0).unwrap(), before, "seg-00000000 kept");
}

#[test]
fn deleted_committed_segment_is_noticed_at_start() {
    let d = dirs();
    committed_run(&d, 2);
    let first = std::fs::read_dir(&d.out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("seg-"))
        .min()
        .unwrap();
    std::fs::remove_file(d.out.join(&first)).unwrap();
    let (code, stderr) = refused(&mut daemon(&d, &[]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&first) && stderr.contains("missing") && stderr.contains("To repair"),
        "{stderr}"
    );
}

#[test]
fn vanished_input_is_forgotten_and_its_return_not_processed_again() {
    let d = dirs();
    let mut dm = Daemon::start(&d, &[("NEWSPIPE__SERVE__RESCAN_SECS", "1")]).ready();
    drop_file(&d.watch, "a.txt", &article(1));
    wait_for("a.txt", Duration::from_secs(20), || {
        committed(&d.out).len() == 1
    });
    std::fs::remove_file(d.watch.join("a.txt")).unwrap();
    // Past a rescan, so the watcher has seen it gone.
    std::thread::sleep(Duration::from_millis(1500));
    drop_file(&d.watch, "a.txt", &article(1));
    std::thread::sleep(Duration::from_millis(800));
    drop_file(&d.watch, "b.txt", &article(2));
    wait_for("b.txt", Duration::from_secs(20), || {
        committed(&d.out).len() == 2
    });
    std::thread::sleep(Duration::from_millis(800));
    // `committed` fails on a path committed twice.
    assert_eq!(committed(&d.out).len(), 2);
    assert!(all_rejects(&d.out).is_empty(), "{:?}", all_rejects(&d.out));
    assert!(terminate(&mut dm.child).success());
}

#[test]
fn symlinks_in_the_watch_dir_are_rejected_and_never_read() {
    let d = dirs();
    let outside = d.state.join("../outside");
    std::fs::create_dir(&outside).unwrap();
    let secret = "TOPSECRET the launch codes are 0000. ".repeat(20);
    std::fs::write(outside.join("secret.txt"), &secret).unwrap();
    std::fs::write(outside.join("also.txt"), &secret).unwrap();
    std::fs::write(d.watch.join("inside.txt"), article(3)).unwrap();
    let mut dm = Daemon::start(&d, &[("NEWSPIPE__SERVE__RESCAN_SECS", "1")]).ready();
    let link =
        |target: &Path, name: &str| std::os::unix::fs::symlink(target, d.watch.join(name)).unwrap();
    link(&outside.join("secret.txt"), "leak.txt");
    link(&outside, "linked-dir");
    link(&d.watch.join("inside.txt"), "alias.txt");
    drop_file(&d.watch, "ok.txt", &article(1));
    wait_for("the rejects of the links", Duration::from_secs(20), || {
        all_rejects(&d.out).len() == 3 && committed(&d.out).len() == 2
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert!(terminate(&mut dm.child).success());
    let got = committed(&d.out);
    assert_eq!(got.keys().collect::<Vec<_>>(), ["inside.txt", "ok.txt"]);
    for r in all_records(&d.out) {
        assert!(!r.to_string().contains("TOPSECRET"), "leaked: {r}");
    }
    let mut rejects: Vec<(String, String)> = all_rejects(&d.out)
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_owned(),
                r["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    rejects.sort();
    let paths: Vec<&str> = rejects.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(paths, ["alias.txt", "leak.txt", "linked-dir"]);
    for (path, reason) in &rejects {
        assert!(reason.contains("symbolic link"), "{path}: {reason}");
        assert!(!reason.contains("TOPSECRET"), "{path}: {reason}");
    }
}

#[test]
fn touch_or_chmod_of_a_processed_file_adds_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let d = dirs();
    let mut dm = Daemon::start(&d, &[]).ready();
    drop_file(&d.watch, "a.txt", &article(1));
    drop_file(&d.watch, "feed.jsonl", &support::jsonl_article(5));
    wait_for("a.txt", Duration::from_secs(20), || {
        all_records(&d.out).len() == 2
    });
    let a = d.watch.join("a.txt");
    let f = std::fs::File::options().append(true).open(&a).unwrap();
    f.set_modified(std::time::SystemTime::now()).unwrap();
    drop(f);
    std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(
        d.watch.join("feed.jsonl"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    drop_file(&d.watch, "b.txt", &article(2));
    wait_for("b.txt", Duration::from_secs(20), || {
        all_records(&d.out).len() >= 3
    });
    std::thread::sleep(Duration::from_millis(1000));
    assert!(terminate(&mut dm.child).success());
    let paths: Vec<String> = all_records(&d.out)
        .iter()
        .map(|r| r["source"]["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(paths, ["a.txt", "feed.jsonl", "b.txt"], "nothing twice");
}

#[test]
fn jsonl_in_the_watch_dir_is_read_as_batch_reads_it() {
    let d = dirs();
    let mut feed: Vec<String> = (0..3).map(support::jsonl_article).collect();
    feed.insert(1, "{\"text\": oops}".into());
    let body = feed.join("\n") + "\n";
    drop_file(&d.watch, "feed.jsonl", &body);
    let mut dm = Daemon::start(&d, &[]).ready();
    wait_for(
        "three records and a reject",
        Duration::from_secs(20),
        || all_records(&d.out).len() >= 3 && !all_rejects(&d.out).is_empty(),
    );
    assert!(terminate(&mut dm.child).success());
    let ids = |rs: &[Value]| -> Vec<(String, u64)> {
        rs.iter()
            .map(|r| {
                (
                    r["source"]["id"].to_string(),
                    r["source"]["line"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let got = all_records(&d.out);
    let out = support::command()
        .args(["run", "-q", "--threads", "2"])
        .arg(&d.watch)
        .output()
        .unwrap();
    let want = support::json_lines(&out.stdout);
    assert_eq!(want.len(), 3);
    assert_eq!(ids(&got), ids(&want), "the same articles, ids and lines");
    let rejects = all_rejects(&d.out);
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert_eq!(rejects[0]["line"], 2);
    assert_eq!(rejects[0]["kind"], "malformed_json");

    // A restart redoes no line.
    let mut dm = Daemon::start(&d, &[]).ready();
    std::thread::sleep(Duration::from_millis(1200));
    assert!(terminate(&mut dm.child).success());
    assert_eq!(all_records(&d.out).len(), 3);
    assert_eq!(all_rejects(&d.out).len(), 1);
}

#[test]
fn fd_limited_daemon_under_a_connection_flood_still_ingests_every_file() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let d = dirs();
    let cmd = daemon_from(
        support::command_with_nofile(64),
        &d,
        &[("NEWSPIPE__METRICS__ADDR", "127.0.0.1:0")],
    );
    let mut dm = Daemon::spawn(cmd);
    let addr = support::metrics_addr(&dm.wait_line("metrics on http://"));
    let stop = Arc::new(AtomicBool::new(false));
    let flood = {
        let stop = Arc::clone(&stop);
        let addr = addr.clone();
        std::thread::spawn(move || {
            // Idle connections that never send a request, renewed before
            // the server's header timeout would free their slots.
            while !stop.load(Ordering::Relaxed) {
                let conns: Vec<_> = (0..150)
                    .filter_map(|_| std::net::TcpStream::connect(&addr).ok())
                    .collect();
                for _ in 0..10 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                drop(conns);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    const FILES: usize = 20;
    for i in 0..FILES {
        drop_file(&d.watch, &format!("{i:02}.txt"), &article(i));
    }
    let done = || committed(&d.out).len() + all_rejects(&d.out).len() >= FILES;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    flood.join().unwrap();
    assert!(
        all_rejects(&d.out).is_empty(),
        "rejects: {:?}",
        all_rejects(&d.out)
    );
    assert_eq!(committed(&d.out).len(), FILES);
    assert!(terminate(&mut dm.child).success());
}

#[test]
fn disk_full_stops_the_daemon_naming_the_path_and_keeps_what_was_committed() {
    let d = dirs();
    let Some(_mount) = support::small_tmpfs(&d.out, 256 * 1024) else {
        return;
    };
    let mut dm = Daemon::start(&d, &[]).ready();
    for i in 0..400 {
        drop_file(&d.watch, &format!("{i:03}.txt"), &article(i));
    }
    let status = support::wait_exit(
        &mut dm.child,
        Duration::from_secs(60),
        "a daemon on a full disk",
    );
    assert_eq!(status.code(), Some(1), "{status:?}");
    let mut log = String::new();
    while let Ok(line) = dm.lines.recv_timeout(Duration::from_millis(500)) {
        log.push_str(&line);
        log.push('\n');
    }
    assert!(log.contains("No space left on device"), "{log}");
    assert!(
        log.contains(&*d.out.to_string_lossy()),
        "the message names the path: {log}"
    );
    // What was committed is whole; the next start recovers and goes on.
    let before = committed(&d.out).len();
    assert!(before < 400);
}

#[test]
fn shipped_systemd_unit_is_hardened_to_2_5_or_lower() {
    let Some(analyze) = support::tool("systemd-analyze", "systemd") else {
        return;
    };
    let unit = support::repo().join("deploy/newspipe.service");
    let out = Command::new(analyze)
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&unit)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let score: f64 = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for newspipe.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no score in: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert!(score <= 2.5, "exposure {score} > 2.5:\n{text}");
}

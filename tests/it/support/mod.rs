//! What the integration tests share: the `newspipe` command with the user's
//! environment kept out, the made-up articles, JSON readers, process
//! helpers, and the one way a test says that it could not do its work.
//!
//! # Skipped tests
//!
//! Some tests need what a fresh clone may lack: the corpora in `../shared`,
//! a Python with DuckDB and chDB (`NEWSPIPE_TEST_PYTHON`), a Kafka broker
//! (`NEWSPIPE_TEST_KAFKA`). Cargo's harness has no "skipped" outcome, so a
//! test that returns early reports `ok` for work it never did. Here:
//!
//! - A prerequisite known when compiling is an `#[ignore = "reason"]`: the
//!   test shows as `ignored` in cargo's summary line, with its reason. The
//!   Kafka tests without `--features kafka` are stand-ins of that kind (see
//!   `kafka_disabled.rs`); so is the slow retraining test.
//! - A prerequisite found missing at run time goes through [`skip`] (or a
//!   helper built on it: [`shared_data`], [`python`]). It prints
//!   `SKIP <test>: <reason>` on stderr, past the harness's output capture,
//!   so it shows in plain `cargo test` output beside the test's `ok`; and it
//!   appends the same line to a skip log:
//!   `$NEWSPIPE_SKIP_LOG` when set, else `skipped.txt` in cargo's
//!   `CARGO_TARGET_TMPDIR` (`target/tmp/`), which the first skip of a test run
//!   empties. `.ci/run` points `NEWSPIPE_SKIP_LOG` at a fresh file and,
//!   when it ends (pass or fail), prints "== N tests skipped for a missing
//!   prerequisite" with the lines, then the `#[ignore]`d tests and their
//!   reasons gathered from cargo's output.
//! - With `NEWSPIPE_REQUIRE_ALL=1` a skip fails the test instead. `.ci/run`
//!   sets it: CI guarantees every runtime prerequisite of its test runs
//!   (`../shared`, the Python environment, and the broker for the Kafka
//!   run), so there a missing one is a broken CI, not a reason to pass.
//!
//! A test that degrades rather than skips (runs on `seeds/` when the BBC
//! corpus is absent) reports through [`skip`] too, so the log lists it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Shared with `examples/dedup_eval.rs` and `benches/dedup.rs`, which
/// include it by path.
pub mod dedup_eval;

/// The generated corpus and scorer of the learned-boilerplate evaluation.
pub mod boiler_eval;
/// Shared with `examples/html_eval.rs`.
pub mod html_eval;

// ---------------------------------------------------------------- paths

/// The repository root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The repository's `seeds/` folder.
pub fn seeds() -> PathBuf {
    repo().join("seeds")
}

/// Number of article files in seeds/ (dot files such as .gitattributes are skipped).
pub fn seed_count() -> usize {
    std::fs::read_dir(seeds())
        .unwrap()
        .filter(|e| {
            !e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count()
}

/// The seed article the project was specified from.
pub fn seed_text() -> String {
    let p = seeds().join("000_104e59b0cc160511.txt");
    std::fs::read_to_string(p).expect("seed article is in the repo")
}

// ---------------------------------------------------------------- the binary

/// The `newspipe` binary cargo built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_newspipe"))
}

/// `newspipe` as a plain process, with the user's configuration overrides
/// (`NEWSPIPE__*`) and `RUST_LOG` removed; a test sets what it needs after.
pub fn command() -> std::process::Command {
    let mut cmd = std::process::Command::new(bin());
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("NEWSPIPE__") || k == "RUST_LOG" {
            cmd.env_remove(&*k);
        }
    }
    cmd
}

/// [`command`] for `assert_cmd`'s assertions.
pub fn newspipe() -> assert_cmd::Command {
    assert_cmd::Command::from_std(command())
}

// ---------------------------------------------------------------- articles

/// A distinct made-up article per `i`: a headline and three paragraphs whose
/// wording is drawn pseudo-randomly, so no two share many 5-word shingles
/// (dedup finds every one of the first 3,000 unique).
pub fn article(i: usize) -> String {
    const WORDS: [&str; 48] = [
        "council",
        "harbour",
        "orchard",
        "railway",
        "library",
        "stadium",
        "bakery",
        "river",
        "budget",
        "school",
        "bridge",
        "market",
        "tower",
        "festival",
        "museum",
        "garden",
        "approved",
        "delayed",
        "opened",
        "rejected",
        "funded",
        "planned",
        "closed",
        "expanded",
        "residents",
        "officials",
        "traders",
        "teachers",
        "engineers",
        "farmers",
        "drivers",
        "students",
        "quickly",
        "finally",
        "again",
        "quietly",
        "twice",
        "early",
        "late",
        "north",
        "south",
        "east",
        "west",
        "new",
        "old",
        "small",
        "large",
        "busy",
    ];
    let mut state = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut sentence = |n: usize| {
        let words: Vec<&str> = (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                WORDS[(state % WORDS.len() as u64) as usize]
            })
            .collect();
        let mut s = words.join(" ");
        s[..1].make_ascii_uppercase();
        s
    };
    let title = sentence(6);
    let paras: Vec<String> = (0..3)
        .map(|_| format!("{}. {}. {}.", sentence(14), sentence(12), sentence(16)))
        .collect();
    format!("{title}\n\n{}\n", paras.join("\n\n"))
}

/// A folder `in` under `parent` holding articles `0..n` as `NNNNN.txt`:
/// with 3,000 of them a run takes seconds in a debug build.
pub fn article_dir(parent: &Path, n: usize) -> PathBuf {
    let input = parent.join("in");
    std::fs::create_dir(&input).unwrap();
    for i in 0..n {
        std::fs::write(input.join(format!("{i:05}.txt")), article(i)).unwrap();
    }
    input
}

/// [`article`] `i` as a JSONL input line (without the newline), with the
/// source id `art-NNNN`.
pub fn jsonl_article(i: usize) -> String {
    serde_json::json!({ "id": article_id(i), "text": article(i) }).to_string()
}

/// The source id [`jsonl_article`] gives article `i`.
pub fn article_id(i: usize) -> String {
    format!("art-{i:04}")
}

/// One of a family of similar reports: the same story filed for another
/// district, so each is a near-duplicate of the others (of 240, dedup finds
/// 2 unique, 206 near, 32 exact copies). For tests of the dedup state.
pub fn similar_article(i: usize) -> String {
    let places = [
        "Leeds", "Cardiff", "Belfast", "Glasgow", "Norwich", "Exeter", "York",
    ];
    let p = places[i % places.len()];
    format!(
        "Flood defences approved for {p} district {i}\n\n\
         Councillors in {p} approved a new flood defence scheme for district {i} on Monday, \
         after a consultation that drew {} responses from residents and businesses.\n\n\
         The scheme includes raised banks along the river, new pumping stations and a \
         warning system linked to rain gauges upstream of the town centre.\n\n\
         Work is due to start in the spring and to cost about {} million pounds in all, \
         with most of the money coming from a national fund for coastal towns.\n",
        40 + i * 3,
        2 + i % 9
    )
}

// ---------------------------------------------------------------- JSON

/// One JSON value per line (JSONL output); fails on a line that is not JSON.
pub fn json_lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .enumerate()
        .map(|(n, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("line {} is not a JSON record ({e}): {l}", n + 1))
        })
        .collect()
}

/// [`json_lines`] of a file.
pub fn json_lines_of(path: &Path) -> Vec<Value> {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    json_lines(&bytes)
}

/// A file holding one JSON value (a `--summary-json` file).
pub fn json_file(path: &Path) -> Value {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

// ---------------------------------------------------------------- metrics

/// `GET path` from `addr` (host:port) over HTTP/1.1; the whole response.
pub fn http_get(addr: &str, path: &str) -> String {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr)
        .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    resp
}

/// The address in a `metrics on http://ADDR/metrics` log line.
pub fn metrics_addr(log_line: &str) -> String {
    log_line
        .split("metrics on http://")
        .nth(1)
        .unwrap_or_else(|| panic!("not a metrics line: {log_line}"))
        .trim_end_matches("/metrics")
        .trim()
        .to_owned()
}

/// Parse a `/metrics` response as Prometheus text (failing the test when
/// it is not) and return a lookup: `value(name, Some((label, value)))`.
pub fn scrape(response: &str) -> impl Fn(&str, Option<(&str, &str)>) -> Option<f64> {
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    let lines = body.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text");
    move |name, label| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
    }
}

// ---------------------------------------------------------------- processes

/// Send `SIG<sig>` (`"INT"`, `"TERM"`) to `child`, failing the test if it
/// has exited already: a signal to a finished process tests nothing.
pub fn signal(child: &mut Child, sig: &str) {
    if let Some(status) = child.try_wait().expect("poll the child") {
        panic!(
            "pid {} exited ({status}) before SIG{sig} was sent: nothing was interrupted",
            child.id()
        );
    }
    let status = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{sig} {} failed", child.id());
}

/// SIGKILL `child`, failing the test if it has exited already (a crash the
/// kill would otherwise hide), and reap it.
pub fn sigkill(child: &mut Child) {
    if let Some(status) = child.try_wait().expect("poll the child") {
        panic!("pid {} exited ({status}) before it was killed", child.id());
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
}

/// Wait for `child` to exit; fails (and kills it) after `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Poll `done` every 50 ms; fails after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------- skips

/// Set to `1` to make every [`skip`] fail its test.
pub const REQUIRE_ALL: &str = "NEWSPIPE_REQUIRE_ALL";
/// Where skips are logged, one line each, when set.
pub const SKIP_LOG: &str = "NEWSPIPE_SKIP_LOG";

/// The test running on this thread: libtest names each test's thread after it.
fn current_test() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_owned(),
        _ => "<unnamed test>".to_owned(),
    }
}

fn skip_log() -> PathBuf {
    match std::env::var_os(SKIP_LOG) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_TARGET_TMPDIR")).join("skipped.txt"),
    }
}

/// The test cannot do its work: `reason` says what is missing and how to get
/// it. Prints `SKIP <test>: <reason>` and logs it (see the module docs);
/// with `NEWSPIPE_REQUIRE_ALL=1` fails the test instead. The caller returns
/// after it.
pub fn skip(reason: &str) {
    let line = format!("SKIP {}: {reason}", current_test());
    if std::env::var(REQUIRE_ALL).is_ok_and(|v| v == "1") {
        panic!("{line}\n({REQUIRE_ALL}=1: a missing prerequisite fails the test)");
    }
    // Straight to the process's stderr: the harness captures `eprintln!`
    // of a passing test, but not this, so the line shows in plain
    // `cargo test` output, next to the test's `ok`.
    let _ = writeln!(std::io::stderr().lock(), "{line}");
    record(&line);
}

/// Append `line` to the skip log. The default log is emptied by the first
/// skip of a process, so it lists the skips of the last run that had any;
/// an explicit `NEWSPIPE_SKIP_LOG` is only appended to.
fn record(line: &str) {
    static FIRST: Mutex<bool> = Mutex::new(true);
    let mut first = FIRST.lock().unwrap_or_else(|e| e.into_inner());
    let path = skip_log();
    let truncate = *first && std::env::var_os(SKIP_LOG).is_none_or(|p| p.is_empty());
    *first = false;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(!truncate)
        .truncate(truncate)
        .open(&path);
    let written = file.and_then(|mut f| writeln!(f, "{line}"));
    if let Err(e) = written {
        // The skip is printed already; a log that cannot be written must
        // not hide it, so say so loudly rather than fail.
        let _ = writeln!(
            std::io::stderr().lock(),
            "(cannot log the skip in {}: {e})",
            path.display()
        );
    }
}

/// `../shared/<rel>`, or `None` after a [`skip`] when it is absent.
pub fn shared_data(rel: &str) -> Option<PathBuf> {
    let p = repo().join("../shared").join(rel);
    if p.exists() {
        Some(p)
    } else {
        skip(&format!(
            "../shared/{rel} not found (the project's shared data, beside the repository)"
        ));
        None
    }
}

/// The Python with `duckdb` and `chdb` named by `NEWSPIPE_TEST_PYTHON`, or
/// `None` after a [`skip`].
pub fn python() -> Option<PathBuf> {
    match std::env::var_os("NEWSPIPE_TEST_PYTHON") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            skip(
                "NEWSPIPE_TEST_PYTHON is not set \
                 (export NEWSPIPE_TEST_PYTHON=\"$(scripts/ci-python-env.sh)\")",
            );
            None
        }
    }
}

// ---------------------------------------------------------------- faults

/// [`command`] run under an open-file limit of `n` (soft and hard), through
/// `sh -c 'ulimit -n N && exec newspipe "$@"'`: the shell is everywhere,
/// unlike `prlimit`, and `exec` keeps the pid, so signals reach newspipe.
pub fn command_with_nofile(n: u64) -> std::process::Command {
    let plain = command();
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
        .arg(bin());
    for (k, v) in plain.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd
}

/// A tmpfs of `bytes` mounted on `dir` for a disk-full test; unmounted when
/// dropped. `None` after a [`skip`] when not root or the mount fails.
pub fn small_tmpfs(dir: &Path, bytes: u64) -> Option<Tmpfs> {
    let uid = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    if uid != "0" {
        skip("a small tmpfs for the disk-full test needs root (run the suite as root, as CI does)");
        return None;
    }
    let out = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o"])
        .arg(format!("size={bytes}"))
        .arg("tmpfs")
        .arg(dir)
        .output();
    match out {
        Ok(o) if o.status.success() => Some(Tmpfs(dir.to_path_buf())),
        Ok(o) => {
            skip(&format!(
                "cannot mount a tmpfs on {}: {}",
                dir.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            ));
            None
        }
        Err(e) => {
            skip(&format!("cannot run mount: {e}"));
            None
        }
    }
}

/// A mounted [`small_tmpfs`]; unmounts (lazily, so a process still holding
/// a file there does not keep it) on drop.
pub struct Tmpfs(PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// The full path of `tool` on `PATH`, or `None` after a [`skip`] that says
/// which package provides it.
pub fn tool(tool: &str, package: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file());
    if found.is_none() {
        skip(&format!(
            "{tool} not found on PATH (apt-get install {package})"
        ));
    }
    found
}

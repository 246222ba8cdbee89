//! Hostile input and faults in batch runs: outputs never replace what is not
//! theirs, collisions are refused before any work, odd JSON and encodings
//! are read as other tools read them, links do not leak, signals end runs.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{self, article, json_lines as records, newspipe, seeds};

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn an_output_device_is_written_through_not_replaced() {
    // /dev/null takes the records; /dev/full fails with the path named.
    newspipe()
        .args(["run", "-q", "--no-entities", "-o", "/dev/null"])
        .arg(seeds())
        .assert()
        .code(predicates::ord::lt(4));
    let out = newspipe()
        .args(["run", "-q", "--no-entities", "-o", "/dev/full"])
        .arg(seeds())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("/dev/full"), "{stderr}");
    for dev in ["/dev/null", "/dev/full"] {
        let kind = std::fs::metadata(dev).unwrap().file_type();
        assert!(kind.is_char_device(), "{dev} is still a device");
    }
    assert!(names_in(Path::new("/dev"))
        .iter()
        .all(|n| !n.starts_with(".newspipe-")));
}

#[test]
fn a_summary_on_a_full_disk_leaves_no_file_and_names_the_path() {
    let out = newspipe()
        .args(["run", "-q", "--no-entities", "--summary-json", "/dev/full"])
        .arg(seeds())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("/dev/full"), "{stderr}");
    assert!(std::fs::metadata("/dev/full")
        .unwrap()
        .file_type()
        .is_char_device());
}

#[test]
fn an_output_link_writes_its_target_and_stays_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("real.jsonl");
    std::fs::write(&target, "old\n").unwrap();
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    // The link's target exists: replacing it is asked for.
    newspipe()
        .args(["run", "-q", "--no-entities", "--force", "-o"])
        .arg(&link)
        .arg(seeds())
        .assert()
        .code(predicates::ord::lt(4));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let written = std::fs::read(&target).unwrap();
    assert!(records(&written).len() >= support::seed_count() - 1);
    // The dedup signatures go beside the name given, where `--against` looks.
    assert_eq!(
        names_in(dir.path()),
        ["link.jsonl", "link.jsonl.signatures", "real.jsonl"]
    );
}

#[test]
fn colliding_outputs_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(input.join("a.txt"), article(1)).unwrap();
    let out = dir.path().join("out.jsonl");
    let mut cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["-o".into(), s(&out), "--rejects".into(), s(&out)],
            "same file",
        ),
        (
            vec!["-o".into(), s(&out), "--summary-json".into(), s(&out)],
            "same file",
        ),
        (
            vec!["-o".into(), s(&input.join("new.jsonl"))],
            "inside the input",
        ),
        (
            vec!["-o".into(), s(&input.join("a.txt"))],
            "inside the input",
        ),
        (
            vec!["--rejects".into(), s(&input.join("r.jsonl"))],
            "inside the input",
        ),
        (vec!["-o".into(), s(dir.path())], "is a directory"),
    ];
    let onto_input_file = (
        vec![
            "-o".into(),
            s(&input.join("a.txt")),
            s(&input.join("a.txt")),
        ],
        "over the input",
    );
    cases.push(onto_input_file);
    for (args, words) in cases {
        let got = newspipe()
            .args(["run", "-q"])
            .args(&args)
            .arg(&input)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&got.stderr);
        assert_eq!(got.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(words), "{args:?}: {stderr}");
        assert_eq!(names_in(&input), ["a.txt"], "{args:?}");
        assert_eq!(names_in(dir.path()), ["in"], "{args:?}");
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn a_closed_stdout_is_a_failure_not_a_success() {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec {} run -q --no-entities {} >&-",
            support::bin().display(),
            seeds().display()
        ))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("standard output is closed"), "{stderr}");
}

#[test]
fn absurd_numbers_are_refused_at_once() {
    for (var, value) in [
        ("NEWSPIPE__DEDUP__BANDS", "99999999999"),
        ("NEWSPIPE__DEDUP__BANDS", "10000000"),
        ("NEWSPIPE__DEDUP__ROWS", "4611686018427387904"),
        ("NEWSPIPE__PIPELINE__CHANNEL_CAPACITY", "1000000000"),
        ("NEWSPIPE__INPUT__MAX_FILE_BYTES", "1099511627776"),
        ("NEWSPIPE__TITLE__MAX_WORDS", "100000000"),
    ] {
        let started = Instant::now();
        let got = newspipe()
            .args(["run", "-q"])
            .arg(seeds())
            .env(var, value)
            .output()
            .unwrap();
        assert_eq!(got.status.code(), Some(2), "{var}={value}");
        assert!(got.stdout.is_empty(), "{var}={value}: no work done");
        assert!(started.elapsed() < Duration::from_secs(20), "{var}={value}");
    }
}

#[test]
fn sigint_while_stdin_stays_open_and_silent_ends_the_run() {
    let mut child = support::command()
        .args(["run", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Keep the pipe open and write nothing.
    let stdin = child.stdin.take().unwrap();
    // The run logs "reading" once its signal handlers are in place.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("reading") {
        line.clear();
        assert!(std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0);
    }
    std::thread::sleep(Duration::from_millis(200));
    support::signal(&mut child, "INT");
    let status = support::wait_exit(&mut child, Duration::from_secs(10), "newspipe after SIGINT");
    drop(stdin);
    assert_eq!(status.code(), Some(130));
}

#[test]
fn a_second_signal_ends_the_run_at_once_and_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = support::article_dir(dir.path(), 3000);
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let dest = out_dir.join("out.jsonl");
    let mut child = support::command()
        .args(["run", "-q", "--threads", "1", "-o"])
        // Room for every file in flight: the drain after the first signal
        // then takes seconds, and the second one has something to cut short.
        .env("NEWSPIPE__PIPELINE__CHANNEL_CAPACITY", "4096")
        .arg(&dest)
        .arg(&input)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Records written (the temporary file exists from the start, empty).
    support::wait_for("records to be written", Duration::from_secs(60), || {
        names_in(&out_dir).iter().any(|n| {
            n.starts_with(".newspipe-")
                && std::fs::metadata(out_dir.join(n)).is_ok_and(|m| m.len() > 0)
        })
    });
    support::signal(&mut child, "INT");
    std::thread::sleep(Duration::from_millis(20));
    // The first signal may have ended the run already; only then is a
    // second one not needed, and the message below tells the two apart.
    let second = child.try_wait().unwrap().is_none();
    if second {
        support::signal(&mut child, "INT");
    }
    let status = support::wait_exit(&mut child, Duration::from_secs(10), "newspipe");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        second,
        "the first signal ended a 3,000-file run within 20 ms"
    );
    assert!(stderr.contains("second signal"), "{stderr}");
    assert_eq!(
        names_in(&out_dir),
        Vec::<String>::new(),
        "nothing committed, no temp file"
    );
}

#[test]
fn json_documents_and_odd_ids_are_read_as_other_tools_read_them() {
    let dir = tempfile::tempdir().unwrap();
    let w = |name: &str, body: &str| std::fs::write(dir.path().join(name), body).unwrap();
    w(
        "a_one.json",
        &format!(
            r#"{{"id": 7.0, "text": {}}}"#,
            serde_json::to_string(&article(1)).unwrap()
        ),
    );
    w(
        "b_many.json",
        &format!(
            "[\n{{\"id\": 12345678901234567890, \"text\": {}}},\n{{\"id\": true, \"text\": {}}}\n]",
            serde_json::to_string(&article(2)).unwrap(),
            serde_json::to_string(&article(3)).unwrap()
        ),
    );
    w("c_groups.json", r#"{"groups": [["a", "b"]]}"#);
    w("d_number.json", "42");
    w(
        "e_feed.jsonl",
        "\u{FEFF}{\"text\": 5}\n{\"text\": \"Body of a line.\", \"id\": 1e3}\r\n",
    );
    let out = newspipe()
        .args(["run", "-q", "--no-entities", "--rejects"])
        .arg(dir.path().join("../rejects.jsonl"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let ids: Vec<String> = records(&out.stdout)
        .iter()
        .map(|r| r["source"]["id"].as_str().unwrap_or("-").to_owned())
        .collect();
    assert_eq!(ids, ["7.0", "12345678901234567890", "true", "1e3"]);
    let rejects = support::json_lines_of(&dir.path().join("../rejects.jsonl"));
    let reasons: Vec<String> = rejects
        .iter()
        .map(|r| {
            format!(
                "{}: {}",
                r["path"].as_str().unwrap(),
                r["reason"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons[0].starts_with("c_groups.json") && reasons[0].contains("field `text` is missing"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].starts_with("d_number.json") && reasons[1].contains("not a number"),
        "{reasons:?}"
    );
    assert!(
        reasons[2].starts_with("e_feed.jsonl")
            && reasons[2].contains("field `text` must be a string, not a number"),
        "{reasons:?}"
    );
    let _ = std::fs::remove_file(dir.path().join("../rejects.jsonl"));
}

#[test]
fn utf16_and_legacy_encodings_are_decoded_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        "Caf\u{E9} owners met the mayor\n\nThey asked for longer opening hours on the harbour.";
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(dir.path().join("a_utf16.txt"), utf16).unwrap();
    let mut stray = text
        .replace("Caf\u{E9}", "Na\u{EF}ve caf\u{E9}")
        .into_bytes();
    stray.push(0xFF);
    std::fs::write(dir.path().join("b_stray.txt"), stray).unwrap();
    let out = newspipe()
        .args(["run", "-q", "--no-entities", "--no-dedup"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recs = records(&out.stdout);
    assert_eq!(recs[0]["source"]["encoding"], "utf-16le");
    assert_eq!(recs[0]["title"], "Caf\u{E9} owners met the mayor");
    assert_eq!(recs[1]["source"]["encoding"], "utf-8-lossy");
    assert!(
        recs[1]["title"].as_str().unwrap().starts_with("Na\u{EF}ve"),
        "{}",
        recs[1]
    );
}

#[test]
fn a_link_out_of_the_input_tree_is_read_only_when_asked() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("secret.txt"),
        "Secret headline here\n\nThe secret body text.",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), article(1)).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), dir.path().join("b.txt"))
        .unwrap();
    let out = newspipe()
        .args(["run", "--no-entities"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("ecret"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("b.txt") && stderr.contains("outside the input directory"),
        "{stderr}"
    );
    let out = newspipe()
        .args(["run", "-q", "--no-entities", "--follow-links"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("secret body"));
    let help = newspipe().args(["run", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--follow-links"));
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    // Through a pipe into a reader that stops: a broken pipe is a normal
    // way to stop early (`| head`) and exits 0; that stays so.
    let mut child = support::command()
        .args(["run", "-q", "--no-entities"])
        .arg(seeds())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut out, &mut first).unwrap();
    drop(out);
    let status = support::wait_exit(&mut child, Duration::from_secs(30), "newspipe");
    assert!(
        status.code() == Some(0) || status.code() == Some(3),
        "{status:?}"
    );
}

/// Fill the file system holding `dir` with one file, `filler`, until it
/// refuses more bytes.
fn fill(dir: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let chunk = vec![b'x'; 4096];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
}

#[test]
fn a_full_disk_mid_run_fails_naming_the_path_and_leaves_the_old_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = support::article_dir(dir.path(), 300);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // 300 records are about 600 KB of JSON: the disk fills mid-run.
    let Some(_mount) = support::small_tmpfs(&out, 128 * 1024) else {
        return;
    };
    let target = out.join("records.jsonl");
    std::fs::write(&target, "the previous run's output\n").unwrap();
    let rejects = out.join("rejects.jsonl");
    let run = newspipe()
        .args(["run", "-q", "--no-entities", "--force", "-o"])
        .arg(&target)
        .arg("--rejects")
        .arg(&rejects)
        .arg(&input)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(
        stderr.contains(&*out.to_string_lossy()),
        "the message names the path: {stderr}"
    );
    // Not replaced by a partial file, and no temporary file left beside it.
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "the previous run's output\n"
    );
    assert_eq!(names_in(&out), ["records.jsonl"]);
}

#[test]
fn a_summary_on_a_full_tmpfs_leaves_no_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let Some(_mount) = support::small_tmpfs(&out, 64 * 1024) else {
        return;
    };
    fill(&out);
    let summary = out.join("summary.json");
    let output = dir.path().join("records.jsonl");
    let run = newspipe()
        .args(["run", "-q", "--no-entities", "-o"])
        .arg(&output)
        .arg("--summary-json")
        .arg(&summary)
        .arg(seeds())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&*summary.to_string_lossy()), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    // Neither an empty summary.json nor its temporary file.
    assert_eq!(names_in(&out), ["filler"]);
    // The records, committed before the summary, are whole.
    let written = records(&std::fs::read(&output).unwrap());
    assert!(written.len() >= support::seed_count() - 1);
}

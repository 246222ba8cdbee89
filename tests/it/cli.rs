//! End-to-end tests through the `newspipe` binary, named after what a user sees.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::support::{
    self, article, json_file, json_lines as records, newspipe, seed_count, seeds,
};

/// A directory with a mix of unique articles, exact duplicates and bad files.
fn corpus(dir: &Path, n: usize) {
    for i in 0..n {
        std::fs::write(dir.join(format!("a{i:03}.txt")), article(i)).unwrap();
    }
    std::fs::write(dir.join("dup_of_a001.txt"), article(1)).unwrap();
    std::fs::write(dir.join("empty.txt"), "").unwrap();
    std::fs::write(dir.join("image.png"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0").unwrap();
}

#[test]
fn help_describes_every_command_and_exit_codes() {
    let out = newspipe()
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let help = String::from_utf8_lossy(&out);
    for word in ["run", "check-config", "Exit codes", "NEWSPIPE__"] {
        assert!(help.contains(word), "--help lacks {word}:\n{help}");
    }
    let out = newspipe()
        .args(["run", "--help"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let help = String::from_utf8_lossy(&out);
    for flag in [
        "--output",
        "--threads",
        "--drop-duplicates",
        "--no-dedup",
        "--input-format",
        "--rejects",
    ] {
        assert!(help.contains(flag), "run --help lacks {flag}");
    }
}

#[test]
fn run_on_seeds_writes_one_record_per_article() {
    let out = newspipe()
        .args(["run", "-q"])
        .arg(seeds())
        .assert()
        .success();
    let recs = records(&out.get_output().stdout);
    assert_eq!(recs.len(), seed_count());
    for r in &recs {
        assert_eq!(r["schema_version"], newspipe::record::SCHEMA_VERSION);
        assert_eq!(r["id"].as_str().map(str::len), Some(32));
        assert!(r["text"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(r["source"]["path"].as_str().is_some());
    }
}

#[test]
fn output_is_identical_for_one_and_many_threads() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path(), 60);
    let run = |threads: &str| {
        newspipe()
            .args(["run", "-q", "--threads", threads])
            .arg(dir.path())
            .assert()
            .code(3)
            .get_output()
            .stdout
            .clone()
    };
    let one = run("1");
    assert!(!one.is_empty());
    assert_eq!(one, run("4"));
    assert_eq!(one, run("2"));
}

#[test]
fn bad_inputs_are_reported_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path(), 3);
    std::fs::write(dir.path().join("huge.txt"), "word ".repeat(400)).unwrap();
    let rejects = dir.path().join("out/rejects.jsonl");
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let summary = dir.path().join("out/summary.json");
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            std::fs::rename(&p, input.join(p.file_name().unwrap())).unwrap();
        }
    }
    let assert = newspipe()
        .args(["run", "--max-file-bytes", "1000", "--rejects"])
        .arg(&rejects)
        .arg("--summary-json")
        .arg(&summary)
        .arg(&input)
        .assert()
        .code(3);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    for needle in [
        "empty.txt: empty file",
        "image.png: binary content",
        "huge.txt: file is 2000 bytes",
    ] {
        assert!(
            stderr.contains(needle),
            "stderr lacks {needle:?}:\n{stderr}"
        );
    }
    let recs = records(&assert.get_output().stdout);
    assert_eq!(recs.len(), 4, "three articles and one duplicate");

    let rej: Vec<Value> = support::json_lines_of(&rejects);
    let kinds: Vec<&str> = rej.iter().filter_map(|r| r["kind"].as_str()).collect();
    assert_eq!(kinds, ["empty", "too_large", "binary"], "input order");

    let s = json_file(&summary);
    assert_eq!(s["inputs"], 7);
    assert_eq!(s["written"], 4);
    assert_eq!(s["rejected"]["empty"], 1);
    assert_eq!(s["rejected"]["binary"], 1);
    assert_eq!(s["rejected"]["too_large"], 1);
}

#[test]
fn latin1_file_is_decoded_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cafe.txt"),
        b"Caf\xe9 owners welcome new rules\n\nThe caf\xe9 trade said the rules were fair.\n",
    )
    .unwrap();
    let out = newspipe()
        .args(["run", "-q"])
        .arg(dir.path())
        .assert()
        .success();
    let recs = records(&out.get_output().stdout);
    assert_eq!(recs[0]["source"]["encoding"], "windows-1252");
    let all = format!("{} {}", recs[0]["title"], recs[0]["text"]);
    assert!(all.contains("café"), "{all}");
}

#[test]
fn stdin_article_goes_to_stdout() {
    let text = std::fs::read(seeds().join("000_104e59b0cc160511.txt")).unwrap();
    let out = newspipe()
        .args(["run", "-q", "-"])
        .write_stdin(text)
        .assert()
        .success();
    let recs = records(&out.get_output().stdout);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["source"]["path"], "-");
    assert!(recs[0]["text"].as_str().unwrap().contains("Sergei Lavrov"));
}

#[test]
fn a_compressed_stream_on_stdin_is_read_through() {
    use std::io::Write as _;
    let text = std::fs::read(seeds().join("000_104e59b0cc160511.txt")).unwrap();
    let plain = newspipe()
        .args(["run", "-q", "-"])
        .write_stdin(text.clone())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&text).unwrap();
    let zst = zstd::encode_all(&text[..], 3).unwrap();
    for stream in [gz.finish().unwrap(), zst] {
        let got = newspipe()
            .args(["run", "-q", "-"])
            .write_stdin(stream)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&plain)
        );
    }
}

#[test]
fn jsonl_input_passes_fields_through_and_reports_bad_lines() {
    let feed = concat!(
        "{\"id\":\"a1\",\"title\":\"Markets rally\",\"url\":\"https://example.com/a1\",\"published\":\"2025-01-02\",\"text\":\"Shares rose sharply on Monday.\\n\\nTraders cited strong earnings.\"}\n",
        "{not json}\n",
        "{\"text\":\"Second article body about rain in the valley.\"}\n",
    );
    let out = newspipe()
        .args(["run", "--input-format", "jsonl", "-"])
        .write_stdin(feed)
        .assert()
        .code(3);
    let recs = records(&out.get_output().stdout);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["title"], "Markets rally");
    assert_eq!(recs[0]["url"], "https://example.com/a1");
    assert_eq!(recs[0]["published"], "2025-01-02");
    assert_eq!(recs[0]["source"]["id"], "a1");
    assert_eq!(recs[0]["source"]["line"], 1);
    assert_eq!(recs[1]["source"]["line"], 3);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(stderr.contains("-:2: malformed JSON"), "{stderr}");
}

#[test]
fn jsonl_file_is_detected_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("feed.jsonl"),
        "{\"text\":\"One body.\"}\n{\"text\":\"Two body.\"}\n",
    )
    .unwrap();
    let out = newspipe()
        .args(["run", "-q"])
        .arg(dir.path())
        .assert()
        .success();
    let recs = records(&out.get_output().stdout);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1]["source"]["path"], "feed.jsonl");
}

#[test]
fn duplicates_are_marked_or_dropped() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3 {
        std::fs::write(dir.path().join(format!("a{i}.txt")), article(i)).unwrap();
    }
    std::fs::write(dir.path().join("b_copy.txt"), article(0)).unwrap();
    let out = newspipe()
        .args(["run", "-q"])
        .arg(dir.path())
        .assert()
        .success();
    let recs = records(&out.get_output().stdout);
    assert_eq!(recs.len(), 4);
    assert_eq!(recs[3]["dedup"]["status"], "exact");
    assert_eq!(recs[3]["dedup"]["duplicate_of"], recs[0]["id"]);
    assert_eq!(recs[0]["dedup"]["status"], "unique");

    // Outside the input directory: an output inside it is refused.
    let elsewhere = tempfile::tempdir().unwrap();
    let summary = elsewhere.path().join("s.json");
    let out = newspipe()
        .args(["run", "-q", "--drop-duplicates", "--summary-json"])
        .arg(&summary)
        .arg(dir.path())
        .assert()
        .success();
    assert_eq!(records(&out.get_output().stdout).len(), 3);
    let s = json_file(&summary);
    assert_eq!(s["dropped_duplicates"], 1);
    assert_eq!(s["exact_duplicates"], 1);

    let out = newspipe()
        .args(["run", "-q", "--no-dedup"])
        .arg(dir.path())
        .assert()
        .success();
    let recs = records(&out.get_output().stdout);
    assert!(recs.iter().all(|r| r["dedup"]["status"] == "unique"));
}

/// Issue 11: the normalize stage joins hard-wrapped paragraphs back, so a
/// copy wrapped at 72 columns (as a mailer sends it) has the unwrapped
/// article's id and text, and is its exact duplicate.
#[test]
fn a_hard_wrapped_copy_has_the_id_of_the_unwrapped_article() {
    let paragraphs = [
        "The council voted on Tuesday to rebuild the old bridge, which has carried traffic across the river since 1921, at a cost of twelve million pounds, a well-known local engineer told the meeting.",
        "Residents who had campaigned for twenty-five years said the decision came too late for the shops on the east bank, whose trade fell by a third while the detour added half an hour to every journey into town.",
    ];
    let wrap = |par: &str| {
        let mut lines = vec![String::new()];
        for word in par.split(' ') {
            let line = lines.last_mut().unwrap();
            if !line.is_empty() && line.len() + 1 + word.len() > 72 {
                lines.push(word.to_owned());
            } else {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
            }
        }
        lines.join("\r\n")
    };
    let dir = tempfile::tempdir().unwrap();
    let plain = format!("Bridge to be rebuilt\n\n{}\n", paragraphs.join("\n\n"));
    let wrapped: Vec<String> = paragraphs.iter().map(|p| wrap(p)).collect();
    assert!(wrapped.iter().all(|w| w.lines().count() >= 3));
    let wrapped = format!(
        "Bridge to be rebuilt\r\n\r\n{}\r\n",
        wrapped.join("\r\n\r\n")
    );
    std::fs::write(dir.path().join("a.txt"), plain).unwrap();
    std::fs::write(dir.path().join("b_wrapped.txt"), wrapped).unwrap();
    let out = newspipe()
        .args(["run", "-q", "--no-entities"])
        .arg(dir.path())
        .assert()
        .success();
    let recs = records(&out.get_output().stdout);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1]["id"], recs[0]["id"]);
    assert_eq!(recs[1]["text"], recs[0]["text"]);
    assert_eq!(recs[1]["dedup"]["status"], "exact");
}

#[test]
fn output_file_appears_complete_and_no_temp_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let dest = out_dir.join("articles.jsonl");
    newspipe()
        .args(["run", "-q", "-o"])
        .arg(&dest)
        .arg(seeds())
        .assert()
        .success()
        .stdout("");
    let text = std::fs::read_to_string(&dest).unwrap();
    assert_eq!(text.lines().count(), seed_count());
    let names: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let mut names: Vec<_> = names
        .iter()
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    names.sort();
    // Beside the output, its dedup signatures (for a later `--against`).
    assert_eq!(names, ["articles.jsonl", "articles.jsonl.signatures"]);
    let signatures: Vec<_> = std::fs::read_dir(out_dir.join("articles.jsonl.signatures"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(signatures, [std::ffi::OsString::from("dedup.parquet")]);
}

#[test]
fn unknown_config_key_stops_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[dedup]\nthreshhold = 0.9\n").unwrap();
    let dest = dir.path().join("never.jsonl");
    let out = newspipe()
        .args(["run", "--config"])
        .arg(&cfg)
        .arg("-o")
        .arg(&dest)
        .arg(seeds())
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(
        stderr.contains("bad.toml") && stderr.contains("dedup.threshhold"),
        "{stderr}"
    );
    assert!(!dest.exists());
}

#[test]
fn bad_environment_value_names_the_variable() {
    let out = newspipe()
        .env("NEWSPIPE__DEDUP__ENABLED", "perhaps")
        .args(["run"])
        .arg(seeds())
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(stderr.contains("NEWSPIPE__DEDUP__ENABLED"), "{stderr}");
}

#[test]
fn stages_can_be_switched_off_by_environment() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), article(0)).unwrap();
    std::fs::write(dir.path().join("b.txt"), article(0)).unwrap();
    let out = newspipe()
        .env("NEWSPIPE__DEDUP__ENABLED", "false")
        .args(["run", "-q"])
        .arg(dir.path())
        .assert()
        .success();
    let recs = records(&out.get_output().stdout);
    assert_eq!(recs[1]["dedup"]["status"], "unique");
}

#[test]
fn usage_error_exits_2() {
    newspipe().args(["run"]).assert().code(2);
    newspipe()
        .args(["run", "--threads", "x", "seeds"])
        .assert()
        .code(2);
}

#[test]
fn summary_is_printed_on_stderr() {
    let out = newspipe().args(["run"]).arg(seeds()).assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    for word in [
        "written",
        "rejected",
        "duplicates",
        "boilerplate",
        "entities",
        "MB/s",
    ] {
        assert!(stderr.contains(word), "summary lacks {word}:\n{stderr}");
    }
}

fn seed_records() -> Vec<Value> {
    let out = newspipe()
        .args(["run", "-q"])
        .arg(seeds())
        .assert()
        .success();
    records(&out.get_output().stdout)
}

fn by_path<'a>(recs: &'a [Value], prefix: &str) -> &'a Value {
    recs.iter()
        .find(|r| {
            r["source"]["path"]
                .as_str()
                .is_some_and(|p| p.starts_with(prefix))
        })
        .unwrap_or_else(|| panic!("no record for {prefix}"))
}

#[test]
fn seed_article_loses_its_wrapped_also_read_span_and_keeps_its_paragraphs() {
    let recs = seed_records();
    let seed = by_path(&recs, "000_");
    assert_eq!(
        seed["title"],
        Value::Null,
        "the first line is a sentence, not a headline"
    );
    let spans = seed["boilerplate"].as_array().unwrap();
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!(
        spans[0]["text"],
        "Also Read; U.S. Considers Plan to Inspect\nIranian Oil Tankers"
    );
    assert!(spans[0]["rule"].as_str().is_some_and(|r| !r.is_empty()));
    let text = seed["text"].as_str().unwrap();
    assert!(!text.contains("Also Read") && !text.contains("Iranian Oil Tankers"));
    let paras: Vec<&str> = text.split("\n\n").collect();
    assert_eq!(paras.len(), 7, "eight lines in, one span out: {paras:#?}");
    assert!(paras[0].starts_with("Russian Foreign Minister Sergei Lavrov"));
    assert!(paras[4].ends_with("between Russia and the West."));
    assert!(
        paras[5].starts_with("Trump’s position on NATO and Ukraine has sparked concerns in Kyiv.")
    );
    assert!(paras[6].ends_with("deploy European forces in Ukraine."));
}

#[test]
fn real_sentence_starting_with_advertisement_is_kept() {
    let recs = seed_records();
    let ad = by_path(&recs, "003_");
    assert!(ad["text"]
        .as_str()
        .unwrap()
        .contains("Advertisement spending rose"));
    let rules: Vec<&str> = ad["boilerplate"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["text"].as_str().unwrap())
        .collect();
    assert!(rules.iter().all(|t| !t.contains("spending")), "{rules:?}");
}

#[test]
fn seeds_carry_an_exact_and_a_near_duplicate() {
    let recs = seed_records();
    let original = by_path(&recs, "003_");
    let copy = by_path(&recs, "005_");
    assert_eq!(copy["dedup"]["status"], "exact");
    assert_eq!(copy["dedup"]["duplicate_of"], original["id"]);
    let original = by_path(&recs, "002_");
    let edited = by_path(&recs, "006_");
    assert_eq!(edited["dedup"]["status"], "near");
    assert_eq!(edited["dedup"]["duplicate_of"], original["id"]);
    let sim = edited["dedup"]["similarity"].as_f64().unwrap();
    assert!((0.5..1.0).contains(&sim), "{sim}");
    let unique = recs
        .iter()
        .filter(|r| r["dedup"]["status"] == "unique")
        .count();
    assert_eq!(unique, recs.len() - 2);
}

#[test]
fn seed_article_entities_come_out_labelled_with_canonical_forms() {
    let recs = seed_records();
    let seed = by_path(&recs, "000_");
    let text: Vec<char> = seed["text"].as_str().unwrap().chars().collect();
    let ents = seed["entities"].as_array().unwrap();
    let has = |surface: &str, label: &str| {
        ents.iter()
            .any(|e| e["text"] == surface && e["label"] == label)
    };
    for (surface, label) in [
        ("Sergei Lavrov", "PER"),
        ("Donald Trump", "PER"),
        ("Volodymyr Zelensky", "PER"),
        ("Emmanuel Macron", "PER"),
        ("NATO", "ORG"),
        ("Kyiv", "LOC"),
        ("Moscow", "LOC"),
    ] {
        assert!(has(surface, label), "{surface} {label} missing");
    }
    for e in ents {
        let (s, t) = (
            e["start"].as_u64().unwrap() as usize,
            e["end"].as_u64().unwrap() as usize,
        );
        let covered: String = text[s..t].iter().collect();
        assert_eq!(
            covered,
            e["text"].as_str().unwrap(),
            "offsets count code points"
        );
        if e["text"] == "Trump" {
            assert_eq!(e["canonical"], "Donald Trump");
        }
    }
    let kyiv = ents.iter().find(|e| e["text"] == "Kyiv").unwrap();
    assert_eq!(kyiv["country"], "UA");
    assert!(kyiv["geonames_id"].as_u64().is_some());
}

#[test]
fn eval_tagger_prints_scores_per_label() {
    let Some(testa) = support::shared_data("data/conll2003/eng.testa") else {
        return;
    };
    let out = newspipe()
        .args(["eval-tagger", "--min-f1", "0.88"])
        .arg(&testa)
        .assert()
        .success();
    let table = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for label in ["PER", "ORG", "LOC", "MISC", "overall"] {
        assert!(table.lines().any(|l| l.starts_with(label)), "{table}");
    }
    // An impossible floor fails with exit code 1.
    newspipe()
        .args(["eval-tagger", "--min-f1", "0.999"])
        .arg(&testa)
        .assert()
        .code(1);
}

#[test]
fn train_tagger_reports_epochs_unless_quiet() {
    let Some(lexicon) = support::shared_data("data/lexicon/en_lexeme_cluster.json.gz") else {
        return;
    };
    let lexicon = lexicon.parent().unwrap().to_path_buf();
    let dir = tempfile::tempdir().unwrap();
    let conll = dir.path().join("tiny.conll");
    std::fs::write(
        &conll,
        "-DOCSTART- -X- O O\n\nAlice NNP I-NP I-PER\nvisited VBD I-VP O\nParis NNP I-NP I-LOC\n. . O O\n\n",
    )
    .unwrap();
    let train = |quiet: bool, out: &str| {
        let mut cmd = newspipe();
        if quiet {
            cmd.arg("-q");
        }
        let out = cmd
            .args(["train-tagger", "--epochs", "2", "--bits", "12", "--lexicon"])
            .arg(&lexicon)
            .arg("--train")
            .arg(&conll)
            .arg("--dev")
            .arg(&conll)
            .arg("-o")
            .arg(dir.path().join(out))
            .assert()
            .success();
        String::from_utf8_lossy(&out.get_output().stderr).into_owned()
    };
    let loud = train(false, "a.bin");
    assert!(
        loud.contains("epoch  2:") && loud.contains("wrote "),
        "{loud}"
    );
    let quiet = train(true, "b.bin");
    assert_eq!(quiet, "", "-q prints nothing but errors");
    assert_eq!(
        std::fs::read(dir.path().join("a.bin")).unwrap(),
        std::fs::read(dir.path().join("b.bin")).unwrap()
    );
}

#[test]
fn check_config_prints_the_resolved_configuration_as_toml() {
    let out = newspipe()
        .env("NEWSPIPE__DEDUP__THRESHOLD", "0.7")
        .args(["check-config"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let parsed: toml::Table = text.parse().expect("valid TOML");
    assert_eq!(parsed["dedup"]["threshold"].as_float(), Some(0.7));
    assert!(parsed.contains_key("serve"));
}

#[test]
fn piping_into_a_closed_reader_exits_quietly() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..400 {
        std::fs::write(dir.path().join(format!("{i:04}.txt")), article(i)).unwrap();
    }
    let mut child = support::command()
        .args(["run", "-q", "--no-entities"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then hang up, as `| head -1` does.
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with('{'));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Wait until records are being written: some file in `dir` other than
/// `dest` (the sink's temporary file) has content.
fn wait_for_partial_output(dir: &Path, dest: &Path, child: &mut std::process::Child) {
    support::wait_for("output to start", Duration::from_secs(60), || {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before any output was seen");
        }
        std::fs::read_dir(dir).unwrap().any(|e| {
            let e = e.unwrap();
            e.path() != dest && e.metadata().is_ok_and(|m| m.is_file() && m.len() > 0)
        })
    });
}

/// SIGINT while the run reads its input: exit code 130, the output not
/// committed, its temporary file gone. The input is a pipe this test keeps
/// open and fed until the process exits, so the run cannot end before the
/// signal: only the signal can end it.
#[test]
fn interrupted_run_commits_no_output_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out.jsonl");
    let mut child = support::command()
        .args([
            "run",
            "-q",
            "--threads",
            "1",
            "--input-format",
            "jsonl",
            "-o",
        ])
        .arg(&dest)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        // Ends when the process is gone and the pipe breaks.
        let mut sent = 0usize;
        while writeln!(stdin, "{}", support::jsonl_article(sent)).is_ok() {
            sent += 1;
        }
        sent
    });
    let stderr = drain(child.stderr.take().unwrap());
    wait_for_partial_output(dir.path(), &dest, &mut child);
    support::signal(&mut child, "INT");
    let status = support::wait_exit(&mut child, Duration::from_secs(60), "newspipe after SIGINT");
    let sent = feeder.join().unwrap();
    let stderr = stderr.join().unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(sent > 0);
    assert!(!dest.exists(), "no partial output");
    assert_eq!(
        names_in(dir.path()),
        Vec::<String>::new(),
        "no temp file left behind"
    );
}

/// The same for a directory input, interrupted as soon as output appears:
/// the run takes seconds, so the signal lands mid-run; the test fails, not
/// passes, if the run ended first.
#[test]
fn interrupted_directory_run_commits_no_output_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let input = support::article_dir(dir.path(), 3000);
    let dest = dir.path().join("out.jsonl");
    let mut child = support::command()
        .args(["run", "-q", "--threads", "1", "-o"])
        .arg(&dest)
        .arg(&input)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = drain(child.stderr.take().unwrap());
    wait_for_partial_output(dir.path(), &dest, &mut child);
    support::signal(&mut child, "INT");
    let status = support::wait_exit(&mut child, Duration::from_secs(60), "newspipe after SIGINT");
    let stderr = stderr.join().unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(!dest.exists(), "no partial output");
    assert_eq!(names_in(dir.path()), ["in"], "no temp file left behind");
}

/// Read a child's stream to the end on a thread, so its pipe never fills.
fn drain(mut r: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        s
    })
}

/// One bad value per section, each given the way a user would (environment
/// variable), and what the error must name.
const BAD_VALUE_PER_SECTION: [(&str, &str, &str); 11] = [
    (
        "NEWSPIPE__INPUT__MAX_FILE_BYTES",
        "0",
        "input.max_file_bytes",
    ),
    (
        "NEWSPIPE__PIPELINE__CHANNEL_CAPACITY",
        "0",
        "pipeline.channel_capacity",
    ),
    ("NEWSPIPE__TITLE__MAX_CHARS", "0", "title.max_chars"),
    (
        "NEWSPIPE__BOILERPLATE__RULES_FILE",
        "/nonexistent/rules.toml",
        "/nonexistent/rules.toml",
    ),
    ("NEWSPIPE__DEDUP__BANDS", "99999999999", "dedup.bands"),
    (
        "NEWSPIPE__ENTITIES__MODEL",
        "/nonexistent/tagger.bin",
        "/nonexistent/tagger.bin",
    ),
    (
        "NEWSPIPE__OUTPUT__PARQUET_ROW_GROUP_ROWS",
        "0",
        "output.parquet_row_group_rows",
    ),
    ("NEWSPIPE__LOG__LEVEL", "loud", "log.level"),
    ("NEWSPIPE__METRICS__ADDR", "not an address", "metrics.addr"),
    (
        "NEWSPIPE__SERVE__SEGMENT_MAX_BYTES",
        "0",
        "serve.segment_max_bytes",
    ),
    (
        "NEWSPIPE__KAFKA__AUTO_OFFSET_RESET",
        "smallest",
        "kafka.auto_offset_reset",
    ),
];

#[test]
fn check_config_exits_2_for_a_bad_value_in_every_section() {
    // Every section of the default file is covered.
    let defaults = std::fs::read_to_string(support::repo().join("config/default.toml")).unwrap();
    let sections: Vec<&str> = defaults
        .lines()
        .filter_map(|l| l.strip_prefix('[')?.strip_suffix(']'))
        .collect();
    for section in &sections {
        assert!(
            BAD_VALUE_PER_SECTION
                .iter()
                .any(|(var, _, _)| var
                    .starts_with(&format!("NEWSPIPE__{}__", section.to_uppercase()))),
            "no bad-value case for [{section}]"
        );
    }
    for (var, value, named) in BAD_VALUE_PER_SECTION {
        let out = newspipe()
            .args(["check-config"])
            .env(var, value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {stderr}");
        assert!(stderr.contains(named), "{var}={value}: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "{var}={value}: nothing printed as valid"
        );
    }
}

#[test]
fn a_bad_rules_file_stops_a_run_before_it_writes_anything() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out.jsonl");
    let out = newspipe()
        .args(["run", "-q", "-o"])
        .arg(&out_path)
        .arg(seeds())
        .env(
            "NEWSPIPE__BOILERPLATE__RULES_FILE",
            dir.path().join("missing.toml"),
        )
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out_path.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temp file either"
    );
}

#[test]
fn a_moved_key_names_its_new_place() {
    let out = newspipe()
        .args(["check-config"])
        .env("NEWSPIPE__SERVE__METRICS_ADDR", "127.0.0.1:1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("metrics.addr"), "{stderr}");
}

#[test]
fn the_record_stream_and_the_summary_name_every_stage() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    newspipe()
        .args(["run", "-q", "--no-entities", "--summary-json"])
        .arg(&summary)
        .arg(seeds())
        .assert()
        .code(predicates::ord::lt(4));
    let s = support::json_file(&summary);
    let stages: Vec<&String> = s["stages"].as_object().unwrap().keys().collect();
    for name in [
        "decode",
        "normalize",
        "id",
        "title",
        "boilerplate",
        "require_text",
        "fingerprint",
    ] {
        assert!(
            stages.iter().any(|k| *k == name),
            "{name} missing from {stages:?}"
        );
    }
    assert!(
        !stages.iter().any(|k| *k == "entities"),
        "a disabled stage is not timed"
    );
}

#[test]
fn boilerplate_learn_refuses_standard_input_instead_of_reporting_nothing() {
    newspipe()
        .args(["boilerplate", "learn", "-"])
        .write_stdin("Masthead\n\nA story.\n")
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicates::str::contains("standard input"));
}

#[test]
fn a_mistyped_input_is_refused_and_the_earlier_output_kept() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    newspipe()
        .args(["run", "-q", "--progress", "never"])
        .arg(seeds())
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let before = std::fs::read(&out).unwrap();
    let missing = dir.path().join("seedz");
    let stderr = stderr_of(
        newspipe()
            .args(["run", "-q", "--progress", "never", "--force"])
            .arg(&missing)
            .arg("-o")
            .arg(&out),
        2,
    );
    assert!(
        stderr.contains(&format!("input {}", missing.display()))
            && stderr.contains("No such file or directory"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), before);
}

#[test]
fn an_existing_output_is_replaced_only_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let input = support::article_dir(dir.path(), 6);
    let out = dir.path().join("out.jsonl");
    let summary = dir.path().join("summary.json");
    let command = |extra: &[&str]| {
        let mut cmd = newspipe();
        cmd.args(["run", "-q", "--progress", "never"])
            .arg(&input)
            .arg("-o")
            .arg(&out)
            .arg("--summary-json")
            .arg(&summary)
            .args(extra);
        cmd
    };
    let refused = || stderr_of(&mut command(&[]), 2);
    command(&["--learn"]).assert().success();
    let learned = out.with_file_name("out.jsonl.signatures/boilerplate.json");
    assert!(learned.exists());
    let first = records(&std::fs::read(&out).unwrap()).len();
    // Every output the earlier run wrote is a reason to refuse.
    let stderr = refused();
    assert!(
        stderr.contains("already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    std::fs::remove_file(&out).unwrap();
    let stderr = refused();
    assert!(stderr.contains("--summary-json"), "{stderr}");
    std::fs::remove_file(&summary).unwrap();
    let stderr = refused();
    assert!(stderr.contains("dedup.parquet"), "{stderr}");
    assert!(!out.exists());
    // With --force the run goes ahead, and what the earlier run learned,
    // which this one did not, is not left to pass for this run's.
    command(&["--force"]).assert().success();
    assert_eq!(records(&std::fs::read(&out).unwrap()).len(), first);
    assert!(summary.exists());
    assert!(!learned.exists());
}

#[test]
fn an_output_in_a_missing_directory_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let stderr = stderr_of(
        newspipe()
            .args(["run", "-q", "--progress", "never"])
            .arg(seeds())
            .arg("-o")
            .arg(&out)
            .arg("--rejects")
            .arg(dir.path().join("nodir/rejects.jsonl")),
        2,
    );
    assert!(
        stderr.contains("--rejects") && stderr.contains("does not exist"),
        "{stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn boilerplate_learn_refuses_a_missing_input_and_flags_an_empty_one() {
    let dir = tempfile::tempdir().unwrap();
    newspipe()
        .args(["boilerplate", "learn"])
        .arg(dir.path().join("nodir"))
        .assert()
        .code(2);
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let stderr = stderr_of(newspipe().args(["boilerplate", "learn"]).arg(&empty), 3);
    assert!(stderr.contains("learned from no article"), "{stderr}");
}

#[test]
fn a_missing_or_broken_config_file_is_a_usage_error_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let check = |path: &Path| stderr_of(newspipe().arg("check-config").arg("-c").arg(path), 2);
    let stderr = check(&dir.path().join("none.toml"));
    assert!(stderr.contains("No such file or directory"), "{stderr}");
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[log]\nlevel = \"info\"\n[dedup\n").unwrap();
    let stderr = check(&broken);
    assert!(stderr.contains("line 3"), "{stderr}");
}

/// The standard error of a command that must exit with `code`.
fn stderr_of(cmd: &mut assert_cmd::Command, code: i32) -> String {
    let out = cmd.assert().code(code).get_output().clone();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

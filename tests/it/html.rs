//! Web pages in: HTML files, JSONL `html` lines, WARC archives (written by
//! `warcio`), compressed inputs, the bounds on hostile pages, and the scores
//! on the WCXB development pages.

use std::io::Write;

use newspipe::extract::{ExtractError, Extractor, Streaming};
use serde_json::Value;

use crate::support::{self, html_eval, json_lines, newspipe};

const PROSE: &str = "The council voted on Tuesday to rebuild the old bridge, which has carried traffic across the river since 1921, at a cost of twelve million pounds.";

fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} | City Post</title>
        <meta property="og:site_name" content="City Post">
        <meta property="article:published_time" content="2024-06-01T08:00:00-04:00">
        <meta name="author" content="Ana Lima"></head><body>
        <nav><a href="/">Home</a> <a href="/news">News</a></nav>
        <article><h1>{title}</h1><p>{body}</p></article>
        <footer>Copyright City Post</footer></body></html>"#
    )
}

#[test]
fn html_files_and_jsonl_pages_become_records_with_their_metadata() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.html"),
        page(
            "Bridge reopens",
            "Cars crossed again at dawn on Saturday, the first in two years.",
        ),
    )
    .unwrap();
    // A page by its content, whatever its name.
    std::fs::write(
        dir.path().join("b.txt"),
        page(
            "Ferry returns",
            "The ferry service resumed on Monday after a long winter pause.",
        ),
    )
    .unwrap();
    let line = serde_json::json!({
        "html": page("Tram line opens", "The first tram ran on Sunday morning, packed with riders."),
        "url": "https://post.example/2024/06/02/tram",
        "published": "Sun, 02 Jun 2024 09:00:00 GMT"
    });
    std::fs::write(dir.path().join("c.jsonl"), format!("{line}\n")).unwrap();
    std::fs::write(
        dir.path().join("d.html"),
        "<html><body><nav><a href=/>Home</a></nav></body></html>",
    )
    .unwrap();
    let out = newspipe()
        .args(["run", "--no-entities"])
        .arg(dir.path())
        .assert()
        .code(3)
        .get_output()
        .clone();
    let recs = json_lines(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no article content") && stderr.contains("d.html"),
        "{stderr}"
    );
    let field = |r: &Value, k: &str| r[k].as_str().unwrap_or("").to_owned();
    assert_eq!(recs.len(), 3, "{recs:?}");
    assert_eq!(field(&recs[0], "title"), "Bridge reopens");
    assert!(
        field(&recs[0], "text").starts_with("Cars crossed again"),
        "{}",
        recs[0]
    );
    assert!(!field(&recs[0], "text").contains("Home"));
    assert_eq!(recs[0]["source"]["format"], "html");
    assert_eq!(recs[0]["published"], "2024-06-01T08:00:00-04:00");
    assert_eq!(recs[0]["authors"], serde_json::json!(["Ana Lima"]));
    assert_eq!(recs[0]["site_name"], "City Post");
    assert_eq!(recs[0]["schema_version"], newspipe::record::SCHEMA_VERSION);
    assert_eq!(recs[1]["source"]["format"], "html");
    assert_eq!(field(&recs[1], "title"), "Ferry returns");
    assert_eq!(recs[2]["source"]["format"], "jsonl");
    assert_eq!(
        field(&recs[2], "url"),
        "https://post.example/2024/06/02/tram"
    );
    // The line's own date wins, normalized.
    assert_eq!(recs[2]["published"], "2024-06-02T09:00:00Z");
    // The shared template does not make the pages duplicates of each other.
    assert!(
        recs.iter().all(|r| r["dedup"]["status"] == "unique"),
        "{recs:?}"
    );
}

#[test]
fn compressed_inputs_are_read_through() {
    let dir = tempfile::tempdir().unwrap();
    let html = page(
        "Bridge reopens",
        "Cars crossed again at dawn on Saturday, the first in two years.",
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(html.as_bytes()).unwrap();
    std::fs::write(dir.path().join("a.html.gz"), gz.finish().unwrap()).unwrap();
    let zst = zstd::encode_all(format!("{{\"text\":\"{PROSE}\"}}\n").as_bytes(), 3).unwrap();
    std::fs::write(dir.path().join("b.jsonl.zst"), zst).unwrap();
    let out = newspipe()
        .args(["run", "--no-entities"])
        .arg(dir.path())
        .assert()
        .success()
        .get_output()
        .clone();
    let recs = json_lines(&out.stdout);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["title"], "Bridge reopens");
    assert_eq!(recs[1]["text"], PROSE);
}

#[test]
fn a_warc_written_by_warcio_is_read_back_record_by_record() {
    let Some(python) = support::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let warc = dir.path().join("crawl.warc.gz");
    let pages = [
        (
            "https://post.example/bridge",
            page(
                "Bridge reopens",
                "Cars crossed again at dawn on Saturday, the first in two years.",
            ),
        ),
        (
            "https://post.example/ferry",
            page(
                "Ferry returns",
                "The ferry service resumed on Monday, said the café owner by the pier.",
            ),
        ),
    ];
    let script = r#"
import sys, json, io
from warcio.warcwriter import WARCWriter
from warcio.statusandheaders import StatusAndHeaders
pages = json.loads(sys.argv[2])
with open(sys.argv[1], 'wb') as f:
    w = WARCWriter(f, gzip=True)
    for url, html in pages:
        req = w.create_warc_record(url, 'request', payload=io.BytesIO(b'GET / HTTP/1.1\r\n\r\n'))
        w.write_record(req)
        body = html.encode('windows-1252', 'replace')
        headers = StatusAndHeaders('200 OK', [('Content-Type', 'text/html; charset=windows-1252')], protocol='HTTP/1.1')
        w.write_record(w.create_warc_record(url, 'response', payload=io.BytesIO(body), http_headers=headers))
    img = StatusAndHeaders('200 OK', [('Content-Type', 'image/png')], protocol='HTTP/1.1')
    w.write_record(w.create_warc_record('https://post.example/logo.png', 'response', payload=io.BytesIO(b'PNG'), http_headers=img))
"#;
    let status = std::process::Command::new(&python)
        .args(["-c", script])
        .arg(&warc)
        .arg(serde_json::to_string(&pages).unwrap())
        .status()
        .unwrap();
    if !status.success() {
        support::skip("warcio is not installed in NEWSPIPE_TEST_PYTHON (scripts/ci-python-env.sh installs it)");
        return;
    }
    let out = newspipe()
        .args(["run", "--no-entities"])
        .arg(&warc)
        .assert()
        .code(3)
        .get_output()
        .clone();
    let recs = json_lines(&out.stdout);
    assert_eq!(recs.len(), 2, "{}", String::from_utf8_lossy(&out.stderr));
    for (rec, (url, _)) in recs.iter().zip(&pages) {
        assert_eq!(rec["url"], *url);
        assert_eq!(rec["source"]["format"], "warc");
        assert_eq!(rec["source"]["encoding"], "windows-1252");
    }
    assert_eq!(recs[0]["title"], "Bridge reopens");
    assert!(
        recs[1]["text"].as_str().unwrap().contains("café owner"),
        "{}",
        recs[1]
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("content type image/png"));
}

/// A WARC written by `warcio` (uncompressed, so one record's head can be
/// broken in place) with request records and four pages, the second page's
/// head made malformed: that record alone is rejected, with its offset, and
/// the pages after it are read; the requests are counted as skipped; and
/// `--max-file-bytes` below the file's size but above each record's keeps
/// every good page.
#[test]
fn a_corrupt_warc_record_in_the_middle_is_rejected_alone() {
    let Some(python) = support::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let warc = dir.path().join("crawl.warc");
    let titles = [
        "Bridge reopens",
        "Ferry returns",
        "Tram line opens",
        "Port expands",
    ];
    let pages: Vec<(String, String)> = titles
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let body = format!("{PROSE} Story {i} of the week, as {t} said the mayor.");
            (format!("https://post.example/{i}"), page(t, &body))
        })
        .collect();
    let script = r#"
import sys, json, io
from warcio.warcwriter import WARCWriter
from warcio.statusandheaders import StatusAndHeaders
pages = json.loads(sys.argv[2])
with open(sys.argv[1], 'wb') as f:
    w = WARCWriter(f, gzip=False)
    for url, html in pages:
        req = w.create_warc_record(url, 'request', payload=io.BytesIO(b'GET / HTTP/1.1\r\n\r\n'))
        w.write_record(req)
        headers = StatusAndHeaders('200 OK', [('Content-Type', 'text/html; charset=utf-8')], protocol='HTTP/1.1')
        w.write_record(w.create_warc_record(url, 'response', payload=io.BytesIO(html.encode()), http_headers=headers))
"#;
    let status = std::process::Command::new(&python)
        .args(["-c", script])
        .arg(&warc)
        .arg(serde_json::to_string(&pages).unwrap())
        .status()
        .unwrap();
    if !status.success() {
        support::skip("warcio is not installed in NEWSPIPE_TEST_PYTHON (scripts/ci-python-env.sh installs it)");
        return;
    }
    // Records in order: request, response, request, response, ...; break the
    // head of the fourth (the second page) where it names its length.
    let mut bytes = std::fs::read(&warc).unwrap();
    let starts: Vec<usize> = (0..bytes.len())
        .filter(|&i| bytes[i..].starts_with(b"WARC/1.") && (i == 0 || bytes[i - 1] == b'\n'))
        .collect();
    assert_eq!(starts.len(), 8, "warcio wrote 8 records");
    let broken_at = starts[3];
    let head_end = broken_at
        + bytes[broken_at..]
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap();
    let field = bytes[broken_at..head_end]
        .windows(16)
        .position(|w| w.eq_ignore_ascii_case(b"Content-Length: "))
        .unwrap();
    bytes.insert(broken_at + field + 16, b'x');
    std::fs::write(&warc, &bytes).unwrap();
    let record_max = starts
        .windows(2)
        .map(|w| w[1] - w[0])
        .chain([bytes.len() - starts[7]])
        .max()
        .unwrap();
    let limit = record_max + 64;
    assert!(limit < bytes.len());

    let summary = dir.path().join("summary.json");
    let rejects = dir.path().join("rejects.jsonl");
    let out = newspipe()
        .args([
            "run",
            "--no-entities",
            "--max-file-bytes",
            &limit.to_string(),
        ])
        .arg("--summary-json")
        .arg(&summary)
        .arg("--rejects")
        .arg(&rejects)
        .arg(&warc)
        .assert()
        .code(3)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let recs = json_lines(&out.stdout);
    let got: Vec<&str> = recs.iter().filter_map(|r| r["title"].as_str()).collect();
    assert_eq!(
        got,
        ["Bridge reopens", "Tram line opens", "Port expands"],
        "{stderr}"
    );
    let rej = support::json_lines_of(&rejects);
    assert_eq!(rej.len(), 1, "{rej:?}");
    assert_eq!(rej[0]["kind"], "unreadable");
    assert_eq!(rej[0]["path"], warc.to_string_lossy().as_ref());
    assert_eq!(rej[0]["line"], 4);
    let reason = rej[0]["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains(&format!(
            "WARC record 4 at byte {broken_at}: bad Content-Length"
        )),
        "{reason}"
    );
    let s = support::json_file(&summary);
    assert_eq!(s["skipped"]["warc_request"], 4, "{s}");
    assert_eq!(
        (s["written"].as_u64(), s["inputs"].as_u64()),
        (Some(3), Some(4)),
        "{s}"
    );
    assert!(
        stderr.contains("skipped     4 (warc_request 4)"),
        "{stderr}"
    );
}

#[test]
fn hostile_pages_are_bounded() {
    // Deep nesting: no recursion over the depth.
    let deep = format!(
        "{}<p>{PROSE}</p>{}",
        "<div>".repeat(100_000),
        "</div>".repeat(100_000)
    );
    let got = Streaming.extract(&deep, None).unwrap();
    assert_eq!(got.text, PROSE);
    // Unclosed at every level, and stray end tags.
    let unclosed = format!(
        "{}<p>{PROSE}{}",
        "<div><span>".repeat(50_000),
        "</b>".repeat(50_000)
    );
    assert_eq!(Streaming.extract(&unclosed, None).unwrap().text, PROSE);
    // An unclosed script swallows the rest of the page, and no more.
    let script = format!("<p>{PROSE}</p><script>var a = '<p>{PROSE} hidden</p>';");
    assert_eq!(Streaming.extract(&script, None).unwrap().text, PROSE);
    let only_script = format!("<script>document.write('<p>{PROSE}</p>')");
    assert_eq!(
        Streaming.extract(&only_script, None),
        Err(ExtractError::NoArticle)
    );
    // A 50 MB page, of numbered paragraphs (a paragraph repeated right
    // after itself is a layout's copy and taken once).
    let mut big = String::from("<html><body><article>");
    let mut n = 0;
    while big.len() < 50_000_000 {
        big.push_str(&format!("<p>{PROSE} {n}.</p>\n"));
        n += 1;
    }
    big.push_str("</article></body></html>");
    let got = Streaming.extract(&big, None).unwrap();
    assert_eq!(got.text.matches("The council voted").count(), n);
}

#[test]
fn binary_bytes_in_an_html_file_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"<html><body><p>".to_vec();
    bytes.extend((0..4096u32).map(|i| (i * 7 % 256) as u8));
    std::fs::write(dir.path().join("x.html"), bytes).unwrap();
    let out = newspipe()
        .args(["run", "--no-entities"])
        .arg(dir.path())
        .assert()
        .code(3)
        .get_output()
        .clone();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("binary"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The issue's body target (0.96, on the records' `text`) and floors under
/// the other scores measured on the dev set (see the README), so a change
/// that lowers them fails. The date target (0.95) is not reached;
/// `examples/html_eval.rs` prints where each stands.
#[test]
fn wcxb_dev_scores_hold() {
    let Some(dir) = support::shared_data("data/html/wcxb-dev") else {
        return;
    };
    let pages = html_eval::load_wcxb(&dir).unwrap();
    let mut scores = newspipe::extract::eval::Scores::default();
    for p in &pages {
        let html = newspipe::source::decode::decode_html(&p.html, None)
            .map(|(t, _)| t)
            .unwrap_or_default();
        let got = Streaming
            .extract(&html, p.url.as_deref())
            .unwrap_or_default();
        scores.add(&got, &p.truth);
    }
    // The metric scores the record's `text`: after the boilerplate stage too.
    let records = html_eval::record_texts(&pages).unwrap();
    let record_f1 = pages
        .iter()
        .zip(&records)
        .map(|(p, t)| newspipe::extract::eval::word_f1(t, &p.truth.main_content))
        .sum::<f64>()
        / pages.len() as f64;
    let line = format!(
        "record body {record_f1:.5}, extractor body {:.4} title {:.3} date {:.3} author {:.3}",
        scores.body_f1(),
        scores.title(),
        scores.date(),
        scores.author()
    );
    assert_eq!(scores.pages, 793, "{line}");
    assert!(record_f1 >= 0.96, "{line}");
    assert!(scores.body_f1() >= 0.961, "{line}");
    assert!(scores.title() >= 0.905, "{line}");
    assert!(scores.date() >= 0.905, "{line}");
    assert!(scores.author() >= 0.90, "{line}");
}

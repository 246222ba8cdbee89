//! JSON input: JSONL (one article object per line) and `.json` files (one
//! article object, or an array of them). An article has `text` and
//! optionally `id`, `title`, `url` and `published`; other fields are ignored.
//!
//! Lines are read as JSON Lines readers (`jq`, DuckDB's `read_json`) read
//! them: UTF-8, `\n` or `\r\n` endings, a byte-order mark allowed at the
//! start. An `id` (or `published`) is kept exactly as written, whatever JSON
//! scalar it is: `7`, `7.0`, `12345678901234567890` and `true` stay those
//! characters. Errors name the field and the problem in words.

use std::io::{BufRead, Read};

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{io_reason, Emitter, Input, Rejected};
use crate::error::RejectReason;
use crate::record::SourceFormat;
use crate::record::{Article, SourceInfo};

/// The fields newspipe reads, still as raw JSON, so each can be checked
/// (and its error worded) on its own.
#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(borrow, default)]
    text: Option<&'a RawValue>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    title: Option<&'a RawValue>,
    #[serde(borrow, default)]
    url: Option<&'a RawValue>,
    #[serde(borrow, default)]
    published: Option<&'a RawValue>,
    #[serde(borrow, default)]
    html: Option<&'a RawValue>,
}

/// What kind of JSON value `raw` starts with, in words.
fn kind_of(raw: &[u8]) -> &'static str {
    match raw.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        Some(b'-' | b'0'..=b'9') => "a number",
        Some(_) => "not JSON",
        None => "empty",
    }
}

fn malformed(msg: String) -> RejectReason {
    RejectReason::MalformedJson(msg)
}

/// A string field: absent or null is `None`; anything but a string is an error.
fn string_field(name: &str, raw: Option<&RawValue>) -> Result<Option<String>, RejectReason> {
    let Some(raw) = raw else { return Ok(None) };
    match kind_of(raw.get().as_bytes()) {
        "null" => Ok(None),
        "a string" => serde_json::from_str(raw.get())
            .map(Some)
            .map_err(|e| malformed(format!("field `{name}`: {e}"))),
        other => Err(malformed(format!(
            "field `{name}` must be a string, not {other}"
        ))),
    }
}

/// A scalar field kept as written: a string's content, or the exact text
/// of a number or boolean.
fn scalar_field(name: &str, raw: Option<&RawValue>) -> Result<Option<String>, RejectReason> {
    let Some(raw) = raw else { return Ok(None) };
    match kind_of(raw.get().as_bytes()) {
        "null" => Ok(None),
        "a string" => string_field(name, Some(raw)),
        "a number" | "a boolean" => Ok(Some(raw.get().trim().to_owned())),
        other => Err(malformed(format!(
            "field `{name}` must be a string, a number or a boolean, not {other}"
        ))),
    }
}

/// Parse one JSON article object (a JSONL line, a Kafka message, an element
/// of a `.json` array) into an article whose text is not yet normalized.
pub fn parse_line(line: &[u8], seq: u64, source: SourceInfo) -> Result<Article, RejectReason> {
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    // JSON text is UTF-8 (RFC 8259). serde_json checks the strings it
    // decodes, but skips the fields newspipe ignores unchecked, so a bad
    // byte there would pass: the whole line is checked first (found by
    // fuzzing, `fuzz/src/lib.rs`).
    if let Err(e) = std::str::from_utf8(line) {
        return Err(malformed(format!(
            "not UTF-8: invalid byte at column {}",
            e.valid_up_to() + 1
        )));
    }
    let kind = kind_of(line);
    if kind != "an object" {
        return Err(malformed(format!(
            "expected an article object, found {kind}"
        )));
    }
    // serde_json counts columns within what it was given; the line number
    // is in `source.line`.
    let fields: Fields<'_> = serde_json::from_slice(line).map_err(|e| malformed(e.to_string()))?;
    // serde reads `null` as an absent field, so one message covers both.
    // A web page in `html` is extracted by the extract stage; `text`, when
    // both are given, is ignored.
    let html = string_field("html", fields.html)?;
    let text = match html {
        Some(_) => String::new(),
        None => string_field("text", fields.text)?
            .ok_or_else(|| malformed("field `text` is missing or null".into()))?,
    };
    let mut source = source;
    source.encoding = "utf-8".to_owned();
    source.format = SourceFormat::Jsonl;
    source.id = scalar_field("id", fields.id)?;
    let mut article = Article::new(seq, source, text);
    // A page whose UTF-8 was once read as Latin-1 is repaired here as it is
    // when read from a file, so both ways in give the same text.
    article.html = html.map(crate::source::decode::repair_mojibake);
    article.given_title = string_field("title", fields.title)?.filter(|t| !t.trim().is_empty());
    article.url = string_field("url", fields.url)?;
    article.published = scalar_field("published", fields.published)?
        .map(|p| crate::extract::date::normalize(&p).unwrap_or(p));
    Ok(article)
}

/// Read one `.json` document of at most `limit` bytes: an article object
/// (one input) or an array of them (one input per element, each with the
/// line it starts on). Anything else is one rejection saying what it is.
pub fn read_document(mut reader: impl Read, path: &str, limit: u64, out: &mut Emitter<'_>) -> bool {
    let info = SourceInfo {
        path: path.to_owned(),
        ..SourceInfo::default()
    };
    let mut bytes = Vec::new();
    if let Err(e) = reader
        .by_ref()
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
    {
        return out.reject(&info, RejectReason::Unreadable(io_reason(&e)));
    }
    let info = SourceInfo {
        bytes: bytes.len() as u64,
        input_hash: xxhash_rust::xxh3::xxh3_64(&bytes),
        ..info
    };
    if info.bytes > limit {
        let reason = RejectReason::TooLarge {
            bytes: info.bytes,
            limit,
        };
        return out.reject(&info, reason);
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    match kind_of(body) {
        "an object" => {
            let seq = out.next_seq();
            let input = match parse_line(body, seq, info.clone()) {
                Ok(a) => Input::Parsed(Box::new(a)),
                Err(reason) => Input::Rejected(Rejected::new(seq, &info, reason)),
            };
            out.emit(input)
        }
        "an array" => {
            let items: Vec<&RawValue> = match serde_json::from_slice(body) {
                Ok(items) => items,
                Err(e) => return out.reject(&info, malformed(e.to_string())),
            };
            for item in items {
                let text = item.get().as_bytes();
                // Where the element starts, as a line number, for messages.
                let offset = text.as_ptr() as usize - body.as_ptr() as usize;
                let line = 1 + body[..offset].iter().filter(|&&b| b == b'\n').count() as u64;
                let item_info = SourceInfo {
                    line: Some(line),
                    bytes: text.len() as u64,
                    ..info.clone()
                };
                let seq = out.next_seq();
                let input = match parse_line(text, seq, item_info.clone()) {
                    Ok(a) => Input::Parsed(Box::new(a)),
                    Err(reason) => Input::Rejected(Rejected::new(seq, &item_info, reason)),
                };
                if !out.emit(input) {
                    return false;
                }
            }
            true
        }
        other => {
            let why = format!(
                "a .json file must hold an article object or an array of them, not {other}"
            );
            out.reject(&info, malformed(why))
        }
    }
}

/// Read JSONL from `reader`, one [`Input`] per non-blank line. A line over
/// `limit` bytes is rejected without being buffered whole.
pub fn read_lines(mut reader: impl BufRead, path: &str, limit: u64, out: &mut Emitter<'_>) -> bool {
    let mut line_no = 0u64;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        line_no += 1;
        let (len, complete) = match read_bounded_line(&mut reader, &mut buf, limit) {
            Ok(Some(r)) => r,
            Ok(None) => return true,
            Err(e) => {
                let info = SourceInfo {
                    path: path.to_owned(),
                    line: Some(line_no),
                    ..SourceInfo::default()
                };
                out.reject(&info, RejectReason::Unreadable(io_reason(&e)));
                return true;
            }
        };
        let info = SourceInfo {
            path: path.to_owned(),
            line: Some(line_no),
            bytes: len,
            ..SourceInfo::default()
        };
        if !complete {
            let reason = RejectReason::TooLarge { bytes: len, limit };
            if !out.reject(&info, reason) {
                return false;
            }
            continue;
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let seq = out.next_seq();
        let input = match parse_line(&buf, seq, info.clone()) {
            Ok(article) => Input::Parsed(Box::new(article)),
            Err(reason) => Input::Rejected(Rejected::new(seq, &info, reason)),
        };
        if !out.emit(input) {
            return false;
        }
    }
}

/// Read up to and excluding the next `\n` into `buf`, keeping at most `limit`
/// bytes. Returns the full line length and whether it fit, or `None` at EOF.
fn read_bounded_line(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    limit: u64,
) -> std::io::Result<Option<(u64, bool)>> {
    let mut total = 0u64;
    let mut seen_any = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(seen_any.then_some((total, total <= limit)));
        }
        seen_any = true;
        let (take, done) = match memchr(b'\n', chunk) {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        let room = limit.saturating_sub(buf.len() as u64) as usize;
        buf.extend_from_slice(&chunk[..take.min(room)]);
        total += take as u64;
        reader.consume(if done { take + 1 } else { take });
        if done {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(Some((total, total <= limit)));
        }
    }
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &str, limit: u64) -> Vec<Input> {
        crate::source::collect_inputs(|em| {
            read_lines(input.as_bytes(), "feed.jsonl", limit, em);
        })
    }

    #[test]
    fn passes_fields_through_and_numbers_lines() {
        let got = run(
            "{\"text\":\"Body one.\",\"id\":7,\"title\":\"T\",\"url\":\"http://x\",\"published\":\"2024-01-01\"}\n\n{\"text\":\"Two.\"}\n",
            1000,
        );
        assert_eq!(got.len(), 2);
        let Input::Parsed(a) = &got[0] else {
            panic!("{:?}", got[0])
        };
        assert_eq!(a.source.id.as_deref(), Some("7"));
        assert_eq!(a.given_title.as_deref(), Some("T"));
        assert_eq!(a.url.as_deref(), Some("http://x"));
        assert_eq!(a.published.as_deref(), Some("2024-01-01"));
        assert_eq!(a.source.line, Some(1));
        let Input::Parsed(b) = &got[1] else {
            panic!("{:?}", got[1])
        };
        assert_eq!(
            b.source.line,
            Some(3),
            "blank line 2 is skipped but counted"
        );
        assert_eq!((a.seq, b.seq), (0, 1));
    }

    #[test]
    fn a_pages_mojibake_is_repaired_as_it_is_when_read_from_a_file() {
        // "don’t" once read as Latin-1: "donâ" then U+0080 and U+0099.
        let page = "<p>They don\u{e2}\u{80}\u{99}t know.</p>";
        let line = serde_json::json!({ "html": page }).to_string();
        let got = run(&line, 1000);
        let Input::Parsed(a) = &got[0] else {
            panic!("{:?}", got[0])
        };
        assert_eq!(a.html.as_deref(), Some("<p>They don\u{2019}t know.</p>"));
        let (from_file, _) = crate::source::decode::decode_html(page.as_bytes(), None).unwrap();
        assert_eq!(a.html.as_deref(), Some(from_file.as_str()));
    }

    #[test]
    fn malformed_line_is_rejected_with_line_number_and_run_goes_on() {
        let got = run(
            "{\"text\":\"ok\"}\n{\"text\": oops}\n{\"title\":\"no text\"}\n{\"text\":\"fine\"}",
            1000,
        );
        let kinds: Vec<String> = got
            .iter()
            .map(|i| match i {
                Input::Parsed(a) => format!("ok:{}", a.source.line.unwrap_or(0)),
                Input::Rejected(r) => format!("{}:{}", r.kind, r.location()),
                Input::Raw { .. } | Input::Prepared(_) => "raw".into(),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "ok:1",
                "malformed_json:feed.jsonl:2",
                "malformed_json:feed.jsonl:3",
                "ok:4"
            ]
        );
    }

    #[test]
    fn overlong_line_is_rejected_without_losing_the_next() {
        let long = format!(
            "{{\"text\":\"{}\"}}\n{{\"text\":\"short\"}}\n",
            "x".repeat(500)
        );
        let got = run(&long, 100);
        assert!(
            matches!(&got[0], Input::Rejected(r) if r.kind == "too_large" && r.line == Some(1))
        );
        assert!(matches!(&got[1], Input::Parsed(a) if a.text == "short"));
    }

    fn parse(line: &str) -> Result<Article, RejectReason> {
        parse_line(line.as_bytes(), 0, SourceInfo::default())
    }

    #[test]
    fn ids_are_kept_exactly_as_written() {
        for (json, id) in [
            (r#"{"text":"x","id":7}"#, Some("7")),
            (r#"{"text":"x","id":7.0}"#, Some("7.0")),
            (
                r#"{"text":"x","id":12345678901234567890}"#,
                Some("12345678901234567890"),
            ),
            (r#"{"text":"x","id":1e3}"#, Some("1e3")),
            (r#"{"text":"x","id":true}"#, Some("true")),
            (r#"{"text":"x","id":"a\"b"}"#, Some("a\"b")),
            (r#"{"text":"x","id":null}"#, None),
        ] {
            assert_eq!(parse(json).unwrap().source.id.as_deref(), id, "{json}");
        }
    }

    #[test]
    fn errors_name_the_field_and_the_problem_in_words() {
        for (json, words) in [
            (r#"{"id":1}"#, "field `text` is missing or null"),
            (r#"{"text":null}"#, "field `text` is missing or null"),
            (
                r#"{"text":5}"#,
                "field `text` must be a string, not a number",
            ),
            (
                r#"{"text":"x","title":["a"]}"#,
                "field `title` must be a string, not an array",
            ),
            (
                r#"{"text":"x","id":{"a":1}}"#,
                "field `id` must be a string, a number or a boolean, not an object",
            ),
            (
                r#"[{"text":"x"}]"#,
                "expected an article object, found an array",
            ),
            (
                r#""just text""#,
                "expected an article object, found a string",
            ),
        ] {
            let err = parse(json).unwrap_err().to_string();
            assert!(err.contains(words), "{json}: {err}");
            assert!(
                !err.contains("struct") && !err.contains("enum"),
                "{json}: {err}"
            );
        }
    }

    #[test]
    fn a_bad_utf8_byte_anywhere_in_a_line_rejects_it() {
        // In an ignored field too, which serde_json skips without checking.
        for line in [
            &b"{\"text\":\"x\",\"other\":\"\xFF\"}"[..],
            b"{\"text\":\"\xC3\"}",
        ] {
            let err = parse_line(line, 0, SourceInfo::default()).unwrap_err();
            assert!(
                err.to_string()
                    .contains("not UTF-8: invalid byte at column"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_byte_order_mark_on_the_first_line_is_allowed() {
        let got = run("\u{FEFF}{\"text\":\"a\"}\n{\"text\":\"b\"}\n", 100);
        assert!(got.iter().all(|i| matches!(i, Input::Parsed(_))), "{got:?}");
    }

    fn document(text: &str) -> Vec<Input> {
        crate::source::collect_inputs(|em| {
            read_document(text.as_bytes(), "doc.json", 10_000, em);
        })
    }

    #[test]
    fn a_json_file_holds_an_object_or_an_array_of_them() {
        let one = document(r#"{"text":"Only one.","id":"a"}"#);
        assert!(matches!(&one[..], [Input::Parsed(a)] if a.source.line.is_none()));
        let many =
            document("[\n  {\"text\":\"First.\"},\n  {\"text\": 3},\n  {\"text\":\"Third.\"}\n]");
        let lines: Vec<String> = many
            .iter()
            .map(|i| match i {
                Input::Parsed(a) => format!("ok:{:?}", a.source.line),
                Input::Rejected(r) => format!("{}:{:?}", r.kind, r.line),
                Input::Raw { .. } | Input::Prepared(_) => "raw".into(),
            })
            .collect();
        assert_eq!(
            lines,
            ["ok:Some(2)", "malformed_json:Some(3)", "ok:Some(4)"]
        );
    }

    #[test]
    fn any_other_json_document_is_rejected_never_read_as_text() {
        for doc in [
            r#""a string""#,
            "42",
            r#"{"groups": [[1, 2]]}"#,
            "[1, 2]",
            "not json",
        ] {
            let got = document(doc);
            assert!(
                got.iter()
                    .all(|i| matches!(i, Input::Rejected(r) if r.kind == "malformed_json")),
                "{doc}: {got:?}"
            );
            assert!(!got.is_empty());
        }
    }

    #[test]
    fn crlf_line_endings_are_accepted() {
        let got = run("{\"text\":\"a\"}\r\n{\"text\":\"b\"}\r\n", 100);
        assert!(got.iter().all(|i| matches!(i, Input::Parsed(_))), "{got:?}");
    }
}

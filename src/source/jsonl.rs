//! JSONL input: one article per line, as an object with `text` and optionally
//! `id`, `title`, `url` and `published`. Other fields are ignored.

use std::io::BufRead;

use serde::Deserialize;

use super::{io_reason, Emitter, Input};
use crate::error::RejectReason;
use crate::record::{Article, SourceInfo};

/// A scalar that may arrive as a JSON string or number (ids and dates do both).
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Str(String),
    Int(i64),
    Float(f64),
}

impl Scalar {
    fn into_string(self) -> String {
        match self {
            Scalar::Str(s) => s,
            Scalar::Int(n) => n.to_string(),
            Scalar::Float(x) => x.to_string(),
        }
    }
}

#[derive(Deserialize)]
struct JsonArticle {
    text: String,
    #[serde(default)]
    id: Option<Scalar>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    published: Option<Scalar>,
}

/// Parse one JSONL line into an article (text not yet normalized).
pub fn parse_line(line: &[u8], seq: u64, source: SourceInfo) -> Result<Article, RejectReason> {
    let parsed: JsonArticle = serde_json::from_slice(line).map_err(|e| {
        // serde_json counts columns within the line we gave it; the line
        // number is in `source.line`.
        RejectReason::MalformedJson(format!("{e}"))
    })?;
    let mut source = source;
    source.encoding = "utf-8".to_owned();
    source.id = parsed.id.map(Scalar::into_string);
    let mut article = Article::new(seq, source, parsed.text);
    article.given_title = parsed.title.filter(|t| !t.trim().is_empty());
    article.url = parsed.url;
    article.published = parsed.published.map(Scalar::into_string);
    Ok(article)
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
            Err(reason) => Input::Rejected(super::Rejected::new(seq, &info, reason)),
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
                Input::Raw { .. } => "raw".into(),
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

    #[test]
    fn crlf_line_endings_are_accepted() {
        let got = run("{\"text\":\"a\"}\r\n{\"text\":\"b\"}\r\n", 100);
        assert!(got.iter().all(|i| matches!(i, Input::Parsed(_))), "{got:?}");
    }
}

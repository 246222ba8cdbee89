//! WARC archives: each HTTP response record with an HTML body is one input.
//!
//! Records are streamed (a gzipped WARC is one gzip member per record, which
//! the caller's `MultiGzDecoder` reads through), so a 1 GB archive is never
//! held whole: `input.max_file_bytes` bounds each record, and a record over it
//! is rejected and its block passed over unbuffered. Record heads are parsed
//! here rather than by the `warc` crate, whose header reader has no bound: a
//! head is at most [`MAX_HEAD_BYTES`], and a malformed or overlong one rejects
//! that record (with its byte offset) and reading resumes at the next line
//! that starts with `WARC/1.`, so one bad record does not lose the rest of the
//! file. The HTTP head is parsed with `httparse`; its `Content-Type` charset
//! goes to the decoder and `WARC-Target-URI` becomes the article's `url`.
//! Request, metadata and other non-response records are parts of the
//! archive, not articles: they are counted by type as skipped
//! ([`Emitter::skip`]); a response that is not an HTML page (an image, a
//! redirect) is rejected with what it is.

use std::io::{BufRead, Read};

use super::{Emitter, Input};
use crate::error::RejectReason;
use crate::record::{SourceFormat, SourceInfo};

/// Most HTTP header lines parsed in one response head.
const MAX_HTTP_HEADERS: usize = 128;

/// Longest WARC record head read (version line, named fields and the blank
/// line after them). Real heads are well under 2 KiB.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// What a record's first line starts with (`WARC/1.0`, `WARC/1.1`).
const VERSION: &[u8] = b"WARC/1.";

/// A byte reader that knows its offset, for the reasons of rejects.
struct Counted<R> {
    inner: R,
    pos: u64,
}

impl<R: BufRead> Counted<R> {
    /// Append the rest of the current line (through its `\n`) to `buf`, but
    /// not past `cap` bytes of `buf`. True when the line ended; false at the
    /// end of the stream or when `buf` is full (`buf.len() == cap` tells).
    fn line_into(&mut self, buf: &mut Vec<u8>, cap: usize) -> std::io::Result<bool> {
        while buf.len() < cap {
            let avail = self.inner.fill_buf()?;
            if avail.is_empty() {
                return Ok(false);
            }
            let room = avail.len().min(cap - buf.len());
            let (take, ended) = match avail[..room].iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (room, false),
            };
            buf.extend_from_slice(&avail[..take]);
            self.consume(take);
            if ended {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Pass over the rest of the current line, unbuffered. False at the end
    /// of the stream.
    fn skip_line(&mut self) -> std::io::Result<bool> {
        loop {
            let avail = self.inner.fill_buf()?;
            if avail.is_empty() {
                return Ok(false);
            }
            match avail.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.consume(i + 1);
                    return Ok(true);
                }
                None => {
                    let n = avail.len();
                    self.consume(n);
                }
            }
        }
    }

    /// Pass over up to `n` bytes; returns how many there were.
    fn skip_bytes(&mut self, n: u64) -> std::io::Result<u64> {
        let skipped = std::io::copy(&mut (&mut *self).take(n), &mut std::io::sink())?;
        Ok(skipped)
    }

    fn consume(&mut self, n: usize) {
        self.inner.consume(n);
        self.pos += n as u64;
    }
}

impl<R: BufRead> Read for Counted<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// The named fields of a record head that reading needs.
#[derive(Debug)]
struct Head {
    kind: String,
    content_length: u64,
    target_uri: Option<String>,
}

/// Why a record head was not read.
enum BadHead {
    /// The stream ended inside the head.
    Truncated,
    /// The head is malformed or too long. `next` is the first line of the
    /// following record when one was met inside the head.
    Malformed { why: String, next: Option<Vec<u8>> },
}

/// Read the head whose first line starts in `first` (at most the version
/// prefix, or the whole line), up to and including its blank line.
fn read_head<R: BufRead>(
    r: &mut Counted<R>,
    first: Vec<u8>,
) -> std::io::Result<Result<Head, BadHead>> {
    let mut head = first;
    if !head.ends_with(b"\n") && !r.line_into(&mut head, MAX_HEAD_BYTES)? {
        return too_long_or_truncated(r, &head);
    }
    loop {
        let line_at = head.len();
        if !r.line_into(&mut head, MAX_HEAD_BYTES)? {
            return too_long_or_truncated(r, &head);
        }
        let line = &head[line_at..];
        if line.trim_ascii().is_empty() {
            head.truncate(line_at);
            break;
        }
        if line.starts_with(VERSION) {
            // A head with no blank line runs into the next record.
            let next = Some(line.to_vec());
            return Ok(Err(BadHead::Malformed {
                why: "record head has no blank line before the next record".into(),
                next,
            }));
        }
    }
    let text = String::from_utf8_lossy(&head);
    Ok(parse_head(&text).map_err(|why| BadHead::Malformed { why, next: None }))
}

/// A head that filled [`MAX_HEAD_BYTES`] (its line passed over, so reading
/// goes on at a line start) or met the end of the stream.
fn too_long_or_truncated<R: BufRead>(
    r: &mut Counted<R>,
    head: &[u8],
) -> std::io::Result<Result<Head, BadHead>> {
    if head.len() < MAX_HEAD_BYTES {
        return Ok(Err(BadHead::Truncated));
    }
    r.skip_line()?;
    Ok(Err(BadHead::Malformed {
        why: format!("record head longer than {MAX_HEAD_BYTES} bytes"),
        next: None,
    }))
}

/// The fields of a head (its version line first), or what is wrong with it.
fn parse_head(text: &str) -> Result<Head, String> {
    let mut lines = text.lines();
    let version = lines.next().unwrap_or("").trim_end();
    if !version.starts_with("WARC/1.") {
        return Err("no WARC/1.x version line".into());
    }
    let mut kind = None;
    let mut length = None;
    let mut target_uri = None;
    for line in lines {
        // A folded continuation of the field before (WARC 1.0 allows them).
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("bad header line {:?}", clip(line)));
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("WARC-Type") {
            kind = Some(value.to_ascii_lowercase());
        } else if name.eq_ignore_ascii_case("Content-Length") {
            let n = value
                .parse::<u64>()
                .map_err(|_| format!("bad Content-Length {:?}", clip(value)))?;
            length = Some(n);
        } else if name.eq_ignore_ascii_case("WARC-Target-URI") {
            target_uri = Some(value.trim_matches(['<', '>', ' ']).to_owned());
        }
    }
    Ok(Head {
        kind: kind.ok_or("no WARC-Type")?,
        content_length: length.ok_or("no Content-Length")?,
        target_uri,
    })
}

/// At most 60 characters of `s`, for a reason.
fn clip(s: &str) -> &str {
    match s.char_indices().nth(60) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The skip counter of a non-response record type; unknown types share one,
/// so a hostile file cannot grow the summary.
fn skip_kind(kind: &str) -> &'static str {
    match kind {
        "warcinfo" => "warc_warcinfo",
        "request" => "warc_request",
        "metadata" => "warc_metadata",
        "resource" => "warc_resource",
        "revisit" => "warc_revisit",
        "conversion" => "warc_conversion",
        "continuation" => "warc_continuation",
        _ => "warc_other",
    }
}

/// Pass over lines up to the next one that starts with `WARC/1.`; returns
/// that line's first bytes, or `None` at the end of the stream.
fn resync<R: BufRead>(r: &mut Counted<R>) -> std::io::Result<Option<Vec<u8>>> {
    loop {
        let mut line = Vec::new();
        let ended = r.line_into(&mut line, VERSION.len())?;
        if line.starts_with(VERSION) {
            return Ok(Some(line));
        }
        if !ended && line.len() < VERSION.len() {
            return Ok(None);
        }
        if !ended && !r.skip_line()? {
            return Ok(None);
        }
    }
}

/// Read every record of the WARC stream `reader` (already decompressed),
/// numbering them from 1 in `source.line`. Returns false when reading
/// should stop (a shutdown).
pub fn read_records(reader: impl BufRead, path: &str, limit: u64, out: &mut Emitter<'_>) -> bool {
    let mut r = Counted {
        inner: reader,
        pos: 0,
    };
    let mut number = 0u64;
    let mut pending: Option<Vec<u8>> = None;
    loop {
        if out.stopped() {
            return false;
        }
        // The record's first line: the line a resync stopped at, or the next
        // one that is not blank (blank lines end the record before).
        let (at, first) = match pending.take() {
            Some(line) => (r.pos - line.len() as u64, line),
            None => match next_nonblank(&mut r) {
                Ok(Some(found)) => found,
                Ok(None) => return true,
                Err(e) => return unreadable(out, path, number + 1, r.pos, &e.to_string()),
            },
        };
        number += 1;
        let mut info = SourceInfo {
            path: path.to_owned(),
            line: Some(number),
            format: SourceFormat::Warc,
            ..SourceInfo::default()
        };
        let bad = |why: &str| {
            RejectReason::Unreadable(format!("WARC record {number} at byte {at}: {why}"))
        };
        let head = if first.starts_with(VERSION) {
            read_head(&mut r, first)
        } else {
            // Go on from the next line start.
            let rest = if first.ends_with(b"\n") {
                Ok(true)
            } else {
                r.skip_line()
            };
            rest.map(|_| {
                Err(BadHead::Malformed {
                    why: "does not start with a WARC/1.x version line".into(),
                    next: None,
                })
            })
        };
        let head = match head {
            Ok(h) => h,
            Err(e) => return unreadable(out, path, number, at, &e.to_string()),
        };
        let head = match head {
            Ok(head) => head,
            Err(BadHead::Truncated) => {
                out.reject(&info, bad("truncated record head"));
                return true;
            }
            Err(BadHead::Malformed { why, next }) => {
                if !out.reject(&info, bad(&format!("{why}; skipped to the next record"))) {
                    return false;
                }
                pending = match next {
                    Some(line) => Some(line),
                    None => match resync(&mut r) {
                        Ok(next) => next,
                        Err(e) => return unreadable(out, path, number, at, &e.to_string()),
                    },
                };
                if pending.is_none() {
                    return true;
                }
                continue;
            }
        };
        info.bytes = head.content_length;
        info.url = head.target_uri;
        if head.kind != "response" || info.bytes > limit {
            let skipped = match r.skip_bytes(info.bytes) {
                Ok(n) => n,
                Err(e) => return unreadable(out, path, number, at, &e.to_string()),
            };
            if skipped < info.bytes {
                out.reject(
                    &info,
                    bad(&format!("truncated, {skipped} of {} bytes", info.bytes)),
                );
                return true;
            }
            if head.kind != "response" {
                out.skip(skip_kind(&head.kind));
                continue;
            }
            let reason = RejectReason::TooLarge {
                bytes: info.bytes,
                limit,
            };
            if !out.reject(&info, reason) {
                return false;
            }
            continue;
        }
        let mut block = Vec::with_capacity(usize::try_from(info.bytes).unwrap_or(0));
        if let Err(e) = (&mut r).take(info.bytes).read_to_end(&mut block) {
            return unreadable(out, path, number, at, &e.to_string());
        }
        // A record cut short by the end of the file must not pass as a page.
        if (block.len() as u64) < info.bytes {
            let why = format!("truncated, {} of {} bytes", block.len(), info.bytes);
            out.reject(&info, bad(&why));
            return true;
        }
        let keep_going = match http_body(&block) {
            Ok((body_at, charset, chunked)) => {
                info.charset = charset;
                block.drain(..body_at);
                if chunked {
                    block = dechunk(&block);
                }
                let seq = out.next_seq();
                out.emit(Input::Raw {
                    seq,
                    source: info,
                    bytes: block,
                })
            }
            Err(reason) => out.reject(&info, reason),
        };
        if !keep_going {
            return false;
        }
    }
}

/// The next line that is not blank, with its offset: its first bytes (up to
/// the version prefix's length, or the whole line when shorter); `None` at
/// the end of the stream.
fn next_nonblank<R: BufRead>(r: &mut Counted<R>) -> std::io::Result<Option<(u64, Vec<u8>)>> {
    loop {
        let at = r.pos;
        let mut line = Vec::new();
        let ended = r.line_into(&mut line, VERSION.len())?;
        if line.is_empty() {
            return Ok(None);
        }
        if ended && line.trim_ascii().is_empty() {
            continue;
        }
        return Ok(Some((at, line)));
    }
}

/// Reject record `number` as unreadable after an I/O error (a broken gzip
/// member): nothing after it can be read, so reading this file ends.
fn unreadable(out: &mut Emitter<'_>, path: &str, number: u64, at: u64, why: &str) -> bool {
    let info = SourceInfo {
        path: path.to_owned(),
        line: Some(number),
        format: SourceFormat::Warc,
        ..SourceInfo::default()
    };
    let reason = RejectReason::Unreadable(format!(
        "WARC record {number} at byte {at}: {why}; the rest of the file was not read"
    ));
    out.reject(&info, reason)
}

/// Where the HTML body of an HTTP response starts, its declared charset and
/// whether it is sent chunked; a rejection for anything that is not a 200
/// HTML page.
fn http_body(block: &[u8]) -> Result<(usize, Option<String>, bool), RejectReason> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HTTP_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let not_page = |why: String| RejectReason::NotHtml(why);
    let body_at = match response.parse(block) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err(not_page("truncated HTTP head".into())),
        Err(e) => return Err(not_page(format!("bad HTTP head: {e}"))),
    };
    let status = response.code.unwrap_or(0);
    if status != 200 {
        return Err(not_page(format!("HTTP status {status}")));
    }
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
    };
    let content_type = header("content-type").unwrap_or_default();
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let is_html = mime == "text/html" || mime == "application/xhtml+xml";
    // A missing type is sniffed as the decoder would a file.
    if !(is_html || mime.is_empty() && super::looks_like_html(&block[body_at..])) {
        return Err(not_page(format!("content type {mime}")));
    }
    if header("content-encoding").is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity")) {
        return Err(not_page(
            "content-encoded body (not decoded by the crawler)".into(),
        ));
    }
    let charset = content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_owned())
    });
    let chunked =
        header("transfer-encoding").is_some_and(|e| e.to_ascii_lowercase().contains("chunked"));
    Ok((body_at, charset, chunked))
}

/// The payload of a body in HTTP/1.1 chunked transfer coding, which a WARC
/// keeps as it came off the wire: hex sizes, `;extensions`, CRLFs and
/// trailers dropped. A malformed or short chunk ends the payload with what
/// came before it.
fn dechunk(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    while let Some(eol) = rest.iter().position(|&b| b == b'\n') {
        let size_line = String::from_utf8_lossy(&rest[..eol]);
        let hex = size_line.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(hex, 16) else {
            break;
        };
        rest = &rest[eol + 1..];
        if size == 0 {
            break;
        }
        let take = size.min(rest.len());
        out.extend_from_slice(&rest[..take]);
        rest = &rest[take..];
        rest = rest
            .strip_prefix(b"\r\n")
            .or_else(|| rest.strip_prefix(b"\n"))
            .unwrap_or(rest);
        if take < size {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::atomic::AtomicBool;

    fn record(kind: &str, uri: &str, block: &str) -> String {
        format!(
            "WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{}>\r\nWARC-Date: 2024-01-01T00:00:00Z\r\nWARC-Target-URI: {uri}\r\nContent-Length: {}\r\n\r\n{block}\r\n\r\n",
            xxhash_rust::xxh3::xxh3_64(block.as_bytes()),
            block.len()
        )
    }

    fn page(word: &str) -> String {
        format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><p>{word}</p></html>")
    }

    /// Each input as `line kind-or-url` and the skip counts, reading `warc`
    /// with a record limit of `limit` bytes.
    fn read_with(warc: &[u8], limit: u64) -> (Vec<String>, BTreeMap<&'static str, u64>) {
        let mut got = Vec::new();
        let stop = AtomicBool::new(false);
        let mut push = |i: Input| {
            got.push(match i {
                Input::Raw { source, bytes, .. } => format!(
                    "{} {} {}",
                    source.line.unwrap_or(0),
                    source.url.unwrap_or_default(),
                    String::from_utf8_lossy(&bytes)
                ),
                Input::Rejected(r) => format!("{} {} ({})", r.line.unwrap_or(0), r.kind, r.reason),
                Input::Parsed(_) | Input::Prepared(_) => "parsed".into(),
            });
            true
        };
        let mut out = Emitter::new(&mut push, &stop);
        assert!(read_records(warc, "crawl.warc", limit, &mut out));
        let skipped = out.take_skipped();
        (got, skipped)
    }

    fn read(warc: &str) -> Vec<String> {
        read_with(warc.as_bytes(), 1 << 20).0
    }

    #[test]
    fn html_responses_become_inputs_and_the_rest_is_counted_or_skipped() {
        let page = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=windows-1252\r\n\r\n<html><p>Hi</p></html>";
        let image = "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\nPNG";
        let warc = [
            record("warcinfo", "", "software: test\r\n"),
            record("request", "https://a.example/", "GET / HTTP/1.1\r\n\r\n"),
            record("response", "https://a.example/", page),
            record("metadata", "https://a.example/", "fetchTimeMs: 12\r\n"),
            record("response", "https://a.example/logo.png", image),
            record(
                "response",
                "https://a.example/big",
                &page.replace("Hi", &"x".repeat(500)),
            ),
            record("request", "https://a.example/b", "GET /b HTTP/1.1\r\n\r\n"),
            record("FUTURE-TYPE", "https://a.example/b", "?"),
        ]
        .concat();
        let got = collect_inputs_of(&warc, 300);
        let summary: Vec<String> = got
            .iter()
            .map(|i| match i {
                Input::Raw { source, bytes, .. } => format!(
                    "{} {:?} {:?} {}",
                    source.line.unwrap_or(0),
                    source.url,
                    source.charset,
                    String::from_utf8_lossy(bytes)
                ),
                Input::Rejected(r) => format!("{} {}", r.line.unwrap_or(0), r.kind),
                Input::Parsed(_) | Input::Prepared(_) => "parsed".into(),
            })
            .collect();
        assert_eq!(
            summary,
            [
                r#"3 Some("https://a.example/") Some("windows-1252") <html><p>Hi</p></html>"#,
                "5 not_html",
                "6 too_large"
            ]
        );
        let (_, skipped) = read_with(warc.as_bytes(), 300);
        assert_eq!(
            skipped,
            BTreeMap::from([
                ("warc_metadata", 1),
                ("warc_other", 1),
                ("warc_request", 2),
                ("warc_warcinfo", 1)
            ])
        );
    }

    fn collect_inputs_of(warc: &str, limit: u64) -> Vec<Input> {
        crate::source::collect_inputs(|out| {
            read_records(
                std::io::Cursor::new(warc.as_bytes()),
                "crawl.warc",
                limit,
                out,
            );
        })
    }

    #[test]
    fn max_file_bytes_applies_to_each_record_not_to_the_file() {
        let small = record("response", "https://a.example/1", &page("one"));
        let big = record("response", "https://a.example/2", &page(&"x".repeat(400)));
        let warc = [small.clone(), big, small.clone(), small].concat();
        let limit = 200;
        assert!(warc.len() as u64 > 3 * limit);
        let (got, _) = read_with(warc.as_bytes(), limit);
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(
            got[0].starts_with("1 https://a.example/1 <html>"),
            "{got:?}"
        );
        assert!(got[1].starts_with("2 too_large"), "{got:?}");
        assert!(
            got[2].starts_with("3 https://a.example/1 <html>"),
            "{got:?}"
        );
        assert!(
            got[3].starts_with("4 https://a.example/1 <html>"),
            "{got:?}"
        );
    }

    #[test]
    fn a_malformed_head_rejects_its_record_and_the_next_ones_are_read() {
        let good = |n: u32| record("response", &format!("https://a.example/{n}"), &page("ok"));
        let first = good(1);
        // A head whose Content-Length is not a number: its block's length is
        // unknown, so reading resumes at the next `WARC/1.` line.
        let broken = good(2).replace("Content-Length: ", "Content-Length: x");
        let warc = [first.clone(), broken, good(3), good(4)].concat();
        let got = read(&warc);
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(got[0].starts_with("1 https://a.example/1"), "{got:?}");
        let at = first.len();
        assert!(
            got[1].starts_with(&format!(
                "2 unreadable (unreadable: WARC record 2 at byte {at}: bad Content-Length \"x"
            )),
            "{got:?}"
        );
        assert!(got[1].contains("skipped to the next record"), "{got:?}");
        assert!(got[2].starts_with("3 https://a.example/3"), "{got:?}");
        assert!(got[3].starts_with("4 https://a.example/4"), "{got:?}");
    }

    #[test]
    fn garbage_between_records_and_a_head_missing_its_blank_line_are_rejected_alone() {
        let good = |n: u32| record("response", &format!("https://a.example/{n}"), &page("ok"));
        // Bytes where a record should start, then a head cut before its
        // blank line that runs into the next record.
        let garbage = "\u{0}\u{1}binary junk\nmore junk with WARC/1.0 inside a line\n";
        let headless = "WARC/1.0\r\nWARC-Type: response\r\n";
        let warc = [good(1), garbage.into(), good(2), headless.into(), good(3)].concat();
        let got = read(&warc);
        assert_eq!(got.len(), 5, "{got:?}");
        assert!(got[0].starts_with("1 https://a.example/1"), "{got:?}");
        assert!(
            got[1].contains("does not start with a WARC/1.x version line"),
            "{got:?}"
        );
        assert!(got[2].starts_with("3 https://a.example/2"), "{got:?}");
        assert!(
            got[3].contains("no blank line before the next record"),
            "{got:?}"
        );
        assert!(got[4].starts_with("5 https://a.example/3"), "{got:?}");
    }

    #[test]
    fn a_head_over_the_bound_is_rejected_without_buffering_it() {
        let huge = format!(
            "WARC/1.0\r\nWARC-Type: response\r\nX-Padding: {}\r\nContent-Length: 2\r\n\r\nhi\r\n\r\n",
            "p".repeat(3 * MAX_HEAD_BYTES)
        );
        let many_lines = format!(
            "WARC/1.0\r\n{}\r\n",
            "X-Field: v\r\n".repeat(MAX_HEAD_BYTES)
        );
        let ok = record("response", "https://a.example/ok", &page("ok"));
        let warc = [huge, ok.clone(), many_lines, ok].concat();
        let got = read(&warc);
        assert_eq!(got.len(), 4, "{got:?}");
        for bad in [&got[0], &got[2]] {
            assert!(
                bad.contains(&format!("record head longer than {MAX_HEAD_BYTES} bytes")),
                "{got:?}"
            );
        }
        assert!(got[1].starts_with("2 https://a.example/ok"), "{got:?}");
        assert!(got[3].starts_with("4 https://a.example/ok"), "{got:?}");
    }

    #[test]
    fn a_head_cut_by_the_end_of_the_file_is_rejected() {
        let warc = [
            record("response", "https://a.example/1", &page("ok")),
            "WARC/1.0\r\nWARC-Type: resp".into(),
        ]
        .concat();
        let got = read(&warc);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[1].contains("truncated record head"), "{got:?}");
    }

    #[test]
    fn a_chunked_body_is_decoded() {
        let page =
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n\
                    6\r\n<html>\r\nb;ext=1\r\n<p>Hi</p></\r\n5\r\nhtml>\r\n0\r\n\r\n";
        let got = read(&record("response", "https://a.example/", page));
        assert_eq!(got, ["1 https://a.example/ <html><p>Hi</p></html>"]);
    }

    #[test]
    fn a_record_cut_short_by_the_end_of_the_file_is_rejected_not_emitted() {
        let page =
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><p>Hello there</p></html>";
        let mut warc = record("response", "https://a.example/", page);
        warc.truncate(warc.len() - 20);
        let got = read(&warc);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].starts_with("1 unreadable ("), "{got:?}");
        assert!(got[0].contains("truncated"), "{got:?}");
    }
}

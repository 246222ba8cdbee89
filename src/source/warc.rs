//! WARC archives: each HTTP response record with an HTML body is one input.
//!
//! Records are streamed with the `warc` crate (a gzipped WARC is one gzip
//! member per record, which the caller's `MultiGzDecoder` reads through), so a
//! 1 GB archive is never held whole: `input.max_file_bytes` bounds each
//! record, and a record over it is rejected and skipped unread. The HTTP head
//! is parsed with `httparse`; its `Content-Type` charset goes to the decoder
//! and `WARC-Target-URI` becomes the article's `url`. Request, metadata and
//! other non-response records are parts of the archive, not articles, and are
//! passed over; a response that is not an HTML page (an image, a redirect) is
//! rejected with what it is, so it is counted.

use std::io::{BufRead, Read};

use warc::{RecordType, WarcHeader, WarcReader};

use super::{Emitter, Input};
use crate::error::RejectReason;
use crate::record::{SourceFormat, SourceInfo};

/// Most HTTP header lines parsed in one response head.
const MAX_HTTP_HEADERS: usize = 128;

/// Read every record of the WARC stream `reader` (already decompressed),
/// numbering them from 1 in `source.line`. Returns false when reading
/// should stop (a shutdown).
pub fn read_records(reader: impl BufRead, path: &str, limit: u64, out: &mut Emitter<'_>) -> bool {
    let mut warc = WarcReader::new(reader);
    let mut records = warc.stream_records();
    let mut number = 0u64;
    while let Some(item) = records.next_item() {
        if out.stopped() {
            return false;
        }
        number += 1;
        let mut info = SourceInfo {
            path: path.to_owned(),
            line: Some(number),
            format: SourceFormat::Warc,
            ..SourceInfo::default()
        };
        let mut record = match item {
            Ok(r) => r,
            Err(e) => {
                // The stream cannot be resynchronised after a bad record head.
                let reason = RejectReason::Unreadable(format!(
                    "WARC record {number}: {e}; the rest of the file was not read"
                ));
                out.reject(&info, reason);
                return true;
            }
        };
        if *record.warc_type() != RecordType::Response {
            continue;
        }
        info.bytes = record.content_length();
        info.url = record
            .header(WarcHeader::TargetURI)
            .map(|u| u.trim_matches(['<', '>', ' ']).to_owned());
        if info.bytes > limit {
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
        if let Err(e) = (&mut record).take(limit).read_to_end(&mut block) {
            let reason = RejectReason::Unreadable(format!("WARC record {number}: {e}"));
            out.reject(&info, reason);
            return true;
        }
        // The crate's body reader ends quietly at the end of the file: a cut
        // record is short, not an error, and must not pass as a page.
        if (block.len() as u64) < info.bytes {
            let reason = RejectReason::Unreadable(format!(
                "WARC record {number}: truncated, {} of {} bytes",
                block.len(),
                info.bytes
            ));
            out.reject(&info, reason);
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
    true
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
    use crate::source::collect_inputs;

    fn record(kind: &str, uri: &str, block: &str) -> String {
        format!(
            "WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{}>\r\nWARC-Date: 2024-01-01T00:00:00Z\r\nWARC-Target-URI: {uri}\r\nContent-Length: {}\r\n\r\n{block}\r\n\r\n",
            xxhash_rust::xxh3::xxh3_64(block.as_bytes()),
            block.len()
        )
    }

    #[test]
    fn html_responses_become_inputs_and_the_rest_is_counted_or_passed_over() {
        let page = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=windows-1252\r\n\r\n<html><p>Hi</p></html>";
        let image = "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\nPNG";
        let warc = [
            record("request", "https://a.example/", "GET / HTTP/1.1\r\n\r\n"),
            record("response", "https://a.example/", page),
            record("response", "https://a.example/logo.png", image),
            record(
                "response",
                "https://a.example/big",
                &page.replace("Hi", &"x".repeat(500)),
            ),
        ]
        .concat();
        let got = collect_inputs(|out| {
            read_records(
                std::io::Cursor::new(warc.into_bytes()),
                "crawl.warc",
                300,
                out,
            );
        });
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
                Input::Parsed(_) => "parsed".into(),
            })
            .collect();
        assert_eq!(
            summary,
            [
                r#"2 Some("https://a.example/") Some("windows-1252") <html><p>Hi</p></html>"#,
                "3 not_html",
                "4 too_large"
            ]
        );
    }

    fn read(warc: String) -> Vec<Input> {
        collect_inputs(|out| {
            read_records(
                std::io::Cursor::new(warc.into_bytes()),
                "crawl.warc",
                1 << 20,
                out,
            );
        })
    }

    #[test]
    fn a_chunked_body_is_decoded() {
        let page =
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n\
                    6\r\n<html>\r\nb;ext=1\r\n<p>Hi</p></\r\n5\r\nhtml>\r\n0\r\n\r\n";
        match &read(record("response", "https://a.example/", page))[..] {
            [Input::Raw { bytes, .. }] => {
                assert_eq!(String::from_utf8_lossy(bytes), "<html><p>Hi</p></html>")
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_record_cut_short_by_the_end_of_the_file_is_rejected_not_emitted() {
        let page =
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><p>Hello there</p></html>";
        let mut warc = record("response", "https://a.example/", page);
        warc.truncate(warc.len() - 20);
        match &read(warc)[..] {
            [Input::Rejected(r)] => {
                assert_eq!(r.kind, "unreadable");
                assert!(r.reason.to_string().contains("truncated"), "{}", r.reason);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

//! Raw bytes to text, in this order: a byte-order mark (UTF-8, UTF-16LE/BE);
//! valid UTF-8; UTF-8 with a few stray invalid bytes (kept as UTF-8, each
//! replaced by U+FFFD); otherwise the legacy encoding `chardetng` guesses (the
//! detector Firefox uses), decoded by `encoding_rs`. Binary content is rejected.

use crate::error::RejectReason;

/// The encoding a text was decoded from, as reported in `source.encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Valid UTF-8 without a byte-order mark.
    Utf8,
    /// Valid UTF-8 after a leading byte-order mark, which is dropped.
    Utf8Bom,
    /// UTF-8 with a few invalid bytes, each replaced by U+FFFD.
    Utf8Lossy,
    /// UTF-16, little-endian, after its byte-order mark.
    Utf16Le,
    /// UTF-16, big-endian, after its byte-order mark.
    Utf16Be,
    /// Not UTF-8: the legacy encoding the detector chose (Windows-1252,
    /// Shift_JIS, GBK, ...).
    Detected(&'static encoding_rs::Encoding),
}

/// The Windows-1252 encoding, the usual guess for Western European text.
pub const WINDOWS_1252: Encoding = Encoding::Detected(encoding_rs::WINDOWS_1252);

impl Encoding {
    /// Name used in the output record: `utf-8`, `utf-8-bom`, `utf-8-lossy`,
    /// `utf-16le`, `utf-16be`, or the WHATWG name of a detected encoding in
    /// lower case (`windows-1252`, `shift_jis`, `gbk`, ...).
    pub fn name(self) -> String {
        match self {
            Encoding::Utf8 => "utf-8".into(),
            Encoding::Utf8Bom => "utf-8-bom".into(),
            Encoding::Utf8Lossy => "utf-8-lossy".into(),
            Encoding::Utf16Le => "utf-16le".into(),
            Encoding::Utf16Be => "utf-16be".into(),
            Encoding::Detected(e) => e.name().to_ascii_lowercase(),
        }
    }
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Share of control bytes above which a file is taken for binary: real text
/// has next to none, while most binary formats are full of them.
const MAX_CONTROL_PERCENT: usize = 5;

/// Leading bytes of common binary formats, so the reject reason can name the
/// format instead of only "control characters".
const MAGIC: &[(&[u8], &str)] = &[
    (b"%PDF-", "PDF document"),
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"\xFF\xD8\xFF", "JPEG image"),
    (b"PK\x03\x04", "ZIP archive (or DOCX/ODT/EPUB)"),
    (b"PK\x05\x06", "ZIP archive (empty)"),
    (b"\x1F\x8B", "gzip archive"),
    (b"BZh", "bzip2 archive"),
    (b"\xFD7zXZ\x00", "xz archive"),
    (b"7z\xBC\xAF\x27\x1C", "7-Zip archive"),
    (b"\x28\xB5\x2F\xFD", "zstd archive"),
    (
        b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
        "OLE document (DOC/XLS)",
    ),
    (b"\x7FELF", "ELF executable"),
    (b"MZ", "Windows executable"),
    (b"RIFF", "RIFF media (WAV/AVI/WebP)"),
    (b"\x00\x00\x01\x00", "icon image"),
    (b"SQLite format 3\x00", "SQLite database"),
];

/// Decode raw file bytes. Rejects empty and binary input.
///
/// The common case (valid UTF-8) costs one validation pass and one copy.
pub fn decode(bytes: &[u8]) -> Result<(String, Encoding), RejectReason> {
    if bytes.is_empty() {
        return Err(RejectReason::Empty);
    }
    // UTF-16 is full of NULs, so its byte-order mark is looked at before the
    // binary checks.
    for (bom, enc, name) in [
        (&b"\xFF\xFE"[..], encoding_rs::UTF_16LE, Encoding::Utf16Le),
        (&b"\xFE\xFF"[..], encoding_rs::UTF_16BE, Encoding::Utf16Be),
    ] {
        if let Some(body) = bytes.strip_prefix(bom) {
            let (text, _) = enc.decode_without_bom_handling(body);
            return match binary_reason(text.as_bytes()) {
                Some(why) => Err(RejectReason::Binary(format!("{why} after decoding UTF-16"))),
                None if text.is_empty() => Err(RejectReason::Empty),
                None => Ok((text.into_owned(), name)),
            };
        }
    }
    if let Some(why) = binary_reason(bytes) {
        return Err(RejectReason::Binary(why));
    }
    let (body, bom) = match bytes.strip_prefix(UTF8_BOM) {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    match std::str::from_utf8(body) {
        Ok(s) if bom => Ok((s.to_owned(), Encoding::Utf8Bom)),
        Ok(s) => Ok((s.to_owned(), Encoding::Utf8)),
        Err(_) if bom || mostly_utf8(body) => Ok((
            String::from_utf8_lossy(body).into_owned(),
            Encoding::Utf8Lossy,
        )),
        Err(_) => {
            let enc = detect_legacy(body);
            let (text, _) = enc.decode_without_bom_handling(body);
            Ok((text.into_owned(), Encoding::Detected(enc)))
        }
    }
}

/// How far into a page its `<meta charset>` is looked for. The HTML standard
/// says 1024 bytes; real pages put long `<script>`s and comments first.
const META_PRESCAN_BYTES: usize = 8192;

/// Decode a web page: a byte-order mark first, then the charset of the HTTP
/// header (`header_charset`, from a WARC record), then the page's own
/// `<meta charset>` or `http-equiv` declaration, then detection as for text
/// ([`decode`]). A declared legacy charset is not believed for bytes that are
/// valid UTF-8 with non-ASCII in them: mislabelled UTF-8 pages are common, and
/// legacy text that forms valid UTF-8 is not.
pub fn decode_html(
    bytes: &[u8],
    header_charset: Option<&str>,
) -> Result<(String, Encoding), RejectReason> {
    let has_bom = bytes.starts_with(UTF8_BOM)
        || bytes.starts_with(b"\xFF\xFE")
        || bytes.starts_with(b"\xFE\xFF");
    let declared = header_charset
        .and_then(|c| encoding_rs::Encoding::for_label(c.trim().as_bytes()))
        .or_else(|| meta_charset(&bytes[..bytes.len().min(META_PRESCAN_BYTES)]));
    match declared {
        Some(enc)
            if !has_bom
                && enc != encoding_rs::UTF_8
                && enc.is_ascii_compatible()
                && (bytes.is_ascii() || std::str::from_utf8(bytes).is_err()) =>
        {
            if let Some(why) = binary_reason(bytes) {
                return Err(RejectReason::Binary(why));
            }
            let (text, _) = enc.decode_without_bom_handling(bytes);
            Ok((text.into_owned(), Encoding::Detected(enc)))
        }
        _ => decode(bytes).map(|(text, enc)| (repair_mojibake(text), enc)),
    }
}

/// Undo UTF-8 that was decoded as Latin-1 and encoded again before the page
/// was served ("Investorâ\u{80}\u{99}s" for "Investor’s"). Only a page with
/// such a sequence holding a C1 control character (U+0080 to U+009F, which
/// no real text uses) is touched; on it, every run of Latin-1 characters
/// that spells a UTF-8 character is put back ("Â®" -> "®" as well).
pub fn repair_mojibake(text: String) -> String {
    let c1 = |c: char| ('\u{80}'..='\u{9f}').contains(&c);
    // U+0080 to U+009F are 0xC2 0x80 to 0xC2 0x9F in UTF-8: a byte search
    // clears the common page in a fraction of a walk over its characters.
    let bytes = text.as_bytes();
    if !memchr::memchr_iter(0xC2, bytes)
        .any(|i| bytes.get(i + 1).is_some_and(|b| (0x80..=0x9F).contains(b)))
    {
        return text;
    }
    let chars: Vec<char> = text.chars().collect();
    // A Latin-1 lead byte and its continuation bytes, as UTF-8 would have them.
    let sequence = |i: usize| -> Option<(usize, char, bool)> {
        let lead = u32::from(*chars.get(i)?);
        let len = match lead {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => return None,
        };
        let tail = chars.get(i + 1..i + len)?;
        if !tail.iter().all(|c| ('\u{80}'..='\u{bf}').contains(c)) {
            return None;
        }
        let bytes: Vec<u8> = chars[i..i + len].iter().map(|&c| c as u8).collect();
        let fixed = std::str::from_utf8(&bytes).ok()?.chars().next()?;
        Some((len, fixed, tail.iter().any(|&c| c1(c))))
    };
    if !(0..chars.len()).any(|i| sequence(i).is_some_and(|(_, _, has_c1)| has_c1)) {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        match sequence(i) {
            Some((len, fixed, _)) => {
                out.push(fixed);
                i += len;
            }
            None => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    out
}

/// The encoding a page declares in `<meta charset=...>` or
/// `<meta http-equiv="Content-Type" content="...; charset=...">`.
fn meta_charset(head: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let lower = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = find(&lower[from..], b"<meta") {
        let start = from + at;
        let end = find(&lower[start..], b">").map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        // A tag that only mentions "charset" (`name="charset-test"`) or
        // names an unknown one is passed over: a later tag may still say.
        if let Some(encoding) = find(tag, b"charset").and_then(|c| charset_value(&tag[c..])) {
            return Some(encoding);
        }
        from = end;
    }
    None
}

/// The encoding named by `charset = "label"` at the start of `attr`.
fn charset_value(attr: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let rest = attr
        .strip_prefix(b"charset")?
        .trim_ascii_start()
        .strip_prefix(b"=")?
        .trim_ascii_start();
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let label_end = rest
        .iter()
        .position(|b| matches!(b, b'"' | b'\'' | b';' | b'/') || b.is_ascii_whitespace())
        .unwrap_or(rest.len());
    encoding_rs::Encoding::for_label(&rest[..label_end])
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Fewer non-ASCII bytes than this give a detector too little to go on:
/// one `0xA3` is `£` in Windows-1252 and `Ł` in Windows-1250, and for news
/// in English the first is the better bet.
const MIN_DETECTION_BYTES: usize = 16;

/// The legacy encoding of text that is not UTF-8.
fn detect_legacy(body: &[u8]) -> &'static encoding_rs::Encoding {
    let non_ascii = body.iter().filter(|b| !b.is_ascii()).count();
    if non_ascii < MIN_DETECTION_BYTES {
        return encoding_rs::WINDOWS_1252;
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(body, true);
    detector.guess(None, false)
}

/// True when `bytes` read as UTF-8 with a few stray errors: they hold valid
/// multi-byte sequences, which legacy 8-bit text almost never forms by
/// chance (an accented letter there is one byte, followed by ASCII), and no
/// fewer of them than invalid ones.
fn mostly_utf8(bytes: &[u8]) -> bool {
    let (mut valid_multibyte, mut invalid) = (0usize, 0usize);
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                valid_multibyte += count_multibyte(s.as_bytes());
                break;
            }
            Err(e) => {
                valid_multibyte += count_multibyte(&rest[..e.valid_up_to()]);
                invalid += 1;
                let skip = e.valid_up_to() + e.error_len().unwrap_or(rest.len() - e.valid_up_to());
                rest = &rest[skip.min(rest.len())..];
            }
        }
    }
    valid_multibyte > 0 && invalid <= valid_multibyte
}

/// Characters of more than one byte in valid UTF-8: their lead bytes.
fn count_multibyte(valid: &[u8]) -> usize {
    valid.iter().filter(|&&b| b >= 0xC0).count()
}

/// Why `bytes` look binary, or `None` when they may be text.
fn binary_reason(bytes: &[u8]) -> Option<String> {
    if let Some((_, name)) = MAGIC.iter().find(|(m, _)| looks_like(bytes, m)) {
        return Some(format!("{name} signature"));
    }
    let (nuls, controls) = count_nuls_and_controls(bytes);
    if nuls > 0 {
        // The offset is only looked up when needed.
        let at = bytes.iter().position(|&b| b == 0).unwrap_or(0);
        return Some(format!("NUL byte at offset {at} ({nuls} in all)"));
    }
    if controls * 100 > bytes.len() * MAX_CONTROL_PERCENT {
        return Some(format!(
            "{controls} control bytes in {} ({}%)",
            bytes.len(),
            controls * 100 / bytes.len()
        ));
    }
    None
}

/// NUL bytes, and control bytes other than tab, line feed, form feed and
/// carriage return (NUL among them), in one pass. Every page goes through
/// this, so it is written to vectorize: byte-wide counters over blocks of
/// 255 bytes, and `&`/`|` on bools rather than branches. The plain filters
/// it replaced took 4% of a run over web pages with every stage on.
fn count_nuls_and_controls(bytes: &[u8]) -> (usize, usize) {
    let (mut nuls, mut controls) = (0usize, 0usize);
    for block in bytes.chunks(255) {
        let (mut n, mut c) = (0u8, 0u8);
        for &b in block {
            let control = (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r') & (b != 0x0C);
            n += u8::from(b == 0);
            c += u8::from(control | (b == 0x7F));
        }
        nuls += usize::from(n);
        controls += usize::from(c);
    }
    (nuls, controls)
}

/// Signatures short and plain enough to open a line of prose ("MZ Motors ...").
const AMBIGUOUS_MAGIC: &[&[u8]] = &[b"MZ", b"BZh", b"RIFF"];

/// A magic number match. Ambiguous signatures also need a control byte soon
/// after, as the real formats have.
fn looks_like(bytes: &[u8], magic: &[u8]) -> bool {
    if !bytes.starts_with(magic) {
        return false;
    }
    if AMBIGUOUS_MAGIC.contains(&magic) {
        let head = &bytes[..bytes.len().min(64)];
        return head
            .iter()
            .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nuls_and_controls_are_counted_across_blocks() {
        // Every byte value 300 times: blocks of 255 end mid-cycle.
        let bytes: Vec<u8> = (0..300).flat_map(|_| 0..=255u8).collect();
        // 0x00-0x1F less tab, LF, FF and CR, plus DEL.
        assert_eq!(count_nuls_and_controls(&bytes), (300, 29 * 300));
        assert_eq!(
            count_nuls_and_controls(b"plain text\r\n\twith\x0cbreaks"),
            (0, 0)
        );
        assert_eq!(count_nuls_and_controls(&[]), (0, 0));
    }

    #[test]
    fn utf8_decoded_as_latin1_and_served_again_is_put_back() {
        // "Investor’s Guide ®" after one Latin-1 round trip.
        let broken = "Investor\u{e2}\u{80}\u{99}s Guide \u{c2}\u{ae}";
        assert_eq!(repair_mojibake(broken.to_owned()), "Investor’s Guide ®");
        let page = format!("<html><meta charset=utf-8><p>{broken}</p>");
        let (text, _) = decode_html(page.as_bytes(), None).unwrap();
        assert!(text.contains("Investor’s Guide ®"), "{text}");
        // Without a C1 control character, Latin-1 letters are just letters.
        for fine in ["Ã la carte, Â£5", "café", "naïve ©"] {
            assert_eq!(repair_mojibake(fine.to_owned()), fine);
        }
    }

    #[test]
    fn plain_utf8_is_kept_verbatim() {
        let (text, enc) = decode("Café in Zürich – “quoted”\r\n".as_bytes()).unwrap();
        assert_eq!(text, "Café in Zürich – “quoted”\r\n");
        assert_eq!(enc, Encoding::Utf8);
    }

    #[test]
    fn utf8_bom_is_dropped_and_reported() {
        let (text, enc) = decode(b"\xEF\xBB\xBFHeadline\r\n\r\nBody.").unwrap();
        assert_eq!(text, "Headline\r\n\r\nBody.");
        assert_eq!(enc, Encoding::Utf8Bom);
        assert_eq!(enc.name(), "utf-8-bom");
    }

    #[test]
    fn invalid_utf8_falls_back_to_windows_1252() {
        // 0x93/0x94 are curly quotes and 0xE9 is e-acute in Windows-1252.
        let (text, enc) = decode(b"\x93Caf\xE9\x94 costs \x80 5 at the harbour cafe").unwrap();
        assert_eq!(
            text,
            "\u{201C}Caf\u{E9}\u{201D} costs \u{20AC} 5 at the harbour cafe"
        );
        assert_eq!(enc, WINDOWS_1252);
        assert_eq!(enc.name(), "windows-1252");
    }

    #[test]
    fn a_stray_invalid_byte_keeps_utf8_text_utf8() {
        let mut bytes = "Na\u{EF}ve caf\u{E9} owners in Z\u{FC}rich said "
            .repeat(3)
            .into_bytes();
        bytes.push(0xFF);
        bytes.extend_from_slice(" no more.".as_bytes());
        let (text, enc) = decode(&bytes).unwrap();
        assert_eq!(enc, Encoding::Utf8Lossy);
        assert_eq!(enc.name(), "utf-8-lossy");
        assert!(
            text.contains("Na\u{EF}ve") && text.contains("\u{FFFD} no more."),
            "{text}"
        );
        assert!(!text.contains("\u{C3}"), "no mojibake: {text}");
    }

    #[test]
    fn shift_jis_and_gbk_are_detected_not_read_as_windows_1252() {
        let japanese =
            "東京の市場では、株価が大きく上昇しました。投資家は企業の決算を好感しています。";
        let chinese =
            "北京市政府今天宣布了新的交通计划，市民对此表示欢迎。专家认为这将改善空气质量。";
        for (text, enc) in [
            (japanese, encoding_rs::SHIFT_JIS),
            (chinese, encoding_rs::GBK),
        ] {
            let (bytes, _, _) = enc.encode(text);
            let (decoded, got) = decode(&bytes).unwrap();
            assert_eq!(got, Encoding::Detected(enc), "{}", enc.name());
            assert_eq!(decoded, text);
        }
    }

    #[test]
    fn empty_input_is_rejected_as_empty() {
        assert_eq!(decode(b""), Err(RejectReason::Empty));
    }

    #[test]
    fn nul_bytes_are_binary() {
        let err = decode(b"text\x00more").unwrap_err();
        assert_eq!(err.kind(), "binary");
        assert!(
            err.to_string().contains("NUL byte at offset 4 (1 in all)"),
            "{err}"
        );
    }

    #[test]
    fn known_magic_numbers_are_binary_and_named() {
        for (bytes, name) in [
            (&b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj"[..], "PDF"),
            (&b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"[..], "PNG"),
            (&b"PK\x03\x04\x14\x00\x06\x00"[..], "ZIP"),
            (&b"\x1F\x8B\x08\x00\x00\x00\x00\x00"[..], "gzip"),
        ] {
            match decode(bytes) {
                Err(RejectReason::Binary(why)) => assert!(why.contains(name), "{why}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn text_starting_like_a_magic_number_is_still_text() {
        let (text, _) = decode(b"MZ Motors recalls 4,000 cars\n\nThe firm said.").unwrap();
        assert!(text.starts_with("MZ Motors"));
        assert!(decode(b"RIFF between unions deepens").is_ok());
    }

    #[test]
    fn many_control_characters_are_binary() {
        let mut bytes = b"looks like text at first".to_vec();
        bytes.extend([0x01u8; 10]);
        let err = decode(&bytes).unwrap_err();
        assert!(err.to_string().contains("control bytes"), "{err}");
    }

    #[test]
    fn a_stray_control_character_does_not_make_text_binary() {
        let mut bytes = "A long enough line of ordinary prose. "
            .repeat(10)
            .into_bytes();
        bytes.push(0x07);
        assert!(decode(&bytes).is_ok());
    }

    #[test]
    fn utf16_with_a_byte_order_mark_is_decoded() {
        let (text, enc) = decode(b"\xFF\xFEH\x00i\x00 \x00\xE9\x00").unwrap();
        assert_eq!(
            (text.as_str(), enc.name().as_str()),
            ("Hi \u{E9}", "utf-16le")
        );
        let (text, enc) = decode(b"\xFE\xFF\x00H\x00i").unwrap();
        assert_eq!((text.as_str(), enc), ("Hi", Encoding::Utf16Be));
        assert_eq!(decode(b"\xFF\xFE"), Err(RejectReason::Empty));
    }

    #[test]
    fn bbc_latin1_file_decodes_as_windows_1252() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/bbc/sport/199.txt"
        );
        let Ok(bytes) = std::fs::read(path) else {
            crate::test_support::skip(&format!("{path} not present"));
            return;
        };
        let (text, enc) = decode(&bytes).unwrap();
        assert_eq!(enc, WINDOWS_1252);
        assert!(!text.contains('\u{FFFD}'));
    }

    #[test]
    fn seed_encodings_are_detected() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/");
        let read = |name: &str| decode(&std::fs::read(format!("{dir}{name}")).unwrap()).unwrap();
        assert_eq!(read("001_bom_crlf_ferry.txt").1, Encoding::Utf8Bom);
        assert_eq!(read("000_104e59b0cc160511.txt").1, Encoding::Utf8);
        let (text, enc) = read("004_windows1252_cafe.txt");
        assert_eq!(enc, WINDOWS_1252);
        assert!(text.starts_with("Caf\u{E9} owners"));
        assert!(text.contains("\u{201C}We are not against"));
        assert!(text.contains("Ren\u{E9} Dubois"));
    }

    #[test]
    fn a_meta_tag_that_only_mentions_charset_does_not_hide_a_later_one() {
        let page = b"<html><head><meta name=\"charset-test\" content=\"x\"><meta charset=\"koi8-r\"></head>";
        assert_eq!(meta_charset(page), Some(encoding_rs::KOI8_R));
        assert_eq!(
            meta_charset(b"<meta charset=\"nonsense\"><meta charset=utf-8>"),
            Some(encoding_rs::UTF_8)
        );
    }
}

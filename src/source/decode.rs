//! Raw bytes to text: UTF-8 (with or without BOM), else Windows-1252; binary
//! content is rejected.

use crate::error::RejectReason;

/// The encoding a text was decoded from, as reported in `source.encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Valid UTF-8 without a byte-order mark.
    Utf8,
    /// Valid UTF-8 after a leading byte-order mark, which is dropped.
    Utf8Bom,
    /// Not valid UTF-8; decoded as Windows-1252 (a superset of Latin-1's printable range).
    Windows1252,
}

impl Encoding {
    /// Name used in the output record.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf8Bom => "utf-8-bom",
            Encoding::Windows1252 => "windows-1252",
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
/// UTF-8 is tried first (a leading BOM is dropped); anything that is not valid
/// UTF-8 is read as Windows-1252, which maps every byte to a character, so the
/// caller should log the returned [`Encoding`] when it is not UTF-8.
pub fn decode(bytes: &[u8]) -> Result<(String, Encoding), RejectReason> {
    if bytes.is_empty() {
        return Err(RejectReason::Empty);
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
        Err(_) => {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(body);
            Ok((text.into_owned(), Encoding::Windows1252))
        }
    }
}

/// Why `bytes` look binary, or `None` when they may be text.
fn binary_reason(bytes: &[u8]) -> Option<String> {
    // UTF-16 text is full of NULs; say what it is rather than "NUL bytes".
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Some("UTF-16 byte-order mark (only UTF-8 and Windows-1252 are read)".into());
    }
    if let Some((_, name)) = MAGIC.iter().find(|(m, _)| looks_like(bytes, m)) {
        return Some(format!("{name} signature"));
    }
    // Branch-free counts vectorize; the offset is only looked up when needed.
    let nuls = bytes.iter().filter(|&&b| b == 0).count();
    if nuls > 0 {
        let at = bytes.iter().position(|&b| b == 0).unwrap_or(0);
        return Some(format!("NUL byte at offset {at} ({nuls} in all)"));
    }
    let controls = bytes
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C)) || b == 0x7F)
        .count();
    if controls * 100 > bytes.len() * MAX_CONTROL_PERCENT {
        return Some(format!(
            "{controls} control bytes in {} ({}%)",
            bytes.len(),
            controls * 100 / bytes.len()
        ));
    }
    None
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
        assert_eq!(enc.as_str(), "utf-8-bom");
    }

    #[test]
    fn invalid_utf8_falls_back_to_windows_1252() {
        // 0x93/0x94 are curly quotes and 0xE9 is e-acute in Windows-1252.
        let (text, enc) = decode(b"\x93Caf\xE9\x94 costs \x80 5").unwrap();
        assert_eq!(text, "\u{201C}Caf\u{E9}\u{201D} costs \u{20AC} 5");
        assert_eq!(enc, Encoding::Windows1252);
        assert_eq!(enc.as_str(), "windows-1252");
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
    fn utf16_is_rejected_with_a_clear_reason() {
        let err = decode(b"\xFF\xFEH\x00i\x00").unwrap_err();
        assert!(err.to_string().contains("UTF-16"), "{err}");
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
        assert_eq!(enc, Encoding::Windows1252);
        assert!(!text.contains('\u{FFFD}'));
    }

    #[test]
    fn seed_encodings_are_detected() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/");
        let read = |name: &str| decode(&std::fs::read(format!("{dir}{name}")).unwrap()).unwrap();
        assert_eq!(read("001_bom_crlf_ferry.txt").1, Encoding::Utf8Bom);
        assert_eq!(read("000_104e59b0cc160511.txt").1, Encoding::Utf8);
        let (text, enc) = read("004_windows1252_cafe.txt");
        assert_eq!(enc, Encoding::Windows1252);
        assert!(text.starts_with("Caf\u{E9} owners"));
        assert!(text.contains("\u{201C}We are not against"));
        assert!(text.contains("Ren\u{E9} Dubois"));
    }
}

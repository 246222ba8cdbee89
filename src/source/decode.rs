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

/// Decode raw file bytes. Rejects empty and binary input.
pub fn decode(bytes: &[u8]) -> Result<(String, Encoding), RejectReason> {
    if bytes.is_empty() {
        return Err(RejectReason::Empty);
    }
    // TODO(text helper): BOM, binary detection, windows-1252 fallback.
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok((s.to_owned(), Encoding::Utf8)),
        Err(_) => Err(RejectReason::Binary("not utf-8".into())),
    }
}

//! The checks behind newspipe's AFL++ fuzz targets (`fuzz_targets/`), one
//! function per target. Each takes arbitrary bytes and panics (which AFL++
//! records as a crash) when newspipe panics or breaks one of its
//! documented invariants: decoding keeps valid UTF-8 as written, normalized
//! text is a fixed point, boilerplate removal only removes lines it
//! names, every JSONL line is one input (record or reject) that reads as
//! `serde_json` reads it, entity offsets cover their text, and a record
//! written as JSONL is one line that parses back to the article.
//!
//! The functions are a library so that `cargo test` here replays the seed
//! corpus through them without AFL installed.
#![deny(missing_docs)]

use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;

use newspipe::error::RejectReason;
use newspipe::ner::Tagger;
use newspipe::record::{Article, Entity, SourceInfo};
use newspipe::sink::jsonl::{Compression, JsonlWriter};
use newspipe::source::decode::{decode as decode_bytes, Encoding};
use newspipe::source::jsonl::{read_document, read_lines};
use newspipe::source::{Emitter, Input};
use newspipe::stage::boilerplate::{BoilerplateConfig, Rules};
use newspipe::stage::dedup::DedupConfig;
use newspipe::stage::entities::EntitiesConfig;
use newspipe::stage::normalize::{normalize as normalize_text, normalize_line};
use newspipe::stage::title::TitleConfig;
use newspipe::stage::{StageSettings, Stages};
use serde_json::Value;

/// One target's check: panics on a broken invariant.
pub type Check = fn(&[u8]);

/// Every target, by the name of its binary in `fuzz_targets/`.
pub const TARGETS: [(&str, Check); 6] = [
    ("decode", decode),
    ("normalize", normalize),
    ("boilerplate", boilerplate),
    ("jsonl", jsonl),
    ("tagger", tagger),
    ("record", record),
];

/// Inputs past this many bytes are cut before tagging: the tagger costs
/// about a microsecond a byte, and AFL++ wants thousands of runs a second.
const TAGGER_MAX_BYTES: usize = 4096;

/// The line limit the JSONL check reads with: small, so the fuzzer reaches
/// the over-long-line path often.
const JSONL_LIMIT: u64 = 256;

/// `source::decode`: never panics; valid UTF-8 comes back as written and
/// named `utf-8` (or `utf-8-bom` without its mark); no decoded text holds a
/// NUL; the same bytes decode the same way twice.
pub fn decode(data: &[u8]) {
    let Ok((text, enc)) = decode_bytes(data) else {
        return;
    };
    assert!(!text.contains('\0'), "NUL in decoded text");
    let is_utf16 = data.starts_with(b"\xFF\xFE") || data.starts_with(b"\xFE\xFF");
    if !is_utf16 {
        if let Ok(s) = std::str::from_utf8(data) {
            match s.strip_prefix('\u{FEFF}') {
                Some(rest) => assert_eq!((text.as_str(), enc), (rest, Encoding::Utf8Bom)),
                None => assert_eq!((text.as_str(), enc), (s, Encoding::Utf8)),
            }
        }
    }
    let name = enc.name();
    assert!(
        !name.is_empty() && name == name.to_ascii_lowercase(),
        "{name}"
    );
    assert_eq!(
        decode_bytes(data).ok(),
        Some((text, enc)),
        "not deterministic"
    );
}

/// `stage::normalize`: idempotent; no CR, no control character but `\n`,
/// no whitespace at either end of a line, never two blank lines in a row,
/// and Unicode NFC. `normalize_line` gives one line.
pub fn normalize(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    let once = normalize_text(&raw);
    assert_normalized(&once);
    assert_eq!(normalize_text(&once), once, "not idempotent");
    let line = normalize_line(&raw);
    assert!(!line.contains('\n'), "normalize_line kept a line break");
}

/// What [`normalize`] promises of its output.
fn assert_normalized(text: &str) {
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "control character left in {text:?}"
    );
    assert!(!text.contains("\n\n\n"), "two blank lines in a row");
    for line in text.split('\n') {
        assert_eq!(line.trim(), line, "whitespace at a line's end");
    }
    assert!(unicode_normalization::is_nfc(text), "not NFC: {text:?}");
}

/// `Rules::clean` with the shipped rules over normalized text: every kept
/// line and every removed line is a line of the input, in order; what is
/// removed is said (a rule id per span); nothing is added; the same input
/// cleans the same way twice.
pub fn boilerplate(data: &[u8]) {
    let text = normalize_text(&String::from_utf8_lossy(data));
    let (kept, removed) = rules().clean(&text);
    assert!(kept.len() <= text.len(), "cleaning added text");
    let input: Vec<&str> = text.split('\n').filter(|l| !l.is_empty()).collect();
    let kept_lines: Vec<&str> = kept.split('\n').filter(|l| !l.is_empty()).collect();
    let removed_lines: Vec<&str> = removed.iter().flat_map(|r| r.text.split('\n')).collect();
    assert_subsequence(&kept_lines, &input, "kept");
    assert_subsequence(&removed_lines, &input, "removed");
    assert_eq!(
        kept_lines.len() + removed_lines.len(),
        input.len(),
        "every line is kept or removed, once"
    );
    assert!(
        removed.iter().all(|r| !r.rule.is_empty()),
        "a span without its rule"
    );
    if removed.is_empty() {
        assert_eq!(kept, text.as_str());
    }
    let again = rules().clean(&text);
    assert_eq!((again.0.as_ref(), &again.1), (kept.as_ref(), &removed));
}

/// `part` appears in `whole` in order (not necessarily contiguously).
fn assert_subsequence(part: &[&str], whole: &[&str], what: &str) {
    let mut rest = whole.iter();
    for line in part {
        assert!(
            rest.any(|w| w == line),
            "{what} line {line:?} is not an input line in order"
        );
    }
}

/// `source::jsonl`: read as JSON Lines, every line over the limit or not
/// blank is one input, in order, with consecutive sequence numbers and its
/// line number; an accepted line is a JSON object (as `serde_json` reads
/// it) whose `text` (and string `id`, `title`, `url`) the article keeps
/// exactly. Read as one `.json` document, the input is one rejection, one
/// article, or one input per array element.
pub fn jsonl(data: &[u8]) {
    let inputs = collect(|out| {
        read_lines(data, "f.jsonl", JSONL_LIMIT, out);
    });
    let lines = expected_lines(data, JSONL_LIMIT);
    assert_eq!(
        inputs.iter().map(line_of).collect::<Vec<_>>(),
        lines.iter().map(|&(n, _)| Some(n)).collect::<Vec<_>>(),
        "one input per counted line, in order"
    );
    for (i, (input, &(n, line))) in inputs.iter().zip(&lines).enumerate() {
        assert_eq!(input.seq(), i as u64, "sequence numbers are consecutive");
        if let Input::Parsed(a) = input {
            assert!(
                std::str::from_utf8(line).is_ok(),
                "accepted line {n}, which is not UTF-8"
            );
            // serde_json's `Value` is stricter than JSON Lines readers in two
            // ways newspipe is not: a number past f64 (`1e999`, kept as
            // written) and a lone surrogate escape in a field newspipe
            // ignores. Where `Value` reads the line, the fields must agree.
            if let Ok(v) = serde_json::from_slice::<Value>(strip_bom(line)) {
                assert_same_fields(a, &v);
            }
        }
    }

    let doc = collect(|out| {
        read_document(data, "f.json", 1 << 20, out);
    });
    match serde_json::from_slice::<Value>(strip_bom(data)) {
        Ok(Value::Array(items)) => assert_eq!(doc.len(), items.len(), "one input per element"),
        Ok(_) => assert_eq!(doc.len(), 1, "any other document is one input"),
        // See above: an array `Value` refuses may still hold good elements.
        Err(_) => assert!(!doc.is_empty(), "a bad document is still reported"),
    }
    for (input, i) in doc.iter().zip(0u64..) {
        assert_eq!(input.seq(), i);
    }
}

fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)
}

/// The fields a parsed article takes from its JSON object, compared.
fn assert_same_fields(a: &Article, v: &Value) {
    let obj = v.as_object().expect("an accepted line is an object");
    assert_eq!(
        obj.get("text").and_then(Value::as_str),
        Some(a.text.as_str())
    );
    if let Some(Value::String(id)) = obj.get("id") {
        assert_eq!(a.source.id.as_deref(), Some(id.as_str()));
    }
    if let Some(Value::String(url)) = obj.get("url") {
        assert_eq!(a.url.as_deref(), Some(url.as_str()));
    }
}

/// Every input an `Emitter` hands over while `read` runs.
fn collect(read: impl FnOnce(&mut Emitter<'_>)) -> Vec<Input> {
    let mut inputs = Vec::new();
    let stop = AtomicBool::new(false);
    let mut push = |i: Input| {
        inputs.push(i);
        true
    };
    read(&mut Emitter::new(&mut push, &stop));
    inputs
}

fn line_of(input: &Input) -> Option<u64> {
    match input {
        Input::Parsed(a) => a.source.line,
        Input::Rejected(r) => r.line,
        Input::Raw { source, .. } => source.line,
        Input::Prepared(k) => k.article.source.line,
    }
}

/// The lines JSON Lines reading must count, worked out independently of
/// newspipe's reader: split on `\n`; a line longer than `limit` (its `\r`
/// included) is one input (a rejection), a blank one none, any other one.
fn expected_lines(data: &[u8], limit: u64) -> Vec<(u64, &[u8])> {
    let mut parts: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if data.is_empty() || data.ends_with(b"\n") {
        parts.pop();
    }
    parts
        .into_iter()
        .zip(1u64..)
        .filter(|(l, _)| l.len() as u64 > limit || !l.iter().all(u8::is_ascii_whitespace))
        .map(|(l, n)| (n, l))
        .collect()
}

/// The entity tagger over a title (the first line, when the input has
/// more than one) and a text: spans are in order, do not overlap, lie
/// within their text and cover exactly their `text`, in code points; the
/// same call gives the same entities.
pub fn tagger(data: &[u8]) {
    let data = &data[..data.len().min(TAGGER_MAX_BYTES)];
    let raw = String::from_utf8_lossy(data);
    let (title, text) = match raw.split_once('\n') {
        Some((t, rest)) => (Some(t), rest),
        None => (None, raw.as_ref()),
    };
    let (in_title, in_text) = tagger_model().tag_article(title, text);
    assert_spans(&in_title, title.unwrap_or(""));
    assert_spans(&in_text, text);
    assert_eq!(
        tagger_model().tag_article(title, text),
        (in_title, in_text),
        "not a function of its input"
    );
}

/// Entities in order, not overlapping, covering their text in code points.
fn assert_spans(entities: &[Entity], body: &str) {
    let chars: Vec<char> = body.chars().collect();
    let mut end = 0;
    for e in entities {
        assert!(
            e.start < e.end && e.end <= chars.len(),
            "{e:?} out of range"
        );
        assert!(e.start >= end, "{e:?} overlaps the one before");
        end = e.end;
        let covered: String = chars[e.start..e.end].iter().collect();
        assert_eq!(covered, e.text, "span does not cover its text");
    }
}

/// The record writer: the input read as a file through every stage
/// (decode, normalize, id, title, boilerplate, require_text, fingerprint,
/// entities), serialized as the pipeline does and written as JSONL, is one
/// line of JSON that reads back to the article: same id, title, text and
/// entities, with `text` normalized and entity offsets valid. A stage may
/// reject the input, but never with an internal error (a caught panic).
pub fn record(data: &[u8]) {
    let input = Input::Raw {
        seq: 0,
        source: SourceInfo {
            path: "in.txt".into(),
            bytes: data.len().min(TAGGER_MAX_BYTES) as u64,
            ..SourceInfo::default()
        },
        bytes: data[..data.len().min(TAGGER_MAX_BYTES)].to_vec(),
    };
    let (mut article, mut stats) = match stages().prepare(input) {
        Ok(ok) => ok,
        Err(rejected) => return assert_not_internal(&rejected.reason),
    };
    if let Err(reason) = stages().enrich(&mut article, &mut stats) {
        return assert_not_internal(&reason);
    }
    let json = serde_json::to_vec(&*article).expect("an article serializes");
    let mut w = JsonlWriter::new(Vec::new(), Compression::None).expect("a writer to memory");
    w.write_line(&json).expect("write to memory");
    let out = w.finish().expect("finish in memory");
    assert_eq!(
        out.iter().filter(|&&b| b == b'\n').count(),
        1,
        "one line per record"
    );
    assert_eq!(out.last(), Some(&b'\n'));
    let v: Value = serde_json::from_slice(&out).expect("the record line is JSON");
    assert_eq!(v["id"].as_str(), Some(article.id.as_str()));
    assert_eq!(v["text"].as_str(), Some(article.text.as_str()));
    assert_eq!(v["title"].as_str(), article.title.as_deref());
    assert_eq!(
        v["source"]["encoding"].as_str(),
        Some(article.source.encoding.as_str())
    );
    assert!(
        !article.text.is_empty(),
        "require_text let an empty text through"
    );
    assert_normalized(&article.text);
    if let Some(t) = &article.title {
        assert!(!t.contains('\n') && !t.is_empty(), "title {t:?}");
    }
    let back: Vec<Entity> =
        serde_json::from_value(v["entities"].clone()).expect("entities read back");
    assert_eq!(back, article.entities);
    assert_spans(&article.entities, &article.text);
    assert_spans(
        &article.title_entities,
        article.title.as_deref().unwrap_or(""),
    );
}

fn assert_not_internal(reason: &RejectReason) {
    assert!(
        !matches!(reason, RejectReason::Internal(_)),
        "internal error: {reason}"
    );
}

/// Load the shipped rules, the model and the stages once, so that a fuzzing
/// process forked after this call does not spend its first runs on them.
pub fn warm_up() {
    rules();
    tagger_model();
    stages();
}

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| Rules::builtin().expect("the shipped rules load"))
}

fn tagger_model() -> &'static Tagger {
    static TAGGER: OnceLock<Tagger> = OnceLock::new();
    TAGGER.get_or_init(|| Tagger::builtin().expect("the built-in model loads"))
}

fn stages() -> &'static Stages {
    static STAGES: OnceLock<Stages> = OnceLock::new();
    STAGES.get_or_init(|| {
        Stages::new(StageSettings {
            title: &TitleConfig::default(),
            boilerplate: &BoilerplateConfig::default(),
            dedup: &DedupConfig::default(),
            entities: &EntitiesConfig::default(),
        })
        .expect("the default stages build")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Every file of the committed corpus (`seeds/<target>/`) and of the
    /// repository's `seeds/` through every check: the targets' invariants
    /// hold on the inputs fuzzing starts from, and the crash inputs kept
    /// there as regressions stay fixed.
    #[test]
    fn the_seed_corpus_passes_every_check() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in [root.join("seeds"), root.join("../seeds")] {
            for entry in walk(&dir) {
                files.push(entry);
            }
        }
        assert!(files.len() >= 8, "seed corpus found: {}", files.len());
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            for (name, check) in TARGETS {
                let r = std::panic::catch_unwind(|| check(&bytes));
                assert!(r.is_ok(), "{name} fails on {}", f.display());
            }
        }
    }

    fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return out;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else if !p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                out.push(p);
            }
        }
        out.sort();
        out
    }
}

//! Sources: where articles come from.
//!
//! A source turns the command line's inputs (files, directories walked in
//! sorted order, `-` for stdin) into a stream of [`Input`]s numbered in input
//! order. It does the I/O and nothing else: decoding and every transform run on
//! the worker pool. Anything it cannot read becomes an [`Input::Rejected`] that
//! flows on in order, so it is logged and counted like every other outcome.

pub mod decode;
pub mod jsonl;
pub mod warc;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Deserialize;

use crate::error::{Error, RejectReason, Result};
use crate::record::{Article, SourceFormat, SourceInfo};

/// How an input is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    /// By file name: `*.jsonl` / `*.ndjson` as JSONL, `*.json` as a JSON
    /// document, anything else as text.
    Auto,
    /// One plain-text article per file.
    Text,
    /// One JSON article per line.
    Jsonl,
    /// One JSON document per file: an article object or an array of them.
    Json,
    /// One web page per file.
    Html,
    /// WARC archives: each HTML response record one article.
    Warc,
}

/// `[input]` section.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    /// How inputs are read.
    pub format: InputFormat,
    /// Larger files (or JSONL lines) are rejected.
    pub max_file_bytes: u64,
    /// Skip names starting with a dot.
    pub skip_hidden: bool,
    /// Follow symbolic links that lead out of an input directory; without
    /// it such a link is rejected unread (links within the tree are read).
    pub follow_links: bool,
}

/// Largest `input.max_file_bytes`: one input is held in memory whole, a few
/// times over while its stages run.
pub const MAX_INPUT_BYTES: u64 = 1 << 30;

impl InputConfig {
    /// Check the values, naming the key.
    pub fn validate(&self) -> Result<()> {
        if self.max_file_bytes == 0 || self.max_file_bytes > MAX_INPUT_BYTES {
            return Err(Error::Config(format!(
                "invalid value for `input.max_file_bytes`: must be 1 to {MAX_INPUT_BYTES} (1 GiB)"
            )));
        }
        Ok(())
    }
}

/// One unit of work from a source.
#[derive(Debug)]
pub enum Input {
    /// A whole file's bytes, to be decoded on a worker.
    Raw {
        /// Position in input order.
        seq: u64,
        /// Where it came from (`encoding` still empty).
        source: SourceInfo,
        /// The file's content.
        bytes: Vec<u8>,
    },
    /// An article parsed from a JSONL line; its text is not yet normalized.
    Parsed(Box<Article>),
    /// An input that could not be read or parsed.
    Rejected(Rejected),
    /// An article a batch run's learning pass already decoded and prepared
    /// up to the boilerplate stage, kept for the second pass.
    Prepared(Box<Kept>),
}

/// What a batch run's learning pass keeps of one input for the second pass:
/// the article as it was before the boilerplate stage, with the rules'
/// result attached ([`Article::ruled`]), and the time its stages took.
#[derive(Debug)]
pub struct Kept {
    /// The article, prepared up to the boilerplate stage.
    pub article: Article,
    /// Nanoseconds of the steps already run, indexed like
    /// [`crate::summary::ArticleStats::stage_nanos`].
    pub nanos: [u64; crate::summary::MAX_TIMED],
}

impl Kept {
    /// Bytes of memory it holds, roughly: the texts it carries.
    pub fn heap_bytes(&self) -> usize {
        let a = &self.article;
        let ruled = a.ruled.as_ref().map_or(0, |r| {
            r.text.len() + r.title.as_ref().map_or(0, String::len)
        });
        std::mem::size_of::<Self>() + a.text.len() + a.title.as_ref().map_or(0, String::len) + ruled
    }
}

impl Input {
    /// Position in input order.
    pub fn seq(&self) -> u64 {
        match self {
            Input::Raw { seq, .. } => *seq,
            Input::Parsed(a) => a.seq,
            Input::Rejected(r) => r.seq,
            Input::Prepared(k) => k.article.seq,
        }
    }
}

/// An input left out of the output, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rejected {
    /// Position in input order.
    #[serde(skip)]
    pub seq: u64,
    /// Path relative to the input root.
    pub path: String,
    /// Line number, for JSONL inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Size of the input in bytes.
    pub bytes: u64,
    /// Counter key of the reason.
    pub kind: &'static str,
    /// The reason.
    #[serde(serialize_with = "serialize_display")]
    pub reason: RejectReason,
    /// xxh3-64 of the raw input, when it was read (the daemon's ledger key).
    #[serde(skip)]
    pub input_hash: u64,
    /// The Kafka message rejected, for the offset commit.
    #[serde(skip)]
    pub message: Option<std::sync::Arc<crate::record::MessageAt>>,
}

fn serialize_display<S: serde::Serializer>(reason: &RejectReason, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(reason)
}

impl Rejected {
    /// A rejection of the input described by `source`.
    pub fn new(seq: u64, source: &SourceInfo, reason: RejectReason) -> Self {
        Rejected {
            seq,
            path: source.path.clone(),
            line: source.line,
            bytes: source.bytes,
            kind: reason.kind(),
            reason,
            input_hash: source.input_hash,
            message: source.message.clone(),
        }
    }

    /// `path` or `path:line`, for messages.
    pub fn location(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{line}", self.path),
            None => self.path.clone(),
        }
    }
}

/// Hands inputs to the pipeline in order, numbering them, and counts what a
/// source passes over on purpose (a WARC's request records), which is neither
/// an input nor a reject.
///
/// `emit` returns false when the pipeline is shutting down; reading stops.
pub struct Emitter<'a> {
    next_seq: u64,
    emit: &'a mut dyn FnMut(Input) -> bool,
    stop: &'a AtomicBool,
    skipped: BTreeMap<&'static str, u64>,
    kept: Option<&'a mut KeptLookup<'a>>,
}

/// Looks up an input kept prepared by an earlier pass: given the sequence
/// number, relative path and size of a whole file about to be read, the
/// kept input if it is that file.
pub type KeptLookup<'a> = dyn FnMut(u64, &str, u64) -> Option<Input> + 'a;

impl<'a> Emitter<'a> {
    /// Wrap a callback that forwards inputs downstream.
    pub fn new(emit: &'a mut dyn FnMut(Input) -> bool, stop: &'a AtomicBool) -> Self {
        Emitter {
            next_seq: 0,
            emit,
            stop,
            skipped: BTreeMap::new(),
            kept: None,
        }
    }

    /// Consult `kept` before reading a whole file, so a file an earlier
    /// pass kept prepared is not opened and read again.
    pub fn with_kept(mut self, kept: &'a mut KeptLookup<'a>) -> Self {
        self.kept = Some(kept);
        self
    }

    /// The kept input for the whole file `rel` of `bytes` bytes about to be
    /// read, numbered as the next input, if there is one.
    fn take_kept(&mut self, rel: &str, bytes: u64) -> Option<Input> {
        let input = (self.kept.as_mut()?)(self.next_seq, rel, bytes)?;
        self.next_seq += 1;
        Some(input)
    }

    /// Count one part of an input passed over on purpose, by its kind (a
    /// fixed key such as `warc_request`, so the map stays small).
    pub fn skip(&mut self, kind: &'static str) {
        *self.skipped.entry(kind).or_default() += 1;
    }

    /// Add counts taken from another emitter (one a reader wraps around this one).
    pub fn add_skipped(&mut self, skipped: BTreeMap<&'static str, u64>) {
        for (kind, n) in skipped {
            *self.skipped.entry(kind).or_default() += n;
        }
    }

    /// The skip counts so far, by kind, leaving them empty.
    pub fn take_skipped(&mut self) -> BTreeMap<&'static str, u64> {
        std::mem::take(&mut self.skipped)
    }

    /// The sequence number the next input will get.
    pub fn next_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Forward one input. Returns false when reading should stop.
    pub fn emit(&mut self, input: Input) -> bool {
        !self.stop.load(Ordering::Relaxed) && (self.emit)(input)
    }

    fn reject(&mut self, source: &SourceInfo, reason: RejectReason) -> bool {
        let seq = self.next_seq();
        self.emit(Input::Rejected(Rejected::new(seq, source, reason)))
    }

    /// True once a shutdown was requested.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The stop flag itself, for readers that must notice a shutdown while
    /// they wait for input.
    pub fn stop_flag(&self) -> &'a AtomicBool {
        self.stop
    }
}

/// Standard input read on a thread of its own and handed over in chunks, so
/// that a reader waiting on a pipe that stays open still sees a shutdown:
/// once `stop` is set, `read` fails with "interrupted" instead of blocking.
/// (The pump thread stays blocked in its read; it ends with the process.)
struct StdinPump<'a> {
    chunks: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
    done: bool,
    stop: &'a AtomicBool,
}

impl<'a> StdinPump<'a> {
    fn start(stop: &'a AtomicBool) -> Self {
        let (tx, chunks) = std::sync::mpsc::sync_channel(4);
        std::thread::Builder::new()
            .name("newspipe-stdin".into())
            .spawn(move || {
                let mut stdin = std::io::stdin().lock();
                loop {
                    let mut chunk = vec![0u8; 1 << 16];
                    let msg = match stdin.read(&mut chunk) {
                        Ok(n) => {
                            chunk.truncate(n);
                            Ok(chunk)
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => Err(e),
                    };
                    let last = !matches!(&msg, Ok(c) if !c.is_empty());
                    if tx.send(msg).is_err() || last {
                        return;
                    }
                }
            })
            .ok();
        StdinPump {
            chunks,
            chunk: Vec::new(),
            pos: 0,
            done: false,
            stop,
        }
    }
}

impl Read for StdinPump<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        use std::sync::mpsc::RecvTimeoutError;
        loop {
            if self.pos < self.chunk.len() {
                let n = out.len().min(self.chunk.len() - self.pos);
                out[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            if self.stop.load(Ordering::Relaxed) {
                return Err(std::io::Error::other(
                    "interrupted before the end of standard input",
                ));
            }
            match self
                .chunks
                .recv_timeout(std::time::Duration::from_millis(50))
            {
                Ok(Ok(chunk)) if chunk.is_empty() => self.done = true,
                Ok(Ok(chunk)) => (self.chunk, self.pos) = (chunk, 0),
                Ok(Err(e)) => return Err(e),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.done = true,
            }
        }
    }
}

/// Run `read` against an emitter that collects every input (for tests).
#[cfg(test)]
pub(crate) fn collect_inputs(read: impl FnOnce(&mut Emitter<'_>)) -> Vec<Input> {
    let mut got = Vec::new();
    let stop = AtomicBool::new(false);
    let mut push = |i: Input| {
        got.push(i);
        true
    };
    read(&mut Emitter::new(&mut push, &stop));
    got
}

/// The name `-` stands for standard input.
pub const STDIN: &str = "-";

/// Read every input in order: each root is a file, a directory (walked
/// recursively in sorted path order) or `-` for stdin. Blocking; run it on a
/// thread of its own.
pub fn read_inputs(roots: &[PathBuf], cfg: &InputConfig, out: &mut Emitter<'_>) {
    for root in roots {
        if out.stopped() {
            return;
        }
        let keep_going = if root.as_os_str() == STDIN {
            read_stdin(cfg, out)
        } else if root.is_dir() {
            read_dir(root, cfg, out)
        } else {
            read_file(root, &display_path(root), cfg, out)
        };
        if !keep_going {
            return;
        }
    }
}

fn display_path(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// How one file is read, from `input.format` and, for `auto`, its name
/// (after a `.gz` or `.zst` suffix, see [`compression_of`]): `*.jsonl` /
/// `*.ndjson` JSONL, `*.json` a JSON document, `*.html` / `*.htm` a page,
/// `*.warc` an archive, anything else text (or a page, when its bytes say so).
pub fn format_of(path: &Path, format: InputFormat) -> InputFormat {
    if format != InputFormat::Auto {
        return format;
    }
    let (inner, _) = compression_of(path);
    let ext = Path::new(inner)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    let is = |e: &str| ext.eq_ignore_ascii_case(e);
    if is("jsonl") || is("ndjson") {
        InputFormat::Jsonl
    } else if is("json") {
        InputFormat::Json
    } else if is("html") || is("htm") || is("xhtml") {
        InputFormat::Html
    } else if is("warc") {
        InputFormat::Warc
    } else {
        InputFormat::Text
    }
}

/// A compression read through transparently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// `.gz` (every gzip member, as WARC files chain them).
    Gzip,
    /// `.zst`.
    Zstd,
}

/// The file name without a `.gz`/`.zst` suffix, and that compression.
pub fn compression_of(path: &Path) -> (&str, Option<Compression>) {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".gz") {
        (&name[..name.len() - 3], Some(Compression::Gzip))
    } else if lower.ends_with(".zst") {
        (&name[..name.len() - 4], Some(Compression::Zstd))
    } else {
        (name, None)
    }
}

/// True when the bytes open like a web page (`<!doctype html`, `<html`,
/// `<head`, `<body`, after whitespace, a byte-order mark or comments).
pub fn looks_like_html(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let trimmed = head.trim_ascii_start();
    if !trimmed.starts_with(b"<") {
        return false;
    }
    let lower = trimmed.to_ascii_lowercase();
    [&b"<!doctype html"[..], b"<html", b"<head", b"<body"]
        .iter()
        .any(|m| lower.windows(m.len()).any(|w| w == *m))
}

fn read_dir(root: &Path, cfg: &InputConfig, out: &mut Emitter<'_>) -> bool {
    walk(root, cfg, &mut |entry| {
        if out.stopped() {
            return false;
        }
        match entry {
            Entry::File { path, rel } => read_file(&path, &rel, cfg, out),
            Entry::Refused { rel, reason } => {
                let info = SourceInfo {
                    path: rel,
                    ..SourceInfo::default()
                };
                out.reject(&info, reason)
            }
        }
    })
}

/// One entry of a directory walk, in the order [`read_inputs`] reads them.
#[derive(Debug)]
pub enum Entry {
    /// A file to read: its path, and the path relative to the root that its
    /// articles carry.
    File {
        /// Where the file is.
        path: PathBuf,
        /// Relative to the walked root.
        rel: String,
    },
    /// An entry refused unread (a link leading out of the tree, a walk error).
    Refused {
        /// Relative to the walked root (the root itself when the walk failed there).
        rel: String,
        /// Why.
        reason: RejectReason,
    },
}

impl Entry {
    /// The path relative to the walked root.
    pub fn rel(&self) -> &str {
        match self {
            Entry::File { rel, .. } | Entry::Refused { rel, .. } => rel,
        }
    }
}

/// Walk `root` recursively in sorted path order, applying the hidden-file
/// and link policies of `cfg`, and hand each entry to `visit` until it
/// returns false. Returns false when `visit` stopped the walk.
pub fn walk(root: &Path, cfg: &InputConfig, visit: &mut dyn FnMut(Entry) -> bool) -> bool {
    // Links are resolved by hand unless the user asked to follow them, so
    // one inside the tree does not leak what lies outside it.
    let canonical_root = if cfg.follow_links {
        None
    } else {
        match std::fs::canonicalize(root) {
            Ok(r) => Some(r),
            Err(e) => {
                return visit(Entry::Refused {
                    rel: display_path(root),
                    reason: RejectReason::Unreadable(io_reason(&e)),
                })
            }
        }
    };
    let walker = walkdir::WalkDir::new(root)
        .follow_links(cfg.follow_links)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            // The root itself may be `.` or a hidden directory the user named.
            e.depth() == 0 || !cfg.skip_hidden || !e.file_name().to_string_lossy().starts_with('.')
        });
    for entry in walker {
        let next = match entry {
            Ok(entry) if entry.file_type().is_dir() => continue,
            Ok(entry) => {
                let rel = entry
                    .path()
                    .strip_prefix(root)
                    .unwrap_or(entry.path())
                    .to_string_lossy()
                    .into_owned();
                match (entry.path_is_symlink(), &canonical_root) {
                    (true, Some(croot)) => match link_target(entry.path(), croot) {
                        LinkTarget::File => Entry::File {
                            path: entry.into_path(),
                            rel,
                        },
                        // Its files are read where they really are.
                        LinkTarget::DirInside => continue,
                        LinkTarget::Refused(reason) => Entry::Refused { rel, reason },
                    },
                    _ => Entry::File {
                        path: entry.into_path(),
                        rel,
                    },
                }
            }
            Err(err) => {
                let rel = err
                    .path()
                    .map(|p| {
                        p.strip_prefix(root)
                            .unwrap_or(p)
                            .to_string_lossy()
                            .into_owned()
                    })
                    .unwrap_or_else(|| display_path(root));
                Entry::Refused {
                    rel,
                    reason: RejectReason::Unreadable(io_reason(&err)),
                }
            }
        };
        if !visit(next) {
            return false;
        }
    }
    true
}

/// Read the entries `rels` of the directory `root`, in that order, as
/// [`read_inputs`] would read them in a walk of `root`: each is a path
/// relative to `root` (as [`walk`] gives them), and a symbolic link is held
/// to the same policy. A path that is absolute or climbs out of `root` is
/// rejected unread. This is how a cluster task reads its share of a walk.
pub fn read_listed(root: &Path, rels: &[String], cfg: &InputConfig, out: &mut Emitter<'_>) {
    let canonical_root = std::fs::canonicalize(root).ok();
    for rel in rels {
        if out.stopped() {
            return;
        }
        let info = || SourceInfo {
            path: rel.clone(),
            ..SourceInfo::default()
        };
        let relative = Path::new(rel);
        let inside = relative
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !inside {
            let reason = RejectReason::Unreadable("not a path inside the input directory".into());
            if !out.reject(&info(), reason) {
                return;
            }
            continue;
        }
        let path = root.join(relative);
        let refused = match (&canonical_root, cfg.follow_links) {
            (Some(croot), false) if path.is_symlink() => match link_target(&path, croot) {
                LinkTarget::Refused(reason) => Some(reason),
                LinkTarget::DirInside => Some(RejectReason::NotAFile),
                LinkTarget::File => None,
            },
            _ => None,
        };
        let keep_going = match refused {
            Some(reason) => out.reject(&info(), reason),
            None => read_file(&path, rel, cfg, out),
        };
        if !keep_going {
            return;
        }
    }
}

/// Where a symbolic link in an input tree leads, for the no-follow policy.
enum LinkTarget {
    /// A file inside the tree: read it.
    File,
    /// A directory inside the tree: skip it (its files are walked anyway).
    DirInside,
    /// Outside the tree, or broken: reject it unread.
    Refused(RejectReason),
}

fn link_target(link: &Path, canonical_root: &Path) -> LinkTarget {
    match std::fs::canonicalize(link) {
        Err(e) => LinkTarget::Refused(RejectReason::Unreadable(format!(
            "broken symbolic link: {}",
            io_reason(&e)
        ))),
        Ok(target) if !target.starts_with(canonical_root) => {
            LinkTarget::Refused(RejectReason::LinkOutside(target.display().to_string()))
        }
        Ok(target) if target.is_dir() => LinkTarget::DirInside,
        Ok(_) => LinkTarget::File,
    }
}

fn io_reason(err: &dyn std::error::Error) -> String {
    let mut msg = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !msg.contains(&s) {
            msg.push_str(": ");
            msg.push_str(&s);
        }
        cause = c.source();
    }
    msg
}

fn read_file(path: &Path, rel: &str, cfg: &InputConfig, out: &mut Emitter<'_>) -> bool {
    let mut info = SourceInfo {
        path: rel.to_owned(),
        ..SourceInfo::default()
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return out.reject(&info, RejectReason::Unreadable(io_reason(&e))),
    };
    if !meta.is_file() {
        return out.reject(&info, RejectReason::NotAFile);
    }
    info.bytes = meta.len();
    // A whole file an earlier pass kept is taken as kept, unread.
    let whole = !matches!(
        format_of(path, cfg.format),
        InputFormat::Jsonl | InputFormat::Json | InputFormat::Warc
    ) && compression_of(path).1.is_none();
    if let Some(input) = whole.then(|| out.take_kept(rel, info.bytes)).flatten() {
        return out.emit(input);
    }
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return out.reject(&info, RejectReason::Unreadable(io_reason(&e))),
    };
    read_opened(file, meta.len(), path, rel, cfg, out)
}

/// Read a regular file already opened (and `len` bytes long when checked)
/// the way [`read_inputs`] reads each file: by its name's format, JSONL line
/// by line, anything else whole, with the same limits and rejects. `path`
/// gives the name, `rel` the path the inputs carry. The daemon's watcher
/// opens files itself (to refuse links and retry transient errors) and reads
/// them through this, so both modes read a file alike.
pub fn read_opened(
    file: std::fs::File,
    len: u64,
    path: &Path,
    rel: &str,
    cfg: &InputConfig,
    out: &mut Emitter<'_>,
) -> bool {
    let info = SourceInfo {
        path: rel.to_owned(),
        bytes: len,
        ..SourceInfo::default()
    };
    let format = format_of(path, cfg.format);
    let (_, compression) = compression_of(path);
    let reader: Box<dyn Read> = match compression {
        None => Box::new(file),
        Some(Compression::Gzip) => Box::new(flate2::read::MultiGzDecoder::new(
            std::io::BufReader::new(file),
        )),
        Some(Compression::Zstd) => match zstd::stream::read::Decoder::new(file) {
            Ok(d) => Box::new(d),
            Err(e) => return out.reject(&info, RejectReason::Unreadable(io_reason(&e))),
        },
    };
    match format {
        InputFormat::Jsonl => {
            return jsonl::read_lines(
                std::io::BufReader::new(reader),
                rel,
                cfg.max_file_bytes,
                out,
            )
        }
        InputFormat::Json => return jsonl::read_document(reader, rel, cfg.max_file_bytes, out),
        InputFormat::Warc => {
            return warc::read_records(
                std::io::BufReader::new(reader),
                rel,
                cfg.max_file_bytes,
                out,
            )
        }
        InputFormat::Text | InputFormat::Html | InputFormat::Auto => {}
    }
    // A compressed file's size says nothing of its content's: the limit is
    // applied while reading.
    if compression.is_none() && len > cfg.max_file_bytes {
        let reason = RejectReason::TooLarge {
            bytes: len,
            limit: cfg.max_file_bytes,
        };
        return out.reject(&info, reason);
    }
    // The size hint lets one buffer of the right size take the whole file.
    let hint = usize::try_from(len)
        .unwrap_or(0)
        .min(cfg.max_file_bytes as usize);
    let sniff = cfg.format == InputFormat::Auto;
    read_whole(reader, info, cfg.max_file_bytes, hint, format, sniff, out)
}

/// Read one whole-text article, refusing to buffer more than `limit` bytes
/// (a file can grow after its size was checked; stdin has no size).
fn read_whole(
    reader: impl Read,
    mut info: SourceInfo,
    limit: u64,
    size_hint: usize,
    format: InputFormat,
    sniff: bool,
    out: &mut Emitter<'_>,
) -> bool {
    // One spare byte, so reaching the end of the file needs no regrowth.
    let mut bytes = Vec::with_capacity(size_hint.saturating_add(1));
    if let Err(e) = reader.take(limit.saturating_add(1)).read_to_end(&mut bytes) {
        return out.reject(&info, RejectReason::Unreadable(io_reason(&e)));
    }
    info.bytes = bytes.len() as u64;
    if info.bytes > limit {
        let reason = RejectReason::TooLarge {
            bytes: info.bytes,
            limit,
        };
        return out.reject(&info, reason);
    }
    // Under `auto` a page is a page whatever its name; a format the user
    // chose is taken as given.
    if format == InputFormat::Html || sniff && looks_like_html(&bytes) {
        info.format = SourceFormat::Html;
    }
    let seq = out.next_seq();
    out.emit(Input::Raw {
        seq,
        source: info,
        bytes,
    })
}

fn read_stdin(cfg: &InputConfig, out: &mut Emitter<'_>) -> bool {
    use std::io::BufRead;
    let mut raw = std::io::BufReader::with_capacity(1 << 16, StdinPump::start(out.stop_flag()));
    // A gzip or zstd stream is read through, as a `.gz` or `.zst` file is;
    // it has no name to say so, so its first bytes do. (A read error here
    // comes back at the first real read, and is reported there.)
    let head = raw.fill_buf().map(<[u8]>::to_vec).unwrap_or_default();
    let stdin: Box<dyn BufRead + '_> = if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
            raw,
        )))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        match zstd::stream::read::Decoder::with_buffer(raw) {
            Ok(d) => Box::new(std::io::BufReader::new(d)),
            Err(e) => {
                let info = SourceInfo {
                    path: STDIN.to_owned(),
                    ..SourceInfo::default()
                };
                return out.reject(&info, RejectReason::Unreadable(io_reason(&e)));
            }
        }
    } else {
        Box::new(raw)
    };
    if cfg.format == InputFormat::Jsonl {
        jsonl::read_lines(stdin, STDIN, cfg.max_file_bytes, out)
    } else if cfg.format == InputFormat::Json {
        jsonl::read_document(stdin, STDIN, cfg.max_file_bytes, out)
    } else {
        let info = SourceInfo {
            path: STDIN.to_owned(),
            ..SourceInfo::default()
        };
        read_whole(
            stdin,
            info,
            cfg.max_file_bytes,
            0,
            cfg.format,
            cfg.format == InputFormat::Auto,
            out,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> InputConfig {
        InputConfig {
            format: InputFormat::Auto,
            max_file_bytes: 100,
            skip_hidden: true,
            follow_links: false,
        }
    }

    #[test]
    fn links_out_of_the_tree_are_refused_unless_followed() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "secret words").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "inside").unwrap();
        let link = |target: &Path, name: &str| {
            std::os::unix::fs::symlink(target, dir.path().join(name)).unwrap()
        };
        link(&outside.path().join("secret.txt"), "leak.txt");
        link(outside.path(), "leakdir");
        link(&dir.path().join("a.txt"), "alias.txt");
        link(&dir.path().join("missing"), "broken.txt");
        let describe = |got: Vec<Input>| -> Vec<String> {
            got.iter()
                .map(|i| match i {
                    Input::Raw { source, bytes, .. } => {
                        format!("{}={}", source.path, String::from_utf8_lossy(bytes))
                    }
                    Input::Rejected(r) => format!("{}:{}", r.path, r.kind),
                    Input::Parsed(_) | Input::Prepared(_) => "parsed".into(),
                })
                .collect()
        };
        let got = describe(collect(&[dir.path().to_path_buf()], &cfg()));
        assert_eq!(
            got,
            [
                "a.txt=inside",
                "alias.txt=inside",
                "broken.txt:unreadable",
                "leak.txt:link_outside",
                "leakdir:link_outside"
            ]
        );
        assert!(!got.iter().any(|g| g.contains("secret")));
        let mut follow = cfg();
        follow.follow_links = true;
        let got = describe(collect(&[dir.path().to_path_buf()], &follow));
        assert!(got.contains(&"leak.txt=secret words".to_owned()), "{got:?}");
    }

    fn collect(roots: &[PathBuf], cfg: &InputConfig) -> Vec<Input> {
        collect_inputs(|em| read_inputs(roots, cfg, em))
    }

    #[test]
    fn walks_directories_in_sorted_order_with_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("b")).unwrap();
        std::fs::write(dir.path().join("b/2.txt"), "two").unwrap();
        std::fs::write(dir.path().join("a.txt"), "one").unwrap();
        std::fs::write(dir.path().join("c.txt"), "three").unwrap();
        std::fs::write(dir.path().join(".hidden"), "x").unwrap();
        let got = collect(&[dir.path().to_path_buf()], &cfg());
        let paths: Vec<String> = got
            .iter()
            .map(|i| match i {
                Input::Raw { source, .. } => source.path.clone(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(paths, ["a.txt", "b/2.txt", "c.txt"]);
        let seqs: Vec<u64> = got.iter().map(Input::seq).collect();
        assert_eq!(seqs, [0, 1, 2]);
    }

    #[test]
    fn a_page_is_sniffed_under_auto_but_a_chosen_text_format_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("page.txt"), "<!DOCTYPE html><p>x</p>").unwrap();
        let format_with = |format| {
            let mut c = cfg();
            c.format = format;
            match &collect(&[dir.path().to_path_buf()], &c)[..] {
                [Input::Raw { source, .. }] => source.format,
                other => panic!("unexpected {other:?}"),
            }
        };
        assert_eq!(format_with(InputFormat::Auto), SourceFormat::Html);
        assert_eq!(format_with(InputFormat::Text), SourceFormat::Text);
    }

    #[test]
    fn oversized_file_is_rejected_with_sizes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big.txt"), vec![b'a'; 101]).unwrap();
        let got = collect(&[dir.path().to_path_buf()], &cfg());
        match &got[..] {
            [Input::Rejected(r)] => {
                assert_eq!(r.kind, "too_large");
                assert_eq!(r.path, "big.txt");
                assert!(r.reason.to_string().contains("101 bytes"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn missing_root_is_rejected_not_fatal() {
        let got = collect(&[PathBuf::from("/definitely/not/here.txt")], &cfg());
        assert!(matches!(&got[..], [Input::Rejected(r)] if r.kind == "unreadable"));
    }

    #[test]
    fn a_file_that_vanishes_after_the_walk_saw_it_is_one_reject_and_reading_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.txt", "b.txt", "c.txt"] {
            std::fs::write(dir.path().join(name), name).unwrap();
        }
        // The sorted walk has listed the directory by the time a.txt is
        // handed over: deleting b.txt then makes it vanish before its read.
        let gone = dir.path().join("b.txt");
        let stop = AtomicBool::new(false);
        let mut got = Vec::new();
        let mut push = |i: Input| {
            let _ = std::fs::remove_file(&gone);
            got.push(i);
            true
        };
        read_inputs(
            &[dir.path().to_path_buf()],
            &cfg(),
            &mut Emitter::new(&mut push, &stop),
        );
        match &got[..] {
            [Input::Raw { source: a, .. }, Input::Rejected(b), Input::Raw { source: c, .. }] => {
                assert_eq!((a.path.as_str(), c.path.as_str()), ("a.txt", "c.txt"));
                assert_eq!((b.path.as_str(), b.kind), ("b.txt", "unreadable"));
                assert!(
                    b.reason.to_string().contains("No such file"),
                    "{}",
                    b.reason
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn stop_flag_ends_reading() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..5 {
            std::fs::write(dir.path().join(format!("{i}.txt")), "x").unwrap();
        }
        let stop = AtomicBool::new(false);
        let mut n = 0;
        let mut push = |_: Input| {
            n += 1;
            stop.store(n >= 2, Ordering::Relaxed);
            true
        };
        let mut em = Emitter::new(&mut push, &stop);
        read_inputs(&[dir.path().to_path_buf()], &cfg(), &mut em);
        assert_eq!(n, 2);
    }
}

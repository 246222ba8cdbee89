//! The daemon's crash-safe state.
//!
//! ```text
//! state_dir/lock                held (flock) by the one daemon using this state
//! state_dir/state.json          committed state: next segment, retained segments,
//!                               the dedup config it was built with
//! state_dir/deltas/NNNNNNNN.bin per segment: the ledger keys and dedup entries of
//!                               every input the segment accounts for
//! state_dir/learned/NNNNNNNN.bin with `boilerplate.learn`: the learner and the
//!                               chrome in use after segment N (only the latest
//!                               committed one is kept)
//! output_dir/seg-NNNNNNNN.jsonl committed output
//! output_dir/.seg-NNNNNNNN.jsonl.tmp  a segment being written
//! output_dir/_rejects/seg-NNNNNNNN.jsonl  the inputs segment N rejected (path,
//!                               reason), committed with it; absent when none
//! ```
//!
//! Commit protocol for segment N (every file write is temp + fsync + rename):
//! 1. the segment's records are already in `.seg-N.jsonl.tmp`; fsync it;
//! 2. write `deltas/N.bin` (and `learned/N.bin` when learning);
//! 3. write `state.json` with `next_segment = N + 1, pending = N` (and
//!    `learned = N`): the commit point;
//! 4. rename `.seg-N.jsonl.tmp` to `seg-N.jsonl` (and the rejects file's temp
//!    to its name); remove the previous `learned/` file.
//!
//! Recovery: a pending segment whose temp file survived is renamed forward
//! (step 4 redone); every temp segment and delta numbered `>= next_segment`
//! was never committed and is deleted, and its inputs are processed again.
//! The ledger and the dedup index are rebuilt from the retained deltas, and
//! the learner is the one `state.json` names, so they advance only with
//! committed output; every other `learned/` file is deleted.
//!
//! State and output must agree, or recovery refuses to start (exit 2) with a
//! way to repair: a `state.json` that is gone while committed segments or
//! deltas remain (starting afresh would write `seg-00000000` over the old
//! one), a committed file numbered at or past `next_segment` (an old
//! `state.json` restored), or a retained segment whose file is missing.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::record::Fingerprint;

/// Version 2: dedup fingerprints carry the shingle count (fingerprint v2).
/// Version 3: the input count and the learned boilerplate.
pub const STATE_VERSION: u32 = 3;
const DELTA_MAGIC: &[u8; 4] = b"NPD1";

/// One committed segment, as remembered in `state.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SegmentMeta {
    /// Segment number.
    pub seq: u64,
    /// Unix seconds of the commit; drives retention.
    pub committed_at: u64,
    /// Records written to the segment file (0: no file was written).
    pub records: u64,
    /// Rejected inputs written to its rejects file (0: none was written).
    #[serde(default)]
    pub rejects: u64,
}

/// The committed state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct State {
    /// Format version of this file.
    pub version: u32,
    /// The dedup configuration the index was built with.
    pub dedup_config: String,
    /// Number the next segment gets.
    pub next_segment: u64,
    /// Segment committed in `state.json` whose file may still need its final rename.
    pub pending: Option<u64>,
    /// Segments within the retention window, oldest first.
    pub segments: Vec<SegmentMeta>,
    /// Inputs accounted for by every segment ever committed: the position
    /// in the daemon's input of the next one.
    pub inputs: u64,
    /// The `[boilerplate]` learning values the learned state was built with
    /// (empty: not learning).
    pub learn_config: String,
    /// Segment whose `learned/` file holds the learned state, when learning.
    pub learned: Option<u64>,
}

/// One input a segment accounts for: what the ledger and the index need.
#[derive(Debug, Clone, PartialEq)]
pub struct DeltaEntry {
    /// Hash of the input's path relative to the watched directory.
    pub path_hash: u64,
    /// xxh3 of the input's raw bytes.
    pub input_hash: u64,
    /// Unix seconds when the input was taken.
    pub ingested_at: u64,
    /// Content id and fingerprint, for articles that reached dedup.
    pub article: Option<(String, Fingerprint)>,
}

/// Paths of the state and output directories.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Where `state.json` and `deltas/` live.
    pub state_dir: PathBuf,
    /// Where segments are written.
    pub output_dir: PathBuf,
    /// Extension of segment files, without the dot.
    pub extension: String,
}

impl Layout {
    /// `seg-NNNNNNNN.<ext>`.
    pub fn segment(&self, seq: u64) -> PathBuf {
        self.output_dir
            .join(format!("seg-{seq:08}.{}", self.extension))
    }

    /// `.seg-NNNNNNNN.<ext>.tmp`: hidden, so readers that skip dot files never see it.
    pub fn segment_tmp(&self, seq: u64) -> PathBuf {
        self.output_dir
            .join(format!(".seg-{seq:08}.{}.tmp", self.extension))
    }

    /// Where rejects files go: a folder of their own, so a reader of
    /// `output_dir/*.jsonl` sees records only.
    pub fn rejects_dir(&self) -> PathBuf {
        self.output_dir.join("_rejects")
    }

    /// `_rejects/seg-NNNNNNNN.jsonl`: the inputs segment `seq` rejected.
    pub fn rejects(&self, seq: u64) -> PathBuf {
        self.rejects_dir().join(format!("seg-{seq:08}.jsonl"))
    }

    /// `_rejects/.seg-NNNNNNNN.jsonl.tmp`: a rejects file being written.
    pub fn rejects_tmp(&self, seq: u64) -> PathBuf {
        self.rejects_dir().join(format!(".seg-{seq:08}.jsonl.tmp"))
    }

    fn learned_dir(&self) -> PathBuf {
        self.state_dir.join("learned")
    }

    /// `learned/NNNNNNNN.bin`: the learned state after segment `seq`.
    pub fn learned(&self, seq: u64) -> PathBuf {
        self.learned_dir().join(format!("{seq:08}.bin"))
    }

    fn deltas(&self) -> PathBuf {
        self.state_dir.join("deltas")
    }

    fn delta(&self, seq: u64) -> PathBuf {
        self.deltas().join(format!("{seq:08}.bin"))
    }

    fn state_file(&self) -> PathBuf {
        self.state_dir.join("state.json")
    }
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Write `bytes` to `path` atomically: temp file, fsync, rename, fsync dir.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(io("cannot create a temporary file in", dir))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(io("cannot write", path))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .map_err(io("cannot rename into place", path))?;
    sync_dir(dir)
}

/// fsync a directory so a rename in it survives a power cut.
pub fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("cannot sync directory", dir))
}

/// The lock that makes a daemon the only one using its state directory: an
/// exclusive `flock` on `state_dir/lock`, held while this value lives. The
/// kernel drops it when the process ends however it ends, so a crash never
/// leaves a stale lock behind.
#[derive(Debug)]
pub struct StateLock {
    _file: std::fs::File,
}

/// Take the state directory's lock (creating the directory), or refuse,
/// naming the directory and the pid of the daemon holding it. A refusal is a
/// [`Error::Config`] (exit 2): starting again will not help while the other
/// one runs, so systemd's `RestartPreventExitStatus=2` stops retrying.
pub fn lock(state_dir: &Path) -> Result<StateLock> {
    std::fs::create_dir_all(state_dir).map_err(io("cannot create directory", state_dir))?;
    let path = state_dir.join("lock");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io("cannot open", &path))?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            let holder = holder.trim();
            let pid = if holder.is_empty() {
                String::new()
            } else {
                format!(" (pid {holder})")
            };
            return Err(Error::Config(format!(
                "`serve.state_dir` {} is in use by another newspipe{pid}: one daemon per state \
                 directory. Stop the other one, or give this one its own --state-dir and \
                 --output-dir.",
                state_dir.display()
            )));
        }
        Err(e) => return Err(io("cannot lock", &path)(e.into())),
    }
    // The pid is for the message above only; the lock is the flock.
    file.set_len(0)
        .and_then(|()| file.write_all(std::process::id().to_string().as_bytes()))
        .map_err(io("cannot write", &path))?;
    Ok(StateLock { _file: file })
}

/// Refuse directories that overlap: equal, or one inside another. The
/// daemon would ingest its own output or state (watch and output), or
/// mistake its state for output and the other way round. Each directory is
/// created first if missing, so symbolic links and `..` are resolved before
/// comparing. `dirs` pairs each config key with its path.
pub fn check_disjoint(dirs: &[(&str, &Path)]) -> Result<()> {
    let mut real = Vec::with_capacity(dirs.len());
    for (key, dir) in dirs {
        std::fs::create_dir_all(dir).map_err(io("cannot create directory", dir))?;
        let canon = std::fs::canonicalize(dir).map_err(io("cannot resolve", dir))?;
        real.push((*key, *dir, canon));
    }
    for (i, (ka, a, ca)) in real.iter().enumerate() {
        for (kb, b, cb) in &real[i + 1..] {
            let how = if ca == cb {
                "is the same directory as"
            } else if cb.starts_with(ca) {
                "contains"
            } else if ca.starts_with(cb) {
                "is inside"
            } else {
                continue;
            };
            return Err(Error::Config(format!(
                "`{ka}` {} {how} `{kb}` {}: the daemon's watched, output and state \
                 directories must not overlap (it would read its own output or state as input, \
                 or mix state with output). Give three separate directories.",
                a.display(),
                b.display()
            )));
        }
    }
    Ok(())
}

/// What recovery found.
#[derive(Debug)]
pub struct Recovered {
    /// The committed state (fresh when there was none).
    pub state: State,
    /// Ledger keys `(path_hash, input_hash)` of every retained input.
    pub ledger: HashSet<(u64, u64)>,
    /// Dedup entries of retained inputs, in commit order, to replay.
    pub entries: Vec<DeltaEntry>,
    /// Uncommitted files that were deleted.
    pub discarded: Vec<PathBuf>,
    /// The committed learned state: its file and bytes (when `state.json`
    /// names one and learning is on).
    pub learned: Option<(PathBuf, Vec<u8>)>,
}

/// Load the state, finish or discard interrupted commits, and read the
/// retained deltas and the learned state. Refuses a state built with another
/// dedup configuration, or learned under other `[boilerplate]` values
/// (`learn_config`, empty when not learning: turning learning on or off is
/// allowed, the learner then starts afresh or is dropped).
pub fn recover(layout: &Layout, dedup_config: &str, learn_config: &str) -> Result<Recovered> {
    for dir in [
        &layout.state_dir,
        &layout.deltas(),
        &layout.learned_dir(),
        &layout.output_dir,
        &layout.rejects_dir(),
    ] {
        std::fs::create_dir_all(dir).map_err(io("cannot create directory", dir))?;
    }
    let state_path = layout.state_file();
    let state = match std::fs::read(&state_path) {
        Ok(bytes) => {
            let state: State = serde_json::from_slice(&bytes).map_err(|e| Error::State {
                path: state_path.clone(),
                message: format!("corrupt: {e}"),
            })?;
            if state.version != STATE_VERSION {
                return Err(Error::State {
                    path: state_path.clone(),
                    message: format!(
                        "state version {} is not supported (expected {STATE_VERSION}): it was \
                         written by another newspipe release, whose dedup index and learned \
                         boilerplate this one cannot read. To rebuild, stop newspipe, move the state directory and the output \
                         directory aside, and start again: every file in the watched directory is \
                         processed anew.",
                        state.version
                    ),
                });
            }
            if state.dedup_config != dedup_config {
                return Err(Error::StateMismatch {
                    path: state_path.clone(),
                    message: format!(
                        "was built with dedup config `{}`, but the current config is `{}`. \
                     The dedup index cannot be reused. To rebuild, stop newspipe, move the state \
                     directory and the output directory aside, and start again: every file in the \
                     watched directory is processed anew.",
                        state.dedup_config, dedup_config
                    ),
                });
            }
            if !state.learn_config.is_empty()
                && !learn_config.is_empty()
                && state.learn_config != learn_config
            {
                return Err(Error::StateMismatch {
                    path: state_path.clone(),
                    message: format!(
                        "learned boilerplate with `{}`, but the current config is `{}`. The \
                     learned state cannot be reused under other values. Set the old values \
                     again, or turn `boilerplate.learn` off and on (the learner starts afresh \
                     from the next input), or, to rebuild, stop newspipe, move the state \
                     directory and the output directory aside, and start again.",
                        state.learn_config, learn_config
                    ),
                });
            }
            state
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            refuse_lost_state(layout)?;
            State {
                version: STATE_VERSION,
                dedup_config: dedup_config.to_owned(),
                next_segment: 0,
                pending: None,
                segments: Vec::new(),
                inputs: 0,
                learn_config: learn_config.to_owned(),
                learned: None,
            }
        }
        Err(e) => return Err(io("cannot read", &state_path)(e)),
    };

    if let Some(p) = state.pending {
        for (tmp, done) in [
            (layout.segment_tmp(p), layout.segment(p)),
            (layout.rejects_tmp(p), layout.rejects(p)),
        ] {
            if tmp.exists() && !done.exists() {
                std::fs::rename(&tmp, &done).map_err(io("cannot finish commit of", &done))?;
                sync_dir(done.parent().unwrap_or(&layout.output_dir))?;
            }
        }
    }

    check_agreement(layout, &state)?;

    let mut discarded = Vec::new();
    let temp_seq = |name: &str| -> Option<u64> {
        let rest = name.strip_prefix(".seg-")?;
        rest.get(..8)?.parse().ok()
    };
    discard_uncommitted(&layout.output_dir, &state, &mut discarded, temp_seq)?;
    discard_uncommitted(&layout.rejects_dir(), &state, &mut discarded, temp_seq)?;
    let retained: HashSet<u64> = state.segments.iter().map(|s| s.seq).collect();
    discard_uncommitted(&layout.deltas(), &state, &mut discarded, |name| {
        let seq: u64 = name.strip_suffix(".bin")?.parse().ok()?;
        // Deltas of expired segments go too.
        (!retained.contains(&seq)).then_some(seq)
    })?;

    // Only the learned file state.json names is committed; any other is an
    // older one (its removal was cut short) or one never committed.
    let keep = state.learned;
    discard_uncommitted(&layout.learned_dir(), &state, &mut discarded, |name| {
        let seq: u64 = name.strip_suffix(".bin")?.parse().ok()?;
        (Some(seq) != keep).then_some(u64::MAX)
    })?;
    let learned = match state.learned {
        Some(seq) if !learn_config.is_empty() && state.learn_config == learn_config => {
            let path = layout.learned(seq);
            let bytes = std::fs::read(&path).map_err(io("cannot read", &path))?;
            Some((path, bytes))
        }
        _ => None,
    };

    let mut ledger = HashSet::new();
    let mut entries = Vec::new();
    for seg in &state.segments {
        let path = layout.delta(seg.seq);
        let bytes = std::fs::read(&path).map_err(io("cannot read", &path))?;
        let delta = decode_delta(&bytes).ok_or_else(|| Error::State {
            path: path.clone(),
            message: "corrupt delta (bad checksum or truncated)".into(),
        })?;
        for e in delta {
            ledger.insert((e.path_hash, e.input_hash));
            entries.push(e);
        }
    }
    Ok(Recovered {
        state,
        ledger,
        entries,
        discarded,
        learned,
    })
}

/// Number of a committed file's name, `seg-NNNNNNNN.<anything>`: the
/// extension is not checked, so a change of `serve.format` still counts the
/// segments written under the old one.
fn committed_seq(name: &str) -> Option<u64> {
    let rest = name.strip_prefix("seg-")?;
    if rest.as_bytes().get(8) != Some(&b'.') {
        return None;
    }
    rest.get(..8)?.parse().ok()
}

/// Committed file names in `dir` (segments, or rejects files), with their numbers.
fn committed_files(dir: &Path) -> Result<Vec<(u64, String)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io("cannot list", dir))? {
        let entry = entry.map_err(io("cannot list", dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(seq) = committed_seq(&name) {
            found.push((seq, name));
        }
    }
    found.sort();
    Ok(found)
}

const REPAIR_AFRESH: &str = "or, to start afresh (every file in the watched directory is \
    processed again), stop newspipe and move both the output directory and the state directory \
    aside";

/// No `state.json`: refuse if committed output says there was one. A delta
/// numbered 0 alone is not a sign: the first commit writes it just before
/// the first `state.json`, so a crash between the two leaves it (and it is
/// discarded as uncommitted); any later delta is.
fn refuse_lost_state(layout: &Layout) -> Result<()> {
    let mut found = committed_files(&layout.output_dir)?;
    found.extend(committed_files(&layout.rejects_dir())?);
    let deltas = std::fs::read_dir(layout.deltas())
        .map_err(io("cannot list", &layout.deltas()))?
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.ends_with(".bin") && name != "00000000.bin"
        })
        .count();
    if found.is_empty() && deltas == 0 {
        return Ok(());
    }
    let first = found
        .first()
        .map_or_else(String::new, |(_, n)| format!(" (the first is {n})"));
    Err(Error::StateMismatch {
        path: layout.state_file(),
        message: format!(
            "is missing, but {} holds {} committed segment or rejects files{first} and {} \
             holds {deltas} later deltas: a fresh state would write over seg-00000000 and \
             process committed files again. To repair: restore state.json (and deltas/) from \
             a backup, {REPAIR_AFRESH}.",
            layout.output_dir.display(),
            found.len(),
            layout.deltas().display(),
        ),
    })
}

/// `state.json` and the output must agree: every retained segment with
/// records (or rejects) has its file, and no committed file is numbered at or
/// past `next_segment`, which the next commits would overwrite.
fn check_agreement(layout: &Layout, state: &State) -> Result<()> {
    let segments = committed_files(&layout.output_dir)?;
    let rejects = committed_files(&layout.rejects_dir())?;
    for (files, dir) in [
        (&segments, layout.output_dir.as_path()),
        (&rejects, layout.rejects_dir().as_path()),
    ] {
        if let Some((seq, name)) = files.iter().find(|(seq, _)| *seq >= state.next_segment) {
            return Err(Error::StateMismatch {
                path: layout.state_file(),
                message: format!(
                    "says the next segment is {}, but {} already holds {name} (segment {seq}): \
                     state.json is older than the output, and new segments would overwrite \
                     committed ones. To repair: restore the state directory that goes with \
                     this output, {REPAIR_AFRESH}.",
                    state.next_segment,
                    dir.display()
                ),
            });
        }
    }
    for seg in &state.segments {
        for (count, files, path) in [
            (seg.records, &segments, layout.segment(seg.seq)),
            (seg.rejects, &rejects, layout.rejects(seg.seq)),
        ] {
            if count == 0 || files.iter().any(|(seq, _)| *seq == seg.seq) {
                continue;
            }
            return Err(Error::StateMismatch {
                path: layout.state_file(),
                message: format!(
                    "lists segment {} with {count} lines, but {} is missing: committed output \
                     was deleted or moved, and its inputs would count as done. To repair: put \
                     the file back, {REPAIR_AFRESH}. (Only segments within the dedup \
                     retention window are checked; older ones may be removed freely.)",
                    seg.seq,
                    path.display()
                ),
            });
        }
    }
    Ok(())
}

fn discard_uncommitted(
    dir: &Path,
    state: &State,
    discarded: &mut Vec<PathBuf>,
    seq_of: impl Fn(&str) -> Option<u64>,
) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(io("cannot list", dir))?;
    for entry in entries {
        let entry = entry.map_err(io("cannot list", dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let stray_tmp = name.starts_with(".tmp-");
        let uncommitted = seq_of(&name).is_some_and(|seq| {
            seq >= state.next_segment || !state.segments.iter().any(|s| s.seq == seq)
        });
        if stray_tmp || uncommitted {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(io("cannot remove", &path))?;
            discarded.push(path);
        }
    }
    Ok(())
}

/// What one segment holds, for [`commit`].
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    /// Records in the segment's temp file (0: no file).
    pub records: u64,
    /// Lines in the rejects temp file (0: no file).
    pub rejects: u64,
}

/// Commit segment `seq`: steps 2 to 4 of the protocol. The segment's temp
/// file (if `records > 0`) and rejects temp file (if `rejects > 0`) must be
/// complete and synced. `learned` is the learned state after the segment's
/// inputs, when learning.
#[allow(clippy::too_many_arguments)]
pub fn commit(
    layout: &Layout,
    state: &mut State,
    seq: u64,
    counts: Counts,
    entries: &[DeltaEntry],
    learned: Option<&[u8]>,
    now: u64,
    retention_secs: u64,
) -> Result<()> {
    let Counts { records, rejects } = counts;
    write_atomic(&layout.delta(seq), &encode_delta(entries))?;
    if let Some(bytes) = learned {
        write_atomic(&layout.learned(seq), bytes)?;
    }
    let mut next = state.clone();
    next.next_segment = seq + 1;
    next.inputs = state.inputs + entries.len() as u64;
    next.learned = learned.map(|_| seq);
    next.pending = (records > 0 || rejects > 0).then_some(seq);
    next.segments.push(SegmentMeta {
        seq,
        committed_at: now,
        records,
        rejects,
    });
    let expired: Vec<u64> = next
        .segments
        .iter()
        .filter(|s| s.committed_at.saturating_add(retention_secs) < now)
        .map(|s| s.seq)
        .collect();
    next.segments.retain(|s| !expired.contains(&s.seq));
    let json = serde_json::to_vec_pretty(&next).map_err(|e| Error::State {
        path: layout.state_file(),
        message: format!("cannot serialize: {e}"),
    })?;
    write_atomic(&layout.state_file(), &json)?;
    let superseded = state.learned.filter(|&old| Some(old) != next.learned);
    *state = next;
    if records > 0 {
        let (tmp, done) = (layout.segment_tmp(seq), layout.segment(seq));
        std::fs::rename(&tmp, &done).map_err(io("cannot rename segment", &done))?;
        sync_dir(&layout.output_dir)?;
    }
    if rejects > 0 {
        let (tmp, done) = (layout.rejects_tmp(seq), layout.rejects(seq));
        std::fs::rename(&tmp, &done).map_err(io("cannot rename rejects file", &done))?;
        sync_dir(&layout.rejects_dir())?;
    }
    for seq in expired {
        let path = layout.delta(seq);
        // Already gone is fine: a previous run may have removed it.
        let _ = std::fs::remove_file(&path);
    }
    if let Some(old) = superseded {
        // Left behind by a crash, recovery removes it.
        let _ = std::fs::remove_file(layout.learned(old));
    }
    Ok(())
}

/// Little-endian binary writer of the state files.
pub(super) struct Writer(pub(super) Vec<u8>);

impl Writer {
    pub(super) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(super) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(super) fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
    }
    /// The bytes so far, then their xxh3 checksum.
    pub(super) fn seal(mut self) -> Vec<u8> {
        let sum = xxhash_rust::xxh3::xxh3_64(&self.0);
        self.u64(sum);
        self.0
    }
}

/// Reader of what [`Writer`] wrote; every read is `None` past the end.
pub(super) struct Reader<'a>(pub(super) &'a [u8]);

impl<'a> Reader<'a> {
    /// The body of sealed bytes whose checksum holds.
    pub(super) fn unseal(bytes: &'a [u8]) -> Option<Reader<'a>> {
        let body_len = bytes.len().checked_sub(8)?;
        let (body, sum) = bytes.split_at(body_len);
        (xxhash_rust::xxh3::xxh3_64(body) == u64::from_le_bytes(sum.try_into().ok()?))
            .then_some(Reader(body))
    }
    pub(super) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    pub(super) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    pub(super) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    pub(super) fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

/// Binary form of a delta: magic, entries, and an xxh3 checksum of both.
pub fn encode_delta(entries: &[DeltaEntry]) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(64 + entries.len() * 600));
    w.0.extend_from_slice(DELTA_MAGIC);
    w.u64(entries.len() as u64);
    for e in entries {
        w.u64(e.path_hash);
        w.u64(e.input_hash);
        w.u64(e.ingested_at);
        match &e.article {
            None => w.0.push(0),
            Some((id, fp)) => {
                w.0.push(1);
                w.bytes(id.as_bytes());
                encode_fingerprint(&mut w, fp);
            }
        }
    }
    w.seal()
}

pub(super) fn encode_fingerprint(w: &mut Writer, fp: &Fingerprint) {
    w.u64(fp.exact);
    w.u32(fp.minhash.len() as u32);
    for &v in &fp.minhash {
        w.u32(v);
    }
}

pub(super) fn decode_fingerprint(r: &mut Reader<'_>) -> Option<Fingerprint> {
    let exact = r.u64()?;
    let n = r.u32()? as usize;
    let minhash = (0..n).map(|_| r.u32()).collect::<Option<Vec<_>>>()?;
    Some(Fingerprint { exact, minhash })
}

/// Inverse of [`encode_delta`]; `None` when the bytes are damaged.
pub fn decode_delta(bytes: &[u8]) -> Option<Vec<DeltaEntry>> {
    let mut r = Reader::unseal(bytes)?;
    if r.take(4)? != DELTA_MAGIC {
        return None;
    }
    let n = r.u64()?;
    let mut out = Vec::new();
    for _ in 0..n {
        let path_hash = r.u64()?;
        let input_hash = r.u64()?;
        let ingested_at = r.u64()?;
        let article = match r.take(1)?[0] {
            0 => None,
            _ => {
                let id = String::from_utf8(r.bytes()?.to_vec()).ok()?;
                Some((id, decode_fingerprint(&mut r)?))
            }
        };
        out.push(DeltaEntry {
            path_hash,
            input_hash,
            ingested_at,
            article,
        });
    }
    r.0.is_empty().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(records: u64) -> Counts {
        Counts {
            records,
            rejects: 0,
        }
    }

    fn layout(dir: &Path) -> Layout {
        Layout {
            state_dir: dir.join("state"),
            output_dir: dir.join("out"),
            extension: "jsonl".into(),
        }
    }

    fn entry(i: u64) -> DeltaEntry {
        DeltaEntry {
            path_hash: i,
            input_hash: i * 7,
            ingested_at: 1000 + i,
            article: (i % 2 == 0).then(|| {
                (
                    format!("{i:032x}"),
                    Fingerprint {
                        exact: i,
                        minhash: vec![1, 2, 3],
                    },
                )
            }),
        }
    }

    #[test]
    fn delta_round_trips_and_detects_damage() {
        let entries: Vec<_> = (0..5).map(entry).collect();
        let mut bytes = encode_delta(&entries);
        assert_eq!(decode_delta(&bytes), Some(entries));
        let mid = bytes.len() / 2;
        bytes[mid] ^= 1;
        assert_eq!(decode_delta(&bytes), None);
        assert_eq!(decode_delta(&bytes[..10]), None);
    }

    #[test]
    fn commit_then_recover_restores_ledger_and_entries() {
        let dir = tempfile::tempdir().unwrap();
        let l = layout(dir.path());
        let mut rec = recover(&l, "cfg", "").unwrap();
        std::fs::write(l.segment_tmp(0), "{}\n").unwrap();
        commit(
            &l,
            &mut rec.state,
            0,
            counts(1),
            &[entry(1), entry(2)],
            None,
            10,
            1000,
        )
        .unwrap();
        assert!(l.segment(0).exists() && !l.segment_tmp(0).exists());
        let again = recover(&l, "cfg", "").unwrap();
        assert_eq!(again.state.next_segment, 1);
        assert_eq!(again.entries, vec![entry(1), entry(2)]);
        assert!(again.ledger.contains(&(2, 14)));
    }

    #[test]
    fn uncommitted_segment_is_discarded_and_pending_one_rolled_forward() {
        let dir = tempfile::tempdir().unwrap();
        let l = layout(dir.path());
        let mut rec = recover(&l, "cfg", "").unwrap();
        std::fs::write(l.segment_tmp(0), "{}\n").unwrap();
        commit(
            &l,
            &mut rec.state,
            0,
            counts(1),
            &[entry(1)],
            None,
            10,
            1000,
        )
        .unwrap();
        // Simulate a crash between the state write and the final rename of 0...
        std::fs::rename(l.segment(0), l.segment_tmp(0)).unwrap();
        // ...and a segment 1 that was still being written.
        std::fs::write(l.segment_tmp(1), "{}\n").unwrap();
        std::fs::write(l.delta(1), b"junk").unwrap();
        let again = recover(&l, "cfg", "").unwrap();
        assert!(l.segment(0).exists(), "pending segment rolled forward");
        assert!(!l.segment_tmp(1).exists() && !l.delta(1).exists());
        assert_eq!(again.discarded.len(), 2);
    }

    #[test]
    fn refuses_state_built_with_other_dedup_config() {
        let dir = tempfile::tempdir().unwrap();
        let l = layout(dir.path());
        let mut rec = recover(&l, "near=true", "").unwrap();
        commit(
            &l,
            &mut rec.state,
            0,
            counts(0),
            &[entry(1)],
            None,
            10,
            1000,
        )
        .unwrap();
        let err = recover(&l, "near=false", "").unwrap_err().to_string();
        assert!(
            err.contains("near=true") && err.contains("To rebuild"),
            "{err}"
        );
    }

    #[test]
    fn overlapping_directories_are_refused_naming_both_keys() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ok = check_disjoint(&[
            ("w", &d.join("w")),
            ("o", &d.join("o")),
            ("s", &d.join("s")),
        ]);
        assert!(ok.is_ok(), "{ok:?}");
        for (a, b) in [("w", "w"), ("w", "w/o"), ("o/w", "o"), ("x/../w", "w")] {
            let err = check_disjoint(&[("first", &d.join(a)), ("second", &d.join(b))])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("`first`") && err.contains("`second`"),
                "{a} {b}: {err}"
            );
        }
    }

    #[test]
    fn the_state_lock_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock(dir.path()).unwrap();
        let err = lock(dir.path()).unwrap_err().to_string();
        assert!(err.contains("another newspipe"), "{err}");
        assert!(err.contains(&std::process::id().to_string()), "{err}");
        drop(held);
        assert!(lock(dir.path()).is_ok());
    }

    #[test]
    fn output_that_disagrees_with_the_state_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let l = layout(dir.path());
        let mut rec = recover(&l, "cfg", "").unwrap();
        std::fs::write(l.segment_tmp(0), "{}\n").unwrap();
        commit(
            &l,
            &mut rec.state,
            0,
            counts(1),
            &[entry(1)],
            None,
            10,
            1000,
        )
        .unwrap();
        // A segment the state does not know yet would be overwritten.
        std::fs::write(l.segment(1), "{}\n").unwrap();
        let err = recover(&l, "cfg", "").unwrap_err().to_string();
        assert!(
            err.contains("seg-00000001") && err.contains("To repair"),
            "{err}"
        );
        std::fs::remove_file(l.segment(1)).unwrap();
        // A committed segment that is gone.
        std::fs::remove_file(l.segment(0)).unwrap();
        let err = recover(&l, "cfg", "").unwrap_err().to_string();
        assert!(
            err.contains("missing") && err.contains("seg-00000000"),
            "{err}"
        );
        // No state at all, but committed output.
        std::fs::write(l.segment(0), "{}\n").unwrap();
        std::fs::remove_file(l.state_file()).unwrap();
        let err = recover(&l, "cfg", "").unwrap_err().to_string();
        assert!(
            err.contains("is missing") && err.contains("seg-00000000"),
            "{err}"
        );
    }

    #[test]
    fn a_first_delta_without_a_state_is_an_uncommitted_one() {
        let dir = tempfile::tempdir().unwrap();
        let l = layout(dir.path());
        recover(&l, "cfg", "").unwrap();
        // A crash between steps 2 and 3 of the very first commit.
        std::fs::write(l.delta(0), b"junk").unwrap();
        let rec = recover(&l, "cfg", "").unwrap();
        assert_eq!(rec.discarded, [l.delta(0)]);
    }

    #[test]
    fn retention_expires_old_segments_and_their_deltas() {
        let dir = tempfile::tempdir().unwrap();
        let l = layout(dir.path());
        let mut rec = recover(&l, "cfg", "").unwrap();
        commit(&l, &mut rec.state, 0, counts(0), &[entry(1)], None, 100, 50).unwrap();
        commit(&l, &mut rec.state, 1, counts(0), &[entry(2)], None, 200, 50).unwrap();
        assert_eq!(rec.state.segments.len(), 1);
        assert!(!l.delta(0).exists());
        let again = recover(&l, "cfg", "").unwrap();
        assert_eq!(again.entries, vec![entry(2)]);
    }

    #[test]
    fn only_the_committed_learned_state_is_kept_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let l = layout(dir.path());
        let mut rec = recover(&l, "cfg", "learn=a").unwrap();
        assert!(rec.learned.is_none());
        commit(
            &l,
            &mut rec.state,
            0,
            counts(0),
            &[entry(1)],
            Some(b"zero"),
            10,
            1000,
        )
        .unwrap();
        commit(
            &l,
            &mut rec.state,
            1,
            counts(0),
            &[entry(2), entry(3)],
            Some(b"one"),
            11,
            1000,
        )
        .unwrap();
        assert!(
            !l.learned(0).exists(),
            "the superseded learned state is removed"
        );
        assert_eq!(rec.state.inputs, 3);
        // A crash after writing segment 2's learned state, before its state.json.
        std::fs::write(l.learned(2), b"two").unwrap();
        let again = recover(&l, "cfg", "learn=a").unwrap();
        assert_eq!(again.learned, Some((l.learned(1), b"one".to_vec())));
        assert!(!l.learned(2).exists() && again.discarded.contains(&l.learned(2)));
        assert_eq!(again.state.inputs, 3);
        // Learning turned off: nothing read; other values: refused.
        assert!(recover(&l, "cfg", "").unwrap().learned.is_none());
        let err = recover(&l, "cfg", "learn=b").unwrap_err().to_string();
        assert!(
            err.contains("learn=a") && err.contains("learn=b") && err.contains("rebuild"),
            "{err}"
        );
    }

    #[test]
    fn a_state_of_an_older_version_is_refused_with_how_to_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let l = layout(dir.path());
        let mut rec = recover(&l, "cfg", "").unwrap();
        commit(
            &l,
            &mut rec.state,
            0,
            counts(0),
            &[entry(1)],
            None,
            10,
            1000,
        )
        .unwrap();
        let path = l.state_file();
        let mut json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        json["version"] = 2.into();
        std::fs::write(&path, json.to_string()).unwrap();
        let err = recover(&l, "cfg", "").unwrap_err().to_string();
        assert!(
            err.contains("state version 2") && err.contains("To rebuild"),
            "{err}"
        );
    }
}

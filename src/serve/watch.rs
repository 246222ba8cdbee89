//! The daemon's source: files arriving in a watched directory.
//!
//! A file is taken once it is complete: renamed into the directory (a rename
//! event), or unchanged for the settle time (its modification time is at
//! least that old). Names starting with `.` and ending in `.tmp` or `.part`
//! are never taken: writers use them for files in progress. Filesystem events
//! say where to look; a periodic full rescan finds whatever events missed.
//! Files are taken in arrival order: by change time, then name.
//!
//! A file is read as batch reads it ([`crate::source::read_opened`]): JSON
//! Lines line by line, anything else whole. What was read is keyed in the
//! ledger by its path and content hash (each JSONL line by the file's hash
//! and its line number), and an input whose key is there is never emitted
//! again: not after a restart, nor after a `touch`, a `chmod`, or a delete
//! and re-create with the same content. Symbolic links are never followed:
//! each is rejected, whether it points inside the watched directory or out,
//! and nothing of its target is read. A transient failure to open or read
//! (out of file descriptors, interrupted, would block) is not a reject: the
//! file is tried again on a later pass.
//!
//! The decisions (which files are complete, when a rescan is due, in which
//! order files are taken) are made by a [`Tracker`], which does no I/O and
//! reads no clock: every method that depends on time is given "now". The
//! [`watch`] loop around it lists the directory, reads file metadata and the
//! clocks, and hands what it found to the tracker; the tests drive the
//! tracker with a made-up clock.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use notify::{EventKind, RecursiveMode, Watcher};
use tracing::{debug, warn};

use crate::error::RejectReason;
use crate::record::SourceInfo;
use crate::source::{Emitter, Input, InputConfig, Rejected};

/// How the watcher behaves.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// The watched directory.
    pub dir: PathBuf,
    /// A file unchanged for this long is complete.
    pub settle: Duration,
    /// Full rescan interval.
    pub rescan: Duration,
    /// `[input]`: the format (by name, as in batch) and the size limits.
    pub input: InputConfig,
    /// Listen for filesystem events; false relies on rescans alone.
    pub events: bool,
}

/// True for names writers use for files in progress.
pub fn is_ignored_name(name: &str) -> bool {
    name.starts_with('.') || name.ends_with(".tmp") || name.ends_with(".part")
}

/// Hash of a path relative to the watched directory: half of a ledger key.
pub fn path_hash(rel: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(rel.as_bytes())
}

/// What a file is now: its size and its change time (ctime). A rename or a
/// write moves the change time, so it is when the file last became what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Size in bytes.
    pub size: u64,
    /// Last status change (ctime).
    pub changed: SystemTime,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        let nanos = u32::try_from(meta.ctime_nsec()).unwrap_or(0);
        let changed = match u64::try_from(meta.ctime()) {
            Ok(secs) => SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos)),
            // Before 1970: only on a badly set clock; still ordered correctly.
            Err(_) => SystemTime::UNIX_EPOCH
                .checked_sub(Duration::from_secs(meta.ctime().unsigned_abs()))
                .and_then(|t| t.checked_add(Duration::from_nanos(u64::from(nanos)))),
        };
        Stamp {
            size: meta.len(),
            changed: changed.unwrap_or(SystemTime::UNIX_EPOCH),
        }
    }
}

fn full_path_hash(path: &Path) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    xxhash_rust::xxh3::xxh3_64(path.as_os_str().as_bytes())
}

/// The other half of a ledger key for an input that is one line of a file:
/// the file's content hash with the line number, so each line of a JSONL
/// file is remembered by itself and a restart in the middle of a file
/// resumes after its last committed line. Whole-file inputs use the file's
/// hash alone.
pub fn line_key(file_hash: u64, line: Option<u64>) -> u64 {
    match line {
        None => file_hash,
        Some(n) => {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&file_hash.to_le_bytes());
            b[8..].copy_from_slice(&n.to_le_bytes());
            xxhash_rust::xxh3::xxh3_64(&b)
        }
    }
}

/// The watcher's decisions, free of I/O and of clocks.
///
/// Feed it what was seen: paths from filesystem events
/// ([`Tracker::note_event`]) and from full rescans ([`Tracker::rescanned`]);
/// ask it, given the current times, whether a rescan is due
/// ([`Tracker::rescan_due`]) and which files to take now, in order
/// ([`Tracker::take_ready`]). Time comes in two kinds: a monotonic
/// [`Instant`] schedules rescans; wall-clock [`SystemTime`] is compared with
/// the files' change times to decide whether they have settled.
#[derive(Debug)]
pub struct Tracker {
    settle: Duration,
    rescan: Duration,
    next_rescan: Instant,
    /// Files taken (or found in the ledger), by a hash of their path: 32
    /// bytes each, with the stamp they had then; a change of stamp makes
    /// them candidates again (whether their content changed is the ledger's
    /// to say). Pruned of files gone, at each rescan and on remove events, so
    /// it holds what is in the directory, not all that ever was.
    taken: HashMap<u64, Stamp>,
    /// Files seen arriving by rename: complete whatever their age.
    renamed: HashSet<PathBuf>,
    /// Files seen but not taken yet.
    candidates: BTreeSet<PathBuf>,
}

impl Tracker {
    /// A tracker that takes files `settle` after their last change and wants
    /// a full rescan every `rescan`, the first one at `now`.
    pub fn new(settle: Duration, rescan: Duration, now: Instant) -> Self {
        Tracker {
            settle,
            rescan,
            next_rescan: now,
            taken: HashMap::new(),
            renamed: HashSet::new(),
            candidates: BTreeSet::new(),
        }
    }

    /// True when a full rescan is due at `now`.
    pub fn rescan_due(&self, now: Instant) -> bool {
        now >= self.next_rescan
    }

    /// The files a rescan finished at `now` found; schedules the next one.
    /// Paths taken before stay taken (a change to one is noticed through
    /// its events).
    /// Files taken before and not found any more are forgotten.
    pub fn rescanned(&mut self, found: impl IntoIterator<Item = PathBuf>, now: Instant) {
        let mut present = HashSet::new();
        for p in found {
            let h = full_path_hash(&p);
            present.insert(h);
            if !self.taken.contains_key(&h) {
                self.candidates.insert(p);
            }
        }
        self.taken.retain(|h, _| present.contains(h));
        self.next_rescan = now + self.rescan;
    }

    /// How many files are remembered as taken.
    pub fn taken_len(&self) -> usize {
        self.taken.len()
    }

    /// Taking `path` failed for a reason that may pass (out of file
    /// descriptors, say): forget it was taken, so the next pass tries again.
    pub fn retry(&mut self, path: PathBuf) {
        self.taken.remove(&full_path_hash(&path));
        self.candidates.insert(path);
    }

    /// A filesystem event: its paths become candidates; the destination of
    /// a rename is complete at once.
    pub fn note_event(&mut self, ev: notify::Event) {
        let renamed_in = matches!(
            ev.kind,
            EventKind::Modify(notify::event::ModifyKind::Name(
                notify::event::RenameMode::To | notify::event::RenameMode::Both
            ))
        );
        let renamed_away = matches!(
            ev.kind,
            EventKind::Modify(notify::event::ModifyKind::Name(
                notify::event::RenameMode::From
            ))
        );
        if matches!(ev.kind, EventKind::Remove(_)) || renamed_away {
            for p in &ev.paths {
                self.taken.remove(&full_path_hash(p));
            }
            return;
        }
        if !matches!(ev.kind, EventKind::Create(_) | EventKind::Modify(_)) {
            return;
        }
        // For a `Both` rename the last path is the destination.
        if let (true, Some(dest)) = (renamed_in, ev.paths.last()) {
            self.renamed.insert(dest.clone());
        }
        self.candidates.extend(ev.paths);
    }

    /// The candidates complete at wall-clock time `now`, in arrival order
    /// (change time, then name), up to the first one still settling: a
    /// complete file waits behind an earlier one, at most for the settle
    /// time, so that arrival order is kept. They are marked taken; the rest
    /// stay candidates.
    ///
    /// `look` says what a path is now: `None` when it is gone or not a
    /// regular file (those are forgotten), else its stamp. Names of files in
    /// progress are dropped without a look.
    pub fn take_ready(
        &mut self,
        now: SystemTime,
        mut look: impl FnMut(&Path) -> Option<Stamp>,
    ) -> Vec<(PathBuf, Stamp)> {
        let mut queue: Vec<(SystemTime, PathBuf, Stamp)> = Vec::new();
        for path in std::mem::take(&mut self.candidates) {
            let ignored = path
                .file_name()
                .is_none_or(|n| is_ignored_name(&n.to_string_lossy()));
            let stamp = if ignored { None } else { look(&path) };
            let Some(stamp) = stamp else {
                // Gone, a directory, or a name in progress: not ours to take.
                self.renamed.remove(&path);
                continue;
            };
            if self.taken.get(&full_path_hash(&path)) == Some(&stamp) {
                continue;
            }
            queue.push((stamp.changed, path, stamp));
        }
        queue.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let mut ready = Vec::new();
        let mut waiting = false;
        for (changed, path, stamp) in queue {
            let settled = now
                .duration_since(changed)
                .is_ok_and(|age| age >= self.settle);
            if waiting || !(settled || self.renamed.contains(&path)) {
                waiting = true;
                self.candidates.insert(path);
                continue;
            }
            self.renamed.remove(&path);
            self.taken.insert(full_path_hash(&path), stamp);
            ready.push((path, stamp));
        }
        ready
    }
}

/// Watch `cfg.dir` until the emitter says stop. Blocking.
///
/// Files are taken in the order they became complete (change time, then
/// name). A complete file waits behind an earlier one that is still settling,
/// at most for the settle time, so that arrival order is kept.
///
/// `ledger` holds the keys of every committed input (see [`line_key`]); the
/// watcher adds what it emits, so nothing is emitted twice in a run either.
pub fn watch(cfg: WatchConfig, mut ledger: HashSet<(u64, u64)>, out: &mut Emitter<'_>) {
    let (tx, rx) = mpsc::channel();
    // Without events the periodic rescan still finds every file, only later.
    let _watcher = if cfg.events {
        start_events(&cfg.dir, tx)
    } else {
        drop(tx);
        None
    };
    let mut tracker = Tracker::new(cfg.settle, cfg.rescan, Instant::now());
    let tick = Duration::from_millis(100);
    // Paths warned about as retrying, so a long fd shortage logs each once.
    let mut retrying: HashSet<u64> = HashSet::new();
    while !out.stopped() {
        if tracker.rescan_due(Instant::now()) {
            let found = scan_all(&cfg.dir);
            tracker.rescanned(found, Instant::now());
        }
        let ready = tracker.take_ready(SystemTime::now(), look);
        for (path, _) in ready {
            match take(&cfg, &mut ledger, &path, out) {
                Took::Done => {}
                Took::Retry(e) => {
                    debug!("{}: {e}; trying again later", path.display());
                    if retrying.insert(full_path_hash(&path)) {
                        warn!("cannot read {} for now ({e}); trying again", path.display());
                    }
                    tracker.retry(path);
                }
                Took::Stop => return,
            }
        }
        // A path that came through is no longer "retrying" (for the log).
        if retrying.len() > 1024 {
            retrying.clear();
        }
        // Wait for events, then gather the rest of the burst.
        match rx.recv_timeout(tick) {
            Ok(ev) => {
                note(&mut tracker, ev);
                let until = Instant::now() + Duration::from_millis(20);
                while let Ok(ev) = rx.recv_timeout(until.saturating_duration_since(Instant::now()))
                {
                    note(&mut tracker, ev);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => std::thread::sleep(tick),
        }
    }
}

fn note(tracker: &mut Tracker, ev: notify::Result<notify::Event>) {
    match ev {
        Ok(ev) => tracker.note_event(ev),
        Err(e) => debug!("filesystem event error: {e}"),
    }
}

/// The stamp of a regular file or of a symbolic link itself (never of what
/// it points to: links are taken only to be rejected); `None` for anything
/// else or on any error.
fn look(path: &Path) -> Option<Stamp> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() || m.file_type().is_symlink() => Some(Stamp::of(&m)),
        _ => None,
    }
}

fn start_events(
    dir: &Path,
    tx: mpsc::Sender<notify::Result<notify::Event>>,
) -> Option<notify::RecommendedWatcher> {
    let mut w = match notify::recommended_watcher(move |ev| {
        let _ = tx.send(ev);
    }) {
        Ok(w) => w,
        Err(e) => {
            warn!("no filesystem events: {e}; relying on rescans");
            return None;
        }
    };
    match w.watch(dir, RecursiveMode::Recursive) {
        Ok(()) => Some(w),
        Err(e) => {
            warn!("cannot watch {}: {e}; relying on rescans", dir.display());
            None
        }
    }
}

/// Every regular file and symbolic link under `dir`, sorted by name, outside
/// dot-directories. Links are listed (not followed) so that rescans and
/// events see them alike, and both reject them.
fn scan_all(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file() || e.file_type().is_symlink())
        .map(|e| e.into_path())
        .collect()
}

/// What became of one file the tracker handed over.
#[derive(Debug)]
enum Took {
    /// Emitted, rejected, skipped as known, or gone: done with this version.
    Done,
    /// Failed for a reason that may pass; try again later.
    Retry(std::io::Error),
    /// The pipeline is stopping.
    Stop,
}

/// Errors that say "not now" rather than "not this file": the process or
/// the system is out of file descriptors, or the call was interrupted or
/// would block. Such a file is tried again, never committed as a reject.
pub fn is_transient(e: &std::io::Error) -> bool {
    use rustix::io::Errno;
    if matches!(
        e.kind(),
        std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock
    ) {
        return true;
    }
    e.raw_os_error().is_some_and(|code| {
        [Errno::MFILE, Errno::NFILE, Errno::NOMEM, Errno::NOBUFS]
            .iter()
            .any(|t| t.raw_os_error() == code)
    })
}

fn symlink_reason(path: &Path, dir: &Path) -> RejectReason {
    let inside = std::fs::canonicalize(path)
        .is_ok_and(|t| std::fs::canonicalize(dir).is_ok_and(|d| t.starts_with(d)));
    RejectReason::Unreadable(if inside {
        "a symbolic link: links in the watched directory are not followed \
         (its target there is read under its own name)"
            .into()
    } else {
        "a symbolic link (to outside the watched directory, or dangling): \
         links in the watched directory are not followed"
            .into()
    })
}

/// Take one file: refuse links, open it without following one, hash it,
/// and read it as batch does, skipping inputs whose ledger key is known.
fn take(
    cfg: &WatchConfig,
    ledger: &mut HashSet<(u64, u64)>,
    path: &Path,
    out: &mut Emitter<'_>,
) -> Took {
    use std::os::unix::fs::OpenOptionsExt;
    let rel = path
        .strip_prefix(&cfg.dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned();
    let ph = path_hash(&rel);
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let info = SourceInfo {
        path: rel.clone(),
        ingested_at: Some(now.clone()),
        ..SourceInfo::default()
    };
    // One reject for a file we will not read, keyed by `key` so that a
    // restart does not reject the same thing again.
    let mut reject = |ledger: &mut HashSet<(u64, u64)>, key: u64, reason: RejectReason| {
        if !ledger.insert((ph, key)) {
            return Took::Done;
        }
        let mut info = info.clone();
        info.input_hash = key;
        let seq = out.next_seq();
        if out.emit(Input::Rejected(Rejected::new(seq, &info, reason))) {
            Took::Done
        } else {
            Took::Stop
        }
    };
    let link_key = |target: &Path| {
        use std::os::unix::ffi::OsStrExt;
        xxhash_rust::xxh3::xxh3_64(target.as_os_str().as_bytes())
    };
    // A link anywhere on the way (the name itself, or a directory above it
    // that events reported through) is refused, never followed.
    let real_dir = std::fs::canonicalize(&cfg.dir).unwrap_or_else(|_| cfg.dir.clone());
    match std::fs::read_link(path) {
        Ok(target) => return reject(ledger, link_key(&target), symlink_reason(path, &cfg.dir)),
        Err(e) if is_transient(&e) => return Took::Retry(e),
        Err(_) => {}
    }
    match path.parent().map(std::fs::canonicalize) {
        Some(Ok(parent)) if parent.starts_with(&real_dir) => {}
        Some(Err(e)) if is_transient(&e) => return Took::Retry(e),
        // Gone since it was seen: nothing to take.
        Some(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => return Took::Done,
        _ => return reject(ledger, link_key(path), symlink_reason(path, &cfg.dir)),
    }
    // O_NOFOLLOW: a link swapped in after the check fails to open (ELOOP)
    // instead of being read. O_NONBLOCK: a FIFO swapped in cannot hang us.
    let nofollow = (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits();
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nofollow as i32)
        .open(path);
    let mut file = match opened {
        Ok(f) => f,
        Err(e) if is_transient(&e) => return Took::Retry(e),
        // Vanished between being seen and being opened: not an input.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            debug!("{rel} vanished before it was read");
            return Took::Done;
        }
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return reject(ledger, link_key(path), symlink_reason(path, &cfg.dir))
        }
        Err(e) => return reject(ledger, 0, RejectReason::Unreadable(e.to_string())),
    };
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) if is_transient(&e) => return Took::Retry(e),
        Err(e) => return reject(ledger, 0, RejectReason::Unreadable(e.to_string())),
    };
    if !meta.is_file() {
        return reject(ledger, 0, RejectReason::NotAFile);
    }
    // The content hash first: it decides whether this is new at all. A
    // file over the size limit is hashed only that far (it is rejected
    // whatever follows); JSONL and WARC, limited per line or record, and
    // compressed files, limited after decompression, are hashed whole.
    let jsonl = matches!(
        crate::source::format_of(path, cfg.input.format),
        crate::source::InputFormat::Jsonl | crate::source::InputFormat::Warc
    ) || crate::source::compression_of(path).1.is_some();
    let limit = if jsonl {
        u64::MAX
    } else {
        cfg.input.max_file_bytes.saturating_add(1)
    };
    let file_hash = match hash_reader((&mut file).take(limit)) {
        Ok(h) => h,
        Err(e) if is_transient(&e) => return Took::Retry(e),
        Err(e) => return reject(ledger, 0, RejectReason::Unreadable(e.to_string())),
    };
    if ledger.contains(&(ph, file_hash)) {
        debug!("{rel} was taken before with this content; skipping");
        return Took::Done;
    }
    if let Err(e) = file.rewind() {
        return if is_transient(&e) {
            Took::Retry(e)
        } else {
            reject(ledger, file_hash, RejectReason::Unreadable(e.to_string()))
        };
    }
    let kept = {
        let stop = AtomicBool::new(false);
        let known: &HashSet<(u64, u64)> = ledger;
        let mut forward = |input: Input| -> bool {
            let input = match input {
                Input::Raw {
                    mut source, bytes, ..
                } => {
                    source.input_hash = line_key(file_hash, source.line);
                    source.ingested_at = Some(now.clone());
                    if known.contains(&(ph, source.input_hash)) {
                        return true;
                    }
                    let seq = out.next_seq();
                    Input::Raw { seq, source, bytes }
                }
                Input::Parsed(mut a) => {
                    a.source.input_hash = line_key(file_hash, a.source.line);
                    a.source.ingested_at = Some(now.clone());
                    if known.contains(&(ph, a.source.input_hash)) {
                        return true;
                    }
                    a.seq = out.next_seq();
                    Input::Parsed(a)
                }
                Input::Rejected(mut r) => {
                    r.input_hash = line_key(file_hash, r.line);
                    if known.contains(&(ph, r.input_hash)) {
                        return true;
                    }
                    r.seq = out.next_seq();
                    Input::Rejected(r)
                }
                // Readers never make these: only a batch run's learning pass does.
                kept @ Input::Prepared(_) => kept,
            };
            out.emit(input)
        };
        let mut lines = Emitter::new(&mut forward, &stop);
        let kept = crate::source::read_opened(file, meta.len(), path, &rel, &cfg.input, &mut lines);
        (kept, lines.take_skipped())
    };
    let (kept, skipped) = kept;
    out.add_skipped(skipped);
    if !kept {
        return Took::Stop;
    }
    // Every input of this content was emitted (or known): remember the
    // content, so a touch, a chmod or a re-create reads nothing again.
    ledger.insert((ph, file_hash));
    Took::Done
}

fn hash_reader(mut r: impl Read) -> std::io::Result<u64> {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(h.digest()),
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, ModifyKind, RemoveKind, RenameMode};
    use notify::Event;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    #[test]
    fn ignores_names_of_files_in_progress() {
        for name in [".hidden", "a.tmp", "b.part", ".x.txt"] {
            assert!(is_ignored_name(name), "{name}");
        }
        for name in ["a.txt", "tmp.txt", "part1.json"] {
            assert!(!is_ignored_name(name), "{name}");
        }
    }

    // The tracker on a made-up clock and a made-up directory: no sleeps, no
    // files, every time given explicitly.

    const SETTLE: Duration = Duration::from_millis(300);
    const RESCAN: Duration = Duration::from_secs(60);

    /// A fake directory and the two clocks, moved by hand.
    struct World {
        files: HashMap<PathBuf, Stamp>,
        wall: SystemTime,
        mono: Instant,
        tracker: Tracker,
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    impl World {
        fn new() -> World {
            let mono = Instant::now();
            World {
                files: HashMap::new(),
                wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
                mono,
                tracker: Tracker::new(SETTLE, RESCAN, mono),
            }
        }

        fn advance(&mut self, d: Duration) {
            self.wall += d;
            self.mono += d;
        }

        /// Write `name` now (a new change time), without telling the tracker.
        fn write(&mut self, name: &str, size: u64) -> PathBuf {
            let path = PathBuf::from("/w").join(name);
            let stamp = Stamp {
                size,
                changed: self.wall,
            };
            self.files.insert(path.clone(), stamp);
            path
        }

        fn event(&mut self, kind: EventKind, paths: &[&Path]) {
            let ev = paths
                .iter()
                .fold(Event::new(kind), |ev, p| ev.add_path(p.to_path_buf()));
            self.tracker.note_event(ev);
        }

        /// Write `name` and report it the way a create event does.
        fn create(&mut self, name: &str) -> PathBuf {
            let p = self.write(name, 10);
            self.event(EventKind::Create(CreateKind::File), &[&p]);
            p
        }

        /// The names the tracker takes now.
        fn take(&mut self) -> Vec<String> {
            let files = &self.files;
            self.tracker
                .take_ready(self.wall, |p| files.get(p).copied())
                .into_iter()
                .map(|(p, stamp)| {
                    assert_eq!(Some(&stamp), files.get(&p), "the stamp looked up");
                    p.strip_prefix("/w").unwrap().display().to_string()
                })
                .collect()
        }
    }

    #[test]
    fn file_is_not_taken_before_its_settle_time_and_is_taken_at_it() {
        let mut w = World::new();
        w.create("a.txt");
        assert!(w.take().is_empty(), "just written");
        w.advance(SETTLE - ms(1));
        assert!(w.take().is_empty(), "1 ms before the settle time");
        w.advance(ms(1));
        assert_eq!(w.take(), ["a.txt"], "exactly at the settle time");
        assert!(w.take().is_empty(), "taken once");
        w.advance(SETTLE * 10);
        w.event(EventKind::Modify(ModifyKind::Any), &[Path::new("/w/a.txt")]);
        assert!(w.take().is_empty(), "an event for an unchanged file");
    }

    #[test]
    fn file_is_taken_after_its_settle_time_when_first_seen_late() {
        let mut w = World::new();
        w.create("a.txt");
        w.advance(SETTLE * 5);
        assert_eq!(w.take(), ["a.txt"]);
    }

    #[test]
    fn a_change_restarts_the_settle_time() {
        let mut w = World::new();
        w.create("a.txt");
        w.advance(ms(200));
        assert!(w.take().is_empty());
        // Still being written: a new size and change time.
        let p = w.write("a.txt", 20);
        w.event(EventKind::Modify(ModifyKind::Any), &[&p]);
        w.advance(ms(100));
        assert!(
            w.take().is_empty(),
            "settle time since the first write only"
        );
        w.advance(SETTLE - ms(100) - ms(1));
        assert!(
            w.take().is_empty(),
            "1 ms before the settle time since the change"
        );
        w.advance(ms(1));
        assert_eq!(w.take(), ["a.txt"]);

        // A taken file that changes again is new again.
        w.advance(SETTLE * 3);
        let p = w.write("a.txt", 30);
        w.event(EventKind::Modify(ModifyKind::Any), &[&p]);
        assert!(w.take().is_empty(), "the new content settles too");
        w.advance(SETTLE);
        assert_eq!(w.take(), ["a.txt"]);
    }

    #[test]
    fn a_file_changed_without_an_event_is_seen_with_its_new_stamp() {
        // The stamp is looked up when deciding, not when the event came.
        let mut w = World::new();
        w.create("a.txt");
        w.advance(SETTLE - ms(10));
        w.write("a.txt", 99);
        w.advance(ms(10));
        assert!(w.take().is_empty(), "changed 10 ms ago");
        w.advance(SETTLE);
        assert_eq!(w.take(), ["a.txt"]);
    }

    #[test]
    fn renamed_into_place_is_taken_at_once() {
        let mut w = World::new();
        let done = w.write("done.txt", 8);
        w.event(
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            &[&done],
        );
        // A `Both` rename names the source, then the destination.
        let part = PathBuf::from("/w/other.txt.part");
        let other = w.write("other.txt", 8);
        w.event(
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            &[&part, &other],
        );
        assert_eq!(w.take(), ["done.txt", "other.txt"], "no settle wait");
        w.create("fresh.txt");
        assert!(w.take().is_empty(), "a plain write still settles");
        w.advance(SETTLE);
        assert_eq!(w.take(), ["fresh.txt"]);
    }

    #[test]
    fn renamed_file_that_vanished_is_forgotten() {
        let mut w = World::new();
        let gone = PathBuf::from("/w/gone.txt");
        w.event(
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            &[&gone],
        );
        assert!(w.take().is_empty());
        // It reappears by a plain write: it must settle like any other.
        w.create("gone.txt");
        assert!(w.take().is_empty(), "no longer counts as renamed");
        w.advance(SETTLE);
        assert_eq!(w.take(), ["gone.txt"]);
    }

    #[test]
    fn rescan_is_due_at_the_interval_and_finds_what_events_missed() {
        let mut w = World::new();
        assert!(w.tracker.rescan_due(w.mono), "the first rescan is at once");
        w.tracker.rescanned(Vec::new(), w.mono);
        assert!(!w.tracker.rescan_due(w.mono));
        w.create("seen.txt");
        let missed = w.write("missed.txt", 10); // no event
        w.advance(SETTLE);
        assert_eq!(w.take(), ["seen.txt"], "events alone miss missed.txt");

        w.advance(RESCAN - SETTLE - ms(1));
        assert!(!w.tracker.rescan_due(w.mono), "1 ms before the interval");
        assert!(w.take().is_empty());
        w.advance(ms(1));
        assert!(w.tracker.rescan_due(w.mono), "at the interval");
        let listing = vec![missed.clone(), PathBuf::from("/w/seen.txt")];
        w.tracker.rescanned(listing.clone(), w.mono);
        assert!(!w.tracker.rescan_due(w.mono), "the next one is scheduled");
        assert_eq!(w.take(), ["missed.txt"], "seen.txt was taken already");

        w.advance(RESCAN - ms(1));
        assert!(!w.tracker.rescan_due(w.mono));
        w.advance(ms(1));
        assert!(w.tracker.rescan_due(w.mono), "every interval");
        w.tracker.rescanned(listing, w.mono);
        assert!(w.take().is_empty(), "nothing is taken twice");
    }

    #[test]
    fn rescan_findings_settle_like_any_other() {
        let mut w = World::new();
        let p = w.write("new.txt", 10);
        w.tracker.rescanned(vec![p], w.mono);
        assert!(w.take().is_empty());
        w.advance(SETTLE);
        assert_eq!(w.take(), ["new.txt"]);
    }

    #[test]
    fn files_are_taken_by_change_time_then_name() {
        let mut w = World::new();
        let d = w.write("d.txt", 1);
        w.advance(ms(5));
        let c = w.write("c.txt", 1);
        w.advance(ms(5));
        let b = w.write("b.txt", 1);
        let a = w.write("a.txt", 1);
        w.advance(ms(5));
        let e = w.write("e.txt", 1);
        w.advance(SETTLE);
        w.tracker.rescanned(vec![a, b, c, d, e], w.mono);
        assert_eq!(w.take(), ["d.txt", "c.txt", "a.txt", "b.txt", "e.txt"]);
    }

    #[test]
    fn a_settled_file_waits_behind_an_earlier_one_still_settling() {
        let mut w = World::new();
        w.create("first.txt");
        w.advance(ms(100));
        let second = w.write("second.txt", 1);
        w.event(
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            &[&second],
        );
        assert!(w.take().is_empty(), "second.txt is complete but came later");
        w.advance(SETTLE - ms(100));
        assert_eq!(w.take(), ["first.txt", "second.txt"]);
    }

    #[test]
    fn names_in_progress_and_other_events_are_not_taken() {
        let mut w = World::new();
        for name in [".hidden", "a.tmp", "b.part"] {
            let p = w.write(name, 1);
            w.event(EventKind::Create(CreateKind::File), &[&p]);
        }
        let removed = w.write("removed.txt", 1);
        w.event(EventKind::Remove(RemoveKind::File), &[&removed]);
        let read = w.write("read.txt", 1);
        w.event(EventKind::Access(notify::event::AccessKind::Any), &[&read]);
        w.advance(SETTLE);
        let taken = w
            .tracker
            .take_ready(w.wall, |p| panic!("{} needs no look", p.display()));
        assert!(taken.is_empty());
        // A rescan lists what is there, names in progress included (the
        // listing does not filter them); they are still not taken.
        let listing: Vec<PathBuf> = w.files.keys().cloned().collect();
        w.tracker.rescanned(listing, w.mono);
        assert_eq!(w.take(), ["read.txt", "removed.txt"]);
    }

    #[test]
    fn a_file_from_the_future_waits_until_the_clock_passes_it() {
        // A change time ahead of the clock (a skewed writer) is not yet settled.
        let mut w = World::new();
        w.advance(SETTLE * 2);
        w.create("ahead.txt");
        w.wall -= SETTLE * 2;
        assert!(w.take().is_empty());
        w.wall += SETTLE * 3 - ms(1);
        assert!(w.take().is_empty());
        w.wall += ms(1);
        assert_eq!(w.take(), ["ahead.txt"]);
    }

    #[test]
    fn zero_settle_takes_a_file_written_this_instant() {
        let mono = Instant::now();
        let mut t = Tracker::new(Duration::ZERO, RESCAN, mono);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(5);
        let stamp = Stamp {
            size: 1,
            changed: now,
        };
        t.rescanned(vec![PathBuf::from("/w/x.txt")], mono);
        assert_eq!(
            t.take_ready(now, |_| Some(stamp)),
            [(PathBuf::from("/w/x.txt"), stamp)]
        );
    }

    #[test]
    fn stamp_reads_size_and_change_time_from_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        std::fs::write(&p, "12345").unwrap();
        let s = look(&p).expect("a regular file");
        assert_eq!(s.size, 5);
        let age = SystemTime::now().duration_since(s.changed).unwrap();
        assert!(age < Duration::from_secs(60), "{age:?}");
        assert_eq!(look(dir.path()), None, "a directory");
        assert_eq!(look(&dir.path().join("nope")), None, "gone");
    }

    #[test]
    fn scan_lists_files_outside_dot_directories_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::create_dir_all(d.join(".hid")).unwrap();
        for f in ["b.txt", "a.txt", "sub/c.txt", ".hid/x.txt", ".dot.txt"] {
            std::fs::write(d.join(f), "x").unwrap();
        }
        let got: Vec<String> = scan_all(d)
            .iter()
            .map(|p| p.strip_prefix(d).unwrap().display().to_string())
            .collect();
        assert_eq!(got, ["a.txt", "b.txt", "sub/c.txt"]);
    }

    #[test]
    fn taken_files_that_are_gone_are_forgotten() {
        let mut w = World::new();
        let a = w.create("a.txt");
        let b = w.create("b.txt");
        w.advance(SETTLE);
        assert_eq!(w.take(), ["a.txt", "b.txt"]);
        assert_eq!(w.tracker.taken_len(), 2);
        // b.txt is deleted: its remove event forgets it...
        w.event(EventKind::Remove(RemoveKind::File), &[&b]);
        assert_eq!(w.tracker.taken_len(), 1);
        // ...and a rescan that no longer lists a.txt forgets it too.
        w.tracker.rescanned(Vec::new(), w.mono);
        assert_eq!(w.tracker.taken_len(), 0);
        // A retry makes a taken file a candidate again.
        w.tracker.rescanned(vec![a.clone()], w.mono);
        assert_eq!(w.take(), ["a.txt"]);
        w.tracker.retry(a);
        assert_eq!(w.take(), ["a.txt"], "tried again");
    }

    #[test]
    fn out_of_descriptors_and_interrupts_are_transient_others_are_not() {
        use std::io::{Error, ErrorKind};
        for code in [24, 23, 4, 11] {
            assert!(
                is_transient(&Error::from_raw_os_error(code)),
                "errno {code}"
            );
        }
        for code in [2, 13, 21, 28] {
            assert!(
                !is_transient(&Error::from_raw_os_error(code)),
                "errno {code}"
            );
        }
        assert!(is_transient(&Error::from(ErrorKind::Interrupted)));
    }

    fn take_once(dir: &Path, name: &str) -> (Vec<Input>, String) {
        let cfg = WatchConfig {
            dir: dir.to_path_buf(),
            settle: Duration::ZERO,
            rescan: RESCAN,
            input: InputConfig {
                format: crate::source::InputFormat::Auto,
                max_file_bytes: 1 << 20,
                skip_hidden: true,
                follow_links: false,
            },
            events: false,
        };
        let mut ledger = HashSet::new();
        let mut took = String::new();
        let got = crate::source::collect_inputs(|em| {
            took = format!("{:?}", take(&cfg, &mut ledger, &dir.join(name), em));
        });
        (got, took)
    }

    #[test]
    fn a_vanished_file_is_not_an_input_and_a_link_is_rejected_unread() {
        let dir = tempfile::tempdir().unwrap();
        let (got, took) = take_once(dir.path(), "gone.txt");
        assert!(got.is_empty(), "{got:?}");
        assert_eq!(took, "Done");
        let outside = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(outside.path(), "SECRET").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("l.txt")).unwrap();
        let (got, _) = take_once(dir.path(), "l.txt");
        match &got[..] {
            [Input::Rejected(r)] => {
                assert!(r.reason.to_string().contains("symbolic link"), "{r:?}");
                assert!(!format!("{r:?}").contains("SECRET"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn jsonl_lines_get_their_own_ledger_keys() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("f.jsonl"),
            "{\"text\":\"a\"}\n{\"text\":\"b\"}\n",
        )
        .unwrap();
        let (got, _) = take_once(dir.path(), "f.jsonl");
        let keys: Vec<u64> = got
            .iter()
            .map(|i| match i {
                Input::Parsed(a) => a.source.input_hash,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(keys.len(), 2);
        assert_ne!(keys[0], keys[1]);
        assert_eq!(got.iter().map(Input::seq).collect::<Vec<_>>(), [0, 1]);
    }

    // The whole watcher on a real directory, with real time: slower, and
    // kept few.

    /// Runs the watcher on a thread; returns the paths it took, in order.
    fn run_watcher(
        dir: &Path,
        settle: Duration,
        rescan: Duration,
        events: bool,
        ledger: HashSet<(u64, u64)>,
        during: impl FnOnce(),
        wait: Duration,
    ) -> Vec<String> {
        let taken = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let cfg = WatchConfig {
            dir: dir.to_path_buf(),
            settle,
            rescan,
            input: InputConfig {
                format: crate::source::InputFormat::Auto,
                max_file_bytes: 1 << 20,
                skip_hidden: true,
                follow_links: false,
            },
            events,
        };
        let handle = {
            let taken = Arc::clone(&taken);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut push = |i: Input| {
                    if let Input::Raw { source, .. } = i {
                        taken.lock().unwrap().push(source.path);
                    }
                    true
                };
                let mut em = Emitter::new(&mut push, &stop);
                watch(cfg, ledger, &mut em);
            })
        };
        during();
        std::thread::sleep(wait);
        stop.store(true, Ordering::Relaxed);
        handle.join().unwrap();
        let v = taken.lock().unwrap().clone();
        v
    }

    #[test]
    fn takes_existing_files_in_arrival_order_and_skips_ledger_entries() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["c.txt", "a.txt", "b.txt", ".hidden", "d.part"] {
            std::fs::write(dir.path().join(n), n).unwrap();
            // Distinct change times even on coarse-grained filesystems.
            std::thread::sleep(Duration::from_millis(15));
        }
        let ledger: HashSet<_> =
            [(path_hash("b.txt"), xxhash_rust::xxh3::xxh3_64(b"b.txt"))].into();
        let got = run_watcher(
            dir.path(),
            Duration::from_millis(20),
            Duration::from_secs(60),
            true,
            ledger,
            || {},
            Duration::from_millis(400),
        );
        assert_eq!(
            got,
            ["c.txt", "a.txt"],
            "arrival order, b.txt was committed before"
        );
    }

    #[test]
    fn fresh_file_waits_for_settle_time_but_renamed_file_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let got = run_watcher(
            dir.path(),
            Duration::from_secs(30),
            Duration::from_secs(60),
            true,
            HashSet::new(),
            || {
                std::thread::sleep(Duration::from_millis(200));
                // The renamed file arrives first: one arriving after a file
                // still settling waits behind it, by design (arrival order),
                // and with coarse change times the order of the two would
                // hang on a clock tick.
                std::fs::write(d.join("done.txt.part"), "complete").unwrap();
                std::fs::rename(d.join("done.txt.part"), d.join("done.txt")).unwrap();
                std::fs::write(d.join("growing.txt"), "still being written").unwrap();
            },
            Duration::from_millis(800),
        );
        assert_eq!(got, ["done.txt"], "growing.txt has not settled");
    }

    #[test]
    fn file_settles_after_quiet_period() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let got = run_watcher(
            dir.path(),
            Duration::from_millis(300),
            Duration::from_secs(60),
            true,
            HashSet::new(),
            || std::fs::write(d.join("slow.txt"), "x").unwrap(),
            Duration::from_millis(900),
        );
        assert_eq!(got, ["slow.txt"]);
    }

    #[test]
    fn rescan_finds_files_when_events_are_missed() {
        // With events off every file must still be found, by the rescan.
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let got = run_watcher(
            dir.path(),
            Duration::ZERO,
            Duration::from_millis(150),
            false,
            HashSet::new(),
            || {
                std::thread::sleep(Duration::from_millis(250));
                std::fs::create_dir(d.join("sub")).unwrap();
                std::fs::write(d.join("sub/late.txt"), "x").unwrap();
            },
            Duration::from_millis(700),
        );
        assert_eq!(got, ["sub/late.txt"]);
    }
}

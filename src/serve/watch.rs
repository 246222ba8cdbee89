//! The daemon's source: files arriving in a watched directory.
//!
//! A file is taken once it is complete: renamed into the directory (a rename
//! event), or unchanged for the settle time (its modification time is at
//! least that old). Names starting with `.` and ending in `.tmp` or `.part`
//! are never taken: writers use them for files in progress. Filesystem events
//! say where to look; a periodic full rescan finds whatever events missed.
//! Files are taken in arrival order: by change time, then name.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use notify::{EventKind, RecursiveMode, Watcher};
use tracing::{debug, warn};

use crate::error::RejectReason;
use crate::record::SourceInfo;
use crate::source::{Emitter, Input};

/// How the watcher behaves.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// The watched directory.
    pub dir: PathBuf,
    /// A file unchanged for this long is complete.
    pub settle: Duration,
    /// Full rescan interval.
    pub rescan: Duration,
    /// Larger files are rejected.
    pub max_file_bytes: u64,
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

/// Size and change time (ctime, in nanoseconds): a rename or a write moves
/// the change time, so it is when the file last became what it is.
type Stamp = (u64, i128);

fn full_path_hash(path: &Path) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    xxhash_rust::xxh3::xxh3_64(path.as_os_str().as_bytes())
}

fn stamp(meta: &std::fs::Metadata) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    (
        meta.len(),
        i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
    )
}

fn now_nanos() -> i128 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

struct State<'l> {
    cfg: WatchConfig,
    /// Inputs committed before this process started: (path hash, content hash).
    ledger: &'l HashSet<(u64, u64)>,
    /// Files this process has taken or found in the ledger (by a hash of
    /// their path: 32 bytes each however long the run), with the stamp they
    /// had then; a change makes them new again.
    taken: HashMap<u64, Stamp>,
    /// Files seen arriving by rename: complete whatever their age.
    renamed: HashSet<PathBuf>,
    /// Files seen but not taken yet.
    candidates: BTreeSet<PathBuf>,
}

/// Watch `cfg.dir` until the emitter says stop. Blocking.
///
/// Files are taken in the order they became complete (change time, then
/// name). A complete file waits behind an earlier one that is still settling,
/// at most for the settle time, so that arrival order is kept.
pub fn watch(cfg: WatchConfig, ledger: &HashSet<(u64, u64)>, out: &mut Emitter<'_>) {
    let (tx, rx) = mpsc::channel();
    // Without events the periodic rescan still finds every file, only later.
    let _watcher = if cfg.events {
        start_events(&cfg.dir, tx)
    } else {
        drop(tx);
        None
    };
    let mut st = State {
        cfg,
        ledger,
        taken: HashMap::new(),
        renamed: HashSet::new(),
        candidates: BTreeSet::new(),
    };
    let mut next_rescan = Instant::now();
    let tick = Duration::from_millis(100);
    while !out.stopped() {
        if Instant::now() >= next_rescan {
            let found = st.scan_all();
            st.candidates.extend(found);
            next_rescan = Instant::now() + st.cfg.rescan;
        }
        if !st.take_ready(out) {
            return;
        }
        // Wait for events, then gather the rest of the burst.
        match rx.recv_timeout(tick) {
            Ok(ev) => {
                st.note_event(ev);
                let until = Instant::now() + Duration::from_millis(20);
                while let Ok(ev) = rx.recv_timeout(until.saturating_duration_since(Instant::now()))
                {
                    st.note_event(ev);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => std::thread::sleep(tick),
        }
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

impl State<'_> {
    fn note_event(&mut self, ev: notify::Result<notify::Event>) {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                debug!("filesystem event error: {e}");
                return;
            }
        };
        let renamed_in = matches!(
            ev.kind,
            EventKind::Modify(notify::event::ModifyKind::Name(
                notify::event::RenameMode::To | notify::event::RenameMode::Both
            ))
        );
        if !matches!(ev.kind, EventKind::Create(_) | EventKind::Modify(_)) {
            return;
        }
        // For a `Both` rename the last path is the destination.
        if let (true, Some(dest)) = (renamed_in, ev.paths.last()) {
            self.renamed.insert(dest.clone());
        }
        self.candidates.extend(ev.paths);
    }

    fn scan_all(&self) -> Vec<PathBuf> {
        walkdir::WalkDir::new(&self.cfg.dir)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .filter(|p| !self.taken.contains_key(&full_path_hash(p)))
            .collect()
    }

    /// Take every complete candidate, in arrival order, up to the first one
    /// still settling. Returns false to stop.
    fn take_ready(&mut self, out: &mut Emitter<'_>) -> bool {
        let mut queue: Vec<(i128, PathBuf, Stamp)> = Vec::new();
        let candidates = std::mem::take(&mut self.candidates);
        for path in candidates {
            let ignored = path
                .file_name()
                .is_none_or(|n| is_ignored_name(&n.to_string_lossy()));
            let meta = match std::fs::metadata(&path) {
                Ok(m) if m.is_file() && !ignored => m,
                // Gone, a directory, or a name in progress: not ours to take.
                _ => {
                    self.renamed.remove(&path);
                    continue;
                }
            };
            let st = stamp(&meta);
            if self.taken.get(&full_path_hash(&path)) == Some(&st) {
                continue;
            }
            queue.push((st.1, path, st));
        }
        queue.sort();
        let settle = self.cfg.settle.as_nanos() as i128;
        let now = now_nanos();
        let mut waiting = false;
        for (changed, path, st) in queue {
            let complete = self.renamed.contains(&path) || now - changed >= settle;
            if waiting || !complete {
                waiting = true;
                self.candidates.insert(path);
                continue;
            }
            self.renamed.remove(&path);
            self.taken.insert(full_path_hash(&path), st);
            if !self.take(&path, st.0, out) {
                return false;
            }
        }
        true
    }

    fn take(&mut self, path: &Path, size: u64, out: &mut Emitter<'_>) -> bool {
        let rel = path
            .strip_prefix(&self.cfg.dir)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned();
        let mut info = SourceInfo {
            path: rel,
            bytes: size,
            ingested_at: Some(humantime::format_rfc3339_seconds(SystemTime::now()).to_string()),
            ..SourceInfo::default()
        };
        let limit = self.cfg.max_file_bytes;
        let mut bytes = Vec::new();
        let read = std::fs::File::open(path)
            .and_then(|f| f.take(limit.saturating_add(1)).read_to_end(&mut bytes));
        let reason = match read {
            Err(e) => Some(RejectReason::Unreadable(e.to_string())),
            Ok(_) if bytes.len() as u64 > limit => Some(RejectReason::TooLarge {
                bytes: size.max(bytes.len() as u64),
                limit,
            }),
            Ok(_) => None,
        };
        info.input_hash = xxhash_rust::xxh3::xxh3_64(&bytes);
        info.bytes = bytes.len() as u64;
        if self
            .ledger
            .contains(&(path_hash(&info.path), info.input_hash))
        {
            debug!("{} was committed before; skipping", info.path);
            return true;
        }
        let seq = out.next_seq();
        let input = match reason {
            Some(reason) => Input::Rejected(crate::source::Rejected::new(seq, &info, reason)),
            None => Input::Raw {
                seq,
                source: info,
                bytes,
            },
        };
        out.emit(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
            max_file_bytes: 1 << 20,
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
                watch(cfg, &ledger, &mut em);
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
                std::fs::write(d.join("growing.txt"), "still being written").unwrap();
                std::fs::write(d.join("done.txt.part"), "complete").unwrap();
                std::fs::rename(d.join("done.txt.part"), d.join("done.txt")).unwrap();
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

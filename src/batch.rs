//! Batch mode (`newspipe run`): files, directories and stdin in, one output
//! written in input order, published only when the run completes.

use std::cell::RefCell;
use std::future::Future;
use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use tracing::info;

use std::collections::HashMap;

use crate::boilerplate::{Learned, Learner};
use crate::dedup::Signature;
use crate::error::{Error, Result};
use crate::pipeline::learn::{learn_pass, resume, take_whole, KeptInputs};
use crate::pipeline::{drive, Core, DriveOptions, Ending, OutcomeSink};
use crate::record::Article;
use crate::record::DedupInfo;
use crate::signatures::SignatureWriter;
use crate::sink::jsonl::JsonlSink;
use crate::sink::{identity, OutputConfig, PartitionBy, Record, RecordSink, SinkOptions};
use crate::source::{read_inputs, read_listed, Emitter, InputConfig, Rejected};
use crate::summary::Summary;

/// Where a batch run's outcomes go: the record sink and, optionally, a
/// rejects file; both appear only when the run completes.
pub struct BatchSink {
    records: Box<dyn RecordSink>,
    rejects: Option<JsonlSink>,
    signatures: Option<SignatureWriter>,
}

impl BatchSink {
    /// Open the outputs `[output]` names (the record sink and the rejects
    /// file), naming the path that fails.
    pub fn open(output: &OutputConfig) -> Result<Self> {
        let records = crate::sink::open_with(&output.path, &SinkOptions::from_config(output))?;
        let rejects = match output.rejects_path() {
            Some(p) => Some(JsonlSink::create(&p)?),
            None => None,
        };
        Ok(BatchSink {
            records,
            rejects,
            signatures: None,
        })
    }

    /// Wrap already open outputs.
    pub fn new(records: Box<dyn RecordSink>, rejects: Option<JsonlSink>) -> Self {
        BatchSink {
            records,
            rejects,
            signatures: None,
        }
    }

    /// Also write every article's dedup signature (see [`crate::signatures`]),
    /// published with the output.
    pub fn with_signatures(mut self, writer: SignatureWriter) -> Self {
        self.signatures = Some(writer);
        self
    }

    fn keep_signature(&mut self, article: &Article) -> Result<()> {
        if let (Some(w), Some(fp)) = (self.signatures.as_mut(), &article.fingerprint) {
            if let Some(s) = Signature::of(&article.id, fp, &article.dedup) {
                w.write(&s)?;
            }
        }
        Ok(())
    }
}

impl OutcomeSink for BatchSink {
    fn record(&mut self, article: &Article, json: &[u8]) -> Result<()> {
        self.keep_signature(article)?;
        self.records.write(Record { article, json })
    }

    fn dropped(&mut self, article: &Article) -> Result<()> {
        self.keep_signature(article)
    }

    fn rejected(&mut self, r: &Rejected) -> Result<()> {
        if let Some(rejects) = self.rejects.as_mut() {
            let line = serde_json::to_vec(r).map_err(|e| Error::Output(e.into()))?;
            rejects.write_line(&line)?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>, ending: Ending) -> Result<()> {
        // An interrupted or failed run leaves no output file behind: a reader
        // never sees a partial one.
        if ending != Ending::Complete {
            return Ok(());
        }
        self.records.commit()?;
        if let Some(r) = self.rejects {
            Box::new(r).commit()?;
        }
        if let Some(s) = self.signatures {
            s.commit()?;
        }
        Ok(())
    }
}

/// Refuse an input given on the command line that does not exist (or
/// cannot be looked at): a mistyped path is a usage error, not an input
/// the run rejects and goes on without.
pub fn check_inputs(roots: &[PathBuf]) -> Result<()> {
    for root in roots
        .iter()
        .filter(|r| r.as_os_str() != crate::source::STDIN)
    {
        if let Err(e) = std::fs::metadata(root) {
            return Err(Error::Config(format!("input {}: {e}", root.display())));
        }
    }
    Ok(())
}

/// Refuse a run whose inputs or outputs are wrong, before any work: an
/// input that does not exist (a mistyped path would otherwise give an
/// empty output), two outputs that are one file (`-o`, `--rejects`,
/// `--summary-json`), an output that is an input file or lies inside an
/// input directory (the next run would read it), `-o` naming a directory
/// (unless it is the partition root), and, unless `replace`, an output
/// file or `-o`'s signatures that an earlier run left.
pub fn check_outputs(
    roots: &[PathBuf],
    output: &OutputConfig,
    summary_json: Option<&Path>,
    replace: bool,
) -> Result<()> {
    check_inputs(roots)?;
    let mut outputs: Vec<(&str, PathBuf)> = Vec::new();
    if output.path != "-" {
        outputs.push(("-o/--output", PathBuf::from(&output.path)));
    }
    if let Some(r) = output.rejects_path() {
        outputs.push(("--rejects", r));
    }
    if let Some(s) = summary_json {
        outputs.push(("--summary-json", s.to_path_buf()));
    }
    let ids: Vec<(&str, &Path, PathBuf)> = outputs
        .iter()
        .map(|(flag, p)| (*flag, p.as_path(), identity(p)))
        .collect();
    for (i, (flag, path, id)) in ids.iter().enumerate() {
        if let Some((other, _, _)) = ids[..i].iter().find(|(_, _, o)| o == id) {
            return Err(Error::Config(format!(
                "{flag} {} is the same file as {other}; give each output its own name",
                path.display()
            )));
        }
        // A missing directory is found now, not after the run's work.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                return Err(Error::Config(format!(
                    "{flag} {}: directory {} does not exist",
                    path.display(),
                    dir.display()
                )));
            }
        }
        let partitioned = *flag == "-o/--output" && output.partition_by != PartitionBy::None;
        if id.is_dir() && !partitioned {
            return Err(Error::Config(format!(
                "{flag} {} is a directory; give a file name",
                path.display()
            )));
        }
        for root in roots
            .iter()
            .filter(|r| r.as_os_str() != crate::source::STDIN)
        {
            let Ok(root_id) = std::fs::canonicalize(root) else {
                continue;
            };
            if *id == root_id || (root_id.is_dir() && id.starts_with(&root_id)) {
                return Err(Error::Config(format!(
                    "{flag} {} would be written {} input {}; write it elsewhere",
                    path.display(),
                    if *id == root_id {
                        "over the"
                    } else {
                        "inside the"
                    },
                    root.display()
                )));
            }
        }
        if !replace && std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
            return Err(Error::Config(format!(
                "{flag} {} already exists; pass --force to replace it, or write elsewhere",
                path.display()
            )));
        }
    }
    // What an earlier run put beside `-o` goes with it: replaced only when
    // asked, so an old output's signatures are never mixed with a new one.
    let beside = signatures_dir(Path::new(&output.path));
    if !replace && output.path != "-" && output.partition_by == PartitionBy::None {
        for name in [crate::signatures::DEDUP_FILE, LEARNED_FILE] {
            let earlier = beside.join(name);
            if earlier.exists() {
                return Err(Error::Config(format!(
                    "{} already exists (an earlier run's, beside -o {}); pass --force to \
                     replace it, or write elsewhere",
                    earlier.display(),
                    output.path
                )));
            }
        }
    }
    Ok(())
}

pub use crate::signatures::signatures_dir;

/// File name of the learned boilerplate in a signatures directory.
pub const LEARNED_FILE: &str = "boilerplate.json";

/// Format name written in a learned-boilerplate file.
const LEARNED_FORMAT: &str = "newspipe-learned-boilerplate";

/// A learned-boilerplate file: the learned counts with a format and version.
#[derive(Serialize, Deserialize)]
struct LearnedFile {
    format: String,
    version: u32,
    #[serde(flatten)]
    learned: Learned,
}

/// What a batch run starts from, beyond its inputs.
#[derive(Debug, Default)]
pub struct Start {
    /// Learned boilerplate: earlier runs' and where to save this run's.
    pub learning: Learning,
    /// Dedup signatures of earlier runs (`--against`), oldest first: this
    /// run's articles are duplicates of those as of one run over them all.
    pub against: Vec<Signature>,
    /// Dedup verdicts already taken, by `seq` (a cluster task: see
    /// `deploy/spark/`); the index is then not consulted.
    pub verdicts: Option<HashMap<u64, DedupInfo>>,
    /// Read only these paths under the one root, in this order (a cluster
    /// task's share of the walk, see [`read_listed`]).
    pub listed: Option<Vec<String>>,
}

/// How a batch run learns each source's chrome.
#[derive(Debug, Default)]
pub struct Learning {
    /// What earlier runs learned (`--against`), added to this run's counts.
    pub earlier: Vec<Learned>,
    /// Where to write what this run learned, when it completes.
    pub save_to: Option<PathBuf>,
}

impl Learning {
    /// Learning for a run writing `output` (`-` for stdout: nothing saved)
    /// that starts from the `against` paths: each a signatures directory or
    /// the output file it sits beside. Refuses, before any work, a state
    /// file that already exists (earlier output is never rewritten) and an
    /// `--against` path that holds no readable state.
    pub fn prepare(output: &str, against: &[PathBuf], replace: bool) -> Result<Self> {
        // Beside a file only: a device or FIFO (`-o /dev/null`) is written
        // through, and nothing is put beside it.
        let is_special = std::fs::metadata(output).is_ok_and(|m| !m.is_file() && !m.is_dir());
        let save_to = (output != "-" && !is_special)
            .then(|| signatures_dir(Path::new(output)).join(LEARNED_FILE));
        if let Some(p) = &save_to {
            if p.exists() && !replace {
                return Err(Error::Config(format!(
                    "{} already exists (what an earlier run with this output learned); \
                     pass --force to replace it, or write to another output",
                    p.display()
                )));
            }
        }
        let earlier = against
            .iter()
            .map(|a| load_learned(a))
            .collect::<Result<Vec<_>>>()?;
        Ok(Learning { earlier, save_to })
    }
}

/// Read the learned boilerplate at `path`: a signatures directory or the
/// output file it sits beside.
pub fn load_learned(path: &Path) -> Result<Learned> {
    let file = crate::signatures::resolve_against(path).join(LEARNED_FILE);
    let bad = |why: String| Error::Config(format!("--against {}: {why}", path.display()));
    let bytes =
        std::fs::read(&file).map_err(|e| bad(format!("cannot read {}: {e}", file.display())))?;
    let parsed: LearnedFile = serde_json::from_slice(&bytes).map_err(|e| {
        bad(format!(
            "{} is not a learned-boilerplate file: {e}",
            file.display()
        ))
    })?;
    if parsed.format != LEARNED_FORMAT
        || parsed.version != crate::boilerplate::learn::LEARNED_VERSION
    {
        return Err(bad(format!(
            "{} is format {:?} version {}; this newspipe reads {LEARNED_FORMAT:?} version {}",
            file.display(),
            parsed.format,
            parsed.version,
            crate::boilerplate::learn::LEARNED_VERSION
        )));
    }
    Ok(parsed.learned)
}

/// Write `learned` to `path` (creating its directory) through a temporary
/// file, so a reader never sees half of it.
pub fn save_learned(path: &Path, learned: &Learned) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            op: "cannot create",
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let file = LearnedFile {
        format: LEARNED_FORMAT.into(),
        version: crate::boilerplate::learn::LEARNED_VERSION,
        learned: learned.clone(),
    };
    let json = serde_json::to_vec_pretty(&file).map_err(|e| Error::Output(e.into()))?;
    let mut out = crate::sink::OutputFile::create(path)?;
    std::io::Write::write_all(&mut out, &json).map_err(|source| Error::Io {
        op: "cannot write",
        path: path.to_path_buf(),
        source,
    })?;
    out.commit()
}

/// The learning pass over `roots` (stdin, which cannot be read twice, is
/// left out): what it learned, and the inputs it kept prepared within
/// `keep_bytes` for the second pass. Returns `None` when interrupted.
pub async fn learn(
    core: &Core,
    roots: &[PathBuf],
    input: &InputConfig,
    earlier: &[Learned],
    keep_bytes: usize,
    shutdown: &mut (impl Future<Output = ()> + Unpin),
) -> Result<Option<(Learned, KeptInputs)>> {
    let mut learner = Learner::new(core.stages().learn_params());
    for e in earlier {
        learner.absorb(e);
    }
    let roots: Vec<PathBuf> = roots
        .iter()
        .filter(|r| r.as_os_str() != crate::source::STDIN)
        .cloned()
        .collect();
    let stop = AtomicBool::new(false);
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let learned = tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            let stop = &stop;
            let worker = scope.spawn(move || {
                let read = |e: &mut Emitter<'_>| read_inputs(&roots, input, e);
                let r = learn_pass(core, learner, read, stop, keep_bytes);
                let _ = done_tx.send(());
                r
            });
            let interrupted = tokio::runtime::Handle::current().block_on(async {
                tokio::select! {
                    _ = shutdown => true,
                    _ = done_rx => false,
                }
            });
            if interrupted {
                stop.store(true, Ordering::Relaxed);
            }
            let (learner, kept) = worker
                .join()
                .map_err(|_| Error::Task("the learning pass panicked".into()))??;
            Ok::<_, Error>((!interrupted).then(|| (learner.finish(), kept)))
        })
    })?;
    Ok(learned)
}

/// Run `roots` (files, directories, `-` for stdin) through the stages of
/// `core` into `sink`. When `[boilerplate]` learns, a first pass learns each
/// source's chrome (starting from `learning.earlier`) and the second applies
/// it; a complete run then writes what it learned to `learning.save_to`.
/// When `shutdown` resolves, reading stops, what is in flight is finished,
/// and the summary comes back with `interrupted` set and nothing published.
pub async fn run(
    core: &Core,
    roots: Vec<PathBuf>,
    input: &InputConfig,
    sink: BatchSink,
    progress: Option<indicatif::ProgressBar>,
    shutdown: impl Future<Output = ()>,
    start: Start,
) -> Result<Summary> {
    let Start {
        learning,
        against,
        verdicts,
        listed,
    } = start;
    let mut shutdown = Box::pin(shutdown);
    let mut learned = None;
    let mut kept = KeptInputs::new();
    let mut interrupted = false;
    if core.stages().learning() {
        info!(
            "learning boilerplate: first pass over {} input(s)",
            roots.len()
        );
        let keep_bytes = core.stages().learn_keep_bytes();
        match learn(
            core,
            &roots,
            input,
            &learning.earlier,
            keep_bytes,
            &mut shutdown,
        )
        .await?
        {
            Some((l, k)) => {
                let bytes: usize = k.values().map(|k| k.heap_bytes()).sum();
                info!(
                    "learning pass kept {} prepared input(s), {bytes} B, for the second pass",
                    k.len()
                );
                kept = k;
                for (name, s) in &l.sources {
                    let bytes = serde_json::to_vec(s).map_or(0, |v| v.len());
                    info!(
                        "learned from source {name}: {} articles, {} distinct stories, \
                         {} templates kept ({bytes} B of state)",
                        s.articles,
                        s.stories,
                        s.templates.len()
                    );
                }
                core.stages().install_chrome(l.chrome());
                learned = Some(l);
            }
            None => interrupted = true,
        }
    }
    info!(
        "reading {} input(s) with {} worker threads",
        roots.len(),
        core.threads()
    );
    let mut dedup = match verdicts {
        Some(v) => core
            .dedup_config()
            .enabled
            .then(|| crate::stage::dedup::Deduplicator::with_verdicts(core.dedup_config(), v)),
        None => core.deduplicator(false),
    };
    if let Some(d) = dedup.as_mut().filter(|_| !against.is_empty()) {
        d.restore(&against)?;
        info!(
            "deduplicating against {} signatures of earlier runs",
            against.len()
        );
    }
    let input = input.clone();
    let shutdown = async move {
        if !interrupted {
            shutdown.await;
        }
    };
    let read = move |emitter: &mut Emitter<'_>| match (&listed, roots.as_slice()) {
        (Some(rels), [root]) => read_listed(root, rels, &input, emitter),
        _ => read_inputs(&roots, &input, emitter),
    };
    let driven = drive(
        core,
        move |emitter| {
            if kept.is_empty() {
                return read(emitter);
            }
            // Inputs the first pass kept resume at the boilerplate stage;
            // whole files among them are not even read again.
            let stop = emitter.stop_flag();
            let kept = RefCell::new(kept);
            let mut forward = |input| emitter.emit(resume(&mut kept.borrow_mut(), input));
            let mut lookup =
                |seq, path: &str, bytes| take_whole(&mut kept.borrow_mut(), seq, path, bytes);
            let mut inner = Emitter::new(&mut forward, stop).with_kept(&mut lookup);
            read(&mut inner);
            let skipped = inner.take_skipped();
            drop(inner);
            emitter.add_skipped(skipped);
        },
        sink,
        DriveOptions {
            dedup,
            deadline: None,
            progress,
            metrics: None,
        },
        shutdown,
    )
    .await?;
    if let (false, Some(l), Some(path)) = (driven.summary.interrupted, &learned, &learning.save_to)
    {
        save_learned(path, l)?;
    }
    Ok(driven.summary)
}

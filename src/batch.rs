//! Batch mode (`newspipe run`): files, directories and stdin in, one output
//! written in input order, published only when the run completes.

use std::future::Future;
use std::path::{Path, PathBuf};

use tracing::info;

use crate::error::{Error, Result};
use crate::pipeline::{drive, Core, DriveOptions, Ending, OutcomeSink};
use crate::record::Article;
use crate::sink::jsonl::JsonlSink;
use crate::sink::{identity, OutputConfig, PartitionBy, Record, RecordSink, SinkOptions};
use crate::source::{read_inputs, InputConfig, Rejected};
use crate::summary::Summary;

/// Where a batch run's outcomes go: the record sink and, optionally, a
/// rejects file; both appear only when the run completes.
pub struct BatchSink {
    records: Box<dyn RecordSink>,
    rejects: Option<JsonlSink>,
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
        Ok(BatchSink { records, rejects })
    }

    /// Wrap already open outputs.
    pub fn new(records: Box<dyn RecordSink>, rejects: Option<JsonlSink>) -> Self {
        BatchSink { records, rejects }
    }
}

impl OutcomeSink for BatchSink {
    fn record(&mut self, article: &Article, json: &[u8]) -> Result<()> {
        self.records.write(Record { article, json })
    }

    fn dropped(&mut self, _: &Article) -> Result<()> {
        Ok(())
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
        Ok(())
    }
}

/// Refuse outputs that would collide, before any work: two outputs that are
/// one file (`-o`, `--rejects`, `--summary-json`), an output that is an
/// input file or lies inside an input directory (the next run would read
/// it), and `-o` naming a directory (unless it is the partition root).
pub fn check_outputs(
    roots: &[PathBuf],
    output: &OutputConfig,
    summary_json: Option<&Path>,
) -> Result<()> {
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
    }
    Ok(())
}

/// Run `roots` (files, directories, `-` for stdin) through the stages of
/// `core` into `sink`. When `shutdown` resolves, reading stops, what is in
/// flight is finished, and the summary comes back with `interrupted` set and
/// nothing published.
pub async fn run(
    core: &Core,
    roots: Vec<PathBuf>,
    input: &InputConfig,
    sink: BatchSink,
    progress: Option<indicatif::ProgressBar>,
    shutdown: impl Future<Output = ()>,
) -> Result<Summary> {
    info!(
        "reading {} input(s) with {} worker threads",
        roots.len(),
        core.threads()
    );
    let input = input.clone();
    let driven = drive(
        core,
        move |emitter| read_inputs(&roots, &input, emitter),
        sink,
        DriveOptions {
            dedup: core.deduplicator(false),
            deadline: None,
            progress,
            metrics: None,
        },
        shutdown,
    )
    .await?;
    Ok(driven.summary)
}

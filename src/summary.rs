//! Run counters and the end-of-run summary.
//!
//! Workers describe each article in a small [`ArticleStats`]; the sink thread,
//! which sees every outcome in order, folds them into one [`Summary`]. No
//! shared atomics, and the totals are the same whatever the thread count.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::record::{Article, DedupStatus, Label};

/// Most timed steps a pipeline has (decode plus its stages); their names come
/// from [`crate::stage::Stages::names`].
pub const MAX_TIMED: usize = 16;

/// What one article contributes to the summary.
#[derive(Debug, Default, Clone)]
pub struct ArticleStats {
    /// Input bytes.
    pub bytes: u64,
    /// Rule id of each removed boilerplate span.
    pub boilerplate_rules: Vec<String>,
    /// Entity count per label (text and title), indexed like [`Label::ALL`].
    pub entities: [u64; 4],
    /// Dedup verdict.
    pub dedup: DedupStatus,
    /// The article is not in English, so the tagger left it untagged.
    pub not_english: bool,
    /// Nanoseconds spent in each timed step, indexed like
    /// [`crate::stage::Stages::names`]; a fixed array, so no allocation per article.
    pub stage_nanos: [u64; MAX_TIMED],
    /// Size of the dedup index (articles, heap bytes) right after this
    /// article was decided; for live metrics.
    pub dedup_index: Option<(usize, usize)>,
}

impl ArticleStats {
    /// Record the parts of `article` the summary counts.
    pub fn observe(&mut self, article: &Article) {
        self.bytes = article.source.bytes;
        self.boilerplate_rules = article.boilerplate.iter().map(|r| r.rule.clone()).collect();
        self.dedup = article.dedup.status;
        self.not_english = article.lang != crate::stage::extract::DEFAULT_LANG;
        self.entities = [0; 4];
        for e in article.entities.iter().chain(&article.title_entities) {
            if let Some(i) = Label::ALL.iter().position(|l| *l == e.label) {
                self.entities[i] += 1;
            }
        }
    }
}

/// Per-stage time and throughput.
#[derive(Debug, Default, Clone, Serialize)]
pub struct StageTime {
    /// CPU seconds summed over workers.
    pub seconds: f64,
    /// Input megabytes per CPU second through this stage alone.
    pub mb_per_s: f64,
}

/// Totals of one run. Serialized by `--summary-json`.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    /// Inputs seen: files, JSONL lines, stdin.
    pub inputs: u64,
    /// Input bytes of every input, rejected ones included.
    pub input_bytes: u64,
    /// Records written to the output.
    pub written: u64,
    /// Inputs rejected, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Parts of inputs passed over on purpose, neither inputs nor rejects,
    /// by kind: WARC records other than responses (`warc_request`,
    /// `warc_metadata`, `warc_warcinfo`, ...).
    pub skipped: BTreeMap<String, u64>,
    /// Articles marked as exact duplicates.
    pub exact_duplicates: u64,
    /// Articles marked as near duplicates.
    pub near_duplicates: u64,
    /// Duplicates left out of the output (`--drop-duplicates`).
    pub dropped_duplicates: u64,
    /// Removed boilerplate spans, by rule id.
    pub boilerplate: BTreeMap<String, u64>,
    /// Entities tagged, by label.
    pub entities: BTreeMap<String, u64>,
    /// Articles written untagged because they are not in English.
    pub not_english: u64,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
    /// Input megabytes per wall-clock second.
    pub mb_per_s: f64,
    /// Worker threads used.
    pub threads: usize,
    /// Articles held by the dedup index at the end.
    pub dedup_index_articles: u64,
    /// Heap bytes of the dedup index at the end.
    pub dedup_index_bytes: u64,
    /// Time per stage.
    pub stages: BTreeMap<String, StageTime>,
    /// True when the run was interrupted before all input was read.
    pub interrupted: bool,
    /// A long-lived mode (the daemon, Kafka), for which a stop by signal
    /// is the normal end: the summary says "stopped", not "interrupted".
    #[serde(skip)]
    pub long_lived: bool,
    /// Names of the timed steps, in pipeline order.
    #[serde(skip)]
    stage_names: Vec<&'static str>,
    #[serde(skip)]
    stage_nanos: [u64; MAX_TIMED],
    /// The dedup index size (articles, heap bytes) after the latest article.
    #[serde(skip)]
    pub last_index: Option<(usize, usize)>,
}

impl Summary {
    /// An empty summary of a run with `threads` workers whose timed steps
    /// are `stage_names`, in pipeline order.
    pub fn new(threads: usize, stage_names: Vec<&'static str>) -> Self {
        Summary {
            threads,
            stage_names,
            ..Summary::default()
        }
    }

    /// Count an article that reached the sink; `written` says whether its record was output.
    pub fn add_article(&mut self, stats: &ArticleStats, written: bool) {
        self.inputs += 1;
        self.input_bytes += stats.bytes;
        if written {
            self.written += 1;
        } else {
            self.dropped_duplicates += 1;
        }
        match stats.dedup {
            DedupStatus::Unique => {}
            DedupStatus::Exact => self.exact_duplicates += 1,
            DedupStatus::Near => self.near_duplicates += 1,
        }
        for rule in &stats.boilerplate_rules {
            *self.boilerplate.entry(rule.clone()).or_default() += 1;
        }
        self.not_english += u64::from(stats.not_english);
        for (label, n) in Label::ALL.iter().zip(stats.entities) {
            if n > 0 {
                *self.entities.entry(label.as_str().to_owned()).or_default() += n;
            }
        }
        for (acc, n) in self.stage_nanos.iter_mut().zip(stats.stage_nanos) {
            *acc += n;
        }
        if stats.dedup_index.is_some() {
            self.last_index = stats.dedup_index;
        }
    }

    /// Count a rejected input.
    pub fn add_rejected(&mut self, kind: &str, bytes: u64) {
        self.inputs += 1;
        self.input_bytes += bytes;
        *self.rejected.entry(kind.to_owned()).or_default() += 1;
    }

    /// Count what the source passed over, by kind.
    pub fn add_skipped(&mut self, skipped: &BTreeMap<&'static str, u64>) {
        for (kind, n) in skipped {
            *self.skipped.entry((*kind).to_owned()).or_default() += n;
        }
    }

    /// Total rejected inputs.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// Fill in the timing fields once the run is over.
    pub fn finish(&mut self, elapsed: Duration, index_articles: usize, index_bytes: usize) {
        self.seconds = elapsed.as_secs_f64();
        let mb = self.input_bytes as f64 / 1e6;
        self.mb_per_s = if self.seconds > 0.0 {
            mb / self.seconds
        } else {
            0.0
        };
        self.dedup_index_articles = index_articles as u64;
        self.dedup_index_bytes = index_bytes as u64;
        self.stages.clear();
        for (name, nanos) in self.stage_names.iter().zip(self.stage_nanos) {
            if nanos == 0 {
                continue;
            }
            let seconds = nanos as f64 / 1e9;
            self.stages.insert(
                (*name).to_owned(),
                StageTime {
                    seconds,
                    mb_per_s: mb / seconds,
                },
            );
        }
    }

    /// The human-readable summary printed on stderr.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let status = match (self.interrupted, self.long_lived) {
            (true, true) => "stopped",
            (true, false) => "interrupted",
            (false, _) => "done",
        };
        let _ = writeln!(
            s,
            "newspipe: {status} in {:.2}s, {} threads",
            self.seconds, self.threads
        );
        let _ = writeln!(
            s,
            "  read        {} inputs, {:.1} MB, {:.1} MB/s",
            self.inputs,
            self.input_bytes as f64 / 1e6,
            self.mb_per_s
        );
        let _ = writeln!(
            s,
            "  rejected    {}{}",
            self.rejected_total(),
            list(&self.rejected)
        );
        if !self.skipped.is_empty() {
            let n: u64 = self.skipped.values().sum();
            let _ = writeln!(s, "  skipped     {n}{}", list(&self.skipped));
        }
        let _ = writeln!(s, "  written     {} records", self.written);
        let _ = writeln!(
            s,
            "  duplicates  {} exact, {} near, {} dropped",
            self.exact_duplicates, self.near_duplicates, self.dropped_duplicates
        );
        let spans: u64 = self.boilerplate.values().sum();
        let _ = writeln!(
            s,
            "  boilerplate {} spans{}",
            spans,
            list(&self.boilerplate)
        );
        let ents: u64 = self.entities.values().sum();
        let _ = writeln!(s, "  entities    {}{}", ents, list(&self.entities));
        if self.not_english > 0 {
            let _ = writeln!(
                s,
                "  untagged    {} articles not in English",
                self.not_english
            );
        }
        if self.dedup_index_articles > 0 {
            let _ = writeln!(
                s,
                "  dedup index {} articles, {:.1} MB, {} B/article",
                self.dedup_index_articles,
                self.dedup_index_bytes as f64 / 1e6,
                self.dedup_index_bytes / self.dedup_index_articles
            );
        }
        if !self.stages.is_empty() {
            let parts: Vec<String> = self
                .stage_names
                .iter()
                .filter_map(|n| {
                    self.stages
                        .get(*n)
                        .map(|t| format!("{n} {:.0}", t.mb_per_s))
                })
                .collect();
            let _ = writeln!(s, "  MB/s/core   {}", parts.join(", "));
        }
        s
    }
}

fn list(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k} {v}")).collect();
    format!(" ({})", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_articles_rejects_and_duplicates() {
        let mut s = Summary::new(2, vec!["decode", "normalize"]);
        let mut st = ArticleStats {
            bytes: 1000,
            boilerplate_rules: vec!["also-read".into()],
            entities: [2, 1, 0, 0],
            ..ArticleStats::default()
        };
        st.stage_nanos[1] = 500_000_000;
        s.add_article(&st, true);
        st.dedup = DedupStatus::Exact;
        s.add_article(&st, false);
        s.add_rejected("binary", 10);
        s.add_skipped(&BTreeMap::from([("warc_request", 2), ("warc_warcinfo", 1)]));
        s.finish(Duration::from_secs(1), 1, 600);
        assert_eq!((s.inputs, s.written, s.input_bytes), (3, 1, 2010));
        assert_eq!((s.exact_duplicates, s.dropped_duplicates), (1, 1));
        assert_eq!(s.rejected.get("binary"), Some(&1));
        assert_eq!(s.boilerplate.get("also-read"), Some(&2));
        assert_eq!(s.entities.get("PER"), Some(&4));
        let text = s.render();
        assert!(text.contains("rejected    1 (binary 1)"), "{text}");
        // Skips are neither inputs nor rejects.
        assert_eq!((s.inputs, s.rejected_total()), (3, 1));
        assert!(
            text.contains("skipped     3 (warc_request 2, warc_warcinfo 1)"),
            "{text}"
        );
        assert!(text.contains("600 B/article"), "{text}");
        // 2,010 bytes in 1 s of normalize time: stages are keyed by name.
        assert_eq!(s.stages.keys().collect::<Vec<_>>(), ["normalize"]);
        assert!(text.contains("MB/s/core   normalize 0"), "{text}");
    }

    #[test]
    fn a_signal_interrupts_a_batch_run_but_stops_a_daemon() {
        let mut s = Summary::new(1, vec![]);
        s.interrupted = true;
        assert!(s.render().starts_with("newspipe: interrupted in"));
        s.long_lived = true;
        assert!(s.render().starts_with("newspipe: stopped in"));
        // The JSON summary keeps saying what happened.
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["interrupted"], true);
        assert!(json.get("long_lived").is_none());
    }
}

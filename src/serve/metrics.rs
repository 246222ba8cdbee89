//! `/metrics` (Prometheus text format) and `/healthz` for the daemon.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tracing::debug;

use crate::summary::{ArticleStats, Summary, TIMED_STAGES};

/// Upper bounds (seconds) of the commit-latency histogram buckets.
const LATENCY_BUCKETS: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

use crate::pipeline::QueueProbe;

#[derive(Default)]
struct Inner {
    summary: Summary,
    segments: u64,
    output_bytes: u64,
    latency_counts: [u64; LATENCY_BUCKETS.len()],
    latency_sum: f64,
    latency_count: u64,
    index_articles: u64,
    index_bytes: u64,
}

/// Counters shared by the daemon's consumer and the HTTP endpoint.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    queues: Mutex<Vec<QueueProbe>>,
}

impl Metrics {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        // A poisoned lock only means a panic elsewhere mid-update; counters stay usable.
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// Register the pipeline's queues for `newspipe_queue_depth`.
    pub fn set_queues(&self, probes: Vec<QueueProbe>) {
        *self.queues.lock().unwrap_or_else(|e| e.into_inner()) = probes;
    }

    /// Count one article that reached the consumer.
    pub fn article(&self, stats: &ArticleStats, written: bool) {
        self.with(|m| m.summary.add_article(stats, written));
    }

    /// Count one rejected input.
    pub fn rejected(&self, kind: &str, bytes: u64) {
        self.with(|m| m.summary.add_rejected(kind, bytes));
    }

    /// Record a committed segment and the commit latency of its inputs.
    pub fn committed(&self, output_bytes: u64, latencies: &[f64]) {
        self.with(|m| {
            m.segments += 1;
            m.output_bytes += output_bytes;
            for &l in latencies {
                m.latency_sum += l;
                m.latency_count += 1;
                if let Some(i) = LATENCY_BUCKETS.iter().position(|b| l <= *b) {
                    m.latency_counts[i] += 1;
                }
            }
        });
    }

    /// Update the dedup index gauges.
    pub fn index(&self, articles: usize, bytes: usize) {
        self.with(|m| {
            m.index_articles = articles as u64;
            m.index_bytes = bytes as u64;
        });
    }

    /// Render every metric in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let queues: Vec<(&str, usize)> = self
            .queues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(n, f)| (*n, f()))
            .collect();
        self.with(|m| {
            let s = &mut m.summary;
            s.finish(std::time::Duration::ZERO, 0, 0);
            let mut metric = |name: &str, kind: &str, help: &str, rows: Vec<(String, f64)>| {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
                for (labels, v) in rows {
                    let _ = writeln!(out, "{name}{labels} {v}");
                }
            };
            let plain = |v: u64| vec![(String::new(), v as f64)];
            let by = |label: &str, map: &std::collections::BTreeMap<String, u64>| {
                map.iter()
                    .map(|(k, v)| (format!("{{{label}=\"{}\"}}", escape(k)), *v as f64))
                    .collect::<Vec<_>>()
            };
            metric("newspipe_up", "gauge", "1 while the daemon runs.", plain(1));
            metric("newspipe_inputs_total", "counter", "Inputs taken from the watched directory.", plain(s.inputs));
            metric("newspipe_input_bytes_total", "counter", "Bytes of inputs taken.", plain(s.input_bytes));
            metric("newspipe_records_written_total", "counter", "Records written to segments (committed or about to be).", plain(s.written));
            metric("newspipe_rejected_total", "counter", "Inputs rejected, by reason.", by("reason", &s.rejected));
            metric(
                "newspipe_duplicates_total",
                "counter",
                "Articles marked as duplicates, by kind.",
                vec![
                    ("{kind=\"exact\"}".into(), s.exact_duplicates as f64),
                    ("{kind=\"near\"}".into(), s.near_duplicates as f64),
                ],
            );
            metric("newspipe_dropped_duplicates_total", "counter", "Duplicates left out of the output.", plain(s.dropped_duplicates));
            metric("newspipe_entities_total", "counter", "Entities tagged, by label.", by("label", &s.entities));
            metric("newspipe_boilerplate_spans_total", "counter", "Boilerplate spans removed, by rule.", by("rule", &s.boilerplate));
            metric(
                "newspipe_stage_seconds_total",
                "counter",
                "CPU seconds spent in each stage.",
                TIMED_STAGES
                    .iter()
                    .map(|n| {
                        let secs = s.stages.get(*n).map_or(0.0, |t| t.seconds);
                        (format!("{{stage=\"{n}\"}}"), secs)
                    })
                    .collect(),
            );
            metric("newspipe_segments_committed_total", "counter", "Output segments committed.", plain(m.segments));
            metric("newspipe_output_bytes_total", "counter", "Bytes of committed segments.", plain(m.output_bytes));
            metric("newspipe_dedup_index_articles", "gauge", "Articles held by the dedup index.", plain(m.index_articles));
            metric("newspipe_dedup_index_bytes", "gauge", "Heap bytes of the dedup index.", plain(m.index_bytes));
            metric(
                "newspipe_queue_depth",
                "gauge",
                "Articles waiting in each queue between stages.",
                queues
                    .iter()
                    .map(|(n, d)| (format!("{{queue=\"{n}\"}}"), *d as f64))
                    .collect(),
            );
            let name = "newspipe_commit_latency_seconds";
            let _ = writeln!(
                out,
                "# HELP {name} Time from taking an input to committing its segment.\n# TYPE {name} histogram"
            );
            let mut cumulative = 0;
            for (b, c) in LATENCY_BUCKETS.iter().zip(m.latency_counts) {
                cumulative += c;
                let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {cumulative}");
            }
            let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", m.latency_count);
            let _ = writeln!(out, "{name}_sum {}", m.latency_sum);
            let _ = writeln!(out, "{name}_count {}", m.latency_count);
        });
        out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Answer `GET /metrics` and `GET /healthz` until `shutdown` resolves.
pub async fn serve_http(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => {
                let Ok((mut stream, _)) = accepted else { continue };
                let metrics = Arc::clone(&metrics);
                tokio::spawn(async move {
                    if let Err(e) = answer(&mut stream, &metrics).await {
                        debug!("metrics connection: {e}");
                    }
                });
            }
        }
    }
}

async fn answer(stream: &mut tokio::net::TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    // Read the request head only; a bounded buffer and a timeout keep a slow
    // or hostile client from holding resources.
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") && len < buf.len() {
            let n = stream.read(&mut buf[len..]).await?;
            if n == 0 {
                break;
            }
            len += n;
        }
        Ok::<(), std::io::Error>(())
    })
    .await;
    if read.is_err() {
        return Ok(());
    }
    let head = String::from_utf8_lossy(&buf[..len]);
    let mut parts = head.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, ctype, body) = match (method, path) {
        ("GET", "/metrics") => ("200 OK", "text/plain; version=0.0.4", metrics.render()),
        ("GET", "/healthz") => ("200 OK", "text/plain", "ok\n".to_owned()),
        ("GET", _) => ("404 Not Found", "text/plain", "not found\n".to_owned()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n".to_owned(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let m = Metrics::default();
        m.rejected("binary", 10);
        m.article(
            &ArticleStats {
                bytes: 100,
                entities: [1, 0, 2, 0],
                ..ArticleStats::default()
            },
            true,
        );
        m.committed(500, &[0.2, 3.0]);
        m.set_queues(vec![("source", Box::new(|| 7))]);
        let text = m.render();
        for line in [
            "newspipe_inputs_total 2",
            "newspipe_rejected_total{reason=\"binary\"} 1",
            "newspipe_entities_total{label=\"LOC\"} 2",
            "newspipe_queue_depth{queue=\"source\"} 7",
            "newspipe_commit_latency_seconds_bucket{le=\"0.25\"} 1",
            "newspipe_commit_latency_seconds_bucket{le=\"+Inf\"} 2",
            "newspipe_segments_committed_total 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
    }
}

//! Scores the HTML extractor on the WCXB development pages
//! (`../shared/data/html/wcxb-dev`, CC-BY 4.0) with the benchmark's metrics:
//! mean word-level F1 of the body, and title, date and author agreement over
//! the pages whose truth has them, and the body F1 of the records' `text`
//! (after the boilerplate stage). Also prints pages per second on one core.
//!
//! `cargo run --release --example html_eval` (`-- worst N` lists the N
//! pages with the lowest body F1; `-- page NNNN` prints one page's output, `-- tree NNNN` its best
//! containers, `-- dump DIR` writes each page's text to `DIR/NNNN.txt`, its record's
//! to `DIR/NNNN.record.txt`).

#[path = "../tests/it/support/html_eval.rs"]
mod support;

use std::time::Instant;

use newspipe::extract::eval::{word_f1, Scores};
use newspipe::extract::{Extractor, Streaming};
use newspipe::source::decode::decode_html;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = support::wcxb_dir();
    let pages = support::load_wcxb(&dir)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.display()))?;
    let texts: Vec<String> = pages
        .iter()
        .map(|p| {
            decode_html(&p.html, None)
                .map(|(t, _)| t)
                .unwrap_or_default()
        })
        .collect();
    let start = Instant::now();
    let outputs: Vec<_> = pages
        .iter()
        .zip(&texts)
        .map(|(p, html)| {
            Streaming
                .extract(html, p.url.as_deref())
                .unwrap_or_default()
        })
        .collect();
    let secs = start.elapsed().as_secs_f64();
    let mut scores = Scores::default();
    for (p, out) in pages.iter().zip(&outputs) {
        scores.add(out, &p.truth);
    }
    let mb = texts.iter().map(String::len).sum::<usize>() as f64 / 1e6;
    println!(
        "wcxb-dev: {} pages, body F1 {:.4}, title {:.3} ({}/{}), date {:.3} ({}/{}), author {:.3} ({}/{}); {:.0} pages/s, {:.1} MB/s on one core",
        scores.pages,
        scores.body_f1(),
        scores.title(),
        scores.titles.1,
        scores.titles.0,
        scores.date(),
        scores.dates.1,
        scores.dates.0,
        scores.author(),
        scores.authors.1,
        scores.authors.0,
        pages.len() as f64 / secs,
        mb / secs,
    );
    // What the metric scores is the record's `text`: the extractor's
    // output after the normalize, title and boilerplate stages.
    let records = support::record_texts(&pages)?;
    let record_f1 = pages
        .iter()
        .zip(&records)
        .map(|(p, t)| word_f1(t, &p.truth.main_content))
        .sum::<f64>()
        / pages.len().max(1) as f64;
    println!("record text (what `newspipe run` writes): body F1 {record_f1:.4}");
    match args.first().map(String::as_str) {
        Some("worst") => {
            let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
            let mut f1s: Vec<(f64, usize)> = pages
                .iter()
                .zip(&outputs)
                .enumerate()
                .map(|(i, (p, o))| (word_f1(&o.text, &p.truth.main_content), i))
                .collect();
            f1s.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (f1, i) in f1s.into_iter().take(n) {
                let (p, o) = (&pages[i], &outputs[i]);
                println!(
                    "{} F1 {f1:.3} got {} words want {} words  {}",
                    p.id,
                    o.text.split_whitespace().count(),
                    p.truth.main_content.split_whitespace().count(),
                    p.url.as_deref().unwrap_or("")
                );
            }
        }
        Some("meta") => {
            for (p, o) in pages.iter().zip(&outputs) {
                let t = &p.truth;
                let miss_t = t.title.as_deref().is_some_and(|w| {
                    !newspipe::extract::eval::title_matches(o.meta.title.as_deref(), w)
                });
                let miss_d = t.publish_date.as_deref().is_some_and(|w| {
                    !newspipe::extract::eval::date_matches(o.meta.published.as_deref(), w)
                });
                let miss_a = t
                    .author
                    .as_deref()
                    .is_some_and(|w| !newspipe::extract::eval::author_matches(&o.meta.authors, w));
                if miss_t || miss_d || miss_a {
                    println!("{}: {}", p.id, p.url.as_deref().unwrap_or(""));
                    if miss_t {
                        println!("  title got {:?} want {:?}", o.meta.title, t.title);
                    }
                    if miss_d {
                        println!(
                            "  date  got {:?} want {:?}",
                            o.meta.published, t.publish_date
                        );
                    }
                    if miss_a {
                        println!("  auth  got {:?} want {:?}", o.meta.authors, t.author);
                    }
                }
            }
        }
        Some("tree") => {
            let id = args.get(1).map(String::as_str).unwrap_or("");
            if let Some(i) = pages.iter().position(|p| p.id == id) {
                print!(
                    "{}",
                    newspipe::extract::body::debug_containers(&texts[i], 25)
                );
            }
        }
        Some("dump") => {
            let dir = std::path::Path::new(args.get(1).map_or("html-eval-out", String::as_str));
            std::fs::create_dir_all(dir)?;
            for ((p, o), r) in pages.iter().zip(&outputs).zip(&records) {
                std::fs::write(dir.join(format!("{}.txt", p.id)), &o.text)?;
                std::fs::write(dir.join(format!("{}.record.txt", p.id)), r)?;
            }
        }
        Some("page") => {
            let id = args.get(1).map(String::as_str).unwrap_or("");
            if let Some(i) = pages.iter().position(|p| p.id == id) {
                println!(
                    "{:#?}\n---- want:\n{}",
                    outputs[i], pages[i].truth.main_content
                );
            }
        }
        _ => {}
    }
    Ok(())
}

//! The WCXB development pages (`../shared/data/html/wcxb-dev`) and their
//! ground truth, shared by `examples/html_eval.rs`, `tests/it/html_eval.rs`
//! which include this file by path.
#![allow(dead_code)] // each includer uses a part

use std::io::Read;
use std::path::{Path, PathBuf};

use newspipe::extract::eval::Truth;

/// The dev set's folder, beside the repository.
pub fn wcxb_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/html/wcxb-dev")
}

/// One page: its id, URL, raw bytes and truth.
pub struct EvalPage {
    /// `NNNN`.
    pub id: String,
    /// The URL it was fetched from.
    pub url: Option<String>,
    /// The page as fetched (gunzipped).
    pub html: Vec<u8>,
    /// What it should give.
    pub truth: Truth,
}

fn text_field(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(|x| x.as_str())
        .map(str::to_owned)
        .filter(|s| !s.trim().is_empty())
}

/// Every page of `dir`, in id order.
pub fn load_wcxb(dir: &Path) -> std::io::Result<Vec<EvalPage>> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("html"))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".html.gz"))
        .collect();
    names.sort();
    let mut pages = Vec::with_capacity(names.len());
    for name in names {
        let id = name.trim_end_matches(".html.gz").to_owned();
        let mut html = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(dir.join("html").join(&name))?)
            .read_to_end(&mut html)?;
        let gt: serde_json::Value = serde_json::from_slice(&std::fs::read(
            dir.join("ground-truth").join(format!("{id}.json")),
        )?)
        .map_err(std::io::Error::other)?;
        let g = &gt["ground_truth"];
        pages.push(EvalPage {
            id,
            url: text_field(&gt, "url"),
            html,
            truth: Truth {
                main_content: text_field(g, "main_content").unwrap_or_default(),
                title: text_field(g, "title"),
                publish_date: text_field(g, "publish_date"),
                author: text_field(g, "author"),
            },
        });
    }
    Ok(pages)
}

/// Each page's record `text` as `newspipe run` writes it with dedup and
/// entities off: extracted, normalized, titled and cleaned by the built-in
/// boilerplate rules. Empty for a page the pipeline rejects.
pub fn record_texts(pages: &[EvalPage]) -> anyhow::Result<Vec<String>> {
    use newspipe::config::{Overrides, Settings};
    use newspipe::record::{SourceFormat, SourceInfo};
    use newspipe::source::Input;
    use newspipe::stage::Stages;

    let mut settings = Settings::load(None, std::iter::empty(), &Overrides::default())?;
    settings.dedup.enabled = false;
    settings.entities.enabled = false;
    let stages = Stages::new(settings.stages())?;
    Ok(pages
        .iter()
        .zip(0..)
        .map(|(p, seq)| {
            let source = SourceInfo {
                path: format!("{}.html", p.id),
                bytes: p.html.len() as u64,
                format: SourceFormat::Html,
                url: p.url.clone(),
                ..SourceInfo::default()
            };
            let input = Input::Raw {
                seq,
                source,
                bytes: p.html.clone(),
            };
            stages
                .prepare(input)
                .map(|(a, _)| a.text)
                .unwrap_or_default()
        })
        .collect())
}

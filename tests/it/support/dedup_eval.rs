//! Shared by `tests/dedup_eval.rs`, `examples/dedup_eval.rs` and
//! `benches/dedup.rs`: reading the BBC corpus from `../shared` (never copied
//! into the repository), approximating the pipeline's cleaning, generating the
//! syndication set, and scoring dedup verdicts against ground truth.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use newspipe::dedup::{DedupIndex, Fingerprinter, NearParams};
use newspipe::record::{DedupInfo, DedupStatus, Fingerprint};

/// One article of an evaluation set.
#[derive(Debug, Clone)]
pub struct Doc {
    /// Corpus-relative name, e.g. `business/001.txt`; copies get a suffix.
    pub name: String,
    /// The whole file as text: headline on line 1, then paragraphs.
    pub raw: String,
}

/// `../shared/data/bbc` beside the crate, when present.
pub fn bbc_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/bbc");
    dir.join("duplicates.json").is_file().then_some(dir)
}

/// UTF-8, else Latin-1 (each byte one code point); enough for this corpus.
pub fn lossy_decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// All `<category>/NNN.txt` files, sorted by name: the input order.
pub fn load_bbc(dir: &Path) -> std::io::Result<Vec<Doc>> {
    let mut docs = Vec::new();
    for category in std::fs::read_dir(dir)? {
        let category = category?;
        if !category.file_type()?.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(category.path())? {
            let path = file?.path();
            if path.extension().is_some_and(|e| e == "txt") {
                let name = format!(
                    "{}/{}",
                    category.file_name().to_string_lossy(),
                    path.file_name()
                        .map(|f| f.to_string_lossy())
                        .unwrap_or_default()
                );
                docs.push(Doc {
                    name,
                    raw: lossy_decode(&std::fs::read(&path)?),
                });
            }
        }
    }
    docs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(docs)
}

/// The pipeline's view of an article, approximated: headline (line 1) dropped,
/// whitespace collapsed within paragraphs, paragraphs separated by a blank line.
pub fn body(raw: &str) -> String {
    let rest = raw.split_once('\n').map_or("", |(_, rest)| rest);
    paragraphs(rest).join("\n\n")
}

fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect()
}

/// Which pairs are duplicates. Positive pairs are joined into groups (a copy
/// of a copy is a duplicate of the original); gray pairs count neither way.
#[derive(Debug, Default)]
pub struct Truth {
    parent: Vec<usize>,
    gray: HashSet<(usize, usize)>,
}

impl Truth {
    /// No duplicates among `n` articles yet.
    pub fn new(n: usize) -> Self {
        Truth {
            parent: (0..n).collect(),
            gray: HashSet::new(),
        }
    }

    fn root(&self, mut i: usize) -> usize {
        while self.parent[i] != i {
            i = self.parent[i];
        }
        i
    }

    /// Mark `a` and `b` as duplicates.
    pub fn join(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.root(a), self.root(b));
        self.parent[ra.max(rb)] = ra.min(rb);
    }

    /// Mark the pair as ambiguous: neither a hit nor a false alarm.
    pub fn gray(&mut self, a: usize, b: usize) {
        self.gray.insert((a.min(b), a.max(b)));
    }

    /// Same duplicate group.
    pub fn same(&self, a: usize, b: usize) -> bool {
        self.root(a) == self.root(b)
    }

    /// Gray pairs relate whole groups: a copy of `a` is as ambiguous a match
    /// for `b` as `a` itself.
    pub fn is_gray(&self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.root(a), self.root(b));
        self.gray.iter().any(|&(x, y)| {
            let (rx, ry) = (self.root(x), self.root(y));
            (rx == ra && ry == rb) || (rx == rb && ry == ra)
        })
    }
}

/// BBC ground truth from `duplicates.json`: exact groups and pairs with
/// Jaccard >= 0.8 are duplicates, pairs in [0.5, 0.8) are gray, all else not.
pub fn bbc_truth(dir: &Path, docs: &[Doc]) -> Result<Truth, String> {
    let text = std::fs::read_to_string(dir.join("duplicates.json")).map_err(|e| e.to_string())?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let index: HashMap<&str, usize> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name.as_str(), i))
        .collect();
    let at = |v: &serde_json::Value| -> Result<usize, String> {
        let name = v.as_str().ok_or("name is not a string")?;
        index
            .get(name)
            .copied()
            .ok_or_else(|| format!("unknown article {name}"))
    };
    let mut truth = Truth::new(docs.len());
    for group in json["exact_normalized_groups"]
        .as_array()
        .ok_or("no exact groups")?
    {
        let members = group.as_array().ok_or("group is not a list")?;
        for pair in members.windows(2) {
            truth.join(at(&pair[0])?, at(&pair[1])?);
        }
    }
    for pair in json["near_dup_pairs_jaccard_ge_0.3"]
        .as_array()
        .ok_or("no near pairs")?
    {
        let jaccard = pair[0].as_f64().ok_or("jaccard is not a number")?;
        let (a, b) = (at(&pair[1])?, at(&pair[2])?);
        if jaccard >= 0.8 {
            truth.join(a, b);
        } else if jaccard >= 0.5 {
            truth.gray(a, b);
        }
    }
    Ok(truth)
}

/// SplitMix64: a fixed-seed generator, so the syndication set never changes.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// Next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const AGENCIES: [&str; 6] = [
    "Newswire",
    "Global Press",
    "Daily Digest",
    "Wire Service",
    "Metro News",
    "City Herald",
];
const CITIES: [&str; 8] = [
    "LONDON",
    "NEW YORK",
    "PARIS",
    "SYDNEY",
    "MANCHESTER",
    "DUBLIN",
    "TORONTO",
    "BERLIN",
];
const MONTHS: [&str; 6] = ["Jan", "Feb", "March", "April", "May", "June"];

/// Sentences of a paragraph: split after `.`, `?` or `!` (optionally closing a
/// quote) when a space and an uppercase letter or quote follow.
fn sentences(paragraph: &str) -> Vec<&str> {
    let bytes = paragraph.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..bytes.len().saturating_sub(1) {
        let end_mark = matches!(bytes[i - 1], b'.' | b'?' | b'!' | b'"');
        let next = bytes[i + 1];
        if end_mark && bytes[i] == b' ' && (next.is_ascii_uppercase() || next == b'"') {
            out.push(&paragraph[start..i]);
            start = i + 1;
        }
    }
    out.push(&paragraph[start..]);
    out
}

/// Drop the last paragraph as its author wrote it. The corpus often merges an
/// article's paragraphs into one block; a block of more than three sentences
/// is taken to be such a merge and loses its last two sentences (a typical
/// BBC paragraph) instead of all of it.
fn drop_last_paragraph(paras: &mut Vec<String>) {
    let Some(last) = paras.last_mut() else {
        return;
    };
    let s = sentences(last);
    if s.len() > 3 {
        *last = s[..s.len() - 2].join(" ");
    } else if paras.len() > 1 {
        paras.pop();
    }
}

/// A syndicated copy of `raw`: a new headline, the last paragraph dropped, a
/// dateline before the first paragraph, and the agency's own boilerplate.
pub fn syndicate(raw: &str, rng: &mut Rng) -> String {
    let (headline, rest) = raw.split_once('\n').unwrap_or((raw, ""));
    let mut paras = paragraphs(rest);
    drop_last_paragraph(&mut paras);
    let agency = rng.pick(&AGENCIES);
    let dateline = format!(
        "{}, {} {} ({}) -",
        rng.pick(&CITIES),
        rng.pick(&MONTHS),
        1 + rng.below(28),
        agency
    );
    if let Some(first) = paras.first_mut() {
        *first = format!("{dateline} {first}");
    }
    let boilerplate = [
        format!("Copyright {} {agency}. All rights reserved. This material may not be published, broadcast, rewritten or redistributed.", 2004 + rng.below(3)),
        format!("Reporting by {agency} staff; editing by the {} desk.", rng.pick(&["news", "business", "sports", "foreign"])),
        format!("Follow {agency} on social media for the latest updates."),
        "Sign up for our morning briefing, delivered to your inbox every weekday.".to_owned(),
    ];
    let lines = 1 + rng.below(boilerplate.len());
    let start = rng.below(boilerplate.len());
    for i in 0..lines {
        paras.push(boilerplate[(start + i) % boilerplate.len()].clone());
    }
    let words: Vec<&str> = headline.split_whitespace().collect();
    let new_headline = match rng.below(3) {
        0 => format!("UPDATE 1-{}", words.join(" ")),
        1 => format!(
            "{} ({agency})",
            words.iter().rev().copied().collect::<Vec<_>>().join(" ")
        ),
        _ => format!(
            "{}: {}",
            agency,
            words
                .iter()
                .take(words.len().saturating_sub(1))
                .copied()
                .collect::<Vec<_>>()
                .join(" ")
        ),
    };
    format!("{new_headline}\n\n{}\n", paras.join("\n\n"))
}

/// The syndication set: every BBC article, plus a syndicated copy of `copies`
/// of them (a quarter of those copied twice, by different agencies), shuffled
/// with a fixed seed. Truth joins each copy to its original, on top of the
/// BBC truth (which `bbc` must index like `docs`).
pub fn syndication_set(docs: &[Doc], bbc: Truth, copies: usize, seed: u64) -> (Vec<Doc>, Truth) {
    let mut rng = Rng::new(seed);
    let mut set: Vec<Doc> = docs.to_vec();
    let mut pairs = Vec::new();
    let mut chosen: Vec<usize> = (0..docs.len()).collect();
    for i in (1..chosen.len()).rev() {
        chosen.swap(i, rng.below(i + 1));
    }
    chosen.truncate(copies.min(docs.len()));
    for (n, &original) in chosen.iter().enumerate() {
        let times = if n % 4 == 0 { 2 } else { 1 };
        for t in 0..times {
            pairs.push((original, set.len()));
            set.push(Doc {
                name: format!("{}#copy{t}", docs[original].name),
                raw: syndicate(&docs[original].raw, &mut rng),
            });
        }
    }
    let mut truth = Truth::new(set.len());
    for i in 0..docs.len() {
        truth.parent[i] = bbc.parent[i];
    }
    truth.gray = bbc.gray;
    for (a, b) in pairs {
        truth.join(a, b);
    }
    // Shuffle the input order; truth follows the articles.
    let mut order: Vec<usize> = (0..set.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut position = vec![0; set.len()];
    for (new, &old) in order.iter().enumerate() {
        position[old] = new;
    }
    let mut shuffled_truth = Truth::new(set.len());
    for old in 0..set.len() {
        shuffled_truth.join(position[old], position[truth.root(old)]);
    }
    for &(a, b) in &truth.gray {
        shuffled_truth.gray(position[a], position[b]);
    }
    let shuffled = order.into_iter().map(|old| set[old].clone()).collect();
    (shuffled, shuffled_truth)
}

/// Precision and recall of dedup verdicts, counted per article: a duplicate
/// verdict is a hit when it names an article of the same group, a false alarm
/// when the pair is not gray; every article with an earlier member of its
/// group that is not hit is a miss.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Score {
    /// Correct duplicate verdicts.
    pub hits: usize,
    /// Duplicate verdicts naming an unrelated article.
    pub false_alarms: usize,
    /// Duplicates not found.
    pub misses: usize,
    /// Verdicts naming a gray (0.5 <= J < 0.8) partner, not counted.
    pub gray: usize,
    /// Verdicts with status `exact`.
    pub exact: usize,
}

impl Score {
    /// hits / (hits + false alarms); 1 when nothing was flagged.
    pub fn precision(&self) -> f64 {
        ratio(self.hits, self.hits + self.false_alarms)
    }

    /// hits / (hits + misses); 1 when there was nothing to find.
    pub fn recall(&self) -> f64 {
        ratio(self.hits, self.hits + self.misses)
    }

    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// Score verdicts given in input order; ids are the input positions.
pub fn score(verdicts: &[DedupInfo], truth: &Truth) -> Score {
    let mut s = Score::default();
    let mut seen_root = HashSet::new();
    for (i, v) in verdicts.iter().enumerate() {
        let has_earlier = !seen_root.insert(truth.root(i));
        let partner = v
            .duplicate_of
            .as_deref()
            .and_then(|id| id.parse::<usize>().ok());
        if v.status == DedupStatus::Exact {
            s.exact += 1;
        }
        match partner {
            Some(p) if truth.same(i, p) => s.hits += 1,
            Some(p) if truth.is_gray(i, p) => s.gray += 1,
            Some(_) => s.false_alarms += 1,
            None => {}
        }
        let hit = partner.is_some_and(|p| truth.same(i, p));
        if has_earlier && !hit {
            s.misses += 1;
        }
    }
    s
}

/// Fingerprint every body (the parallel half).
pub fn fingerprints(bodies: &[String], fingerprinter: &Fingerprinter) -> Vec<Fingerprint> {
    bodies
        .iter()
        .map(|b| fingerprinter.fingerprint(b))
        .collect()
}

/// Run the sequential half over fingerprints in order; ids are positions.
pub fn verdicts(fps: &[Fingerprint], near: Option<NearParams>) -> (Vec<DedupInfo>, DedupIndex) {
    let mut index = DedupIndex::new(near);
    let v = fps
        .iter()
        .enumerate()
        .map(|(i, fp)| index.check_and_insert(&i.to_string(), fp))
        .collect();
    (v, index)
}

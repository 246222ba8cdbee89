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

/// [`bbc_truth`] read with issue 15's definition: a pair that
/// `duplicates.json` calls distinct (Jaccard < 0.5) but where one body holds
/// at least 90% of the other's 5-word shingles (a containment, which that
/// Jaccard-based file cannot see) is gray, counted neither way. Bodies are
/// indexed like `docs`.
pub fn bbc_truth_with_containment(
    dir: &Path,
    docs: &[Doc],
    bodies: &[String],
) -> Result<Truth, String> {
    let mut truth = bbc_truth(dir, docs)?;
    let text = std::fs::read_to_string(dir.join("duplicates.json")).map_err(|e| e.to_string())?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let index: HashMap<&str, usize> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name.as_str(), i))
        .collect();
    let shingles = |body: &str| -> HashSet<String> {
        let mut key = String::new();
        newspipe::dedup::fold_into(body, newspipe::dedup::Folding::Words, &mut key);
        let words: Vec<&str> = key.split(' ').filter(|w| !w.is_empty()).collect();
        words.windows(5).map(|w| w.join(" ")).collect()
    };
    for pair in json["near_dup_pairs_jaccard_ge_0.3"]
        .as_array()
        .ok_or("no near pairs")?
    {
        let jaccard = pair[0].as_f64().ok_or("jaccard is not a number")?;
        let (Some(&a), Some(&b)) = (
            pair[1].as_str().and_then(|n| index.get(n)),
            pair[2].as_str().and_then(|n| index.get(n)),
        ) else {
            continue;
        };
        if jaccard >= 0.5 {
            continue;
        }
        let (sa, sb) = (shingles(&bodies[a]), shingles(&bodies[b]));
        let shared = sa.intersection(&sb).count();
        if shared as f64 >= 0.9 * sa.len().min(sb.len()).max(1) as f64 {
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

/// How a copy in the edit set was made from its original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Edit {
    /// The last paragraph dropped.
    Trimmed,
    /// A new headline only (the body is unchanged).
    Headline,
    /// A dateline before the first paragraph.
    Dateline,
    /// The paragraphs after the first in another order.
    Reordered,
    /// Lines re-wrapped at 60-75 columns, paragraphs merged in pairs.
    Rewrapped,
    /// All of the above but reordering, plus agency boilerplate ([`syndicate`]).
    Syndicated,
    /// Only the first 55-70% of the paragraphs kept.
    Cut,
    /// About one letter in forty changed to another letter.
    Noisy,
}

impl Edit {
    /// Every edit class, in report order.
    pub const ALL: [Edit; 8] = [
        Edit::Trimmed,
        Edit::Headline,
        Edit::Dateline,
        Edit::Reordered,
        Edit::Rewrapped,
        Edit::Syndicated,
        Edit::Cut,
        Edit::Noisy,
    ];

    /// Name used in copy names (`<original>#<name>`) and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Edit::Trimmed => "trimmed",
            Edit::Headline => "headline",
            Edit::Dateline => "dateline",
            Edit::Reordered => "reordered",
            Edit::Rewrapped => "rewrapped",
            Edit::Syndicated => "syndicated",
            Edit::Cut => "cut",
            Edit::Noisy => "noisy",
        }
    }
}

/// A story that shares text with an earlier one but is not a duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Trap {
    /// A new story opening with the original's first paragraph.
    FollowUp,
    /// Another desk's story on the same event: its own text with three of the
    /// original's sentences (quotes first) woven in.
    OtherDesk,
    /// An issue of a weekly column: the column's standing intro, then new text.
    Column,
}

impl Trap {
    /// Every trap kind, in report order.
    pub const ALL: [Trap; 3] = [Trap::FollowUp, Trap::OtherDesk, Trap::Column];

    /// Name used in trap names (`trap-<name>:...`) and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Trap::FollowUp => "follow_up",
            Trap::OtherDesk => "other_desk",
            Trap::Column => "column",
        }
    }
}

/// Parameters of [`edit_set`]; [`EditSetParams::default`] is the committed set.
#[derive(Debug, Clone, Copy)]
pub struct EditSetParams {
    /// Seed of every random choice.
    pub seed: u64,
    /// Copies per edit class (each of a different original).
    pub copies_per_class: usize,
    /// Traps per kind.
    pub traps_per_kind: usize,
    /// Articles held out of the set to supply the traps' new text.
    pub held_out: usize,
    /// Range of the share of paragraphs a cut copy keeps.
    pub cut_keep: (f64, f64),
    /// One letter in this many is changed in a noisy copy.
    pub noise_one_in: usize,
}

impl Default for EditSetParams {
    fn default() -> Self {
        EditSetParams {
            seed: 15,
            copies_per_class: 200,
            traps_per_kind: 100,
            held_out: 300,
            cut_keep: (0.55, 0.70),
            noise_one_in: 40,
        }
    }
}

/// The generated edit set: articles in input order, their truth, and what
/// each one is (by name: `<original>#<edit>` for copies, `trap-<kind>:...`
/// for traps, the corpus name for originals).
pub struct EditSet {
    /// Articles in input order.
    pub docs: Vec<Doc>,
    /// Duplicate groups: the BBC truth among originals, each copy joined to its original.
    pub truth: Truth,
}

impl EditSet {
    /// The edit class of article `i`, when it is a copy.
    pub fn edit(&self, i: usize) -> Option<Edit> {
        let (_, class) = self.docs[i].name.split_once('#')?;
        Edit::ALL.into_iter().find(|e| e.as_str() == class)
    }

    /// The trap kind of article `i`, when it is a trap.
    pub fn trap(&self, i: usize) -> Option<Trap> {
        let rest = self.docs[i].name.strip_prefix("trap-")?;
        let (kind, _) = rest.split_once(':')?;
        Trap::ALL.into_iter().find(|t| t.as_str() == kind)
    }
}

/// Author paragraphs of a body, approximated: the corpus often merges several
/// into one block, so a block of more than three sentences is split into runs
/// of two sentences (a typical BBC paragraph).
pub fn units(raw: &str) -> Vec<String> {
    let rest = raw.split_once('\n').map_or("", |(_, rest)| rest);
    let mut out = Vec::new();
    for block in paragraphs(rest) {
        let s = sentences(&block);
        if s.len() > 3 {
            out.extend(s.chunks(2).map(|c| c.join(" ")));
        } else {
            out.push(block);
        }
    }
    out
}

fn article(headline: &str, paras: &[String]) -> String {
    format!("{headline}\n\n{}\n", paras.join("\n\n"))
}

fn headline_of(raw: &str) -> &str {
    raw.lines().next().unwrap_or_default()
}

fn dateline(rng: &mut Rng) -> String {
    format!(
        "{}, {} {} ({}) -",
        rng.pick(&CITIES),
        rng.pick(&MONTHS),
        1 + rng.below(28),
        rng.pick(&AGENCIES)
    )
}

/// Change about one letter in `one_in` to another letter of the same case.
pub fn add_noise(text: &str, one_in: usize, rng: &mut Rng) -> String {
    text.chars()
        .map(|c| {
            if !c.is_ascii_alphabetic() || rng.below(one_in) != 0 {
                return c;
            }
            let base = if c.is_ascii_uppercase() { b'A' } else { b'a' };
            // 1..=25 letters on: never the same letter.
            let shifted = (c as u8 - base + 1 + rng.below(25) as u8) % 26;
            char::from(base + shifted)
        })
        .collect()
}

fn rewrap(paras: &[String], rng: &mut Rng) -> Vec<String> {
    let width = 60 + rng.below(16);
    paras
        .chunks(2)
        .map(|pair| {
            let mut out = String::new();
            let mut line = 0;
            for word in pair.join(" ").split_whitespace() {
                if line > 0 && line + 1 + word.len() > width {
                    out.push('\n');
                    line = 0;
                } else if line > 0 {
                    out.push(' ');
                    line += 1;
                }
                out.push_str(word);
                line += word.len();
            }
            out
        })
        .collect()
}

/// A copy of `raw` with one edit applied.
pub fn edit_copy(raw: &str, edit: Edit, p: &EditSetParams, rng: &mut Rng) -> String {
    let headline = headline_of(raw);
    let mut paras = units(raw);
    match edit {
        Edit::Trimmed => {
            paras.pop();
        }
        Edit::Headline => return article(&format!("UPDATE 1-{headline}"), &paras),
        Edit::Dateline => {
            let d = dateline(rng);
            if let Some(first) = paras.first_mut() {
                *first = format!("{d} {first}");
            }
        }
        Edit::Reordered => {
            for i in (2..paras.len()).rev() {
                let j = 1 + rng.below(i);
                paras.swap(i, j);
            }
        }
        Edit::Rewrapped => paras = rewrap(&paras, rng),
        Edit::Syndicated => return syndicate(raw, rng),
        Edit::Cut => {
            let (lo, hi) = p.cut_keep;
            let share = lo + (hi - lo) * (rng.below(1001) as f64 / 1000.0);
            let n = paras.len();
            // Nearest count to the drawn share that keeps the copy's share in range.
            let mut keep = ((share * n as f64).round() as usize).clamp(1, n.saturating_sub(1));
            while keep > 1 && keep as f64 / n as f64 > hi + 1e-9 {
                keep -= 1;
            }
            while (keep as f64 / n as f64) < lo - 1e-9 && keep + 1 < n {
                keep += 1;
            }
            paras.truncate(keep);
        }
        Edit::Noisy => {
            let noisy: Vec<String> = paras
                .iter()
                .map(|q| add_noise(q, p.noise_one_in, rng))
                .collect();
            return article(headline, &noisy);
        }
    }
    article(headline, &paras)
}

/// Whether `units` can be cut to a share of paragraphs inside `range`.
fn can_cut(n: usize, (lo, hi): (f64, f64)) -> bool {
    (1..n).any(|k| {
        let s = k as f64 / n as f64;
        s >= lo - 1e-9 && s <= hi + 1e-9
    })
}

/// Standing intros of the weekly columns (invented text, not from the corpus).
const COLUMN_INTROS: [&str; 5] = [
    "Welcome to Gadget Week, our Friday look at the devices, apps and online services that landed on our desks in the last seven days. As always we tried each of them at home and on the move, and we tell you which ones are worth your money and which ones you can safely ignore until next time.",
    "This is Money Matters, the weekly column in which our personal finance team answers the questions readers send in about savings, pensions, mortgages and tax. Nothing here is formal advice, so please speak to a qualified adviser before acting on anything you read in this column.",
    "Every Monday the Touchline Diary looks back at the weekend of sport from the stands, the press box and the pub, with the stories that did not make the back pages but that supporters were still talking about on the way home from the ground.",
    "Westminster Notebook is our weekly sketch of life in and around parliament: the speeches, the corridors, the tea rooms and the late votes, written by correspondents who have spent too many nights on the green benches to be surprised by anything.",
    "Screen Time is the Thursday column where our critics round up the week in film, television and music, from the big premieres to the small releases that deserve a wider audience, and tell you what to watch, hear and skip this weekend.",
];

/// The edit set: the BBC articles minus `held_out` kept aside, one copy of
/// `copies_per_class` different originals per edit class, and
/// `traps_per_kind` traps of each kind built from originals and held-out
/// text; the input order shuffled with the seed. Held-out articles are ones
/// `duplicates.json` never names, so a trap's new text has no copy in the set.
pub fn edit_set(dir: &Path, docs: &[Doc], p: &EditSetParams) -> Result<EditSet, String> {
    let mut rng = Rng::new(p.seed);
    let text = std::fs::read_to_string(dir.join("duplicates.json")).map_err(|e| e.to_string())?;
    let named: HashSet<String> = {
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let mut names = HashSet::new();
        let mut walk = vec![json];
        while let Some(v) = walk.pop() {
            match v {
                serde_json::Value::String(s) => {
                    names.insert(s);
                }
                serde_json::Value::Array(items) => walk.extend(items),
                serde_json::Value::Object(map) => walk.extend(map.into_iter().map(|(_, v)| v)),
                _ => {}
            }
        }
        names
    };
    let mut order: Vec<usize> = (0..docs.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut held = Vec::new();
    let mut kept = Vec::new();
    for &i in &order {
        if held.len() < p.held_out
            && !named.contains(&docs[i].name)
            && units(&docs[i].raw).len() >= 3
        {
            held.push(i);
        } else {
            kept.push(i);
        }
    }
    kept.sort_unstable();
    let originals: Vec<Doc> = kept.iter().map(|&i| docs[i].clone()).collect();
    let bbc = bbc_truth(dir, &originals)?;
    let mut set = originals.clone();
    let mut pairs = Vec::new();

    // Copies: originals drawn without replacement across classes.
    let mut pool: Vec<usize> = (0..originals.len()).collect();
    for i in (1..pool.len()).rev() {
        pool.swap(i, rng.below(i + 1));
    }
    let mut next = 0;
    for edit in Edit::ALL {
        let mut made = 0;
        while made < p.copies_per_class && next < pool.len() {
            let o = pool[next];
            next += 1;
            let n = units(&originals[o].raw).len();
            let fits = match edit {
                Edit::Cut => can_cut(n, p.cut_keep),
                Edit::Trimmed | Edit::Reordered | Edit::Rewrapped => n >= 3,
                _ => true,
            };
            if !fits {
                continue;
            }
            pairs.push((o, set.len()));
            set.push(Doc {
                name: format!("{}#{}", originals[o].name, edit.as_str()),
                raw: edit_copy(&originals[o].raw, edit, p, &mut rng),
            });
            made += 1;
        }
    }

    // Traps: new text from held-out articles, shared text from originals.
    let mut fresh = held.iter().map(|&i| &docs[i]);
    for kind in Trap::ALL {
        for t in 0..p.traps_per_kind {
            let Some(new) = fresh.next() else { break };
            let new_units = units(&new.raw);
            // A trap shares a little of a long original: from a short one, the
            // shared part could be most of the story (or all of a cut copy of it).
            let o = loop {
                let o = &originals[rng.below(originals.len())];
                let sentences: usize = units(&o.raw).iter().map(|u| sentences(u).len()).sum();
                if sentences >= 10 {
                    break o;
                }
            };
            let o_units = units(&o.raw);
            let (name, paras) = match kind {
                Trap::FollowUp => {
                    let mut paras: Vec<String> = o_units.iter().take(1).cloned().collect();
                    paras.extend(new_units);
                    (
                        format!("trap-{}:{}+{}", kind.as_str(), o.name, new.name),
                        paras,
                    )
                }
                Trap::OtherDesk => {
                    let all: Vec<&str> = o_units.iter().flat_map(|u| sentences(u)).collect();
                    let mut picked: Vec<&str> = all
                        .iter()
                        .copied()
                        .filter(|s| s.contains('"'))
                        .take(3)
                        .collect();
                    for s in &all {
                        if picked.len() >= 3 {
                            break;
                        }
                        if !picked.contains(s) {
                            picked.push(s);
                        }
                    }
                    let mut paras = new_units;
                    for s in picked {
                        let at = 1 + rng.below(paras.len().max(1));
                        paras.insert(at.min(paras.len()), s.to_owned());
                    }
                    (
                        format!("trap-{}:{}+{}", kind.as_str(), o.name, new.name),
                        paras,
                    )
                }
                Trap::Column => {
                    let intro = COLUMN_INTROS[t % COLUMN_INTROS.len()];
                    let mut paras = vec![intro.to_owned()];
                    paras.extend(new_units);
                    (
                        format!(
                            "trap-{}:{}+{}",
                            kind.as_str(),
                            t % COLUMN_INTROS.len(),
                            new.name
                        ),
                        paras,
                    )
                }
            };
            set.push(Doc {
                name,
                raw: article(headline_of(&new.raw), &paras),
            });
        }
    }

    let mut truth = Truth::new(set.len());
    truth.parent[..originals.len()].copy_from_slice(&bbc.parent);
    truth.gray = bbc.gray;
    for (a, b) in pairs {
        truth.join(a, b);
    }
    let (docs, truth) = shuffle(set, truth, &mut rng);
    Ok(EditSet { docs, truth })
}

/// Shuffle the input order; truth follows the articles.
fn shuffle(set: Vec<Doc>, truth: Truth, rng: &mut Rng) -> (Vec<Doc>, Truth) {
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

/// Recall per edit class and false alarms per trap kind.
#[derive(Debug, Clone, Default)]
pub struct EditReport {
    /// (class, copies, found): a copy is found when the later of it and its
    /// original in input order names an article of their group; copies whose
    /// later article names a gray partner (see [`Truth::gray`]) are left out.
    pub recall: Vec<(Edit, usize, usize)>,
    /// (kind, traps, marked as duplicates).
    pub traps: Vec<(Trap, usize, usize)>,
}

impl EditReport {
    /// Recall of one class.
    pub fn recall_of(&self, edit: Edit) -> f64 {
        self.recall
            .iter()
            .find(|r| r.0 == edit)
            .map_or(1.0, |&(_, n, hit)| ratio(hit, n))
    }

    /// Traps marked as duplicates, all kinds.
    pub fn traps_marked(&self) -> usize {
        self.traps.iter().map(|t| t.2).sum()
    }
}

/// Score verdicts on an edit set per class and trap kind.
pub fn edit_report(set: &EditSet, verdicts: &[DedupInfo]) -> EditReport {
    let position: HashMap<&str, usize> = set
        .docs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name.as_str(), i))
        .collect();
    let names_group = |i: usize| {
        verdicts[i]
            .duplicate_of
            .as_deref()
            .and_then(|id| id.parse::<usize>().ok())
            .is_some_and(|p| set.truth.same(i, p))
    };
    let mut report = EditReport::default();
    for edit in Edit::ALL {
        let (mut n, mut hit) = (0, 0);
        for i in (0..set.docs.len()).filter(|&i| set.edit(i) == Some(edit)) {
            let original = set.docs[i].name.split('#').next().unwrap_or_default();
            let Some(&o) = position.get(original) else {
                continue;
            };
            let later = i.max(o);
            let partner = verdicts[later]
                .duplicate_of
                .as_deref()
                .and_then(|id| id.parse::<usize>().ok());
            // Naming a gray partner of the group counts neither way, as in `score`.
            if partner.is_some_and(|p| !set.truth.same(later, p) && set.truth.is_gray(later, p)) {
                continue;
            }
            n += 1;
            hit += usize::from(names_group(later));
        }
        report.recall.push((edit, n, hit));
    }
    for trap in Trap::ALL {
        let traps: Vec<usize> = (0..set.docs.len())
            .filter(|&i| set.trap(i) == Some(trap))
            .collect();
        // A trap is marked when it is called a duplicate, or when a later
        // article outside its group is called a duplicate of it.
        let mut named = vec![false; set.docs.len()];
        for (i, v) in verdicts.iter().enumerate() {
            if let Some(p) = v
                .duplicate_of
                .as_deref()
                .and_then(|id| id.parse::<usize>().ok())
            {
                if p < named.len() && !set.truth.same(i, p) {
                    named[p] = true;
                }
            }
        }
        let marked = traps
            .iter()
            .filter(|&&i| verdicts[i].status != DedupStatus::Unique || named[i])
            .count();
        report.traps.push((trap, traps.len(), marked));
    }
    report
}

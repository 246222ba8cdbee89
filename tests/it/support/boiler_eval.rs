//! The learned-boilerplate evaluation: a corpus built from the BBC articles
//! as published by invented outlets, each printing chrome of its own
//! (mastheads, donation asks, tip lines, partnership credits, newsletter
//! plugs, footers with changing years and counts) at positions of its own,
//! with some stories syndicated across outlets and some updated within one;
//! and a scorer over the lines each record kept.
//!
//! Everything is drawn from a seed: outlet names, which kinds of chrome an
//! outlet prints, their wording, where they go and how often, so a learner
//! tuned to one recipe fails on the next seed. Nothing of the corpus is
//! committed; it is rebuilt from `../shared/data/bbc` on each run.

use std::collections::HashMap;

use serde_json::Value;

use super::dedup_eval::{Doc, Rng};

/// One line of a generated article and whether it is chrome.
#[derive(Debug, Clone)]
pub struct Line {
    /// The line as written.
    pub text: String,
    /// Planted chrome (true) or the story's own text (false).
    pub chrome: bool,
}

/// One generated article.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The outlet's URL for it.
    pub url: String,
    /// Its paragraphs, one line each, in order.
    pub lines: Vec<Line>,
    /// Whether the story also appears in another outlet.
    pub syndicated: bool,
}

impl Generated {
    /// The article as a JSONL line: `url` and `text` (paragraphs separated
    /// by blank lines).
    pub fn json_line(&self) -> String {
        let text: Vec<&str> = self.lines.iter().map(|l| l.text.as_str()).collect();
        serde_json::json!({"url": self.url, "text": text.join("\n\n")}).to_string()
    }
}

const PLACES: [&str; 12] = [
    "Harbor",
    "Lakeside",
    "Northgate",
    "Riverbend",
    "Cedar",
    "Summit",
    "Bayview",
    "Ironbridge",
    "Westmoor",
    "Kingsley",
    "Pinecrest",
    "Eastfield",
];
const KINDS: [&str; 10] = [
    "Media",
    "Courier",
    "Ledger",
    "Gazette",
    "Dispatch",
    "Sentinel",
    "Observer",
    "Record",
    "Chronicle",
    "Tribune",
];
const PARTNERS: [&str; 6] = [
    "the Civic Reporting Lab",
    "Open Newsroom Trust",
    "the Coastal Data Project",
    "Local Voices Network",
    "the Fairview Institute",
    "Public Desk Collective",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Where in an article a piece of chrome goes.
#[derive(Debug, Clone, Copy)]
enum Position {
    /// Before the headline.
    Top,
    /// After the headline.
    AfterHeadline,
    /// After the first paragraph.
    AfterFirst,
    /// Somewhere in the middle.
    Middle,
    /// Before the last paragraph.
    BeforeLast,
    /// At the end.
    Bottom,
}

const POSITIONS: [Position; 6] = [
    Position::Top,
    Position::AfterHeadline,
    Position::AfterFirst,
    Position::Middle,
    Position::BeforeLast,
    Position::Bottom,
];

/// One piece of an outlet's chrome: a wording with `{n}`-style holes filled
/// per article, a position and how often it is printed.
#[derive(Debug, Clone)]
struct Piece {
    wording: String,
    position: Position,
    /// Printed on this share of the outlet's articles, in percent.
    percent: usize,
}

#[derive(Debug, Clone)]
struct Outlet {
    host: String,
    pieces: Vec<Piece>,
    /// A related-story link with a label no rule knows, to another story's
    /// headline: its label, and on what share of articles (percent).
    related: Option<(&'static str, usize)>,
}

/// Labels of related-story links that no built-in rule names.
const RELATED_LABELS: [&str; 6] = [
    "Keep exploring",
    "Related Story",
    "You may have missed",
    "Elsewhere on the site",
    "Before you go",
    "Our pick",
];

/// The wordings each kind of chrome can take; `{name}`, `{host}`,
/// `{partner}` are the outlet's, `{year}`, `{count}`, `{date}`, `{price}`,
/// `{phone}` vary by article.
const WORDINGS: &[&[&str]] = &[
    // masthead
    &[
        "{name} | Independent news for the {place} area",
        "{NAME}",
        "{name} - Your daily news, since {founded}",
        "You are reading {name}",
    ],
    // donation ask
    &[
        "Support {name}: become a member from just £{price} a month",
        "{name} is funded by readers like you. Donate today to keep our journalism free.",
        "Our reporting depends on you. Give to {name} today",
        "Join {count} readers who support {name}",
    ],
    // tip line
    &[
        "Got a story? Email tips@{host} or call {phone}",
        "Send us your news tips at {host}/tips",
        "Know something we should investigate? Contact the {name} newsroom",
    ],
    // partnership credit
    &[
        "This story was produced in partnership with {partner}.",
        "Published with support from {partner}",
        "{name} reports this series together with {partner}",
    ],
    // newsletter plug
    &[
        "Get the {name} morning briefing in your inbox",
        "Sign up for {name} Daily, free every weekday",
        "Never miss a story: the {name} newsletter is free",
    ],
    // footer
    &[
        "© {year} {name}. All rights reserved.",
        "Copyright {year} {name} Ltd",
        "All content © {name} {founded}-{year}",
    ],
    // dateline of an update
    &[
        "Last updated {date}",
        "Updated on {date} at {time}",
        "First published {date}",
    ],
    // comments and corrections
    &[
        "Spotted an error? Tell the {name} corrections desk",
        "{count} comments on this article",
        "Comments are closed on this story",
    ],
];

fn fill(
    wording: &str,
    outlet_name: &str,
    host: &str,
    place: &str,
    founded: usize,
    partner: &str,
    rng: &mut Rng,
) -> String {
    let mut s = wording
        .replace("{NAME}", &outlet_name.to_uppercase())
        .replace("{name}", outlet_name)
        .replace("{host}", host)
        .replace("{place}", place)
        .replace("{partner}", partner)
        .replace("{founded}", &founded.to_string());
    // Per-article holes.
    while let Some(i) = s.find('{') {
        let Some(j) = s[i..].find('}') else { break };
        let hole = &s[i + 1..i + j];
        let value = match hole {
            "year" => (2019 + rng.below(7)).to_string(),
            "count" => format!("{},{:03}", 1 + rng.below(40), rng.below(1000)),
            "price" => (2 + rng.below(9)).to_string(),
            "phone" => format!(
                "0{} {:03} {:04}",
                100 + rng.below(900),
                rng.below(1000),
                rng.below(10000)
            ),
            "date" => format!(
                "{} {} {} {}",
                DAYS[rng.below(7)],
                1 + rng.below(28),
                MONTHS[rng.below(12)],
                2019 + rng.below(7)
            ),
            "time" => format!("{}:{:02}", rng.below(24), rng.below(60)),
            _ => String::new(),
        };
        s.replace_range(i..i + j + 1, &value);
    }
    s
}

/// Parameters of a generated corpus.
#[derive(Debug, Clone, Copy)]
pub struct EvalParams {
    /// Seed of every choice.
    pub seed: u64,
    /// BBC stories used (the first ones after a seeded shuffle).
    pub stories: usize,
    /// Stories published by a second (and maybe third) outlet, in percent.
    pub syndicated_percent: usize,
    /// Stories republished updated in the same outlet, in percent.
    pub updated_percent: usize,
}

/// The outlets of `seed`, each with 4 to 7 kinds of chrome.
fn outlets(rng: &mut Rng) -> Vec<(Outlet, String, String, usize, String)> {
    let n = 4 + rng.below(6);
    let mut used = std::collections::HashSet::new();
    let mut out = Vec::new();
    while out.len() < n {
        let place = PLACES[rng.below(PLACES.len())];
        let kind = KINDS[rng.below(KINDS.len())];
        if !used.insert((place, kind)) {
            continue;
        }
        let name = format!("{place} {kind}");
        let host = format!("{}{}.example", place.to_lowercase(), kind.to_lowercase());
        let founded = 1850 + rng.below(150);
        let partner = PARTNERS[rng.below(PARTNERS.len())].to_owned();
        let mut kinds: Vec<usize> = (0..WORDINGS.len()).collect();
        // A seeded shuffle, then the first 4 to 7 kinds.
        for i in (1..kinds.len()).rev() {
            kinds.swap(i, rng.below(i + 1));
        }
        kinds.truncate(4 + rng.below(4));
        let pieces = kinds
            .into_iter()
            .map(|k| Piece {
                wording: WORDINGS[k][rng.below(WORDINGS[k].len())].to_owned(),
                position: POSITIONS[rng.below(POSITIONS.len())],
                percent: 15 + rng.below(86),
            })
            .collect();
        let related = (rng.below(2) == 0).then(|| {
            (
                RELATED_LABELS[rng.below(RELATED_LABELS.len())],
                20 + rng.below(61),
            )
        });
        out.push((
            Outlet {
                host,
                pieces,
                related,
            },
            name,
            place.to_owned(),
            founded,
            partner,
        ));
    }
    out
}

/// Headline and paragraphs of a BBC article.
fn story_lines(raw: &str) -> Vec<String> {
    raw.split('\n')
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}

/// Build the corpus of `params` from `docs`.
pub fn build(docs: &[Doc], params: EvalParams) -> Vec<Generated> {
    let mut rng = Rng::new(params.seed);
    let outlets = outlets(&mut rng);
    let mut order: Vec<usize> = (0..docs.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    order.truncate(params.stories);
    let mut out = Vec::new();
    for (n, &story) in order.iter().enumerate() {
        let content = story_lines(&docs[story].raw);
        let home = rng.below(outlets.len());
        let mut homes = vec![home];
        if rng.below(100) < params.syndicated_percent {
            let other = (home + 1 + rng.below(outlets.len() - 1)) % outlets.len();
            homes.push(other);
            if rng.below(3) == 0 {
                let third = (other + 1 + rng.below(outlets.len() - 1)) % outlets.len();
                if third != home {
                    homes.push(third);
                }
            }
        }
        let syndicated = homes.len() > 1;
        for &o in &homes {
            let mut versions = vec![content.clone()];
            if rng.below(100) < params.updated_percent && content.len() > 3 {
                // An update: the last paragraph dropped or a new headline.
                let mut v = content.clone();
                if rng.below(2) == 0 {
                    v.pop();
                } else {
                    v[0] = format!("{} (updated)", v[0]);
                }
                versions.push(v);
            }
            for v in versions {
                let (outlet, name, place, founded, partner) = &outlets[o];
                let mut lines: Vec<Line> = v
                    .iter()
                    .map(|t| Line {
                        text: t.clone(),
                        chrome: false,
                    })
                    .collect();
                for piece in &outlet.pieces {
                    if rng.below(100) >= piece.percent {
                        continue;
                    }
                    let text = fill(
                        &piece.wording,
                        name,
                        &outlet.host,
                        place,
                        *founded,
                        partner,
                        &mut rng,
                    );
                    let len = lines.len();
                    let at = match piece.position {
                        Position::Top => 0,
                        Position::AfterHeadline => 1.min(len),
                        Position::AfterFirst => 2.min(len),
                        Position::Middle => (len / 2).max(1).min(len),
                        Position::BeforeLast => len.saturating_sub(1),
                        Position::Bottom => len,
                    };
                    lines.insert(at, Line { text, chrome: true });
                }
                if let Some((label, percent)) = outlet.related {
                    // After a paragraph of this story (not its headline):
                    // somewhere after its second content line.
                    let after: Vec<usize> = (0..lines.len())
                        .filter(|&k| !lines[k].chrome)
                        .skip(1)
                        .map(|k| k + 1)
                        .collect();
                    if rng.below(100) < percent && !after.is_empty() {
                        // Another story's headline.
                        let other = &docs[rng.below(docs.len())].raw;
                        let headline = other.lines().next().unwrap_or_default().trim();
                        let at = after[rng.below(after.len())];
                        lines.insert(
                            at,
                            Line {
                                text: format!("{label}: {headline}"),
                                chrome: true,
                            },
                        );
                    }
                }
                out.push(Generated {
                    url: format!("https://www.{}/news/{n}-{}", outlet.host, out.len()),
                    lines,
                    syndicated,
                });
            }
        }
    }
    out
}

/// The scorer's counts over chrome and content lines.
#[derive(Debug, Default, Clone, Copy)]
pub struct Score {
    /// Chrome lines removed.
    pub chrome_removed: usize,
    /// Chrome lines kept.
    pub chrome_kept: usize,
    /// Content lines removed (lost).
    pub content_lost: usize,
    /// Content lines kept.
    pub content_kept: usize,
}

impl Score {
    /// Removed lines that were chrome.
    pub fn precision(&self) -> f64 {
        let removed = self.chrome_removed + self.content_lost;
        if removed == 0 {
            1.0
        } else {
            self.chrome_removed as f64 / removed as f64
        }
    }

    /// Chrome lines that were removed.
    pub fn recall(&self) -> f64 {
        let chrome = self.chrome_removed + self.chrome_kept;
        if chrome == 0 {
            1.0
        } else {
            self.chrome_removed as f64 / chrome as f64
        }
    }
}

/// The lines a record kept: its title and its text's lines.
pub fn kept_lines(record: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(t) = record["title"].as_str() {
        lines.push(t.to_owned());
    }
    if let Some(text) = record["text"].as_str() {
        lines.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        );
    }
    lines
}

/// Score the records of a run over `corpus` (written one article a line, so
/// a record's `source.line` is its article's index + 1); an article with no
/// record lost every line. Calls `lost` for every content line removed.
pub fn score(
    corpus: &[Generated],
    records: &[Value],
    mut lost: impl FnMut(&Generated, &str),
) -> Score {
    let mut by_line: HashMap<usize, &Value> = HashMap::new();
    for r in records {
        if let Some(l) = r["source"]["line"].as_u64() {
            by_line.insert(l as usize - 1, r);
        }
    }
    let mut s = Score::default();
    for (i, article) in corpus.iter().enumerate() {
        let mut kept: HashMap<String, usize> = HashMap::new();
        if let Some(r) = by_line.get(&i) {
            for l in kept_lines(r) {
                *kept.entry(l).or_default() += 1;
            }
        }
        for line in &article.lines {
            let present = kept.get_mut(&line.text).filter(|n| **n > 0);
            let was_kept = match present {
                Some(n) => {
                    *n -= 1;
                    true
                }
                None => false,
            };
            match (line.chrome, was_kept) {
                (true, true) => s.chrome_kept += 1,
                (true, false) => s.chrome_removed += 1,
                (false, true) => s.content_kept += 1,
                (false, false) => {
                    s.content_lost += 1;
                    lost(article, &line.text);
                }
            }
        }
    }
    s
}

//! Publication dates to ISO 8601.
//!
//! Pages and feeds write dates every which way; the record holds one form:
//! RFC 3339 with the offset when the value has a time and an offset, else the
//! day alone (`YYYY-MM-DD`). A time without an offset is cut to its day: which
//! day it is in UTC cannot be known, and the page's own day is what it says.

use std::borrow::Cow;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat};
use regex::Regex;

#[allow(clippy::unwrap_used)] // constant patterns
static YMD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|\D)((?:19|20)\d\d)[-/.](\d{1,2})[-/.](\d{1,2})(?:\D|$)").unwrap()
});
#[allow(clippy::unwrap_used)]
static MONTH_FIRST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:^|[^a-z])([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+((?:19|20)\d\d)(?:\D|$)",
    )
    .unwrap()
});
#[allow(clippy::unwrap_used)]
static DAY_FIRST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:^|\D)(\d{1,2})(?:st|nd|rd|th)?\.?\s+(?:of\s+)?([a-z]{3,9})\.?,?\s+((?:19|20)\d\d)(?:\D|$)",
    )
    .unwrap()
});
/// `12.05.2024` (day first, as Europe writes it) and `5/12/2024` (month
/// first, as the US does, unless the first number cannot be a month).
#[allow(clippy::unwrap_used)]
static NUMERIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|\D)(\d{1,2})([./])(\d{1,2})[./]((?:19|20)\d\d)(?:\D|$)").unwrap()
});
/// `2023 Jan 7`, as citations (PubMed, NLM style) write it.
#[allow(clippy::unwrap_used)]
static YEAR_FIRST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|\D)((?:19|20)\d\d)\s+([a-z]{3,9})\.?\s+(\d{1,2})(?:\D|$)").unwrap()
});
/// `/2023/october/03/`: a path that spells its month.
#[allow(clippy::unwrap_used)]
static URL_WORDS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)/((?:19|20)\d\d)/([a-z]{3,9})/(\d{1,2})(?:/|$)").unwrap());
#[allow(clippy::unwrap_used)]
static URL_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"/((?:19|20)\d\d)[/-]?(0[1-9]|1[0-2])[/-]?(0[1-9]|[12]\d|3[01])(?:/|[-_]|\.html?|$)",
    )
    .unwrap()
});

fn month(name: &str) -> Option<u32> {
    const NAMES: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let lower = name.to_ascii_lowercase();
    let i = NAMES.iter().position(|m| lower.starts_with(m))?;
    // "Mayday" is no month: a longer name must be the full one (or "Sept").
    (lower.len() == 3 || crate::calendar::MONTHS[i] == lower || lower == "sept")
        .then_some(i as u32 + 1)
}

fn day(y: &str, m: u32, d: &str) -> Option<String> {
    let date = NaiveDate::from_ymd_opt(y.parse().ok()?, m, d.parse().ok()?)?;
    Some(date.format("%Y-%m-%d").to_string())
}

/// `text` with a space before each month name glued to the end of a
/// lower-case word ("HealthDECEMBER 22, 2022", "GiuffridaMar 5, 2025"):
/// inline elements written without a space between them, as a section
/// label or a byline before the date, read as one word otherwise, and the
/// patterns want a month name to start a word.
fn unglue_months(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    let glued = |i: usize| {
        b[i - 1].is_ascii_lowercase() && b[i].is_ascii_uppercase() && {
            let len = b[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
            month(&text[i..i + len]).is_some()
        }
    };
    let cuts: Vec<usize> = (1..b.len()).filter(|&i| glued(i)).collect();
    if cuts.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + cuts.len());
    let mut from = 0;
    for i in cuts {
        out.push_str(&text[from..i]);
        out.push(' ');
        from = i;
    }
    out.push_str(&text[from..]);
    Cow::Owned(out)
}

/// The value as ISO 8601, or `None` when no date can be read from it.
pub fn normalize(value: &str) -> Option<String> {
    let unglued = unglue_months(value);
    let v = unglued.trim();
    if v.is_empty() {
        return None;
    }
    let with_t = match v.as_bytes().get(10) {
        Some(b' ') if v.len() > 13 => format!("{}T{}", &v[..10], &v[11..]),
        _ => v.to_owned(),
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(&with_t) {
        return Some(t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%dT%H:%M:%S %z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(&with_t, f) {
            return Some(t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(v) {
        return Some(t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(&with_t, f) {
            return Some(t.format("%Y-%m-%d").to_string());
        }
    }
    if let Some(c) = YMD.captures(v) {
        return day(&c[1], c[2].parse().ok()?, &c[3]);
    }
    if let Some(c) = MONTH_FIRST.captures(v) {
        if let Some(d) = month(&c[1]).and_then(|m| day(&c[3], m, &c[2])) {
            return Some(d);
        }
    }
    if let Some(c) = DAY_FIRST.captures(v) {
        if let Some(d) = month(&c[2]).and_then(|m| day(&c[3], m, &c[1])) {
            return Some(d);
        }
    }
    if let Some(c) = YEAR_FIRST.captures(v) {
        if let Some(d) = month(&c[2]).and_then(|m| day(&c[1], m, &c[3])) {
            return Some(d);
        }
    }
    if let Some(c) = NUMERIC.captures(v) {
        let (a, b): (u32, u32) = (c[1].parse().ok()?, c[3].parse().ok()?);
        let (m, d) = if &c[2] == "." || a > 12 {
            (b, a)
        } else {
            (a, b)
        };
        return day(&c[4], m, &d.to_string());
    }
    if v.len() == 8 && v.bytes().all(|b| b.is_ascii_digit()) {
        return day(&v[..4], v[4..6].parse().ok()?, &v[6..]);
    }
    None
}

/// Every day written in `text` with its month in words ("May 21, 2025",
/// "21 May 2025") or in ISO order ("2025-05-21"), as `YYYY-MM-DD`, in the
/// order written: "May 21, 2025April 24, 2025 by Jane Doe" gives both.
pub fn days_in(text: &str) -> Vec<String> {
    let text = &*unglue_months(text);
    let mut found: Vec<(usize, String)> = Vec::new();
    // Matches may share the characters that bound them ("2025April"), so
    // each search resumes just after the previous match's first field.
    let mut each = |re: &Regex, read: &dyn Fn(&regex::Captures) -> Option<String>| {
        let mut from = 0;
        while let Some(c) = re.captures_at(text, from) {
            let Some(first) = c.get(1) else { break };
            if let Some(d) = read(&c) {
                found.push((first.start(), d));
            }
            from = first.start() + 1;
        }
    };
    each(&MONTH_FIRST, &|c| {
        month(&c[1]).and_then(|m| day(&c[3], m, &c[2]))
    });
    each(&DAY_FIRST, &|c| {
        month(&c[2]).and_then(|m| day(&c[3], m, &c[1]))
    });
    each(&YMD, &|c| {
        c[2].parse().ok().and_then(|m| day(&c[1], m, &c[3]))
    });
    found.sort_by_key(|(at, _)| *at);
    found.into_iter().map(|(_, d)| d).collect()
}

/// A date written in a URL's path (`/2024/05/01/`, `/20240501/`,
/// `/2024/may/01/`), as `YYYY-MM-DD`.
pub fn from_url(url: &str) -> Option<String> {
    if let Some(c) = URL_DATE.captures(url) {
        return day(&c[1], c[2].parse().ok()?, &c[3]);
    }
    let c = URL_WORDS.captures(url)?;
    day(&c[1], month(&c[2])?, &c[3])
}

/// The other reading of a date [`normalize`] read from numbers alone when
/// either number could be the month (`09.10.2024`, `3/10/2023`): the
/// writer's convention is a guess, which another date on the page may settle.
pub fn other_reading(value: &str) -> Option<String> {
    let read = normalize(value)?;
    let c = NUMERIC.captures(value.trim())?;
    let (a, b): (u32, u32) = (c[1].parse().ok()?, c[3].parse().ok()?);
    if a == b || a > 12 || b > 12 {
        return None;
    }
    let (ab, ba) = (
        day(&c[4], a, &b.to_string())?,
        day(&c[4], b, &a.to_string())?,
    );
    // Only when the numbers were what `normalize` read.
    if read == ab {
        Some(ba)
    } else if read == ba {
        Some(ab)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_keep_their_offset_and_lone_days_stay_days() {
        let cases = [
            ("2024-05-01T10:00:00Z", Some("2024-05-01T10:00:00Z")),
            (
                "2024-05-01T10:00:00.123+02:00",
                Some("2024-05-01T10:00:00.123+02:00"),
            ),
            (
                "2024-05-01 10:00:00+0200",
                Some("2024-05-01T10:00:00+02:00"),
            ),
            ("2024-05-01T10:00:00", Some("2024-05-01")),
            (
                "Wed, 01 May 2024 10:00:00 GMT",
                Some("2024-05-01T10:00:00Z"),
            ),
            ("2024/5/1", Some("2024-05-01")),
            ("Published September 4th, 2025", Some("2025-09-04")),
            ("4 Sept. 2025", Some("2025-09-04")),
            ("Sep 4, 2025 at 10:00", Some("2025-09-04")),
            ("20250904", Some("2025-09-04")),
            // Inline elements written without a space between them.
            ("Dec 17, 2025Julian Doe", Some("2025-12-17")),
            ("Posted2Sep 4, 2025", Some("2025-09-04")),
            ("Jane3/4/2025", Some("2025-03-04")),
            ("Mental HealthDECEMBER 22, 2022", Some("2022-12-22")),
            ("By Jane GiuffridaMar 5, 2025", Some("2025-03-05")),
            // A capital after a lower-case letter that starts no month.
            ("McDonald 4, 2025", None),
            ("Posted2024-05-01", Some("2024-05-01")),
            ("Cureus. 2023 Jan 7;15(1):e33475", Some("2023-01-07")),
            ("Sep 4, 20251", None),
            ("2025-02-30", None),
            ("Mayday 4, 2025", None),
            ("yesterday", None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn every_day_of_a_dateline_is_found_in_order() {
        assert_eq!(
            days_in("May 21, 2025April 24, 2025 by Jane Doe"),
            ["2025-05-21", "2025-04-24"]
        );
        assert_eq!(
            days_in("Published 3 March 2024, updated 2024-05-01"),
            ["2024-03-03", "2024-05-01"]
        );
        assert_eq!(
            days_in("HealthDECEMBER 22, 2022Updated: JANUARY 02, 2026"),
            ["2022-12-22", "2026-01-02"]
        );
        assert!(days_in("no date here, 2025").is_empty());
    }

    #[test]
    fn dates_are_read_from_url_paths() {
        assert_eq!(
            from_url("https://x.org/2025/09/04/story-title/").as_deref(),
            Some("2025-09-04")
        );
        assert_eq!(
            from_url("https://x.org/news/20250904-story").as_deref(),
            Some("2025-09-04")
        );
        assert_eq!(
            from_url("https://x.org/blog/2023/october/03/wine/").as_deref(),
            Some("2023-10-03")
        );
        assert_eq!(from_url("https://x.org/2023/mayday/03/"), None);
        assert_eq!(from_url("https://x.org/id/2025123456"), None);
    }

    #[test]
    fn a_date_of_numbers_that_could_go_either_way_has_another_reading() {
        assert_eq!(normalize("09.10.2024").as_deref(), Some("2024-10-09"));
        assert_eq!(other_reading("09.10.2024").as_deref(), Some("2024-09-10"));
        assert_eq!(
            other_reading("Posted 3/10/2023").as_deref(),
            Some("2023-10-03")
        );
        // A number above 12 is the day; equal numbers read the same both ways.
        assert_eq!(other_reading("13.10.2024"), None);
        assert_eq!(other_reading("5/5/2024"), None);
        // A month in words settles it.
        assert_eq!(other_reading("October 9, 2024"), None);
        assert_eq!(other_reading("2024-10-09"), None);
    }
}

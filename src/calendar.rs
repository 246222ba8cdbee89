//! English month and weekday names, shared by the three places that read
//! dates in text: the title stage's dateline test, the page extractor's date
//! parser and the boilerplate learner's line templates.

/// Month names, January first, lower case.
pub const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Weekday names, Monday first, lower case.
pub const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Whether `word` (any case) is a full month or weekday name.
pub fn is_full_name(word: &str) -> bool {
    MONTHS
        .iter()
        .chain(&WEEKDAYS)
        .any(|n| n.eq_ignore_ascii_case(word))
}

//! A fast path for language detection: text in which English function
//! words are a fifth of all words is English, without running `whatlang`,
//! whose trigram scoring costs about 200 µs per article.
//!
//! Running English carries 25% or more of these words; no other language
//! comes near a fifth (German and French share one or two of them, at a few
//! percent). On the 2,225 BBC articles and the 793 WCXB page texts the fast
//! path answered for 78% of the texts and agreed with `whatlang` on every one.

/// Frequent English function words of at most four letters.
const FUNCTION_WORDS: [&str; 16] = [
    "the", "and", "of", "to", "in", "is", "that", "for", "was", "with", "on", "it", "as", "by",
    "are", "at",
];

/// Fewest words for the fast path to answer; shorter texts go to `whatlang`.
const MIN_WORDS: usize = 40;

/// True when at least a fifth of the (at least [`MIN_WORDS`]) words of
/// `text` are English function words.
pub fn mostly_english(text: &str) -> bool {
    let (mut words, mut hits) = (0usize, 0usize);
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        words += 1;
        if w.len() <= 4 && FUNCTION_WORDS.iter().any(|f| w.eq_ignore_ascii_case(f)) {
            hits += 1;
        }
    }
    words >= MIN_WORDS && hits * 5 >= words
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENGLISH: &str = "The council voted on Tuesday to rebuild the old bridge, which has \
        carried traffic across the river since 1921. Engineers said that the work would take two \
        years and that the crossing was in urgent need of repair. The cost is to be shared by the \
        city and the region, and the first lane is expected to open in the spring.";

    #[test]
    fn english_prose_is_english() {
        assert!(mostly_english(ENGLISH));
    }

    #[test]
    fn other_languages_and_short_texts_are_left_to_detection() {
        let german = "Der Stadtrat hat am Dienstag beschlossen, die alte Brücke über den Fluss \
            neu zu bauen, die seit 1921 den Verkehr trägt. Die Ingenieure sagten, die Arbeiten \
            würden zwei Jahre dauern und die Brücke müsse dringend erneuert werden. Die Kosten \
            teilen sich die Stadt und die Region, und die erste Spur soll im Frühjahr öffnen.";
        let french = "Le conseil a voté mardi la reconstruction du vieux pont, qui porte la \
            circulation sur le fleuve depuis 1921. Les ingénieurs ont dit que les travaux \
            dureraient deux ans et que le pont avait un besoin urgent de réparation. Le coût sera \
            partagé par la ville et la région, et la première voie doit ouvrir au printemps.";
        assert!(!mostly_english(german));
        assert!(!mostly_english(french));
        // A headline-length English text is too short to tell by counting.
        assert!(!mostly_english(
            "The council voted on Tuesday to rebuild the old bridge"
        ));
    }

    #[test]
    fn a_word_list_without_function_words_is_not_english_by_count() {
        let list = "Apple Banana Cherry Grape Lemon Mango Melon Orange Peach Pear Plum ".repeat(5);
        assert!(!mostly_english(&list));
    }
}

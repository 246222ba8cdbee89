//! Web pages to article text and metadata. No I/O, no tokio: a page's text
//! in, a [`Page`] out, so it is tested and benched on its own.
//!
//! [`body`] finds the main content over html5ever's tokenizer, [`metadata`]
//! reads headline, date, authors, canonical URL, site name and language in a
//! streaming `lol_html` pass, [`date`] writes dates as ISO 8601, and [`eval`]
//! holds the WCXB benchmark's scores. Both passes keep no tree, so a page
//! costs time and memory linear in its size, however deeply it nests.
//!
//! The extractor was chosen by measurement on `wcxb-dev` (see the README):
//! `rs-trafilatura` 0.2.2 and `dom_smoothie` 0.19.0 scored lower and ran
//! slower there than this one.

pub mod body;
pub mod date;
pub mod eval;
pub mod lang;
pub mod metadata;

pub use metadata::Metadata;

/// What a page gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// The article's paragraphs, headings and list items, in order: one
    /// blank line between paragraphs, list items one per line.
    pub text: String,
    /// Headline, date, authors, links, site name; `lang` is the page's
    /// declaration, else detected from the text, `None` when neither says.
    pub meta: Metadata,
}

/// Why a page gave no article.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// No paragraph of prose outside navigation, sidebars and the like.
    #[error("no article content in the page")]
    NoArticle,
}

/// Turns a page into its article. Implementations are pure and thread-safe.
pub trait Extractor: Send + Sync {
    /// Extract from `html`, whose own URL is `url` when known.
    fn extract(&self, html: &str, url: Option<&str>) -> Result<Page, ExtractError>;
}

/// The extractor newspipe uses: [`body`] plus [`metadata`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Streaming;

impl Extractor for Streaming {
    fn extract(&self, html: &str, url: Option<&str>) -> Result<Page, ExtractError> {
        let page = body::page_blocks(html);
        let blocks = page.article_text_blocks();
        if blocks.is_empty() {
            return Err(ExtractError::NoArticle);
        }
        let mut text = body::join(&blocks);
        let hints = metadata::Hints::from_blocks(page.around_headline()).with_labels(&page.blocks);
        let mut meta = Metadata::read_with(html, url, &hints);
        // The headline is the record's title, not the first line of its text.
        if let (Some(title), Some(first)) = (&meta.title, blocks.first()) {
            if first.kind == body::BlockKind::Heading
                && eval::words(&first.text) == eval::words(title)
            {
                text = body::join(&blocks[1..]);
            }
        }
        if text.trim().is_empty() {
            return Err(ExtractError::NoArticle);
        }
        if meta.lang.is_none() {
            meta.lang = detect_lang(&text);
        }
        Ok(Page { text, meta })
    }
}

/// The language of `text` when `whatlang` is confident of it, as ISO 639-1.
pub fn detect_lang(text: &str) -> Option<String> {
    // A few kilobytes decide as well as the whole text.
    let mut end = text.len().min(4096);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if lang::mostly_english(&text[..end]) {
        return Some("en".to_owned());
    }
    let info = whatlang::detect(&text[..end])?;
    if !info.is_reliable() {
        return None;
    }
    iso639_1(info.lang()).map(str::to_owned)
}

fn iso639_1(lang: whatlang::Lang) -> Option<&'static str> {
    use whatlang::Lang::*;
    Some(match lang {
        Eng => "en",
        Rus => "ru",
        Cmn => "zh",
        Spa => "es",
        Por => "pt",
        Ita => "it",
        Ben => "bn",
        Fra => "fr",
        Deu => "de",
        Ukr => "uk",
        Kat => "ka",
        Ara => "ar",
        Hin => "hi",
        Jpn => "ja",
        Heb => "he",
        Yid => "yi",
        Pol => "pl",
        Amh => "am",
        Jav => "jv",
        Kor => "ko",
        Nob => "nb",
        Dan => "da",
        Swe => "sv",
        Fin => "fi",
        Tur => "tr",
        Nld => "nl",
        Hun => "hu",
        Ces => "cs",
        Ell => "el",
        Bul => "bg",
        Bel => "be",
        Mar => "mr",
        Kan => "kn",
        Ron => "ro",
        Slv => "sl",
        Hrv => "hr",
        Srp => "sr",
        Mkd => "mk",
        Lit => "lt",
        Lav => "lv",
        Est => "et",
        Tam => "ta",
        Vie => "vi",
        Urd => "ur",
        Tha => "th",
        Guj => "gu",
        Uzb => "uz",
        Pan => "pa",
        Aze => "az",
        Ind => "id",
        Tel => "te",
        Pes => "fa",
        Mal => "ml",
        Ori => "or",
        Mya => "my",
        Nep => "ne",
        Sin => "si",
        Khm => "km",
        Tuk => "tk",
        Aka => "ak",
        Zul => "zu",
        Sna => "sn",
        Afr => "af",
        Lat => "la",
        Slk => "sk",
        Cat => "ca",
        Tgl => "tl",
        Hye => "hy",
        Epo => "eo",
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page whose article runs long enough that what comes after it is
    /// far from its headline: `head`, then the `<h1>`, `top`, the article
    /// and `tail`.
    fn long_page(head: &str, h1: &str, top: &str, tail: &str) -> String {
        let para = "<p>The council voted on Tuesday to rebuild the old bridge, which has carried \
            traffic since 1921 and needs repair.</p>";
        format!(
            "<html><head>{head}</head><body><h1>{h1}</h1>{top}{}{tail}</body></html>",
            para.repeat(34)
        )
    }

    #[test]
    fn the_headline_becomes_the_title_not_the_first_line() {
        let html = "<html lang=fr><head><title>Le pont | Journal</title></head><body><article>\
            <h1>Le pont</h1><p>Le conseil a voté mardi la reconstruction du vieux pont, qui porte \
            la circulation depuis 1921.</p></article></body></html>";
        let page = Streaming.extract(html, None).unwrap();
        assert_eq!(page.meta.title.as_deref(), Some("Le pont"));
        assert!(page.text.starts_with("Le conseil"), "{}", page.text);
        assert_eq!(page.meta.lang.as_deref(), Some("fr"));
    }

    #[test]
    fn the_shown_date_and_byline_win_over_weaker_metadata() {
        let html = r##"<html><head><title>Guide | Shop</title>
            <meta property="og:site_name" content="Shop">
            <meta property="article:modified_time" content="2024-06-07T08:00:00+00:00">
            <script type="application/ld+json">{"@graph":[{"@type":"WebPage","datePublished":"2019-01-01"},
              {"@type":"Article","author":{"@id":"#p1"}},{"@type":"Person","@id":"#p1","name":"Rosa Park"}]}</script>
            </head><body><article><h1>The guide</h1><p>Updated June 7, 2024</p>
            <p>The council voted on Tuesday to rebuild the old bridge, which has carried traffic since 1921.</p>
            </article></body></html>"##;
        let page = Streaming.extract(html, None).unwrap();
        assert_eq!(page.meta.published.as_deref(), Some("2024-06-07T08:00:00Z"));
        assert_eq!(page.meta.authors, ["Rosa Park"]);
        // Open Graph's publication time is not weaker: it dates the article
        // whatever update the page shows.
        let html = html.replace(
            "<meta property=\"og:site_name\" content=\"Shop\">",
            "<meta property=\"og:site_name\" content=\"Shop\">
            <meta property=\"article:published_time\" content=\"2020-01-02T10:00:00+00:00\">",
        );
        let page = Streaming.extract(&html, None).unwrap();
        assert_eq!(page.meta.published.as_deref(), Some("2020-01-02T10:00:00Z"));
        let html = r#"<html><head><meta name="author" content="shopadmin"></head><body>
            <h1>Another guide</h1><p>By Ana Lima - 12.05.2024</p>
            <p>The council voted on Tuesday to rebuild the old bridge, which has carried traffic since 1921.</p>
            </body></html>"#;
        let page = Streaming.extract(html, None).unwrap();
        assert_eq!(page.meta.published.as_deref(), Some("2024-05-12"));
        assert_eq!(page.meta.authors, ["Ana Lima"]);
    }

    #[test]
    fn a_date_inside_the_article_prose_is_not_its_dateline() {
        let para = "<p>The council voted on Tuesday to rebuild the old bridge, which has carried \
            traffic since 1921, and to close it for two summers while the deck is replaced in full. \
            Shops on both banks asked for a ferry in the meantime; the mayor said one would run.</p>";
        let html = format!(
            r#"<html><head><meta property="article:published_time" content="2025-12-19T10:00:00+00:00">
            </head><body><article><h1>The bridge</h1>{para}{para}
            <blockquote>It will take years. Jane Doe (@jdoe) October 16, 2024</blockquote>
            <p>October 16, 2024</p>{para}</article></body></html>"#
        );
        let page = Streaming.extract(&html, None).unwrap();
        assert_eq!(page.meta.published.as_deref(), Some("2025-12-19T10:00:00Z"));
    }

    #[test]
    fn a_labelled_date_far_from_the_headline_dates_a_page_that_says_nothing_else() {
        let html = long_page(
            "",
            "The bridge",
            "",
            "<div class=meta><p>Posted on April 13, 2023</p><p>Updated often</p></div>",
        );
        let page = Streaming.extract(&html, None).unwrap();
        assert_eq!(page.meta.published.as_deref(), Some("2023-04-13"));
        for (text, want) in [
            ("Last updated: November 13, 2025", Some("2025-11-13")),
            ("Published 2 May 2024", Some("2024-05-02")),
            ("Postal code 2024-01-01", None),
            ("Published", None),
        ] {
            assert_eq!(metadata::labelled_date(text).as_deref(), want, "{text}");
        }
    }

    #[test]
    fn a_date_in_an_element_of_its_own_beside_its_label_or_byline_dates_the_page() {
        let published = |tail: &str| {
            let html = long_page("", "The bridge", "", tail);
            Streaming.extract(&html, None).unwrap().meta.published
        };
        assert_eq!(
            published("<dl><dt>Published</dt><dd>Feb 2, 2023</dd></dl>").as_deref(),
            Some("2023-02-02")
        );
        assert_eq!(
            published("<div><p>Written by Jane Doe</p><p>April 8, 2024</p></div>").as_deref(),
            Some("2024-04-08")
        );
        // A date beside anything else is not the article's.
        assert_eq!(
            published("<div><p>Opening hours</p><p>April 8, 2024</p></div>"),
            None
        );
        assert_eq!(
            published("<div><p>Written by Jane Doe</p><p>Our plans for April 8, 2024 and beyond</p></div>"),
            None
        );
    }

    #[test]
    fn a_dateline_showing_publication_and_update_is_dated_by_the_publication() {
        let html = r#"<html><head>
            <meta property="article:published_time" content="2025-04-24T16:12:49+00:00">
            <meta property="article:modified_time" content="2025-05-21T14:06:47+00:00">
            </head><body><article><h1>The guide</h1>
            <div class="entry-meta"><time class="updated">May 21, 2025</time> <time>April 24, 2025</time> by Jane Doe</div>
            <p>The council voted on Tuesday to rebuild the old bridge, which has carried traffic since 1921.</p>
            </article></body></html>"#;
        let page = Streaming.extract(html, None).unwrap();
        assert_eq!(page.meta.published.as_deref(), Some("2025-04-24T16:12:49Z"));
        // Only the update shown: the declared publication still dates it.
        let html = html.replace(" <time>April 24, 2025</time>", "");
        let page = Streaming.extract(&html, None).unwrap();
        assert_eq!(page.meta.published.as_deref(), Some("2025-04-24T16:12:49Z"));
        // Without Open Graph's time, the shown update is the page's choice.
        let html = html.replace(
            r#"<meta property="article:published_time" content="2025-04-24T16:12:49+00:00">"#,
            "",
        );
        let page = Streaming.extract(&html, None).unwrap();
        assert_eq!(page.meta.published.as_deref(), Some("2025-05-21T14:06:47Z"));
    }

    #[test]
    fn a_labelled_byline_anywhere_names_the_author_else_the_publisher_is_credited() {
        let page = |tail: &str| {
            let head = r#"<meta property="og:site_name" content="City Post">"#;
            let html = long_page(head, "The bridge", "", tail);
            Streaming.extract(&html, None).unwrap().meta.authors
        };
        assert_eq!(page("<div><p>Written by Jane Doe</p></div>"), ["Jane Doe"]);
        // The label in its own element, the name in the next.
        assert_eq!(
            page("<div><p>Article by</p><p>Jane Doe</p></div>"),
            ["Jane Doe"]
        );
        // A menu entry "By Topic" reads as no one's name: the publisher.
        assert_eq!(page("<div><p>By topic</p></div>"), ["City Post"]);
        assert_eq!(page(""), ["City Post"]);
        // A label that says so counts in the chrome too; a bare "By" does not.
        assert_eq!(
            page("<aside><p>Author</p><p>Jane Doe</p></aside>"),
            ["Jane Doe"]
        );
        assert_eq!(
            page("<p>Last updated March 3, 2025 by Jane Doe.</p>"),
            ["Jane Doe"]
        );
    }

    #[test]
    fn a_dateline_names_its_author_and_a_page_without_a_site_name_credits_its_owner() {
        let page = |head: &str, top: &str, tail: &str, url: &str| {
            let html = long_page(head, "The bridge over the river", top, tail);
            Streaming.extract(&html, Some(url)).unwrap().meta.authors
        };
        let url = "https://www.citypost.com/news/bridge";
        assert_eq!(
            page("", "<p>Jane Doe | Staff Writer | July 2, 2025</p>", "", url),
            ["Jane Doe"]
        );
        // The name in the element after the date.
        assert_eq!(
            page(
                "",
                "<p>Dec 26, 2025 •</p><p>Jane Doe in Travel</p>",
                "",
                url
            ),
            ["Jane Doe"]
        );
        let copyright = "<footer><p>© 2019-2025 Jane Doe. All rights reserved.</p></footer>";
        assert_eq!(page("", "", copyright, url), ["Jane Doe"]);
        // A title's tail names the site when the host agrees...
        let title = "<title>The bridge over the river | City Post</title>";
        assert_eq!(page(title, "", "", url), ["City Post"]);
        // ...and is taken for a tagline when nothing does.
        assert!(page(title, "", "", "https://example.org/bridge").is_empty());
    }

    #[test]
    fn language_is_detected_when_the_page_does_not_say() {
        let text = "Der Stadtrat hat am Dienstag beschlossen, die alte Brücke über den Fluss neu zu bauen, \
            die seit 1921 den Verkehr trägt und dringend erneuert werden muss.";
        assert_eq!(detect_lang(text).as_deref(), Some("de"));
        assert_eq!(detect_lang("ok"), None);
    }
}

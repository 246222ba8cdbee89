//! The extract stage: a web page (HTML or WARC input, a JSONL `html` field)
//! becomes its article text and metadata; every other article only has its
//! language detected. It runs first, so normalize, boilerplate, dedup and
//! the tagger see the extracted text as they would a text input.

use crate::error::RejectReason;
use crate::extract::{detect_lang, ExtractError, Extractor, Streaming};
use crate::record::Article;
use crate::stage::{Stage, Verdict};

/// Language given to an article nothing decides for: the pipeline's
/// historical default (the tagger is English).
pub const DEFAULT_LANG: &str = "en";

/// Runs [`Streaming`] on pages; detects the language of plain articles.
#[derive(Debug, Default)]
pub struct Extract;

impl Stage for Extract {
    fn name(&self) -> &'static str {
        "extract"
    }

    fn process(&self, article: &mut Article) -> Verdict {
        let Some(html) = article.html.take() else {
            article.lang = detect_lang(&article.text).unwrap_or_else(|| DEFAULT_LANG.to_owned());
            return Ok(());
        };
        let page = Streaming
            .extract(&html, article.url.as_deref())
            .map_err(|ExtractError::NoArticle| RejectReason::NoArticle)?;
        drop(html);
        article.text = page.text;
        article.from_markup = true;
        if article.given_title.is_none() {
            article.given_title = page.meta.title;
        }
        // A date the JSONL line gives (normalized when read) wins.
        article.published = article.published.take().or(page.meta.published);
        article.authors = page.meta.authors;
        article.site_name = page.meta.site_name;
        // `url` stays the input's own (crawl URL, WARC-Target-URI, JSONL
        // `url`): a page's canonical link can name another site, and the
        // learned-chrome source is the host the input came from.
        article.canonical_url = page.meta.canonical_url;
        article.lang = page.meta.lang.unwrap_or_else(|| DEFAULT_LANG.to_owned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::SourceInfo;

    const PAGE: &str = r#"<html lang="en-US"><head><title>Bridge reopens | City Post</title>
        <meta property="article:published_time" content="2024-06-01T08:00:00-04:00">
        <meta name="author" content="Ana Lima"><link rel="canonical" href="https://post.example/bridge">
        </head><body><nav><a href="/">Home</a></nav><article><h1>Bridge reopens</h1>
        <p>The bridge over the river reopened on Saturday after two years of repairs, the city said.</p>
        </article></body></html>"#;

    #[test]
    fn a_page_becomes_text_and_metadata() {
        let mut a = Article::new(0, SourceInfo::default(), String::new());
        a.html = Some(PAGE.to_owned());
        Extract.process(&mut a).unwrap();
        assert!(
            a.text.starts_with("The bridge over the river"),
            "{}",
            a.text
        );
        assert_eq!(a.given_title.as_deref(), Some("Bridge reopens"));
        assert!(a.from_markup);
        assert_eq!(a.published.as_deref(), Some("2024-06-01T08:00:00-04:00"));
        assert_eq!(a.authors, ["Ana Lima"]);
        assert_eq!(a.url, None);
        assert_eq!(
            a.canonical_url.as_deref(),
            Some("https://post.example/bridge")
        );
        assert_eq!(a.lang, "en");
        assert!(a.html.is_none());
    }

    #[test]
    fn a_page_without_an_article_is_rejected() {
        let mut a = Article::new(0, SourceInfo::default(), String::new());
        a.html = Some("<nav><a href=/>Home</a></nav>".to_owned());
        assert_eq!(Extract.process(&mut a), Err(RejectReason::NoArticle));
    }

    #[test]
    fn plain_articles_get_their_language_detected() {
        let mut a = Article::new(
            0,
            SourceInfo::default(),
            "El consejo municipal votó el martes para reconstruir el viejo puente sobre el río, \
             que lleva el tráfico desde 1921."
                .to_owned(),
        );
        Extract.process(&mut a).unwrap();
        assert_eq!(a.lang, "es");
    }
}

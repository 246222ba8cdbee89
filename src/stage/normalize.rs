//! Text normalization: NFC, whitespace, control characters, paragraphs.

use crate::record::Article;
use crate::stage::Stage;

/// Normalize article text. The result keeps the article's wording; it only
/// fixes encoding-level noise and layout. Paragraphs are separated by exactly
/// one blank line; no line has leading or trailing whitespace.
pub fn normalize(text: &str) -> String {
    // TODO(text helper)
    text.replace("\r\n", "\n")
}

/// The normalize stage. Always on: every later stage relies on its output.
#[derive(Debug, Default, Clone)]
pub struct Normalize;

impl Stage for Normalize {
    fn name(&self) -> &'static str {
        "normalize"
    }

    fn process(&self, article: &mut Article) {
        article.text = normalize(&article.text);
        if let Some(t) = article.given_title.take() {
            article.given_title = Some(normalize(&t));
        }
    }
}

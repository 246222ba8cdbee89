//! Headline detection: a first line that reads as a headline becomes `title`.

use serde::Deserialize;

use crate::record::Article;
use crate::stage::Stage;

/// `[title]` config section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TitleConfig {
    /// Detect a headline on the first line.
    pub enabled: bool,
    /// A first line longer than this many characters is never a headline.
    pub max_chars: usize,
}

impl Default for TitleConfig {
    fn default() -> Self {
        TitleConfig {
            enabled: true,
            max_chars: 200,
        }
    }
}

/// The title stage.
#[derive(Debug, Clone)]
pub struct Title {
    cfg: TitleConfig,
}

impl Title {
    /// Build the stage from its config.
    pub fn new(cfg: &TitleConfig) -> Self {
        Title { cfg: cfg.clone() }
    }
}

impl Stage for Title {
    fn name(&self) -> &'static str {
        "title"
    }

    fn process(&self, article: &mut Article) {
        if let Some(t) = article.given_title.take() {
            article.title = Some(t);
            return;
        }
        let _ = &self.cfg; // TODO(text helper): detect a headline line.
    }
}

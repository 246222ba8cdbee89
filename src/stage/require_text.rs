//! Rejects an article with no text left once normalization and boilerplate
//! removal are done: an empty record helps no consumer, and the rejection
//! says why the input produced nothing.

use crate::error::RejectReason;
use crate::record::Article;
use crate::stage::{Stage, Verdict};

/// The require-text stage.
#[derive(Debug, Default, Clone, Copy)]
pub struct RequireText;

impl Stage for RequireText {
    fn name(&self) -> &'static str {
        "require_text"
    }

    fn process(&self, article: &mut Article) -> Verdict {
        if article.text.trim().is_empty() {
            return Err(RejectReason::NoText);
        }
        Ok(())
    }
}

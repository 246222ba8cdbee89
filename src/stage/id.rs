//! The content id: set right after normalization, before the title and
//! boilerplate stages change the text, so it does not move when their rules
//! change. Exact duplicates share it.

use crate::record::Article;
use crate::stage::{Stage, Verdict};

/// The id stage.
#[derive(Debug, Default, Clone, Copy)]
pub struct ContentId;

impl Stage for ContentId {
    fn name(&self) -> &'static str {
        "id"
    }

    fn process(&self, article: &mut Article) -> Verdict {
        article.id = content_id(article.given_title.as_deref(), &article.text);
        Ok(())
    }
}

/// Stable content id: hex of xxh3-128 over the normalized article (headline
/// included).
pub fn content_id(given_title: Option<&str>, text: &str) -> String {
    use xxhash_rust::xxh3::Xxh3;
    let mut h = Xxh3::new();
    if let Some(t) = given_title {
        h.update(t.as_bytes());
        h.update(b"\n\n");
    }
    h.update(text.as_bytes());
    format!("{:032x}", h.digest128())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_covers_a_given_title_and_ignores_nothing_else() {
        let with = content_id(Some("Head"), "Body.");
        assert_eq!(with, content_id(Some("Head"), "Body."));
        assert_ne!(with, content_id(None, "Body."));
        assert_eq!(with.len(), 32);
    }
}

//! Named-entity tagging: PER, ORG, LOC, MISC spans over article text.
//!
//! Pure: no I/O beyond parsing a model from bytes, no async.

use crate::record::Entity;

/// A loaded entity tagger.
#[derive(Debug, Default)]
pub struct Tagger {}

impl Tagger {
    /// The model shipped inside the binary.
    pub fn builtin() -> Result<Self, crate::error::Error> {
        Ok(Tagger {})
    }

    /// Tag a title and a body together, so mentions in one inform the other.
    /// Returns `(title_entities, text_entities)`; offsets are code points into
    /// `title` and `text` respectively.
    pub fn tag_article(&self, title: Option<&str>, text: &str) -> (Vec<Entity>, Vec<Entity>) {
        let _ = (title, text); // TODO(ner helper)
        (Vec::new(), Vec::new())
    }
}

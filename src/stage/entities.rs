//! The entity stage: tags people, organisations, places and other names.

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::ner::Tagger;
use crate::record::Article;
use crate::stage::{Stage, Verdict};

/// `[entities]` config section.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct EntitiesConfig {
    /// Tag entities at all.
    pub enabled: bool,
    /// Model file written by `newspipe train-tagger`; empty uses the built-in model.
    pub model: String,
}

impl Default for EntitiesConfig {
    fn default() -> Self {
        EntitiesConfig {
            enabled: true,
            model: String::new(),
        }
    }
}

/// The tagger the config names: `model`, or the built-in one when empty.
pub fn load_tagger(cfg: &EntitiesConfig) -> Result<Tagger> {
    if cfg.model.is_empty() {
        return Tagger::builtin();
    }
    let bytes = std::fs::read(&cfg.model)
        .map_err(|e| Error::Model(format!("cannot read {}: {e}", cfg.model)))?;
    Tagger::from_model_bytes(&bytes).map_err(|e| match e {
        Error::Model(m) => Error::Model(format!("{}: {m}", cfg.model)),
        other => other,
    })
}

/// The entity stage.
#[derive(Debug)]
pub struct Entities {
    tagger: Tagger,
}

impl Entities {
    /// Build the stage, loading the model.
    pub fn new(cfg: &EntitiesConfig) -> Result<Self> {
        Ok(Entities {
            tagger: load_tagger(cfg)?,
        })
    }
}

impl Entities {
    /// The stage when `[entities]` enables it.
    pub fn build(cfg: &EntitiesConfig) -> Result<Option<Box<dyn Stage>>> {
        if !cfg.enabled {
            return Ok(None);
        }
        Ok(Some(Box::new(Entities::new(cfg)?)))
    }
}

impl Stage for Entities {
    fn name(&self) -> &'static str {
        "entities"
    }

    fn process(&self, article: &mut Article) -> Verdict {
        // The model is English; other languages get no entities (counted
        // in the summary as untagged) rather than wrong ones.
        if article.lang != crate::stage::extract::DEFAULT_LANG {
            article.entities.clear();
            article.title_entities.clear();
            return Ok(());
        }
        let (title_entities, entities) = self
            .tagger
            .tag_article(article.title.as_deref(), &article.text);
        article.title_entities = title_entities;
        article.entities = entities;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Label, SourceInfo};

    #[test]
    fn fills_title_and_text_entities() {
        let stage = Entities::new(&EntitiesConfig::default()).unwrap();
        let mut a = Article::new(
            0,
            SourceInfo::default(),
            "Russian Foreign Minister Sergei Lavrov met officials in Moscow.".to_owned(),
        );
        a.title = Some("Lavrov visits Kyiv".to_owned());
        stage.process(&mut a).unwrap();
        assert!(a
            .entities
            .iter()
            .any(|e| e.text == "Sergei Lavrov" && e.label == Label::Per));
        let kyiv = a.title_entities.iter().find(|e| e.text == "Kyiv").unwrap();
        assert_eq!((kyiv.start, kyiv.end), (14, 18));
        let lavrov = a
            .title_entities
            .iter()
            .find(|e| e.text == "Lavrov")
            .unwrap();
        assert_eq!(lavrov.canonical.as_deref(), Some("Sergei Lavrov"));
    }
}

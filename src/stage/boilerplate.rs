//! Boilerplate removal: related-link lines ("Also Read ..."), page chrome
//! ("Advertisement", share/subscribe prompts), driven by rules in
//! `config/boilerplate.toml`.

use serde::Deserialize;

use crate::error::Result;
use crate::record::Article;
use crate::stage::Stage;

/// `[boilerplate]` config section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoilerplateConfig {
    /// Remove boilerplate at all.
    pub enabled: bool,
    /// Rules file; empty means the built-in copy of `config/boilerplate.toml`.
    pub rules_file: String,
}

impl Default for BoilerplateConfig {
    fn default() -> Self {
        BoilerplateConfig {
            enabled: true,
            rules_file: String::new(),
        }
    }
}

/// The boilerplate stage.
#[derive(Debug)]
pub struct Boilerplate {}

impl Boilerplate {
    /// Build the stage, loading and compiling its rules.
    pub fn new(cfg: &BoilerplateConfig) -> Result<Self> {
        let _ = cfg; // TODO(text helper)
        Ok(Boilerplate {})
    }
}

impl Stage for Boilerplate {
    fn name(&self) -> &'static str {
        "boilerplate"
    }

    fn process(&self, article: &mut Article) {
        let _ = article; // TODO(text helper)
    }
}

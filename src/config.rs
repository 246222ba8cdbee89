//! Configuration: one validated [`Settings`] value per run.
//!
//! Layers, lowest precedence first: the built-in `config/default.toml`, a
//! `--config FILE`, environment variables `NEWSPIPE__SECTION__KEY`, and
//! command-line flags ([`Overrides`]). The default file lists every key, so a
//! key that it lacks is unknown; an unknown key or a bad value stops the run
//! before any work, with the file (or variable) and the key named.
//!
//! Each section's type and its checks live with the component that uses it
//! (`[input]` in [`crate::source`], `[output]` in [`crate::sink`], `[serve]` in
//! [`crate::serve`], ...); this module only gathers them, and
//! [`Settings::load`] runs every section's checks for every command, so
//! `check-config` accepts exactly what the modes accept.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::kafka::KafkaConfig;
use crate::metrics::MetricsConfig;
use crate::pipeline::PipelineConfig;
use crate::serve::ServeConfig;
use crate::sink::OutputConfig;
use crate::source::InputConfig;
use crate::stage::boilerplate::BoilerplateConfig;
use crate::stage::dedup::DedupConfig;
use crate::stage::entities::EntitiesConfig;
use crate::stage::title::TitleConfig;
use crate::stage::StageSettings;

/// The built-in defaults, also the reference for which keys exist.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Prefix of environment variables that set configuration keys.
pub const ENV_PREFIX: &str = "NEWSPIPE__";

/// The resolved configuration of one run.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `[input]`: how inputs are read.
    pub input: InputConfig,
    /// `[pipeline]`: threads and queues.
    pub pipeline: PipelineConfig,
    /// `[title]`: headline detection.
    pub title: TitleConfig,
    /// `[boilerplate]`: boilerplate removal.
    pub boilerplate: BoilerplateConfig,
    /// `[dedup]`: duplicate detection.
    pub dedup: DedupConfig,
    /// `[entities]`: entity tagging.
    pub entities: EntitiesConfig,
    /// `[output]`: where records go.
    pub output: OutputConfig,
    /// `[log]`: logs and progress.
    pub log: LogConfig,
    /// `[metrics]`: the `/metrics` endpoint of long-running modes.
    pub metrics: MetricsConfig,
    /// `[serve]`: daemon mode.
    pub serve: ServeConfig,
    /// `[kafka]`: Kafka source and sink (`newspipe kafka`).
    pub kafka: KafkaConfig,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per event.
    Json,
}

/// When to draw a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Progress {
    /// Only when standard error is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// `[log]` section.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Text or JSON.
    pub format: LogFormat,
    /// Level filter: error, warn, info, debug, trace.
    pub level: String,
    /// Progress bar policy.
    pub progress: Progress,
}

/// Values set on the command line; they win over every other layer.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    entries: Vec<(String, config::Value)>,
}

impl Overrides {
    /// Set `key` (dotted, e.g. `dedup.enabled`) to `value`.
    pub fn set(&mut self, key: &str, value: impl Into<config::Value>) -> &mut Self {
        self.entries.push((key.to_owned(), value.into()));
        self
    }

    /// Set `key` when `value` is present.
    pub fn set_opt<V: Into<config::Value>>(&mut self, key: &str, value: Option<V>) -> &mut Self {
        if let Some(v) = value {
            self.set(key, v);
        }
        self
    }
}

impl Settings {
    /// Resolve the configuration from all layers and validate it.
    ///
    /// `env` is the process environment (passed in so tests need not mutate it).
    pub fn load(
        config_file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Settings> {
        let known = known_keys()?;
        let mut builder = config::Config::builder().add_source(config::File::from_str(
            DEFAULT_TOML,
            config::FileFormat::Toml,
        ));

        if let Some(path) = config_file {
            // A config file that cannot be read is a bad command line
            // (exit 2), named with the system's reason.
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::Config(format!("cannot read config file {}: {e}", path.display()))
            })?;
            let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
                let at = e
                    .span()
                    .map(|s| {
                        let before = text.get(..s.start).unwrap_or(&text);
                        let line = before.matches('\n').count() + 1;
                        let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                        format!(" at line {line}, column {col}")
                    })
                    .unwrap_or_default();
                Error::Config(format!(
                    "{}: invalid TOML{at}: {}",
                    path.display(),
                    e.message()
                ))
            })?;
            let mut keys = Vec::new();
            leaf_keys(&table, "", &mut keys);
            for key in keys {
                if !known.contains(&key) {
                    return Err(unknown_key(&format!("{}", path.display()), &key, &known));
                }
            }
            builder = builder.add_source(config::File::from_str(&text, config::FileFormat::Toml));
        }

        let mut env_source = config::Map::new();
        for (name, value) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let key = rest.to_ascii_lowercase().replace("__", ".");
            if !known.contains(&key) {
                return Err(unknown_key(
                    &format!("environment variable {name}"),
                    &key,
                    &known,
                ));
            }
            env_source.insert(key, (name, value));
        }
        // Values from the environment are strings; give each its default's type
        // so that a bad one fails naming the variable.
        for (key, (name, value)) in env_source {
            let typed = typed_like_default(&key, &value).map_err(|expected| {
                Error::Config(format!(
                    "environment variable {name}: `{key}` must be {expected}, got {value:?}"
                ))
            })?;
            builder = builder
                .set_override(key.as_str(), typed)
                .map_err(|e| Error::Config(e.to_string()))?;
        }

        for (key, value) in &overrides.entries {
            builder = builder
                .set_override(key.as_str(), value.clone())
                .map_err(|e| Error::Config(e.to_string()))?;
        }

        let source_name = config_file
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "the configuration".to_owned());
        let settings: Settings = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| Error::Config(format!("{source_name}: {e}")))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Check values that parse but make no sense, naming the key: every
    /// section, whichever command runs.
    pub fn validate(&self) -> Result<()> {
        self.input.validate()?;
        self.pipeline.validate()?;
        self.title.validate()?;
        self.boilerplate.validate()?;
        self.dedup.validate()?;
        self.output.validate()?;
        self.log.validate()?;
        self.metrics.validate()?;
        self.serve.validate()?;
        self.kafka.validate()?;
        Ok(())
    }

    /// The sections the stages are built from.
    pub fn stages(&self) -> StageSettings<'_> {
        StageSettings {
            title: &self.title,
            boilerplate: &self.boilerplate,
            dedup: &self.dedup,
            entities: &self.entities,
        }
    }
}

impl LogConfig {
    /// Check the values, naming the key.
    pub fn validate(&self) -> Result<()> {
        if !matches!(
            self.level.as_str(),
            "off" | "error" | "warn" | "info" | "debug" | "trace"
        ) {
            return Err(Error::Config(
                "invalid value for `log.level`: must be off, error, warn, info, debug or trace"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// Keys that moved to another section, and where they went.
const MOVED: [(&str, &str); 2] = [
    ("serve.metrics_addr", "metrics.addr"),
    ("serve.retention_days", "dedup.retention_days"),
];

fn known_keys() -> Result<BTreeSet<String>> {
    let table: toml::Table = DEFAULT_TOML
        .parse()
        .map_err(|e: toml::de::Error| Error::Config(format!("built-in defaults: {e}")))?;
    let mut keys = Vec::new();
    leaf_keys(&table, "", &mut keys);
    Ok(keys.into_iter().collect())
}

fn leaf_keys(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => leaf_keys(t, &path, out),
            _ => out.push(path),
        }
    }
}

fn unknown_key(origin: &str, key: &str, known: &BTreeSet<String>) -> Error {
    if let Some((_, to)) = MOVED.iter().find(|(from, _)| *from == key) {
        return Error::Config(format!(
            "{origin}: `{key}` has moved to `{to}` (the daemon and Kafka share it now)"
        ));
    }
    let section = key.split('.').next().unwrap_or(key);
    let siblings: Vec<&str> = known
        .iter()
        .filter(|k| k.split('.').next() == Some(section))
        .map(String::as_str)
        .collect();
    let hint = if siblings.is_empty() {
        let sections: BTreeSet<&str> = known.iter().filter_map(|k| k.split('.').next()).collect();
        format!(
            "known sections: {}",
            sections.into_iter().collect::<Vec<_>>().join(", ")
        )
    } else {
        format!("known keys: {}", siblings.join(", "))
    };
    Error::Config(format!("{origin}: unknown key `{key}` ({hint})"))
}

/// Parse an environment string as the type of the key's default value.
fn typed_like_default(key: &str, value: &str) -> std::result::Result<config::Value, &'static str> {
    let defaults: toml::Table = DEFAULT_TOML.parse().map_err(|_| "valid")?;
    let mut node = &toml::Value::Table(defaults);
    for part in key.split('.') {
        node = node.get(part).ok_or("a known key")?;
    }
    Ok(match node {
        toml::Value::Boolean(_) => match value.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => config::Value::from(true),
            "false" | "0" | "no" | "off" => config::Value::from(false),
            _ => return Err("true or false"),
        },
        toml::Value::Integer(_) => {
            config::Value::from(value.parse::<i64>().map_err(|_| "an integer")?)
        }
        toml::Value::Float(_) => config::Value::from(value.parse::<f64>().map_err(|_| "a number")?),
        _ => config::Value::from(value.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_with(file: Option<&str>, env: &[(&str, &str)]) -> Result<Settings> {
        let dir = tempfile::tempdir().map_err(|e| Error::Config(e.to_string()))?;
        let path = dir.path().join("custom.toml");
        if let Some(text) = file {
            std::fs::write(&path, text).map_err(|e| Error::Config(e.to_string()))?;
        }
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Settings::load(file.map(|_| path.as_path()), env, &Overrides::default())
    }

    #[test]
    fn defaults_load_and_validate() {
        let s = load_with(None, &[]).unwrap();
        assert!(s.dedup.enabled && s.entities.enabled && s.boilerplate.enabled);
        assert_eq!(s.output.path, "-");
    }

    #[test]
    fn unknown_key_in_file_names_file_and_key() {
        let err = load_with(Some("[dedup]\ntreshold = 0.5\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("custom.toml"), "{err}");
        assert!(err.contains("dedup.treshold"), "{err}");
        assert!(
            err.contains("dedup.threshold"),
            "hint lists known keys: {err}"
        );
    }

    #[test]
    fn unknown_section_in_file_is_rejected() {
        let err = load_with(Some("[dedupe]\nenabled = false\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("dedupe.enabled"), "{err}");
    }

    #[test]
    fn bad_type_in_file_names_key() {
        let err = load_with(Some("[pipeline]\nthreads = \"many\"\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("pipeline.threads"), "{err}");
        assert!(err.contains("custom.toml"), "{err}");
    }

    #[test]
    fn env_overrides_file() {
        let s = load_with(
            Some("[dedup]\nenabled = true\n"),
            &[("NEWSPIPE__DEDUP__ENABLED", "false")],
        )
        .unwrap();
        assert!(!s.dedup.enabled);
    }

    #[test]
    fn bad_env_value_names_variable() {
        let err = load_with(None, &[("NEWSPIPE__PIPELINE__THREADS", "lots")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("NEWSPIPE__PIPELINE__THREADS"), "{err}");
        let err = load_with(None, &[("NEWSPIPE__DEDUP__ENABLD", "false")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("dedup.enabld"), "{err}");
    }

    #[test]
    fn flags_override_env() {
        let mut o = Overrides::default();
        o.set("pipeline.threads", 3_i64);
        let env = [("NEWSPIPE__PIPELINE__THREADS".to_string(), "5".to_string())];
        let s = Settings::load(None, env, &o).unwrap();
        assert_eq!(s.pipeline.threads, 3);
    }

    #[test]
    fn out_of_range_value_is_rejected() {
        let err = load_with(Some("[dedup]\nthreshold = 1.5\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("dedup.threshold"), "{err}");
        let err = load_with(Some("[log]\nlevel = \"loud\"\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("log.level"), "{err}");
    }
}

//! Reading the settings: defaults (the declarations), then the TOML file, then environment
//! variables, merged by figment. Every problem is collected, not just the first: unknown keys
//! in the file (with the key that was probably meant), values of the wrong type (the key then
//! keeps its default, so the checks after it still run), and the range and cross-field rules
//! of [`Settings::check`](super::Settings).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::providers::Serialized;
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use super::problems::{Problem, Problems};
use super::sections::{SECTIONS, Settings};

/// One leaf setting: its key path and the environment variables that set it.
#[derive(Debug, Clone)]
pub struct Key {
    /// `worker.concurrency`, or `environment` for a top-level key.
    pub path: String,
    /// The section's table name (empty at the top level).
    pub section: &'static str,
    pub name: &'static str,
    pub doc: &'static str,
    /// First wins.
    pub env: Vec<String>,
}

/// Every leaf setting, in declaration order.
pub fn keys() -> Vec<Key> {
    let mut keys = Vec::new();
    for (section, prefix, fields) in SECTIONS {
        for field in *fields {
            if section.is_empty() && SECTIONS.iter().any(|(s, _, _)| *s == field.name) {
                continue;
            }
            let env = if field.env.is_empty() {
                vec![format!(
                    "GRANDMA_{prefix}{}",
                    field.name.to_ascii_uppercase()
                )]
            } else {
                field.env.iter().map(|e| (*e).to_owned()).collect()
            };
            keys.push(Key {
                path: if section.is_empty() {
                    field.name.to_owned()
                } else {
                    format!("{section}.{}", field.name)
                },
                section,
                name: field.name,
                doc: field.doc.trim(),
                env,
            });
        }
    }
    keys
}

/// The TOML file, parsed.
struct TomlFile {
    path: PathBuf,
    table: toml::Table,
}

impl Provider for TomlFile {
    fn metadata(&self) -> Metadata {
        Metadata::named("config file").source(figment::Source::File(self.path.clone()))
    }

    fn data(&self) -> figment::Result<Map<Profile, Dict>> {
        Serialized::defaults(&self.table).data()
    }
}

/// The known environment variables that are set (blank ones count as unset).
#[derive(Clone)]
struct EnvVars {
    /// Key path → (variable, value).
    values: BTreeMap<String, (String, String)>,
}

impl EnvVars {
    fn read(keys: &[Key], env: &impl Fn(&str) -> Option<String>) -> Self {
        let values = keys
            .iter()
            .filter_map(|key| {
                key.env.iter().find_map(|name| {
                    env(name)
                        .filter(|v| !v.trim().is_empty())
                        .map(|v| (key.path.clone(), (name.clone(), v.trim().to_owned())))
                })
            })
            .collect();
        EnvVars { values }
    }
}

impl Provider for EnvVars {
    fn metadata(&self) -> Metadata {
        Metadata::named("environment variable")
    }

    fn data(&self) -> figment::Result<Map<Profile, Dict>> {
        let mut root = Dict::new();
        for (path, (_, value)) in &self.values {
            // Text only: figment's lossy extraction reads numbers and booleans out of it, and a
            // password of digits stays a string.
            let value = Value::from(value.clone());
            match path.split_once('.') {
                None => {
                    root.insert(path.clone(), value);
                }
                Some((section, name)) => {
                    let table = root
                        .entry(section.to_owned())
                        .or_insert_with(|| Dict::new().into());
                    if let Value::Dict(_, table) = table {
                        table.insert(name.to_owned(), value);
                    }
                }
            }
        }
        Ok(Profile::Default.collect(root))
    }
}

impl Settings {
    /// Defaults < `config_file` (TOML) < environment variables, checked. The error lists every
    /// problem found.
    pub fn load(config_file: Option<&Path>) -> Result<Settings, Problems> {
        Settings::load_with_env(config_file, |name| std::env::var(name).ok())
    }

    /// [`Settings::load`] with the environment read through `env` (tests pass a map).
    pub fn load_with_env(
        config_file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, Problems> {
        let (settings, problems) = Settings::load_lenient(config_file, env);
        problems.into_result(settings)
    }

    /// The settings as far as they could be read, and every problem found. For commands that
    /// need one setting (the database of `grandma db`) and must not fail over another.
    pub fn load_lenient(
        config_file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> (Settings, Problems) {
        let keys = keys();
        let mut problems = Problems::default();
        let mut figment = Figment::new();
        let mut file_name = None;
        if let Some(path) = config_file {
            match read_file(path) {
                Ok(file) => {
                    unknown_keys(
                        &file.table,
                        &keys,
                        &path.display().to_string(),
                        &mut problems,
                    );
                    file_name = Some(path.display().to_string());
                    figment = figment.merge(file);
                }
                Err(problem) => problems.push(problem),
            }
        }
        let env = EnvVars::read(&keys, &env);
        let origin = |path: &str| match env.values.get(path) {
            Some((name, _)) => name.clone(),
            None => file_name.clone().unwrap_or_else(|| "default".to_owned()),
        };
        let settings = extract(figment.merge(env.clone()), &origin, &mut problems);
        settings.check(&mut problems, &origin);
        (settings, problems)
    }
}

fn read_file(path: &Path) -> Result<TomlFile, Problem> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Problem::new("", &origin, format!("cannot read the config file: {e}")))?;
    let table = text.parse::<toml::Table>().map_err(|e| {
        Problem::new(
            "",
            &origin,
            format!("not a valid TOML file: {}", e.message()),
        )
    })?;
    Ok(TomlFile {
        path: path.to_owned(),
        table,
    })
}

/// Reports every key of the file that names no setting, with the one probably meant (old
/// flat keys such as `worker_concurrency` find their table this way).
fn unknown_keys(table: &toml::Table, keys: &[Key], origin: &str, problems: &mut Problems) {
    for (name, value) in table {
        let is_section = SECTIONS.iter().any(|(s, _, _)| !s.is_empty() && s == name);
        match value {
            toml::Value::Table(inner) if is_section => {
                for inner_name in inner.keys() {
                    let path = format!("{name}.{inner_name}");
                    if !keys.iter().any(|k| k.path == path) {
                        problems.push(unknown(&path, keys, origin));
                    }
                }
            }
            _ if is_section || keys.iter().any(|k| k.path == *name) => {}
            _ => problems.push(unknown(name, keys, origin)),
        }
    }
}

fn unknown(path: &str, keys: &[Key], origin: &str) -> Problem {
    let spelled = |k: &Key| [k.path.clone(), k.path.replace('.', "_"), k.name.to_owned()];
    let last = path.rsplit('.').next().unwrap_or(path);
    let best = keys
        .iter()
        .map(|k| {
            let score = spelled(k)
                .iter()
                .flat_map(|s| [strsim::jaro_winkler(s, path), strsim::jaro_winkler(s, last)])
                .fold(0.0, f64::max);
            (score, k)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(score, _)| *score > 0.85);
    let message = match best {
        Some((_, k)) if k.section.is_empty() => {
            format!(
                "unknown setting; did you mean `{}` at the top of the file?",
                k.name
            )
        }
        Some((_, k)) => format!(
            "unknown setting; did you mean `{}` in `[{}]`?",
            k.name, k.section
        ),
        None => "unknown setting (see the settings table in the README)".to_owned(),
    };
    Problem::new(path, origin, message)
}

/// The typed settings. A value of the wrong type is reported and replaced by its default, and
/// extraction tried again, so every such problem is found in one pass.
fn extract(
    mut figment: Figment,
    origin: &impl Fn(&str) -> String,
    problems: &mut Problems,
) -> Settings {
    let defaults = serde_json::to_value(Settings::default()).expect("defaults are plain data");
    // Each round replaces at least one value by its default; there are only so many values.
    for _ in 0..=keys().len() + SECTIONS.len() {
        let errors = match figment.extract_lossy::<Settings>() {
            Ok(settings) => return settings,
            Err(errors) => errors,
        };
        for error in errors {
            let path = error.path.join(".");
            problems.push(Problem::new(&path, &origin(&path), error.kind.to_string()));
            let pointer = format!("/{}", error.path.join("/"));
            match defaults.pointer(&pointer) {
                Some(default) if !path.is_empty() => {
                    figment = figment.merge(Serialized::global(&path, default.clone()));
                }
                _ => return Settings::default(),
            }
        }
    }
    Settings::default()
}

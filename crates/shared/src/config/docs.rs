//! The settings table of the README, made from the declarations so it cannot drift: a test
//! compares it with the README, and fails with the table to paste when they differ.

use serde_json::Value;

use super::load::keys;
use super::sections::Settings;

/// A Markdown table of every setting: TOML key, environment variables, default, description.
pub fn settings_table() -> String {
    let defaults = serde_json::to_value(Settings::default()).expect("defaults are plain data");
    let mut out = String::from(
        "| setting (TOML) | environment | default | what |\n| --- | --- | --- | --- |\n",
    );
    for key in keys() {
        let setting = if key.section.is_empty() {
            format!("`{}`", key.name)
        } else {
            format!("`[{}] {}`", key.section, key.name)
        };
        let env: Vec<String> = key.env.iter().map(|e| format!("`{e}`")).collect();
        let pointer = format!("/{}", key.path.replace('.', "/"));
        let default = match defaults.pointer(&pointer) {
            None | Some(Value::Null) => "none".to_owned(),
            Some(Value::Array(items)) if items.is_empty() => "none".to_owned(),
            Some(Value::String(s)) => format!("`{s}`"),
            Some(other) => format!("`{other}`"),
        };
        out.push_str(&format!(
            "| {setting} | {} | {default} | {} |\n",
            env.join(", "),
            key.doc.replace('|', "\\|")
        ));
    }
    out
}

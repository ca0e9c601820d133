//! The effective settings of a parsed command line as TOML, each with where it came from (the
//! file's line, a flag, a variable or the default) and secrets hidden: what `check-config`
//! prints, itself a configuration file once the secrets are put back.

use std::any::TypeId;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, Command};

use super::command_line::Parsed;
use super::rules::toml_key;
use super::settings::{FLAG_TABLES, settable_args};
use crate::opaque_tokens::Hidden;

/// What a secret is shown as.
const HIDDEN: &str = "***";

/// The settings `parsed` makes for `command` (the subcommand, built), as TOML lines: the flags
/// with a value, the tables of flags, then the file's rule tables. Values may still hold a
/// URL's password: print them through `redact_userinfo`.
pub(crate) fn effective(parsed: &Parsed, command: &Command, rules: &[String]) -> Vec<String> {
    let family = |arg: &Arg| {
        FLAG_TABLES.iter().find(|family| {
            arg.get_long()
                .is_some_and(|long| long.starts_with(family.prefix))
        })
    };
    let mut lines: Vec<String> = settable_args(command)
        .filter(|arg| family(arg).is_none())
        .filter_map(|arg| setting(parsed, arg, arg.get_long().unwrap_or_default()))
        .collect();
    for table in &FLAG_TABLES {
        let entries: Vec<String> = settable_args(command)
            .filter_map(|arg| {
                let key = arg
                    .get_long()?
                    .strip_prefix(table.prefix)?
                    .replace('-', "_");
                setting(parsed, arg, &key)
            })
            .collect();
        if !entries.is_empty() {
            lines.push(String::new());
            lines.push(format!("[{}]", table.table));
            lines.extend(entries);
        }
    }
    lines.extend(rules.iter().cloned());
    lines
}

/// `key = VALUE  # SOURCE` for `arg`, when it has a value.
fn setting(parsed: &Parsed, arg: &Arg, key: &str) -> Option<String> {
    let id = arg.get_id();
    let raw: Vec<String> = parsed
        .matches
        .try_get_raw(id.as_str())
        .ok()
        .flatten()?
        .map(|value| value.to_string_lossy().into_owned())
        .collect();
    let value_type = arg.get_value_parser().type_id();
    let value = |text: &str| {
        if value_type == TypeId::of::<Hidden>() {
            return toml::Value::String(HIDDEN.to_owned());
        }
        let numeric = [
            TypeId::of::<u64>(),
            TypeId::of::<u32>(),
            TypeId::of::<usize>(),
        ];
        match text.parse::<i64>() {
            Ok(number) if numeric.iter().any(|numeric| value_type == *numeric) => {
                toml::Value::Integer(number)
            }
            _ => toml::Value::String(text.to_owned()),
        }
    };
    let shown = match arg.get_action() {
        ArgAction::SetTrue => toml::Value::Boolean(raw.iter().any(|text| text == "true")),
        ArgAction::Append => toml::Value::Array(raw.iter().map(|text| value(text)).collect()),
        _ => value(raw.first()?),
    };
    let from_file = parsed
        .file
        .as_ref()
        .and_then(|file| file.flags.iter().find(|(flag, _)| flag == id));
    let source = match (from_file, parsed.matches.value_source(id.as_str())) {
        (Some((_, position)), _) => position.to_string(),
        (None, Some(ValueSource::EnvVariable)) => match arg.get_env() {
            Some(variable) => format!("env {}", variable.to_string_lossy()),
            None => "env".to_owned(),
        },
        (None, Some(ValueSource::CommandLine)) => "flag".to_owned(),
        _ => "default".to_owned(),
    };
    Some(format!("{} = {shown}  # {source}", toml_key(key)))
}

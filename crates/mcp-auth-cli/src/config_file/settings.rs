//! [`load`]: a configuration file read and checked against the subcommand it configures. A
//! top-level key is a long flag of the subcommand, a table of flags (`[authzen]`) holds flags
//! of one family, and the other tables are rules; each value is checked by its flag's own
//! parser, so that a bad one is reported at its line and column, not later by clap without one.

use std::ffi::OsString;
use std::ops::Range;
use std::path::{Path, PathBuf};

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command, Id};
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use super::command_line::{clap_message, mentions};
use super::position::{ConfigFileError, FileText, Position};
use super::rules::{FileRules, RuleTables, table_names};

/// A table holding the flags of one family, its keys their names after the family's prefix,
/// written with `_`: `[authzen] evaluation_endpoint` is `--authzen-evaluation-endpoint`.
pub(crate) struct FlagTable {
    pub(crate) table: &'static str,
    pub(crate) prefix: &'static str,
    /// The key the table cannot go without.
    pub(crate) required: &'static str,
}

/// The tables of flags.
pub(crate) const FLAG_TABLES: [FlagTable; 1] = [FlagTable {
    table: "authzen",
    prefix: "authzen-",
    required: "url",
}];

/// A configuration file, read and checked.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) path: PathBuf,
    /// The flags it sets, in the file's order.
    flags: Vec<FlagSetting>,
    /// The rules of its tables.
    pub(crate) rules: FileRules,
}

/// A flag the file sets.
#[derive(Debug)]
pub(crate) struct FlagSetting {
    /// The flag, as clap knows it.
    pub(crate) id: Id,
    /// Where its key is.
    pub(crate) position: Position,
    /// The command-line words it stands for (`--leeway=30`); none for a switch set to false.
    words: Vec<OsString>,
}

/// Reads the configuration file at `path` for `command` (`serve` or `proxy`, built, so that it
/// holds the global flags too).
pub(crate) fn load(path: &Path, command: &Command) -> Result<Settings, ConfigFileError> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| ConfigFileError::whole(path, format!("cannot read it: {err}")))?;
    let file = FileText { path, text: &text };
    let document = DeTable::parse(&text).map_err(|err| syntax_error(file, &err))?;
    let mut entries: Vec<_> = document.get_ref().iter().collect();
    // Reported in the order they are written: the first mistake first.
    entries.sort_by_key(|(key, _)| key.span().start);
    let rule_table_names = table_names();
    let mut flags = Vec::new();
    let mut rule_tables = DeTable::new();
    for (key, value) in entries {
        let name: &str = key.get_ref();
        if let Some(family) = FLAG_TABLES.iter().find(|family| family.table == name) {
            flags.extend(family.settings(file, command, value)?);
        } else if rule_table_names.iter().any(|table| table == name) {
            rule_tables.insert(key.clone(), value.clone());
        } else {
            flags.push(top_level_flag(file, command, key, value)?);
        }
    }
    let rules = RuleTables::read(file, rule_tables)?;
    Ok(Settings {
        path: path.to_owned(),
        flags,
        rules,
    })
}

/// TOML's own error, with a word on the mistake the tables invite: `[resource."URI"]` (the
/// exact-resource table is `resource_uri`: `resource` is the flag naming this server).
fn syntax_error(file: FileText<'_>, error: &toml::de::Error) -> ConfigFileError {
    let Some(span) = error.span() else {
        return file.toml_error(error);
    };
    let at = file.text.get(span.start..).unwrap_or_default();
    let mut message = error.message().trim_end().to_owned();
    if at.starts_with("resource.") {
        message.push_str(
            "; rules per resource are [resource_uri.\"URI\"] tables (resource names this server)",
        );
    }
    file.error(span, message)
}

impl Settings {
    /// The flags the file sets that `given` (the command line and the environment, read
    /// without the file) does not: those win.
    pub(crate) fn applied(&self, given: &ArgMatches) -> Vec<&FlagSetting> {
        self.flags
            .iter()
            .filter(|flag| {
                !matches!(
                    given.value_source(flag.id.as_str()),
                    Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                )
            })
            .collect()
    }
}

impl FlagSetting {
    /// The command-line words the setting stands for.
    pub(crate) fn words(&self) -> &[OsString] {
        &self.words
    }
}

impl FlagTable {
    /// The flags `value`, the table, sets.
    fn settings(
        &self,
        file: FileText<'_>,
        command: &Command,
        value: &Spanned<DeValue<'_>>,
    ) -> Result<Vec<FlagSetting>, ConfigFileError> {
        let table = self.table;
        let DeValue::Table(entries) = value.get_ref() else {
            return Err(file.error(
                value.span(),
                format!(
                    "{table} is a table: [{table}] with {} = ... under it",
                    self.required
                ),
            ));
        };
        if !entries.keys().any(|key| key.get_ref() == self.required) {
            return Err(file.error(value.span(), format!("[{table}] needs {}", self.required)));
        }
        let mut entries: Vec<_> = entries.iter().collect();
        entries.sort_by_key(|(key, _)| key.span().start);
        let mut settings = Vec::new();
        for (key, value) in entries {
            let name: &str = key.get_ref();
            let long = format!("{}{}", self.prefix, name.replace('_', "-"));
            let arg = settable(command, &long).filter(|_| !name.contains('-'));
            let Some(arg) = arg else {
                let keys: Vec<String> = settable_args(command)
                    .filter_map(|arg| arg.get_long()?.strip_prefix(self.prefix))
                    .map(|key| key.replace('-', "_"))
                    .collect();
                return Err(file.error(
                    key.span(),
                    format!(
                        "unknown key {name} in [{table}]: its keys are {}",
                        keys.join(", ")
                    ),
                ));
            };
            let shown = format!("[{table}] {name}");
            settings.push(flag_setting(file, command, arg, &shown, key.span(), value)?);
        }
        Ok(settings)
    }
}

/// The flag a top-level key sets.
fn top_level_flag(
    file: FileText<'_>,
    command: &Command,
    key: &Spanned<DeString<'_>>,
    value: &Spanned<DeValue<'_>>,
) -> Result<FlagSetting, ConfigFileError> {
    let name: &str = key.get_ref();
    let family = FLAG_TABLES
        .iter()
        .find(|family| name.starts_with(family.prefix));
    match (settable(command, name), family) {
        (Some(arg), None) => flag_setting(file, command, arg, name, key.span(), value),
        (_, Some(family)) => Err(file.error(
            key.span(),
            format!(
                "{name} goes in the [{}] table, as {}",
                family.table,
                name[family.prefix.len()..].replace('-', "_")
            ),
        )),
        (None, None) => Err(file.error(key.span(), unknown_key(command, name))),
    }
}

/// Why `key` is no key of the file, and what it may have meant.
fn unknown_key(command: &Command, key: &str) -> String {
    let subcommand = command.get_name();
    let kebab = key.replace('_', "-");
    if key == "config" {
        return "a configuration file cannot name another (config)".to_owned();
    }
    if kebab != key && settable(command, &kebab).is_some() {
        return format!("unknown key {key}: flags are written as on the command line, {kebab}");
    }
    let mut tables: Vec<String> = table_names();
    tables.extend(FLAG_TABLES.iter().map(|family| family.table.to_owned()));
    format!(
        "unknown key {key}: no flag of mcp-auth {subcommand} (mcp-auth {subcommand} --help lists them) nor a table ({})",
        tables.join(", ")
    )
}

/// The flags a file may set: those taking values, and switches; not `--config` itself, nor
/// `--help` and `--version`.
pub(crate) fn settable_args(command: &Command) -> impl Iterator<Item = &Arg> {
    command.get_arguments().filter(|arg| {
        arg.get_id() != "config"
            && arg.get_long().is_some()
            && matches!(
                arg.get_action(),
                ArgAction::Set | ArgAction::Append | ArgAction::SetTrue
            )
    })
}

/// The flag `--long`, when a file may set it.
fn settable<'c>(command: &'c Command, long: &str) -> Option<&'c Arg> {
    settable_args(command).find(|arg| arg.get_long() == Some(long))
}

/// The setting of `arg` (named `shown` in errors) to `value`, each value checked by the flag's
/// own parser.
fn flag_setting(
    file: FileText<'_>,
    command: &Command,
    arg: &Arg,
    shown: &str,
    key_span: Range<usize>,
    value: &Spanned<DeValue<'_>>,
) -> Result<FlagSetting, ConfigFileError> {
    let long = arg.get_long().unwrap_or_default();
    let word = |text: &str| OsString::from(format!("--{long}={text}"));
    let words = match (arg.get_action(), value.get_ref()) {
        (ArgAction::SetTrue, DeValue::Boolean(true)) => vec![OsString::from(format!("--{long}"))],
        (ArgAction::SetTrue, DeValue::Boolean(false)) => Vec::new(),
        (ArgAction::SetTrue, _) => {
            return Err(file.error(value.span(), format!("{shown} is a switch: true or false")));
        }
        (ArgAction::Append, DeValue::Array(items)) => {
            let mut words = Vec::new();
            for item in items.iter() {
                words.push(word(&checked(file, command, arg, shown, item)?));
            }
            words
        }
        (ArgAction::Append, _) => {
            return Err(file.error(
                value.span(),
                format!("{shown} is repeatable: give an array, {shown} = [...]"),
            ));
        }
        (_, DeValue::Array(_)) => {
            return Err(file.error(
                value.span(),
                format!("{shown} takes one value, not an array"),
            ));
        }
        _ => vec![word(&checked(file, command, arg, shown, value)?)],
    };
    Ok(FlagSetting {
        id: arg.get_id().clone(),
        position: file.position(key_span.start),
        words,
    })
}

/// `value` as the flag's command-line text, checked by the flag's parser.
fn checked(
    file: FileText<'_>,
    command: &Command,
    arg: &Arg,
    shown: &str,
    value: &Spanned<DeValue<'_>>,
) -> Result<String, ConfigFileError> {
    let text = match value.get_ref() {
        DeValue::String(text) => text.to_string(),
        DeValue::Integer(integer) => i128::from_str_radix(integer.as_str(), integer.radix())
            .map(|integer| integer.to_string())
            .map_err(|err| file.error(value.span(), format!("{shown}: {err}")))?,
        DeValue::Float(float) => float
            .as_str()
            .parse::<f64>()
            .map(|float| float.to_string())
            .map_err(|err| file.error(value.span(), format!("{shown}: {err}")))?,
        DeValue::Table(_) if arg.get_long() == Some("resource") => {
            return Err(file.error(
                value.span(),
                "resource is the protected resource's identifier, a string; rules per resource are [resource_uri.\"URI\"] tables",
            ));
        }
        other => {
            return Err(file.error(
                value.span(),
                format!(
                    "{shown} takes a string or a number, not {}",
                    other.type_str()
                ),
            ));
        }
    };
    check_value(command, arg, &text).map_err(|message| file.error(value.span(), message))?;
    Ok(text)
}

/// Refuses `text` when clap refuses it as the value of `arg`, in clap's words. Clap's parsers
/// run only inside a parse: `command` parses the flag alone, and only an error about this
/// flag's value counts (one about a missing flag, or a variable of the environment, is not the
/// file's).
fn check_value(command: &Command, arg: &Arg, text: &str) -> Result<(), String> {
    let long = arg.get_long().unwrap_or_default();
    let word = format!("--{long}={text}");
    let Err(error) = command
        .clone()
        .no_binary_name(true)
        .try_get_matches_from([word])
    else {
        return Ok(());
    };
    let about_value = matches!(
        error.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation | ErrorKind::InvalidUtf8
    );
    let names_flag = match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(name)) => mentions(name, long),
        _ => false,
    };
    if about_value && names_flag {
        Err(clap_message(&error))
    } else {
        Ok(())
    }
}

//! The command line with a configuration file: read once leniently, to learn the subcommand,
//! its `--config` and what the command line and the environment set; then the file's flags are
//! put in right after the subcommand's name (those the command line or the environment set left
//! out: they win), and clap parses the whole as it parses any command line.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::error::{ContextKind, ContextValue};
use clap::{ArgMatches, Args, Command, CommandFactory, FromArgMatches, Id};

use super::position::{ConfigFileError, Position};
use super::settings::{FlagSetting, load};
use crate::Cli;

/// `--config`, for `serve` and `proxy`.
#[derive(Debug, Args)]
pub(crate) struct ConfigArgs {
    /// A TOML file of settings: its keys are these flags' long names (an array for a
    /// repeatable one), with rule tables ([tool.NAME], [prompt.NAME], [resource_uri."URI"],
    /// [resource_prefix."PREFIX"], [method."NAME"], [every_operation]) and [authzen]. Flags
    /// and environment variables override it; mcp-auth check-config FILE checks it.
    #[arg(long, env = "MCP_AUTH_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
}

impl ConfigArgs {
    /// The start banner's line naming the file, when there is one.
    pub(crate) fn banner(&self) -> Vec<String> {
        self.config
            .iter()
            .map(|path| format!("configuration     {}", path.display()))
            .collect()
    }
}

/// A parsed command line.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) cli: Cli,
    /// The subcommand's name (`serve`).
    pub(crate) subcommand: String,
    /// The subcommand's matches, with where each value came from.
    pub(crate) matches: ArgMatches,
    /// The configuration file, when one was given.
    pub(crate) file: Option<FileUsed>,
}

/// What a configuration file set.
#[derive(Debug)]
pub(crate) struct FileUsed {
    pub(crate) path: PathBuf,
    /// The flags it set (not those the command line or the environment set), and where.
    pub(crate) flags: Vec<(Id, Position)>,
    /// Its rule tables, as TOML.
    pub(crate) rules: Vec<String>,
}

/// Why the command line cannot be used.
#[derive(Debug)]
pub(crate) enum ParseError {
    /// Clap's own error (`--help` and `--version` included), as today without a file.
    Clap(clap::Error),
    /// The configuration file, at its position.
    File(ConfigFileError),
}

/// Parses `argv` (the program's name first), with the configuration file `--config` names.
pub(crate) fn parse(argv: Vec<OsString>) -> Result<Parsed, ParseError> {
    let mut command = Cli::command();
    // Global flags (--log-level) are copied into each subcommand: a file may set them too.
    command.build();
    let lenient = command
        .clone()
        .ignore_errors(true)
        .try_get_matches_from(&argv)
        .ok();
    let found = lenient.as_ref().and_then(|matches| {
        let (name, given) = matches.subcommand()?;
        let path = given.try_get_one::<PathBuf>("config").ok().flatten()?;
        Some((name.to_owned(), given, path.clone()))
    });
    let Some((name, given, path)) = found else {
        let mut matches = command
            .try_get_matches_from_mut(argv)
            .map_err(ParseError::Clap)?;
        return finish(&mut command, &mut matches, None);
    };
    let Some(subcommand) = command.find_subcommand(&name) else {
        return Err(ParseError::Clap(command.error(
            clap::error::ErrorKind::InvalidSubcommand,
            format!("no subcommand {name}"),
        )));
    };
    let mut settings = load(&path, subcommand).map_err(ParseError::File)?;
    let applied = settings.applied(given);
    let words = applied.iter().flat_map(|flag| flag.words()).cloned();
    let argv = with_words(&command, argv, words.collect());
    let mut matches = command
        .try_get_matches_from_mut(argv)
        .map_err(|err| attributed(err, &command, &applied))?;
    let used = FileUsed {
        path: settings.path.clone(),
        flags: applied
            .iter()
            .map(|flag| (flag.id.clone(), flag.position.clone()))
            .collect(),
        rules: std::mem::take(&mut settings.rules.described),
    };
    let mut parsed = finish(&mut command, &mut matches, Some(used))?;
    if let Some(auth) = parsed.cli.command.auth_mut() {
        auth.add_file_rules(settings.rules);
    }
    Ok(parsed)
}

/// The command line `matches` as the [`Cli`].
fn finish(
    command: &mut Command,
    matches: &mut ArgMatches,
    file: Option<FileUsed>,
) -> Result<Parsed, ParseError> {
    // Kept before the Cli takes the values out of them.
    let (subcommand, kept) = matches
        .subcommand()
        .map(|(name, matches)| (name.to_owned(), matches.clone()))
        .unwrap_or_default();
    let cli =
        Cli::from_arg_matches_mut(matches).map_err(|err| ParseError::Clap(err.format(command)))?;
    Ok(Parsed {
        cli,
        subcommand,
        matches: kept,
        file,
    })
}

/// `argv` with `words` put right after the subcommand's name: the first word that is neither
/// an option of the command nor an option's value, as clap finds it.
fn with_words(command: &Command, argv: Vec<OsString>, words: Vec<OsString>) -> Vec<OsString> {
    let takes_value = |word: &str| {
        command.get_arguments().any(|arg| {
            let named = match word.strip_prefix("--") {
                Some(long) => arg.get_long() == Some(long),
                None => word.len() == 2 && arg.get_short() == word.chars().nth(1),
            };
            named && arg.get_action().takes_values()
        })
    };
    let mut index = 1;
    while let Some(word) = argv.get(index).map(|word| word.to_string_lossy()) {
        if !word.starts_with('-') {
            break;
        }
        index += if takes_value(&word) { 2 } else { 1 };
    }
    let at = (index + 1).min(argv.len());
    let mut spliced = argv;
    spliced.splice(at..at, words);
    spliced
}

/// A failed parse: at the file's position when the error names a flag the file set (a flag
/// the file sets that conflicts with another, say), else clap's own.
fn attributed(error: clap::Error, command: &Command, applied: &[&FlagSetting]) -> ParseError {
    let named = |flag: &FlagSetting| {
        let Some(long) = command
            .get_subcommands()
            .flat_map(Command::get_arguments)
            .find(|arg| arg.get_id() == &flag.id)
            .and_then(|arg| arg.get_long())
        else {
            return false;
        };
        let names = |value: &ContextValue| match value {
            ContextValue::String(text) => mentions(text, long),
            ContextValue::Strings(texts) => texts.iter().any(|text| mentions(text, long)),
            _ => false,
        };
        [ContextKind::InvalidArg, ContextKind::PriorArg]
            .into_iter()
            .filter_map(|kind| error.get(kind))
            .any(names)
    };
    match applied.iter().find(|flag| named(flag)) {
        Some(flag) => ParseError::File(flag.position.error(clap_message(&error))),
        None => ParseError::Clap(error),
    }
}

/// Whether clap's name of an argument (`--leeway <LEEWAY>`, `--stateful`) is `--long`.
pub(super) fn mentions(text: &str, long: &str) -> bool {
    text.split([' ', '=']).next() == Some(&format!("--{long}"))
}

/// Clap's error on one line, without its `error:` prefix, usage and help hint.
pub(crate) fn clap_message(error: &clap::Error) -> String {
    let rendered = error.to_string();
    let lines: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .filter(|line| !line.is_empty())
        .collect();
    lines.join(" ").trim_start_matches("error: ").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_file_s_flags_go_right_after_the_subcommand() {
        let mut command = Cli::command();
        command.build();
        let file = words(&["--leeway=5"]);
        for (argv, expected) in [
            (
                &["mcp-auth", "serve", "--scope", "a"][..],
                &["mcp-auth", "serve", "--leeway=5", "--scope", "a"][..],
            ),
            (
                &["mcp-auth", "--log-level", "serve", "serve"],
                &["mcp-auth", "--log-level", "serve", "serve", "--leeway=5"],
            ),
            (
                &["mcp-auth", "--log-format=json", "-h", "proxy", "x"],
                &[
                    "mcp-auth",
                    "--log-format=json",
                    "-h",
                    "proxy",
                    "--leeway=5",
                    "x",
                ],
            ),
        ] {
            assert_eq!(
                with_words(&command, words(argv), file.clone()),
                words(expected)
            );
        }
    }

    #[test]
    fn clap_errors_become_one_line() {
        let error = Cli::command()
            .try_get_matches_from(["mcp-auth", "serve", "--issuer-type", "x"])
            .unwrap_err();
        assert_eq!(
            clap_message(&error),
            "invalid value 'x' for '--issuer-type <ISSUER_TYPE>' [possible values: oauth, oidc]"
        );
    }
}

//! `mcp-auth check-config FILE`: a configuration file read as `serve --config FILE` (or
//! `proxy`, with `--for proxy`) reads it, with the environment's variables and the flags given
//! after `--`, and checked as a start checks it (flags, rules in CEL compiled, URLs,
//! durations, files such as the client secret's read), contacting nothing. Then the settings
//! it makes, as TOML, each with where it came from; secrets are never shown.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, CommandFactory, ValueEnum};
use mcp_auth::observe::redact_userinfo;

use crate::config_file::{self, ParseError, clap_message};
use crate::{Cli, Command, Failure, proxy, serve};

/// Flags of `check-config`.
#[derive(Debug, Args)]
pub(crate) struct CheckConfigArgs {
    /// The configuration file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The command the file configures.
    #[arg(long = "for", value_name = "COMMAND", value_enum, default_value_t = Configured::Serve)]
    command: Configured,
    /// Flags the command is started with too, after --: they override the file as they would at
    /// start (mcp-auth check-config --for proxy FILE -- --upstream URL).
    #[arg(last = true, value_name = "FLAGS")]
    flags: Vec<OsString>,
}

/// The commands a configuration file configures.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Configured {
    Serve,
    Proxy,
}

/// Checks the file and prints its settings.
pub(crate) fn run(args: CheckConfigArgs) -> Result<(), Failure> {
    let name = match args.command {
        Configured::Serve => "serve",
        Configured::Proxy => "proxy",
    };
    let mut argv: Vec<OsString> = vec!["mcp-auth".into(), name.into(), "--config".into()];
    argv.push(args.file.into_os_string());
    argv.extend(args.flags);
    let parsed = config_file::parse(argv).map_err(|err| match err {
        ParseError::File(err) => Failure::Config(err),
        ParseError::Clap(err) => Failure::Usage(clap_message(&err)),
    })?;
    match &parsed.cli.command {
        Command::Serve(args) => serve::check(args)?,
        Command::Proxy(args) => proxy::check(args)?,
        _ => {
            return Err(Failure::Failed(format!(
                "{name} takes no configuration file"
            )));
        }
    }
    let mut root = Cli::command();
    root.build();
    let Some(command) = root.find_subcommand(name) else {
        return Err(Failure::Failed(format!("no command {name}")));
    };
    let rules = parsed.file.as_ref().map(|file| file.rules.as_slice());
    let path = parsed
        .file
        .as_ref()
        .map(|file| file.path.display().to_string());
    println!(
        "# mcp-auth {name} --config {}: valid (nothing was contacted).",
        path.unwrap_or_default()
    );
    println!("# Each setting and where it came from; secrets are shown as \"***\".");
    for line in config_file::effective(&parsed, command, rules.unwrap_or_default()) {
        println!("{}", redact_userinfo(&line));
    }
    Ok(())
}

//! `mcp-auth`: OAuth 2.0 for MCP servers from the command line.
//!
//! - `mcp-auth demo`: a protected MCP server and a test authorization server, offline;
//! - `mcp-auth serve --issuer URL`: the same server trusting real authorization servers;
//! - `mcp-auth proxy --upstream URL --issuer URL`: the same protection in front of any MCP
//!   server, as a streaming reverse proxy;
//! - `mcp-auth discover ISSUER`: checks a provider for MCP and JWT mode;
//! - `mcp-auth check-config FILE`: checks a configuration file (`serve --config FILE`) and
//!   prints the settings it makes.

mod auth_args;
mod authzen_args;
mod cel_rules;
mod check_config;
mod config_file;
mod demo;
mod discover;
mod dpop_args;
mod dpop_proof;
mod duration;
mod listener;
#[cfg(test)]
mod man_pages;
mod mcp_server;
mod observability;
mod opaque_tokens;
mod protection;
mod provider_args;
mod proxy;
mod recognize;
mod reload;
mod role_rules;
mod scope_rules;
mod serve;
mod startup;
mod written;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mcp_auth::observe::redact_userinfo;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use crate::auth_args::AuthArgs;
use crate::config_file::{ConfigFileError, ParseError};
use crate::reload::Reload;

#[derive(Debug, Parser)]
#[command(
    name = "mcp-auth",
    version,
    about = "OAuth 2.0 authorization for MCP servers"
)]
struct Cli {
    /// Log level: error, warn, info, debug or trace (or a tracing filter).
    #[arg(
        long,
        global = true,
        env = "MCP_AUTH_LOG_LEVEL",
        default_value = "warn"
    )]
    log_level: String,
    /// Log lines as text or as JSON objects (one per line, for log collectors).
    #[arg(
        long,
        global = true,
        env = "MCP_AUTH_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// A protected MCP server with its own test authorization server: nothing else needed.
    Demo(demo::DemoArgs),
    /// A protected MCP server trusting the authorization servers you name.
    Serve(Box<serve::ServeArgs>),
    /// Protects any MCP server: a streaming reverse proxy checking tokens in front of it.
    Proxy(Box<proxy::ProxyArgs>),
    /// Discovers an authorization server and checks it for MCP clients and JWT mode.
    Discover(discover::DiscoverArgs),
    /// Prints a fresh DPoP proof for one request, signed with the demo's DPoP key (a published
    /// test fixture): for `demo --dpop` from curl.
    DpopProof(dpop_proof::DpopProofArgs),
    /// Checks a configuration file as `serve --config FILE` (or proxy) would read it, contacting
    /// nothing, and prints the settings it makes and where each came from, secrets hidden.
    CheckConfig(check_config::CheckConfigArgs),
}

impl Command {
    /// The authorization flags, for the commands that have them.
    fn auth_mut(&mut self) -> Option<&mut AuthArgs> {
        match self {
            Self::Serve(args) => Some(&mut args.auth),
            Self::Proxy(args) => Some(&mut args.auth),
            _ => None,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let parsed = match config_file::parse(argv.clone()) {
        Ok(parsed) => parsed,
        Err(ParseError::Clap(err)) if !err.use_stderr() => {
            // --help and --version
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => return stop(&Failure::from(err)),
    };
    // SIGHUP reads the same command line and file again.
    let reload = Reload::new(argv, &parsed);
    let cli = parsed.cli;
    let filter = match log_filter(&cli.log_level) {
        Ok(filter) => filter,
        Err(message) => return stop(&Failure::Failed(message)),
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().init(),
    }
    let outcome = match cli.command {
        Command::Demo(args) => demo::run(args).await.map(|()| true),
        Command::Serve(args) => serve::run(*args, reload).await.map(|()| true),
        Command::Proxy(args) => proxy::run(*args, reload).await.map(|()| true),
        Command::Discover(args) => discover::run(args).await.map_err(Failure::from),
        Command::DpopProof(args) => dpop_proof::run(&args).map(|()| true).map_err(Failure::from),
        Command::CheckConfig(args) => check_config::run(args).map(|()| true),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(failure) => stop(&failure),
    }
}

/// Why a command stopped.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Flags that do not fit together: nothing was started (exit 2, like clap's own errors).
    Usage(String),
    /// A configuration file's mistake, at its position: nothing was started (exit 2).
    Config(ConfigFileError),
    /// Something went wrong while starting or running (exit 1).
    Failed(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self::Failed(message)
    }
}

impl From<ParseError> for Failure {
    /// A command line that cannot be used: clap's first line (not `--help` or `--version`,
    /// which are no failure), or the configuration file's mistake.
    fn from(error: ParseError) -> Self {
        match error {
            ParseError::Clap(err) => {
                let message = err.to_string();
                let first = message.lines().next().unwrap_or_default();
                Self::Usage(first.trim_start_matches("error: ").to_owned())
            }
            ParseError::File(err) => Self::Config(err),
        }
    }
}

impl Failure {
    /// The one line that says why, as a stop prints it on stderr (and a reload that fails logs
    /// it): never a backtrace, never a URL's password. A usage error points to `--help` (clap's
    /// errors repeat the value given, so a URL's password is hidden there too); a configuration
    /// file's mistake is `FILE:LINE:COLUMN: message`, as editors read it.
    pub(crate) fn line(&self) -> String {
        match self {
            Self::Usage(message) => format!(
                "mcp-auth: {} (see mcp-auth --help)",
                redact_userinfo(&message.replace('\n', " "))
            ),
            Self::Config(err) => redact_userinfo(&err.to_string().replace('\n', " ")).into_owned(),
            Self::Failed(message) => {
                format!("mcp-auth: {}", redact_userinfo(&message.replace('\n', " ")))
            }
        }
    }

    /// A usage error or a configuration file's mistake: nothing was started (exit 2, like
    /// clap's own errors); anything else went wrong while starting or running (exit 1).
    fn exit_code(&self) -> ExitCode {
        match self {
            Self::Usage(_) | Self::Config(_) => ExitCode::from(2),
            Self::Failed(_) => ExitCode::FAILURE,
        }
    }
}

/// A level name (`warn`, `debug`...) or a tracing directive with a target (`mcp_auth=debug`);
/// a bare word that is neither would silently turn logging off, so it is refused.
fn log_filter(level: &str) -> Result<EnvFilter, String> {
    let is_level = level.parse::<LevelFilter>().is_ok();
    if !is_level && !level.contains('=') {
        return Err(format!(
            "--log-level {level:?} is not a level: use error, warn, info, debug, trace or a filter such as mcp_auth=debug"
        ));
    }
    EnvFilter::try_new(level)
        .map_err(|err| format!("--log-level {level:?} is not a log filter: {err}"))
}

/// Stops the command: its one line on stderr, its exit code.
fn stop(failure: &Failure) -> ExitCode {
    eprintln!("{}", failure.line());
    failure.exit_code()
}

/// Resolves on Ctrl-C (or SIGTERM), for a graceful stop.
pub(crate) async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

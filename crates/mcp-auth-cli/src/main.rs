//! `mcp-auth`: OAuth 2.0 for MCP servers from the command line.
//!
//! - `mcp-auth demo`: a protected MCP server and a test authorization server, offline;
//! - `mcp-auth serve --issuer URL`: the same server trusting real authorization servers;
//! - `mcp-auth discover ISSUER`: checks a provider for MCP and JWT mode.

mod demo;
mod discover;
mod mcp_server;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

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
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// A protected MCP server with its own test authorization server: nothing else needed.
    Demo(demo::DemoArgs),
    /// A protected MCP server trusting the authorization servers you name.
    Serve(serve::ServeArgs),
    /// Discovers an authorization server and checks it for MCP clients and JWT mode.
    Discover(discover::DiscoverArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = match EnvFilter::try_new(&cli.log_level) {
        Ok(filter) => filter,
        Err(err) => {
            return fail(&format!(
                "--log-level {:?} is not a log filter: {err}",
                cli.log_level
            ));
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let outcome = match cli.command {
        Command::Demo(args) => demo::run(args).await.map(|()| true),
        Command::Serve(args) => serve::run(args).await.map(|()| true),
        Command::Discover(args) => discover::run(args).await,
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => fail(&message),
    }
}

/// One line on stderr, never a backtrace.
fn fail(message: &str) -> ExitCode {
    eprintln!("mcp-auth: {}", message.replace('\n', " "));
    ExitCode::FAILURE
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

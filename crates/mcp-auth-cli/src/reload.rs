//! `SIGHUP`: `serve` and `proxy` read their configuration file again, with the command line and
//! environment they were started with (whose flags and variables still win), exactly as a
//! start reads them, and put the new checks in force in the running bearer layer
//! ([`BearerAuthLayer::reload`]): requests under way finish under the old checks, connections
//! and MCP sessions are untouched. A file that cannot be used is logged in the one line a start
//! would print, and the running configuration is kept.
//!
//! A reload changes what the layer checks: issuers, audiences, scopes, rules, roles, the
//! decision point, introspection, API keys, leeway, body timeout, allowed origins. What the
//! start set up stays, and a file changing it is refused whole ([`restart_only_changes`]): the
//! listen address, the resource identifier (the layer refuses), the audit log and metrics,
//! DPoP, the accepted hosts, the legacy metadata mirror, logging, `serve`'s session mode, and the
//! proxy's upstream with everything about it. The metadata document keeps the start's issuers
//! and scopes: a reload that would change it says so at `warn`.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use clap::{Arg, ArgMatches, Args, CommandFactory, Id};
use mcp_auth::ConfigError;
use mcp_auth::bearer::BearerAuthLayer;
use mcp_auth::metadata::ProtectedResourceMetadata;

use crate::auth_args::AuthArgs;
use crate::config_file::{self, Parsed};
use crate::dpop_args::DpopArgs;
use crate::protection::Protection;
use crate::startup::Setup;
use crate::{Cli, Command, Failure, proxy, serve};

/// What a reload reads again: the start's command line and the configuration file it named,
/// and what the start made of them.
pub(crate) struct Reload {
    argv: Vec<OsString>,
    /// The configuration file, when the start had one.
    file: Option<PathBuf>,
    /// The subcommand (`serve`).
    subcommand: String,
    /// The start's settings, for the flags a reload cannot change.
    started_with: ArgMatches,
}

/// A [`Reload`] catching `SIGHUP`.
pub(crate) struct Reloader {
    reload: Reload,
    #[cfg(unix)]
    hangups: Option<tokio::signal::unix::Signal>,
}

/// The running protection whose checks a reload replaces.
struct Serving {
    layer: BearerAuthLayer,
    /// The metadata document published since the start.
    metadata: Option<ProtectedResourceMetadata>,
}

impl Reload {
    /// What `parsed`, read from `argv`, would read again.
    pub(crate) fn new(argv: Vec<OsString>, parsed: &Parsed) -> Self {
        Self {
            argv,
            file: parsed.file.as_ref().map(|file| file.path.clone()),
            subcommand: parsed.subcommand.clone(),
            started_with: parsed.matches.clone(),
        }
    }

    /// Catches `SIGHUP` from now on: its default action would stop the process.
    pub(crate) fn catch(self) -> Reloader {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let hangups = signal(SignalKind::hangup())
                .inspect_err(|error| {
                    tracing::warn!(%error, "SIGHUP cannot be caught: it stops the process instead of reloading");
                })
                .ok();
            Reloader {
                reload: self,
                hangups,
            }
        }
        #[cfg(not(unix))]
        Reloader { reload: self }
    }

    /// Reloads `serving` on `setup`, and logs how it went.
    fn apply(&self, setup: &Setup, serving: &Serving) {
        let Some(file) = &self.file else {
            tracing::warn!(
                "SIGHUP: nothing to reload, mcp-auth was started without --config (MCP_AUTH_CONFIG)"
            );
            return;
        };
        let file = file.display();
        match self.reloaded(setup, serving) {
            Ok(metadata_changed) => {
                tracing::info!(
                    "configuration reloaded from {file} (the listen address, resource, DPoP, audit log, metrics, allowed hosts and upstream stay as started)"
                );
                if metadata_changed {
                    tracing::warn!(
                        "the reload changed the issuers or scopes: the resource's metadata document keeps the start's until a restart"
                    );
                }
            }
            Err(failure) => tracing::error!(
                "configuration not reloaded from {file}, the running one is kept: {}",
                failure.line()
            ),
        }
    }

    /// Reads the file again and puts its checks in force in `serving`; whether the metadata
    /// document would have changed (it stays the start's).
    fn reloaded(&self, setup: &Setup, serving: &Serving) -> Result<bool, Failure> {
        let parsed = config_file::parse(self.argv.clone())?;
        let changed = restart_only_changes(&self.subcommand, &self.started_with, &parsed.matches);
        if !changed.is_empty() {
            return Err(Failure::Failed(format!(
                "{} changed: a reload cannot change {}, a restart does",
                changed.join(", "),
                if changed.len() == 1 { "it" } else { "them" }
            )));
        }
        let protection = protection(&parsed.cli.command, setup)?;
        let metadata = protection
            .auth
            .protected_resource_metadata(&protection.resource);
        let metadata_changed = metadata != serving.metadata.as_ref();
        serving
            .layer
            .reload(protection.bearer)
            .map_err(|err| match err {
                ConfigError::InvalidSetting { reason, .. } => Failure::Failed(reason),
                other => Failure::Failed(other.to_string()),
            })?;
        Ok(metadata_changed)
    }
}

impl Reloader {
    /// Reloads `running`'s checks on `setup` at each `SIGHUP`, in a task of its own.
    pub(crate) fn spawn(self, setup: Setup, running: &Protection) {
        let serving = Serving {
            layer: running.bearer.clone(),
            metadata: running
                .auth
                .protected_resource_metadata(&running.resource)
                .cloned(),
        };
        #[cfg(unix)]
        if let Some(mut hangups) = self.hangups {
            let reload = self.reload;
            tokio::spawn(async move {
                while hangups.recv().await.is_some() {
                    reload.apply(&setup, &serving);
                }
            });
        }
        #[cfg(not(unix))]
        let _ = (self.reload, setup, serving);
    }
}

/// The protection `command`'s flags make on `setup`, as its start makes it.
fn protection(command: &Command, setup: &Setup) -> Result<Protection, Failure> {
    match command {
        Command::Serve(args) => serve::protection(args, setup),
        Command::Proxy(args) => proxy::protection(args, setup),
        _ => Err(Failure::Failed(
            "only serve and proxy read a configuration file".to_owned(),
        )),
    }
}

/// The flags of `subcommand` (as `--name`) whose value differs between `started` and `now` and
/// that only a restart changes.
fn restart_only_changes(subcommand: &str, started: &ArgMatches, now: &ArgMatches) -> Vec<String> {
    let mut root = Cli::command();
    // The global flags (--log-level) are copied into each subcommand.
    root.build();
    let Some(command) = root.find_subcommand(subcommand) else {
        return Vec::new();
    };
    let reloadable = reloadable();
    command
        .get_arguments()
        .filter(|arg| !reloadable.contains(arg.get_id()))
        .filter(|arg| raw(started, arg.get_id()) != raw(now, arg.get_id()))
        .filter_map(Arg::get_long)
        .map(|long| format!("--{long}"))
        .collect()
}

/// The flags a reload changes: the authorization flags, which make nothing but the layer's
/// checks; not DPoP's (the start connected its replay store), nor the accepted hosts and the
/// legacy metadata mirror, which the start built into the server.
fn reloadable() -> Vec<Id> {
    let fixed: Vec<Id> = DpopArgs::augment_args(clap::Command::new("dpop"))
        .get_arguments()
        .map(|arg| arg.get_id().clone())
        .chain(["allowed_hosts", "legacy_as_metadata"].map(Id::from))
        .collect();
    AuthArgs::augment_args(clap::Command::new("auth"))
        .get_arguments()
        .map(|arg| arg.get_id().clone())
        .filter(|id| !fixed.contains(id))
        .collect()
}

/// The values `id` was given, as written.
fn raw(matches: &ArgMatches, id: &Id) -> Option<Vec<OsString>> {
    let values = matches.try_get_raw(id.as_str()).ok().flatten()?;
    Some(values.map(OsStr::to_owned).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flags only a restart changes that differ between two `serve` command lines.
    fn changes(subcommand: &str, started: &[&str], now: &[&str]) -> Vec<String> {
        let parse = |words: &[&str]| {
            let mut argv = vec!["mcp-auth", subcommand, "--issuer", "https://auth.example"];
            argv.extend(words);
            config_file::parse(argv.into_iter().map(OsString::from).collect())
                .unwrap()
                .matches
        };
        restart_only_changes(subcommand, &parse(started), &parse(now))
    }

    #[test]
    fn the_authorization_flags_reload() {
        let reloaded = [
            "--scope=a",
            "--issuer=https://other.example",
            "--tool-scope=whoami=b",
            "--tool-rule=whoami=true",
            "--leeway=5",
            "--allowed-origin=https://app.example",
            "--audience=api://x",
            "--body-timeout=3",
            "--resource=http://127.0.0.1:1/mcp",
        ];
        for flag in reloaded {
            assert_eq!(
                changes("serve", &[], &[flag]),
                Vec::<String>::new(),
                "{flag}"
            );
        }
    }

    #[test]
    fn what_the_start_set_up_needs_a_restart() {
        let upstream = "--upstream=http://127.0.0.1:1/mcp";
        for (subcommand, started, now, named) in [
            ("serve", &[][..], &["--bind=127.0.0.1:1"][..], "--bind"),
            ("serve", &[], &["--dpop=allowed"], "--dpop"),
            (
                "serve",
                &[],
                &["--allowed-host=a.example"],
                "--allowed-host",
            ),
            (
                "serve",
                &[],
                &["--legacy-as-metadata"],
                "--legacy-as-metadata",
            ),
            ("serve", &[], &["--stateful"], "--stateful"),
            (
                "serve",
                &[],
                &["--metrics-bind=127.0.0.1:9"],
                "--metrics-bind",
            ),
            ("serve", &[], &["--audit-log=-"], "--audit-log"),
            ("serve", &[], &["--header-timeout=5"], "--header-timeout"),
            ("serve", &[], &["--log-level=debug"], "--log-level"),
            (
                "proxy",
                &[upstream],
                &["--upstream=http://127.0.0.1:2/mcp"],
                "--upstream",
            ),
            (
                "proxy",
                &[upstream],
                &[upstream, "--max-request-bytes=10"],
                "--max-request-bytes",
            ),
        ] {
            assert_eq!(changes(subcommand, started, now), [named], "{now:?}");
        }
        assert_eq!(
            changes("serve", &["--bind=127.0.0.1:0"], &["--bind=127.0.0.1:0"]),
            Vec::<String>::new()
        );
    }
}

//! `mcp-auth serve`: the protected MCP server, trusting real authorization servers.

use clap::Args;

use crate::Failure;
use crate::auth_args::AuthArgs;
use crate::config_file::ConfigArgs;
use crate::listener::{BindArgs, ListenerArgs};
use crate::mcp_server;
use crate::mcp_server::ServerArgs;
use crate::observability::ObserveArgs;
use crate::protection::Protection;
use crate::reload::Reload;
use crate::startup::{Setup, Started};

/// Flags of `serve`; each can also come from its environment variable.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    bind: BindArgs,
    #[command(flatten)]
    pub(crate) auth: AuthArgs,
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    observe: ObserveArgs,
    #[command(flatten)]
    listener: ListenerArgs,
}

/// The built-in server's own rule: admin_report needs the admin scope unless a --tool-scope
/// rule says what it needs.
const OWN_RULES: [(&str, &str); 1] = [(mcp_server::ADMIN_TOOL, mcp_server::ADMIN_SCOPE)];

pub(crate) async fn run(args: ServeArgs, reload: Reload) -> Result<(), Failure> {
    let reloader = reload.catch();
    args.auth.check_builtin_server()?;
    let started = Started::start(&args.bind, &args.auth, &args.observe, &OWN_RULES).await?;
    let protection = &started.protection;
    let app = mcp_server::app(
        &protection.auth,
        &protection.bearer,
        protection.allowed_hosts.clone(),
        args.server.stateful,
    );
    let app = started.with_legacy_mirror(&args.auth, app)?;
    let sessions = args
        .server
        .stateful
        .then(|| "sessions          on (Mcp-Session-Id, SSE responses)".to_owned());
    started.print_banner(
        "serve",
        &args.auth,
        &args.config.banner(),
        sessions.as_slice(),
    );
    reloader.spawn(started.setup, &started.protection);
    args.listener
        .serve(started.listener, app, crate::shutdown_signal())
        .await;
    Ok(())
}

/// The protection `args` make on `setup`, checked as [`run`] checks them: for a reload.
pub(crate) fn protection(args: &ServeArgs, setup: &Setup) -> Result<Protection, Failure> {
    args.auth.check_builtin_server()?;
    args.auth.protect(&OWN_RULES, setup)
}

/// Checks what [`run`] would before it listens, contacting nothing: for `check-config`.
pub(crate) fn check(args: &ServeArgs) -> Result<(), Failure> {
    args.auth.check_builtin_server()?;
    Started::check(&args.bind, &args.auth, &OWN_RULES).map(|_| ())
}

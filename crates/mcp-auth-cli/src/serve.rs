//! `mcp-auth serve`: the protected MCP server, trusting real authorization servers.

use clap::Args;

use crate::Failure;
use crate::auth_args::AuthArgs;
use crate::listener::{BindArgs, ListenerArgs};
use crate::mcp_server;
use crate::observability::ObserveArgs;
use crate::server_args::ServerArgs;

/// Flags of `serve`; each can also come from its environment variable.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    bind: BindArgs,
    #[command(flatten)]
    auth: AuthArgs,
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    observe: ObserveArgs,
    #[command(flatten)]
    listener: ListenerArgs,
}

pub(crate) async fn run(args: ServeArgs) -> Result<(), Failure> {
    args.auth.operations.check_builtin_server()?;
    let tokens = args.auth.token_settings()?;

    let (listener, bound) = args.bind.listen().await?;
    // admin_report needs the admin scope unless a --tool-scope rule says what it needs.
    let own_rules = [(mcp_server::ADMIN_TOOL, mcp_server::ADMIN_SCOPE)];
    let observing = args.observe.start().await?;
    let dpop = args.auth.dpop.start().await?;
    let protection = args
        .auth
        .protect(bound, tokens, &own_rules, &observing, &dpop)?;
    let mut app = mcp_server::app(
        &protection.auth,
        &protection.bearer,
        protection.allowed_hosts.clone(),
        args.server.stateful,
    );
    if let Some(mirror) = args.auth.legacy_mirror(&protection.auth)? {
        app = app.merge(mirror);
    }

    println!("mcp-auth serve: listening on http://{bound}");
    println!("  MCP endpoint      {}", protection.resource);
    args.auth.print_summary(&protection, &dpop);
    observing.print_summary();
    if args.server.stateful {
        println!("  sessions          on (Mcp-Session-Id, SSE responses)");
    }
    if args.auth.legacy_as_metadata {
        println!("  legacy metadata   /.well-known/oauth-authorization-server (deprecated)");
    }
    args.listener
        .serve(listener, app, crate::shutdown_signal())
        .await;
    Ok(())
}

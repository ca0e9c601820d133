//! `mcp-auth serve`: the protected MCP server, trusting real authorization servers.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, ValueEnum};
use mcp_auth::verify::JwtOptions;
use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
use tokio::net::TcpListener;

use crate::Failure;
use crate::mcp_server;
use crate::opaque_tokens::{self, OpaqueTokenArgs};
use crate::server_args::{ServerArgs, ToolRules};

/// Flags of `serve`; each can also come from its environment variable.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "MCP_AUTH_BIND", default_value = "127.0.0.1:8000")]
    bind: SocketAddr,
    /// Issuer of a trusted authorization server (repeatable; comma-separated in the variable).
    #[arg(
        long = "issuer",
        env = "MCP_AUTH_ISSUER",
        value_delimiter = ',',
        required = true
    )]
    issuers: Vec<String>,
    /// Which discovery document the issuers publish.
    #[arg(long, env = "MCP_AUTH_ISSUER_TYPE", value_enum, default_value = "oidc")]
    issuer_type: IssuerType,
    /// The resource identifier clients request tokens for [default: http://BIND/mcp].
    #[arg(long, env = "MCP_AUTH_RESOURCE")]
    resource: Option<String>,
    /// Accepted token audience [default: the resource identifier].
    #[arg(long, env = "MCP_AUTH_AUDIENCE")]
    audience: Option<String>,
    /// A scope every request needs (repeatable; comma-separated in the variable).
    #[arg(long = "scope", env = "MCP_AUTH_SCOPE", value_delimiter = ',')]
    scopes: Vec<String>,
    /// The further scope the `admin_report` tool needs (a per-tool rule, as with --tool-scope).
    #[arg(long, env = "MCP_AUTH_ADMIN_SCOPE", default_value = mcp_server::ADMIN_SCOPE)]
    admin_scope: String,
    #[command(flatten)]
    server: ServerArgs,
    /// Clock skew tolerated on token times, in seconds.
    #[arg(long, env = "MCP_AUTH_LEEWAY", default_value_t = 60)]
    leeway: u64,
    /// A Host header value the MCP endpoint accepts (repeatable) [default: the resource's host,
    /// the bound address, localhost].
    #[arg(
        long = "allowed-host",
        env = "MCP_AUTH_ALLOWED_HOST",
        value_delimiter = ','
    )]
    allowed_hosts: Vec<String>,
    /// Trust issuers over plain http off loopback too. Anyone on the path could swap their keys
    /// and sign any token: for test networks only, never in production.
    #[arg(long, env = "MCP_AUTH_INSECURE_HTTP_ISSUERS")]
    insecure_http_issuers: bool,
    /// Deprecated protocol support: also serve the (single) issuer's metadata at
    /// /.well-known/oauth-authorization-server on this server's origin, for MCP clients of the
    /// 2025-03-26 protocol that look for it there.
    #[arg(long, env = "MCP_AUTH_LEGACY_AS_METADATA")]
    legacy_as_metadata: bool,
    #[command(flatten)]
    tokens: OpaqueTokenArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum IssuerType {
    /// RFC 8414 metadata.
    Oauth,
    /// OpenID Connect Discovery metadata.
    Oidc,
}

impl From<IssuerType> for AuthServerType {
    fn from(kind: IssuerType) -> Self {
        match kind {
            IssuerType::Oauth => AuthServerType::OAuth,
            IssuerType::Oidc => AuthServerType::Oidc,
        }
    }
}

pub(crate) async fn run(args: ServeArgs) -> Result<(), Failure> {
    // The first issuer introspects: one server must answer for a token, and the order given
    // is the only preference there is.
    let first_issuer = args.issuers.first().map(String::as_str);
    let introspection = args
        .tokens
        .introspection(first_issuer)
        .map_err(Failure::Usage)?;
    let api_keys = args.tokens.api_key_entries().map_err(Failure::Usage)?;

    let listener = TcpListener::bind(args.bind)
        .await
        .map_err(|err| format!("cannot listen on {}: {err}", args.bind))?;
    let bound = listener.local_addr().map_err(|err| err.to_string())?;
    let resource = args
        .resource
        .unwrap_or_else(|| format!("http://{bound}/mcp"));

    // Lazily discovered: the server starts even while an authorization server is down.
    if args.insecure_http_issuers {
        tracing::warn!(
            "--insecure-http-issuers: issuers, their metadata and key sets may be fetched over plain http; anyone on the path can swap the keys and sign any token"
        );
    }
    let protected = args
        .issuers
        .iter()
        .fold(ProtectedResource::new(&resource), |r, issuer| {
            let server = AuthServerConfig::lazy(issuer.clone(), args.issuer_type.into());
            r.authorization_server(if args.insecure_http_issuers {
                server.allow_insecure_http()
            } else {
                server
            })
        });
    // The admin scope guards admin_report in the layer, like any --tool-scope rule; every
    // rule's scopes are published, so clients know what they may ask for.
    let rules = ToolRules::new(
        &[(mcp_server::ADMIN_TOOL, args.admin_scope.as_str())],
        &args.server.tool_scopes,
    );
    let protected = protected.scopes_supported(rules.published(&args.scopes));
    let auth = McpAuth::builder()
        .protected_resource(protected)
        .build()
        .map_err(|err| err.to_string())?;
    // JWT mode stays on next to introspection and API keys: the token's shape picks the
    // verifier.
    let mut bearer = auth
        .bearer()
        .jwt(JwtOptions::default())
        .required_scopes(args.scopes.clone())
        .leeway(Duration::from_secs(args.leeway))
        .operations(rules.operations());
    if let Some(audience) = &args.audience {
        bearer = bearer.audience(audience.clone());
    }
    if let Some(options) = introspection {
        bearer = bearer.introspection(options);
    }
    if let Some(keys) = opaque_tokens::api_keys(&api_keys) {
        bearer = bearer.api_keys(keys);
    }
    let bearer = bearer.build().map_err(|err| err.to_string())?;

    if args.allowed_hosts.iter().any(String::is_empty) {
        let message = "--allowed-host is empty: name a host such as api.example.com";
        return Err(Failure::Failed(message.to_owned()));
    }
    let allowed_hosts = if args.allowed_hosts.is_empty() {
        mcp_server::default_allowed_hosts(bearer.resource_url(), bound)
    } else {
        args.allowed_hosts
    };
    let mut app = mcp_server::app(&auth, &bearer, allowed_hosts, args.server.stateful);
    if args.legacy_as_metadata {
        let mirror = auth
            .legacy_authorization_server_metadata_router()
            .map_err(|err| err.to_string())?;
        app = app.merge(mirror);
    }

    println!("mcp-auth serve: listening on http://{bound}");
    println!("  MCP endpoint      {resource}");
    println!("  trusted issuers   {}", args.issuers.join(", "));
    if !args.scopes.is_empty() {
        println!("  required scopes   {}", args.scopes.join(" "));
    }
    for (tool, scopes) in rules.iter() {
        println!("  tool scopes       {tool}={}", scopes.join(" "));
    }
    if let Some(introspection) = args.tokens.introspection_summary(first_issuer) {
        println!("  introspection     {introspection}");
    }
    for key in &api_keys {
        println!(
            "  API key           {}{}",
            key.subject,
            if key.scopes.is_empty() {
                String::new()
            } else {
                format!(" ({})", key.scopes.join(" "))
            }
        );
    }
    if args.server.stateful {
        println!("  sessions          on (Mcp-Session-Id, SSE responses)");
    }
    if args.legacy_as_metadata {
        println!("  legacy metadata   /.well-known/oauth-authorization-server (deprecated)");
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(crate::shutdown_signal())
        .await
        .map_err(|err| format!("server stopped: {err}").into())
}

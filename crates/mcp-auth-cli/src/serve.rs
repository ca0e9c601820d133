//! `mcp-auth serve`: the protected MCP server, trusting real authorization servers.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, ValueEnum};
use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
use tokio::net::TcpListener;

use crate::mcp_server;

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
    /// The further scope the `admin_report` tool needs.
    #[arg(long, env = "MCP_AUTH_ADMIN_SCOPE", default_value = "mcp:admin")]
    admin_scope: String,
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

pub(crate) async fn run(args: ServeArgs) -> Result<(), String> {
    let listener = TcpListener::bind(args.bind)
        .await
        .map_err(|err| format!("cannot listen on {}: {err}", args.bind))?;
    let bound = listener.local_addr().map_err(|err| err.to_string())?;
    let resource = args
        .resource
        .unwrap_or_else(|| format!("http://{bound}/mcp"));
    let mcp_path = url_path(&resource)?;

    // Lazily discovered: the server starts even while an authorization server is down.
    let protected = args
        .issuers
        .iter()
        .fold(ProtectedResource::new(&resource), |r, issuer| {
            r.authorization_server(AuthServerConfig::lazy(
                issuer.clone(),
                args.issuer_type.into(),
            ))
        });
    let protected = protected.scopes_supported(supported_scopes(&args.scopes, &args.admin_scope));
    let auth = McpAuth::builder()
        .protected_resource(protected)
        .build()
        .map_err(|err| err.to_string())?;
    let mut bearer = auth
        .bearer()
        .required_scopes(args.scopes.clone())
        .leeway(Duration::from_secs(args.leeway));
    if let Some(audience) = &args.audience {
        bearer = bearer.audience(audience.clone());
    }
    let bearer = bearer.build().map_err(|err| err.to_string())?;

    let allowed_hosts = if args.allowed_hosts.is_empty() {
        default_allowed_hosts(&resource, bound)
    } else {
        args.allowed_hosts
    };
    let app = mcp_server::app(&auth, bearer, &mcp_path, allowed_hosts, args.admin_scope);

    println!("mcp-auth serve: listening on http://{bound}");
    println!("  MCP endpoint      {resource}");
    println!("  trusted issuers   {}", args.issuers.join(", "));
    if !args.scopes.is_empty() {
        println!("  required scopes   {}", args.scopes.join(" "));
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(crate::shutdown_signal())
        .await
        .map_err(|err| format!("server stopped: {err}"))
}

/// The path the MCP endpoint is mounted at: the resource identifier's.
pub(crate) fn url_path(resource: &str) -> Result<String, String> {
    let path = resource
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|slash| rest[slash..].to_owned()))
        .unwrap_or_else(|| "/".to_owned());
    if path.contains(['?', '#']) {
        return Err(format!(
            "resource {resource} has a query or fragment: remove it"
        ));
    }
    Ok(path)
}

fn supported_scopes(required: &[String], admin_scope: &str) -> Vec<String> {
    let mut scopes = required.to_vec();
    if !scopes.iter().any(|s| s == admin_scope) {
        scopes.push(admin_scope.to_owned());
    }
    scopes
}

/// The hosts rmcp's DNS-rebinding check lets through: the resource's host, the bound address and
/// loopback names.
pub(crate) fn default_allowed_hosts(resource: &str, bound: SocketAddr) -> Vec<String> {
    let mut hosts = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        bound.ip().to_string(),
    ];
    if let Some(host) = resource
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', ':']).next().unwrap_or_default().to_owned())
        .filter(|host| !host.is_empty())
    {
        hosts.push(host);
    }
    hosts.dedup();
    hosts
}

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
    #[arg(long, env = "MCP_AUTH_ADMIN_SCOPE", default_value = mcp_server::ADMIN_SCOPE)]
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
    /// Trust issuers over plain http off loopback too. Anyone on the path could swap their keys
    /// and sign any token: for test networks only, never in production.
    #[arg(long, env = "MCP_AUTH_INSECURE_HTTP_ISSUERS")]
    insecure_http_issuers: bool,
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

    if args.allowed_hosts.iter().any(String::is_empty) {
        return Err("--allowed-host is empty: name a host such as api.example.com".to_owned());
    }
    let allowed_hosts = if args.allowed_hosts.is_empty() {
        mcp_server::default_allowed_hosts(bearer.resource_url(), bound)
    } else {
        args.allowed_hosts
    };
    let app = mcp_server::app(&auth, &bearer, allowed_hosts, args.admin_scope);

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

/// The scopes published in the metadata: the required ones and the admin tool's.
fn supported_scopes(required: &[String], admin_scope: &str) -> Vec<String> {
    let mut scopes = required.to_vec();
    if !scopes.iter().any(|s| s == admin_scope) {
        scopes.push(admin_scope.to_owned());
    }
    scopes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_scope_is_published_once() {
        let required = vec!["mcp:tools".to_owned()];
        assert_eq!(
            supported_scopes(&required, "mcp:admin"),
            ["mcp:tools", "mcp:admin"]
        );
        let both = vec!["mcp:admin".to_owned()];
        assert_eq!(supported_scopes(&both, "mcp:admin"), ["mcp:admin"]);
    }
}

//! The MCP server both `demo` and `serve` protect: `whoami` for any caller with the required
//! scopes, and `admin_report`, which also needs the admin scope. The bearer layer decides both
//! (the admin scope is a per-tool rule of its [`OperationRules`](mcp_auth::operations)), so a
//! tool runs only for a token that holds what it needs.

use std::net::SocketAddr;

use axum::Router;
use clap::Args;
use mcp_auth::Auth;
use mcp_auth::McpAuth;
use mcp_auth::bearer::BearerAuthLayer;
use mcp_auth::rmcp::decided_tools;
use rmcp::model::{
    CallToolResult, ContentBlock, ListToolsResult, PaginatedRequestParams, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use serde_json::json;
use url::Url;

/// Flags of the built-in MCP server, shared by `demo` and `serve`.
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// Sessions: rmcp's session mode (Mcp-Session-Id, SSE responses) instead of stateless JSON
    /// responses, for MCP protocol versions before 2026-07-28.
    #[arg(long, env = "MCP_AUTH_STATEFUL")]
    pub(crate) stateful: bool,
}

/// The scope `admin_report` needs unless told otherwise.
pub(crate) const ADMIN_SCOPE: &str = "mcp:admin";

/// The tool the admin scope guards.
pub(crate) const ADMIN_TOOL: &str = "admin_report";

/// The tools.
#[derive(Clone)]
pub(crate) struct Tools;

/// The names of the server's tools, sorted.
pub(crate) fn tool_names() -> Vec<String> {
    let mut names: Vec<String> = Tools::tool_router()
        .list_all()
        .into_iter()
        .map(|tool| tool.name.into_owned())
        .collect();
    names.sort();
    names
}

#[tool_router]
impl Tools {
    #[tool(
        description = "Who is calling: the subject, client, scopes, issuer and audience of the access token"
    )]
    async fn whoami(&self, Auth(info): Auth) -> String {
        json!({
            "subject": info.subject,
            "client_id": info.client_id,
            "scopes": info.scopes,
            "issuer": info.issuer,
            "audience": info.audience,
            "expires_at": info.expires_at,
        })
        .to_string()
    }

    /// The bearer layer lets a call through only with the admin scope (its per-tool rule), so
    /// the tool itself checks nothing.
    #[tool(description = "A report only callers holding the admin scope may read")]
    async fn admin_report(&self, Auth(info): Auth) -> Result<CallToolResult, ErrorData> {
        let caller = info.subject.as_deref().unwrap_or("an anonymous client");
        let report = format!("admin report for {caller}: all systems nominal");
        Ok(CallToolResult::success(vec![ContentBlock::text(report)]))
    }
}

#[tool_handler]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions("An MCP server protected by mcp-auth")
    }

    /// Each caller sees the tools the layer's rules, and its decision point, let it call.
    async fn list_tools(
        &self,
        _: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = decided_tools(&context, Self::tool_router().list_all()).await?;
        Ok(ListToolsResult::with_all_items(tools))
    }
}

/// The app: the MCP endpoint at the resource's path behind `bearer`, and the public metadata
/// routes. Stateless JSON responses unless `stateful`: then rmcp's session mode (for protocol
/// versions before 2026-07-28), with SSE responses.
pub(crate) fn app(
    auth: &McpAuth,
    bearer: &BearerAuthLayer,
    allowed_hosts: Vec<String>,
    stateful: bool,
) -> Router {
    // Stateless, each request stands alone, so a single curl can call a tool; with sessions a
    // client initializes one first and names it in every request (Mcp-Session-Id).
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(stateful)
        .with_json_response(!stateful)
        .with_allowed_hosts(allowed_hosts);
    let mcp =
        StreamableHttpService::new(|| Ok(Tools), LocalSessionManager::default().into(), config);
    bearer.mount(mcp).merge(auth.metadata_router())
}

/// The hosts rmcp's DNS-rebinding check lets through: the resource's host, the bound address and
/// loopback names.
pub(crate) fn default_allowed_hosts(resource: &Url, bound: SocketAddr) -> Vec<String> {
    let mut hosts = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        bound.ip().to_string(),
    ];
    if let Some(host) = resource.host() {
        hosts.push(match host {
            url::Host::Ipv6(ip) => ip.to_string(),
            other => other.to_string(),
        });
    }
    hosts.sort();
    hosts.dedup();
    hosts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tools_are_whoami_and_the_admin_tool() {
        assert_eq!(tool_names(), [ADMIN_TOOL, "whoami"]);
    }

    #[test]
    fn allowed_hosts_name_the_resource_and_loopback_once() {
        let bound: SocketAddr = "127.0.0.1:8000".parse().unwrap();
        let hosts = |url: &str| default_allowed_hosts(&Url::parse(url).unwrap(), bound);
        assert_eq!(
            hosts("https://api.example.com/mcp"),
            ["127.0.0.1", "api.example.com", "localhost"]
        );
        assert_eq!(
            hosts("http://127.0.0.1:8000/mcp"),
            ["127.0.0.1", "localhost"]
        );
        assert_eq!(
            hosts("http://[::1]:8000/mcp"),
            ["127.0.0.1", "::1", "localhost"]
        );
    }
}

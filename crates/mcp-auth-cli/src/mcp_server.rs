//! The MCP server both `demo` and `serve` protect: `whoami` for any caller with the required
//! scopes, and `admin_report`, which also needs the admin scope.

use std::net::SocketAddr;

use axum::Router;
use mcp_auth::Auth;
use mcp_auth::McpAuth;
use mcp_auth::bearer::BearerAuthLayer;
use rmcp::model::{CallToolResult, ContentBlock, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, ServerHandler, tool, tool_handler, tool_router};
use serde_json::json;
use url::Url;

/// The scope `admin_report` needs unless told otherwise.
pub(crate) const ADMIN_SCOPE: &str = "mcp:admin";

/// The tools, with the scope `admin_report` needs.
#[derive(Clone)]
pub(crate) struct Tools {
    admin_scope: String,
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

    #[tool(description = "A report only callers holding the admin scope may read")]
    async fn admin_report(&self, Auth(info): Auth) -> Result<CallToolResult, ErrorData> {
        if !info.has_scope(&self.admin_scope) {
            let text = format!(
                "this tool needs the scope {}; the token has: {}",
                self.admin_scope,
                info.scopes.join(" ")
            );
            return Ok(CallToolResult::error(vec![ContentBlock::text(text)]));
        }
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
}

/// The app: the MCP endpoint at the resource's path behind `bearer`, and the public metadata
/// routes.
pub(crate) fn app(
    auth: &McpAuth,
    bearer: &BearerAuthLayer,
    allowed_hosts: Vec<String>,
    admin_scope: String,
) -> Router {
    let tools = Tools { admin_scope };
    // Stateless JSON responses: each request stands alone, so a single curl can call a tool.
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_allowed_hosts(allowed_hosts);
    let mcp = StreamableHttpService::new(
        move || Ok(tools.clone()),
        LocalSessionManager::default().into(),
        config,
    );
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

//! An rmcp MCP server protected by mcp-auth in custom-verifier mode.
//!
//! `cargo run --example custom_verifier [ADDR]` (default `127.0.0.1:8000`) starts the server and
//! prints curl commands to try: without a token, with a token lacking the `mcp:tools` scope, with
//! a good token, and the Protected Resource Metadata document.

use std::error::Error;

use axum::Router;
use mcp_auth::Auth;
use mcp_auth::{
    AuthInfo, AuthServerConfig, AuthServerType, McpAuth, ProtectedResource, VerifyError,
};
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};

const ISSUER: &str = "https://auth.example.com";

/// The MCP server: one tool that tells the caller who they are.
#[derive(Clone)]
struct WhoAmI;

#[tool_router]
impl WhoAmI {
    #[tool(description = "Who is calling: the subject, client and scopes of the access token")]
    async fn whoami(&self, Auth(info): Auth) -> String {
        format!(
            "subject={} client={} scopes={}",
            info.subject.as_deref().unwrap_or("-"),
            info.client_id.as_deref().unwrap_or("-"),
            info.scopes.join(" ")
        )
    }
}

#[tool_handler]
impl ServerHandler for WhoAmI {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

/// Stands in for a call to your authorization server (introspection, a database lookup...).
/// The layer then checks issuer, audience and scopes of what this returns.
fn verifier(
    resource: String,
) -> impl Fn(String) -> std::future::Ready<Result<AuthInfo, VerifyError>> + Send + Sync {
    move |token: String| {
        let scopes: &[&str] = match token.as_str() {
            "alice-token" => &["mcp:tools"],
            "no-scope-token" => &[],
            _ => return std::future::ready(Err(VerifyError::invalid_token("unknown token"))),
        };
        std::future::ready(Ok(AuthInfo::new(ISSUER, [resource.as_str()])
            .with_subject("alice")
            .with_client_id("example-client")
            .with_scopes(scopes.iter().copied())))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    let resource = format!("http://{addr}/mcp");

    let auth = McpAuth::builder()
        .protected_resource(
            ProtectedResource::new(&resource)
                // Known by its issuer alone: custom mode never fetches its metadata.
                .authorization_server(AuthServerConfig::lazy(ISSUER, AuthServerType::Oidc))
                .scopes_supported(["mcp:tools"])
                .resource_name("mcp-auth custom verifier example"),
        )
        .build()?;
    let bearer = auth
        .bearer()
        .verifier(verifier(resource.clone()))
        .required_scopes(["mcp:tools"])
        .show_error_details(true)
        .build()?;

    let mcp = StreamableHttpService::new(
        || Ok(WhoAmI),
        LocalSessionManager::default().into(),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_allowed_hosts([bearer.resource_host(), "localhost"]),
    );
    let app: Router = bearer.mount(mcp).merge(auth.metadata_router());

    print_try_it(&resource, &addr.to_string());
    axum::serve(listener, app).await?;
    Ok(())
}

fn print_try_it(resource: &str, addr: &str) {
    let call = r#"'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}'"#;
    let headers = "-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
                   -H 'MCP-Protocol-Version: 2025-11-25'";
    println!("MCP server protected by mcp-auth at {resource}\n");
    println!("No token (401, WWW-Authenticate points at the metadata):");
    println!("  curl -i -X POST {resource} {headers} -d {call}\n");
    println!("Token without the mcp:tools scope (403 insufficient_scope):");
    println!(
        "  curl -i -X POST {resource} -H 'Authorization: Bearer no-scope-token' {headers} -d {call}\n"
    );
    println!("Good token (200, the tool names the caller):");
    println!(
        "  curl -i -X POST {resource} -H 'Authorization: Bearer alice-token' {headers} -d {call}\n"
    );
    println!("Protected Resource Metadata (RFC 9728):");
    println!("  curl http://{addr}/.well-known/oauth-protected-resource/mcp");
}

//! The server `bench/load.sh` measures: one rmcp MCP server (stateless, JSON responses), served
//! plain or behind the bearer layer in JWT mode, trusting an in-process test issuer.
//!
//! `bench_server MODE [ADDR]` with MODE one of
//! - `plain`: no layer;
//! - `jwt`: the layer with its verified-token cache (a reused token is a cache hit);
//! - `jwt-nocache`: the layer without it (every request pays the signature check, as a token
//!   seen for the first time does);
//! - `jwt-tool-rule`: `jwt` with one per-tool rule (`admin` for the tool `delete`), so every
//!   POST body is read to find its operation;
//! - `jwt-observed`: `jwt` with a tracing subscriber at the command's default level (WARN, to
//!   stderr) and a Prometheus metrics recorder installed (needs the `metrics` feature);
//! - `jwt-traced`: `jwt-observed` with `mcp_auth` at INFO, so every decision opens its span
//!   (other crates stay at WARN: rmcp logs three INFO lines per stateless request);
//! - `decode`: no server; prints the time of one jsonwebtoken RS256 decode on this core.
//!
//! It prints `URL=...`, `TOKEN=...` (RS256, scope `read`) and `BAD_TOKEN=...` (bad signature).

use std::error::Error;
use std::time::Instant;

use axum::Router;
use jsonwebtoken::{DecodingKey, Validation};
use mcp_auth::operations::OperationRules;
use mcp_auth::testing::TestIssuer;
use mcp_auth::verify::JwtOptions;
use mcp_auth::{McpAuth, ProtectedResource};
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};

#[derive(Clone)]
struct Tools;

#[tool_router]
impl Tools {
    #[tool(description = "Says hello")]
    async fn hello(&self) -> String {
        "hello".to_owned()
    }
}

#[tool_handler]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "jwt".to_owned());
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let issuer = TestIssuer::start().await?;
    if mode == "decode" {
        return measure_decode(&issuer);
    }

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let url = format!("http://{}/mcp", listener.local_addr()?);
    let mcp = StreamableHttpService::new(
        || Ok(Tools),
        LocalSessionManager::default().into(),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true),
    );
    let app = match mode.as_str() {
        "plain" => Router::new().nest_service("/mcp", mcp),
        "jwt" | "jwt-nocache" | "jwt-tool-rule" | "jwt-observed" | "jwt-traced" => {
            match mode.as_str() {
                "jwt-observed" => observe(tracing::Level::WARN)?,
                "jwt-traced" => observe(tracing::Level::INFO)?,
                _ => {}
            }
            let auth = McpAuth::builder()
                .protected_resource(
                    ProtectedResource::new(&url).authorization_server(issuer.inline_config()),
                )
                .build()?;
            let options = match mode.as_str() {
                "jwt-nocache" => JwtOptions::default().verified_token_cache_bytes(0),
                _ => JwtOptions::default(),
            };
            let mut bearer = auth.bearer().required_scopes(["read"]).jwt(options);
            if mode == "jwt-tool-rule" {
                bearer = bearer.operations(OperationRules::new().tool("delete", ["admin"]));
            }
            let bearer = bearer.build()?;
            bearer.mount(mcp).merge(auth.metadata_router())
        }
        other => {
            return Err(format!(
                "unknown mode {other}: plain, jwt, jwt-nocache, jwt-tool-rule, jwt-observed, jwt-traced or decode"
            )
            .into());
        }
    };
    let token = issuer
        .token()
        .audience(&url)
        .scopes(["read"])
        .expires_in(3600)
        .sign()?;
    let bad_token = format!("{}AAAA", &token[..token.len() - 4]);
    println!("URL={url}");
    println!("TOKEN={token}");
    println!("BAD_TOKEN={bad_token}");
    axum::serve(listener, app).await?;
    Ok(())
}

/// Traces (`mcp_auth` at `level`, the rest at WARN) and counts into a Prometheus recorder, as
/// a server with both on does.
#[cfg(feature = "metrics")]
fn observe(level: tracing::Level) -> Result<(), Box<dyn Error>> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(tracing::Level::WARN)
        .with_target("mcp_auth", level);
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(filter)
        .init();
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            every.tick().await;
            handle.run_upkeep();
        }
    });
    Ok(())
}

#[cfg(not(feature = "metrics"))]
fn observe(_: tracing::Level) -> Result<(), Box<dyn Error>> {
    Err("jwt-observed needs the metrics feature".into())
}

/// Prints the mean time of one RS256 `jsonwebtoken::decode`, key parsed beforehand.
fn measure_decode(issuer: &TestIssuer) -> Result<(), Box<dyn Error>> {
    let audience = "http://127.0.0.1/mcp";
    let token = issuer.token().audience(audience).expires_in(3600).sign()?;
    let jwk = issuer.key("rs256").ok_or("no rs256 key")?.jwk;
    let key = DecodingKey::from_jwk(&jwk)?;
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[audience]);
    let rounds = 5_000;
    let started = Instant::now();
    for _ in 0..rounds {
        jsonwebtoken::decode::<serde_json::Value>(std::hint::black_box(&token), &key, &validation)?;
    }
    println!(
        "DECODE_US={:.2}",
        started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
    );
    Ok(())
}

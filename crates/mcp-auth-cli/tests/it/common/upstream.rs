//! The upstream MCP server the proxy tests put behind `mcp-auth proxy`, on 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use futures_util::StreamExt;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

/// What the upstream saw, and how often it was called.
#[derive(Clone, Default)]
pub(crate) struct Seen {
    pub(crate) calls: Arc<AtomicUsize>,
}

/// The upstream MCP server stand-in: `/mcp` and `/mcp/echo/...` echo the request as JSON (and
/// answer with a session id); `/mcp/sse` writes three events 300 ms apart; `/mcp/slow`
/// answers after a second; `/mcp/forever` writes one event and never ends; `/mcp/refuse`
/// answers 401 with its own challenge.
pub(crate) async fn upstream() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .route("/mcp", any(echo))
        .route("/mcp/echo/{*rest}", any(echo))
        .route("/mcp/sse", get(sse))
        .route("/mcp/slow", get(slow))
        .route("/mcp/forever", get(forever))
        .route("/mcp/refuse", any(refuse))
        .with_state(seen.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/mcp"), seen)
}

async fn echo(State(seen): State<Seen>, request: Request) -> Response {
    seen.calls.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let mut headers = Map::new();
    for name in parts.headers.keys() {
        let values: Vec<Value> = parts
            .headers
            .get_all(name)
            .iter()
            .map(|value| Value::from(value.to_str().unwrap()))
            .collect();
        headers.insert(name.as_str().to_owned(), Value::Array(values));
    }
    let echoed = json!({
        "version": format!("{:?}", parts.version),
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    });
    (
        [
            ("mcp-session-id", "upstream-session-1"),
            ("content-type", "application/json"),
        ],
        echoed.to_string(),
    )
        .into_response()
}

async fn sse(State(seen): State<Seen>) -> Response {
    seen.calls.fetch_add(1, Ordering::SeqCst);
    let events = futures_util::stream::unfold(0u32, |n| async move {
        if n == 3 {
            return None;
        }
        if n > 0 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let event = format!("id: {n}\ndata: {{\"event\":{n}}}\n\n");
        Some((Ok::<_, std::convert::Infallible>(event), n + 1))
    });
    (
        [("content-type", "text/event-stream")],
        Body::from_stream(events),
    )
        .into_response()
}

async fn slow(State(seen): State<Seen>) -> &'static str {
    seen.calls.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    "slow answer"
}

async fn forever() -> Response {
    let first =
        futures_util::stream::once(async { Ok::<_, std::convert::Infallible>("data: {}\n\n") });
    let events = first.chain(futures_util::stream::pending());
    (
        [("content-type", "text/event-stream")],
        Body::from_stream(events),
    )
        .into_response()
}

async fn refuse(State(seen): State<Seen>) -> Response {
    seen.calls.fetch_add(1, Ordering::SeqCst);
    (
        StatusCode::UNAUTHORIZED,
        [("www-authenticate", "Basic realm=\"upstream\"")],
        "upstream says no",
    )
        .into_response()
}

//! Rules in CEL and a custom decision point, through a real rmcp Streamable HTTP service in JWT
//! mode with tokens from the test issuer: each denial is a 403 naming the rule with no scope
//! challenge, a missing scope still steps up, lists follow the rules, and a decision point
//! that cannot answer gives 503.
#![cfg(all(feature = "rmcp", feature = "testing"))]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::{logs_of, one_challenge, serve};
use mcp_auth::bearer::BearerAuthBuilder;
use mcp_auth::operations::OperationRules;
use mcp_auth::policy::{AccessRequest, DecisionError, DecisionFuture, DecisionPoint};
use mcp_auth::rmcp::decided_tools;
use mcp_auth::testing::TestIssuer;
use mcp_auth::{ConfigError, McpAuth, ProtectedResource};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde_json::{Value, json};

/// Tools whose runs are counted: a denied call never reaches them.
#[derive(Clone)]
struct Files {
    runs: Arc<AtomicUsize>,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Path {
    /// The file to read.
    path: String,
}

#[tool_router]
impl Files {
    #[tool(description = "Reads a file")]
    async fn read_file(&self, Parameters(Path { path }): Parameters<Path>) -> String {
        self.runs.fetch_add(1, Ordering::SeqCst);
        format!("read {path}")
    }

    #[tool(description = "The admins' report")]
    async fn admin_report(&self) -> String {
        self.runs.fetch_add(1, Ordering::SeqCst);
        "report".to_owned()
    }

    #[tool(description = "The tenant's report")]
    async fn tenant_report(&self) -> String {
        self.runs.fetch_add(1, Ordering::SeqCst);
        "tenant".to_owned()
    }
}

#[tool_handler]
impl ServerHandler for Files {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = decided_tools(&context, Self::tool_router().list_all()).await?;
        Ok(ListToolsResult::with_all_items(tools))
    }
}

/// The rules of the issue's example, and a claim rule.
fn rules() -> OperationRules {
    OperationRules::new()
        .tool("admin_report", ["mcp:admin"])
        .tool_rule("admin_report", r#"auth.roles.exists(r, r == "admins")"#)
        .tool_rule("read_file", r#"mcp.arguments.path.underPath("/public")"#)
        .tool_rule("tenant_report", r#"jwt.tenant == "acme""#)
}

struct App {
    issuer: TestIssuer,
    url: String,
    runs: Arc<AtomicUsize>,
    client: reqwest::Client,
}

impl App {
    /// A stateless JSON rmcp server at `/mcp` in JWT mode, roles from `roles`, requiring
    /// `mcp`, with `configure`'s settings.
    async fn start(configure: impl FnOnce(BearerAuthBuilder) -> BearerAuthBuilder) -> Self {
        let issuer = TestIssuer::start().await.unwrap();
        let config = issuer.lazy_config();
        let runs = Arc::new(AtomicUsize::new(0));
        let files = Files { runs: runs.clone() };
        let server = serve(move |addr| {
            let resource = format!("http://{addr}/mcp");
            let auth = McpAuth::builder()
                .protected_resource(ProtectedResource::new(&resource).authorization_server(config))
                .build()
                .unwrap();
            let bearer = configure(auth.bearer().roles_claim("roles").required_scopes(["mcp"]))
                .build()
                .unwrap();
            let mcp: StreamableHttpService<Files, LocalSessionManager> = StreamableHttpService::new(
                move || Ok(files.clone()),
                Default::default(),
                StreamableHttpServerConfig::default()
                    .with_legacy_session_mode(false)
                    .with_json_response(true),
            );
            bearer.mount(mcp).merge(auth.metadata_router())
        })
        .await;
        Self {
            issuer,
            url: server.url("/mcp"),
            runs,
            client: reqwest::Client::new(),
        }
    }

    /// A token with `scopes`, `roles` and `claims`.
    fn token(&self, scopes: &[&str], roles: &[&str], claims: &[(&str, Value)]) -> String {
        let token = self
            .issuer
            .token()
            .audience(&self.url)
            .subject("alice")
            .scopes(scopes.iter().copied())
            .claim("roles", json!(roles));
        claims
            .iter()
            .fold(token, |token, (name, value)| {
                token.claim(*name, value.clone())
            })
            .sign()
            .unwrap()
    }

    async fn post(&self, token: &str, message: &Value) -> reqwest::Response {
        self.client
            .post(&self.url)
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .json(message)
            .send()
            .await
            .unwrap()
    }

    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }
}

fn call(tool: &str, arguments: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": { "name": tool, "arguments": arguments } })
}

/// Asserts a 403 with no challenge and a JSON-RPC error naming `rule`, answering id 7.
async fn denied_by(response: reqwest::Response, rule: &str) {
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], 7, "{body}");
    assert_eq!(body["error"]["code"], -32003, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.ends_with(rule), "{message}");
    assert!(
        !message.contains("auth.") && !message.contains("admins"),
        "{message}"
    );
}

async fn ran(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["error"].is_null(), "{body}");
    body["result"]["content"][0]["text"].clone()
}

#[tokio::test]
async fn a_role_rule_denies_without_a_scope_challenge_and_a_missing_scope_still_steps_up() {
    let app = App::start(|b| b.operations(rules())).await;
    let admin = app.token(&["mcp", "mcp:admin"], &["admins"], &[]);
    assert_eq!(
        ran(app.post(&admin, &call("admin_report", json!({}))).await).await,
        "report"
    );

    // Every scope, no role: the rule's denial, no challenge, the tool never runs.
    let user = app.token(&["mcp", "mcp:admin"], &["users"], &[]);
    denied_by(
        app.post(&user, &call("admin_report", json!({}))).await,
        "tool:admin_report",
    )
    .await;
    // Neither the role nor the scope: still the rule's answer, so no consent loop starts.
    let plain = app.token(&["mcp"], &["users"], &[]);
    denied_by(
        app.post(&plain, &call("admin_report", json!({}))).await,
        "tool:admin_report",
    )
    .await;
    // The role without the scope: the step-up, which can help.
    let admin_without = app.token(&["mcp"], &["admins"], &[]);
    let response = app
        .post(&admin_without, &call("admin_report", json!({})))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = one_challenge(response.headers());
    assert_eq!(challenge.param("error"), Some("insufficient_scope"));
    assert_eq!(challenge.param("scope"), Some("mcp mcp:admin"));
    assert_eq!(app.runs(), 1);
}

#[tokio::test]
async fn an_argument_rule_reads_the_call_and_is_not_fooled_by_dot_dot() {
    let app = App::start(|b| b.operations(rules())).await;
    let token = app.token(&["mcp"], &[], &[]);
    let read = |path: &str| call("read_file", json!({ "path": path }));
    assert_eq!(
        ran(app.post(&token, &read("/public/a.txt")).await).await,
        "read /public/a.txt"
    );
    for refused in [
        "/etc/passwd",
        "/public/../etc/passwd",
        "/public/%2e%2e/etc/passwd",
        "/public//x",
        "/publicity/x",
    ] {
        denied_by(app.post(&token, &read(refused)).await, "tool:read_file").await;
    }
    // No path at all: the rule cannot be evaluated, which denies.
    denied_by(
        app.post(&token, &call("read_file", json!({}))).await,
        "tool:read_file",
    )
    .await;
    // A second spelling a case-blind server would read instead.
    let twice = call(
        "read_file",
        json!({ "path": "/public/a", "PATH": "/etc/passwd" }),
    );
    denied_by(app.post(&token, &twice).await, "tool:read_file").await;
    assert_eq!(app.runs(), 1);
}

#[tokio::test]
async fn a_claim_rule_reads_the_token_and_an_evaluation_error_is_a_logged_denial() {
    let app = App::start(|b| b.operations(rules())).await;
    let acme = app.token(&["mcp"], &[], &[("tenant", json!("acme"))]);
    assert_eq!(
        ran(app.post(&acme, &call("tenant_report", json!({}))).await).await,
        "tenant"
    );
    let other = app.token(&["mcp"], &[], &[("tenant", json!("globex"))]);
    denied_by(
        app.post(&other, &call("tenant_report", json!({}))).await,
        "tool:tenant_report",
    )
    .await;
    let none = app.token(&["mcp"], &[], &[]);
    let (response, logs) = logs_of(app.post(&none, &call("tenant_report", json!({})))).await;
    denied_by(response, "tool:tenant_report").await;
    assert!(logs.contains("tool:tenant_report"), "{logs}");
    assert!(logs.contains("could not be evaluated"), "{logs}");
    assert!(
        !logs.contains("acme"),
        "the expression is never logged: {logs}"
    );
    assert_eq!(app.runs(), 1);
}

#[tokio::test]
async fn lists_hide_what_rules_deny_but_keep_what_depends_on_arguments() {
    let app = App::start(|b| b.operations(rules())).await;
    let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
    let names = |body: Value| -> Vec<String> {
        let mut names: Vec<String> = body["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|tool| tool["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let user = app.token(&["mcp"], &["users"], &[]);
    let body: Value = app.post(&user, &list).await.json().await.unwrap();
    assert_eq!(names(body), ["read_file"]);
    let admin = app.token(
        &["mcp", "mcp:admin"],
        &["admins"],
        &[("tenant", json!("acme"))],
    );
    let body: Value = app.post(&admin, &list).await.json().await.unwrap();
    assert_eq!(names(body), ["admin_report", "read_file", "tenant_report"]);
}

#[tokio::test]
async fn a_rule_that_does_not_compile_stops_the_build_with_its_position() {
    let auth = crate::common::mcp_auth("https://api.example.com/mcp");
    let refuse_all = |_: String| async {
        Err::<mcp_auth::AuthInfo, _>(mcp_auth::VerifyError::invalid_token("no"))
    };
    let build = |rules: OperationRules| {
        auth.bearer()
            .verifier(refuse_all)
            .operations(rules)
            .build()
            .map(|_| ())
    };
    let error = build(OperationRules::new().tool_rule(
        "admin_report",
        "auth.subject == \"a\" &&\n  auth.role == \"admins\"",
    ))
    .unwrap_err();
    match &error {
        ConfigError::PolicyRule {
            rule, line, column, ..
        } => assert_eq!((rule.as_str(), *line, *column), ("tool:admin_report", 2, 7)),
        other => panic!("{other:?}"),
    }
    assert!(error.to_string().contains("roles"), "{error}");
    let error = build(
        OperationRules::new()
            .every_rule("auth.roles.exists(r,")
            .method_rule("tools/call", "true"),
    )
    .unwrap_err();
    assert!(
        matches!(error, ConfigError::PolicyRule { ref rule, .. } if rule == "every_operation"),
        "{error:?}"
    );
    let twice = OperationRules::new()
        .tool_rule("t", "true")
        .tool_rule("t", "auth.x");
    assert!(
        matches!(build(twice), Err(ConfigError::PolicyRule { ref rule, .. }) if rule == "tool:t#2")
    );
}

/// A decision point that allows `read_file` to everyone and anything to admins, counts its
/// questions, and fails while `down` is set.
#[derive(Clone, Default)]
struct AdminsOrRead {
    asked: Arc<AtomicUsize>,
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl DecisionPoint for AdminsOrRead {
    fn decide<'a>(&'a self, request: &'a AccessRequest) -> DecisionFuture<'a, bool> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        let answer = if self.down.load(Ordering::SeqCst) {
            Err(DecisionError::new("down"))
        } else {
            Ok(request.resource.id == "read_file"
                || request
                    .subject
                    .properties
                    .roles
                    .iter()
                    .any(|role| role == "admins"))
        };
        Box::pin(async move { answer })
    }
}

#[tokio::test]
async fn a_decision_point_decides_what_local_rules_let_through_and_fails_closed() {
    let point = AdminsOrRead::default();
    let shared = point.clone();
    let app = App::start(move |b| b.decision_point(shared)).await;
    let user = app.token(&["mcp"], &["users"], &[]);
    let admin = app.token(&["mcp"], &["admins"], &[]);
    let read = call("read_file", json!({ "path": "/etc/passwd" }));
    assert_eq!(ran(app.post(&user, &read).await).await, "read /etc/passwd");
    denied_by(
        app.post(&user, &call("tenant_report", json!({}))).await,
        "decision point",
    )
    .await;
    assert_eq!(
        ran(app.post(&admin, &call("tenant_report", json!({}))).await).await,
        "tenant"
    );

    // Lists: one question per tool, the denied hidden.
    let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
    let body: Value = app.post(&user, &list).await.json().await.unwrap();
    assert_eq!(
        body["result"]["tools"].as_array().unwrap().len(),
        1,
        "{body}"
    );

    point.down.store(true, Ordering::SeqCst);
    let response = app.post(&admin, &call("tenant_report", json!({}))).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = app.post(&admin, &list).await.json().await.unwrap();
    assert!(
        body["error"].is_object(),
        "a list it cannot filter is an error: {body}"
    );
    // An unreadable body cannot be asked about: denied.
    point.down.store(false, Ordering::SeqCst);
    let unreadable = app
        .client
        .post(&app.url)
        .header(AUTHORIZATION, format!("Bearer {admin}"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(unreadable.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.runs(), 2);
}

//! Per-operation authorization through a real rmcp Streamable HTTP service on 127.0.0.1: each
//! rule kind, in both protocol styles (2025-11-25: the body only; 2026-07-28: `Mcp-Method` /
//! `Mcp-Name` headers and the body), with the exact status and challenge, and whether the MCP
//! server was reached.
#![cfg(feature = "rmcp")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::{ISSUER, mcp_auth, parse_challenge, serve};
use mcp_auth::bearer::BearerAuthBuilder;
use mcp_auth::operations::OperationRules;
use mcp_auth::rmcp::visible_tools;
use mcp_auth::{Auth, AuthInfo, VerifyError};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ListToolsResult, PaginatedRequestParams};
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, schemars};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use serde_json::{Value, json};

/// Tools whose calls are counted: a call that reached rmcp shows in the count.
#[derive(Clone)]
struct Repo {
    reads: Arc<AtomicUsize>,
    deletes: Arc<AtomicUsize>,
}

#[tool_router]
impl Repo {
    #[tool(description = "Reads a file")]
    async fn read_file(&self) -> String {
        self.reads.fetch_add(1, Ordering::SeqCst);
        "contents".to_owned()
    }

    #[tool(description = "Deletes the repository")]
    async fn delete_repo(&self) -> String {
        self.deletes.fetch_add(1, Ordering::SeqCst);
        "deleted".to_owned()
    }

    #[tool(description = "Exports a table; salaries need hr:read")]
    async fn export(
        &self,
        auth: Auth,
        Parameters(Export { table }): Parameters<Export>,
    ) -> Result<String, ErrorData> {
        if table == "salaries" {
            auth.require_scopes(["hr:read"])?;
        }
        Ok(format!("exported {table}"))
    }

    #[tool(description = "Approves, for approvers only")]
    async fn approve(&self, auth: Auth) -> Result<String, ErrorData> {
        auth.require_claim("roles", "approver")?;
        Ok("approved".to_owned())
    }

    #[tool(description = "Whether the caller has notes:read, as the tool sees it")]
    async fn can_read_notes(&self, Auth(info): Auth) -> String {
        info.has_scope("notes:read").to_string()
    }
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Export {
    /// The table to export.
    table: String,
}

#[tool_handler]
impl ServerHandler for Repo {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = visible_tools(&context, Self::tool_router().list_all());
        Ok(ListToolsResult::with_all_items(tools))
    }
}

/// Tokens by the scopes they grant: `base` (`mcp`), `admin` (`mcp repo:admin`), `files`
/// (`mcp files`), `everything`, `none`.
fn verifier(
    resource: &str,
) -> impl Fn(String) -> std::future::Ready<Result<AuthInfo, VerifyError>> + Send + Sync + 'static {
    let resource = resource.to_owned();
    move |token: String| {
        let scopes: &[&str] = match token.as_str() {
            "base" => &["mcp"],
            "admin" => &["mcp", "repo:admin"],
            "files" => &["mcp", "files"],
            "everything" => &["mcp", "repo:admin", "files", "ops", "private"],
            "hr" => &["mcp", "hr"],
            "notes" => &["mcp", "notes"],
            "none" => &[],
            _ => return std::future::ready(Err(VerifyError::invalid_token("unknown token"))),
        };
        let roles = if token == "hr" {
            json!(["approver"])
        } else {
            json!([])
        };
        let role_list: Vec<String> = serde_json::from_value(roles.clone()).unwrap();
        std::future::ready(Ok(AuthInfo::new(ISSUER, [resource.as_str()])
            .with_claims(json!({ "roles": roles }).as_object().unwrap().clone())
            .with_roles(role_list)
            .with_subject(token)
            .with_scopes(scopes.iter().copied())))
    }
}

struct Server {
    url: String,
    metadata: String,
    reads: Arc<AtomicUsize>,
    deletes: Arc<AtomicUsize>,
}

fn rules() -> OperationRules {
    OperationRules::new()
        .tool("delete_repo", ["repo:admin"])
        .prompt("incident", ["ops"])
        .resource_prefix("file:///private/", ["private"])
        .method("resources/list", ["files"])
}

/// A stateless JSON rmcp server at `/mcp` requiring `mcp`, with [`rules`] unless `configure`
/// changes them.
async fn server(configure: impl FnOnce(BearerAuthBuilder) -> BearerAuthBuilder) -> Server {
    let reads = Arc::new(AtomicUsize::new(0));
    let deletes = Arc::new(AtomicUsize::new(0));
    let repo = Repo {
        reads: reads.clone(),
        deletes: deletes.clone(),
    };
    let server = serve(move |addr| {
        let resource = format!("http://{addr}/mcp");
        let auth = mcp_auth(&resource);
        let bearer = configure(
            auth.bearer()
                .verifier(verifier(&resource))
                .required_scopes(["mcp"])
                .operations(rules()),
        )
        .build()
        .unwrap();
        let mcp: StreamableHttpService<Repo, LocalSessionManager> = StreamableHttpService::new(
            move || Ok(repo.clone()),
            Default::default(),
            StreamableHttpServerConfig::default()
                .with_legacy_session_mode(false)
                .with_json_response(true),
        );
        bearer.mount(mcp).merge(auth.metadata_router())
    })
    .await;
    Server {
        url: server.url("/mcp"),
        metadata: server.url("/.well-known/oauth-protected-resource/mcp"),
        reads,
        deletes,
    }
}

/// How a client of a protocol version sends a message.
#[derive(Clone, Copy, Debug)]
enum Style {
    /// 2025-11-25: the body alone says what the request does.
    BodyOnly,
    /// 2026-07-28: `Mcp-Method` and `Mcp-Name` say it too.
    Headers,
}

const STYLES: [Style; 2] = [Style::BodyOnly, Style::Headers];

fn call(tool: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": { "name": tool, "arguments": {} } })
}

/// The method of `message`, leaked: a test's messages live as long as the test.
fn method_of(message: &Value) -> &'static str {
    Box::leak(
        message["method"]
            .as_str()
            .unwrap()
            .to_owned()
            .into_boxed_str(),
    )
}

/// The `Mcp-Name` a 2026-07-28 client sends for `message`.
fn mcp_name(message: &Value) -> Option<&str> {
    let params = &message["params"];
    params["name"].as_str().or(params["uri"].as_str())
}

impl Server {
    async fn post_raw(
        &self,
        token: &str,
        style: Style,
        headers: &[(&str, &str)],
        body: String,
    ) -> reqwest::Response {
        let version = match style {
            Style::BodyOnly => "2025-11-25",
            Style::Headers => "2026-07-28",
        };
        let mut request = reqwest::Client::new()
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", version)
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    async fn post(&self, token: &str, style: Style, message: &Value) -> reqwest::Response {
        let mut headers = Vec::new();
        let mut message = message.clone();
        if let Style::Headers = style {
            // 2026-07-28 requests carry their protocol version and capabilities themselves.
            message["params"]["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
            });
            headers.push(("mcp-method", method_of(&message)));
        }
        let name = mcp_name(&message).map(str::to_owned);
        if let (Style::Headers, Some(name)) = (style, &name) {
            headers.push(("mcp-name", name.as_str()));
        }
        self.post_raw(token, style, &headers, message.to_string())
            .await
    }

    /// Asserts the step-up answer: 403, `insufficient_scope`, `scope` naming `needed`.
    async fn step_up(&self, response: reqwest::Response, needed: &str) {
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let challenge = parse_challenge(response.headers()[WWW_AUTHENTICATE].to_str().unwrap());
        assert_eq!(challenge.scheme, "Bearer");
        assert_eq!(challenge.param("error"), Some("insufficient_scope"));
        assert_eq!(challenge.param("scope"), Some(needed));
        assert_eq!(
            challenge.param("resource_metadata"),
            Some(self.metadata.as_str())
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "insufficient_scope");
    }

    fn calls(&self) -> (usize, usize) {
        (
            self.reads.load(Ordering::SeqCst),
            self.deletes.load(Ordering::SeqCst),
        )
    }
}

/// Asserts that rmcp answered message `id` (a result or its own JSON-RPC error, whatever the
/// status): the layer let the request through.
async fn reached(response: reqwest::Response, id: u64) {
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["jsonrpc"], "2.0", "{status}: {answer}");
    assert_eq!(answer["id"], id, "{status}: {answer}");
}

/// The JSON-RPC reply of a 200 answer.
async fn reply(response: reqwest::Response) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn a_tool_rule_steps_up_a_token_without_its_scope_and_passes_one_with_it() {
    for style in STYLES {
        let server = server(|b| b).await;
        // A public tool: the base scope is enough.
        let read = reply(server.post("base", style, &call("read_file")).await).await;
        assert_eq!(
            read["result"]["content"][0]["text"], "contents",
            "{style:?}"
        );
        // The guarded tool: 403 naming every scope it needs, and rmcp never runs it.
        server
            .step_up(
                server.post("base", style, &call("delete_repo")).await,
                "mcp repo:admin",
            )
            .await;
        assert_eq!(server.calls(), (1, 0), "{style:?}");
        let deleted = reply(server.post("admin", style, &call("delete_repo")).await).await;
        assert_eq!(
            deleted["result"]["content"][0]["text"], "deleted",
            "{style:?}"
        );
        assert_eq!(server.calls(), (1, 1), "{style:?}");
    }
}

#[tokio::test]
async fn a_token_missing_a_base_scope_gets_the_base_challenge() {
    let server = server(|b| b).await;
    let response = server
        .post("none", Style::BodyOnly, &call("delete_repo"))
        .await;
    server.step_up(response, "mcp").await;
    assert_eq!(server.calls(), (0, 0));
}

#[tokio::test]
async fn method_prompt_and_resource_rules_apply_in_both_styles() {
    for style in STYLES {
        let server = server(|b| b).await;
        let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "resources/list" });
        server
            .step_up(server.post("base", style, &list).await, "mcp files")
            .await;
        // Allowed: the request reaches rmcp (which has no resources, and says so in JSON-RPC).
        reached(server.post("files", style, &list).await, 1).await;

        let prompt = json!({ "jsonrpc": "2.0", "id": 2, "method": "prompts/get", "params": { "name": "incident" } });
        server
            .step_up(server.post("base", style, &prompt).await, "mcp ops")
            .await;
        let private = json!({ "jsonrpc": "2.0", "id": 3, "method": "resources/read", "params": { "uri": "file:///private/hr.csv" } });
        server
            .step_up(server.post("base", style, &private).await, "mcp private")
            .await;
        let public = json!({ "jsonrpc": "2.0", "id": 4, "method": "resources/read", "params": { "uri": "file:///public/readme" } });
        reached(server.post("base", style, &public).await, 4).await;
        reached(server.post("everything", style, &private).await, 3).await;
        reached(server.post("everything", style, &prompt).await, 2).await;
    }
}

#[tokio::test]
async fn headers_that_disagree_with_the_body_get_400_with_json_rpc_error_32020() {
    let server = server(|b| b).await;
    let body = call("delete_repo").to_string();
    for headers in [
        vec![("mcp-method", "tools/call"), ("mcp-name", "read_file")],
        vec![("mcp-method", "tools/list"), ("mcp-name", "delete_repo")],
    ] {
        // Even a token allowed to delete: the request is refused as malformed, not run.
        let response = server
            .post_raw("admin", Style::Headers, &headers, body.clone())
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{headers:?}");
        assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["jsonrpc"], "2.0");
        assert_eq!(error["id"], 7);
        assert_eq!(error["error"]["code"], -32020);
    }
    assert_eq!(server.calls(), (0, 0));
}

#[tokio::test]
async fn a_batch_mixing_an_allowed_and_a_forbidden_tool_is_refused() {
    let server = server(|b| b).await;
    let batch = json!([call("read_file"), call("delete_repo")]).to_string();
    let response = server.post_raw("base", Style::BodyOnly, &[], batch).await;
    server.step_up(response, "mcp repo:admin").await;
    assert_eq!(server.calls(), (0, 0));
}

#[tokio::test]
async fn a_body_that_cannot_be_read_is_held_to_the_strictest_rule() {
    let server = server(|b| b.operations(rules().max_body_bytes(4096))).await;
    let strictest = "mcp files ops private repo:admin";
    // Too large to read whole: the tool it names cannot be known.
    let mut large = call("read_file");
    large["params"]["arguments"]["padding"] = json!("x".repeat(8192));
    let response = server
        .post_raw("base", Style::BodyOnly, &[], large.to_string())
        .await;
    server.step_up(response, strictest).await;
    // Not JSON-RPC, a target of the wrong type, or a tool named twice (parsers disagree on
    // which name wins: authorized as one, run as the other).
    for body in [
        "{not json".to_owned(),
        r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"delete_repo","name":"read_file","arguments":{}}}"#.to_owned(),
        json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": ["delete_repo"] } }).to_string(),
    ] {
        let response = server.post_raw("base", Style::BodyOnly, &[], body).await;
        server.step_up(response, strictest).await;
    }
    assert_eq!(server.calls(), (0, 0));
    // A token holding every scope may still send a large body, passed on unchanged.
    let passed = reply(
        server
            .post_raw("everything", Style::BodyOnly, &[], large.to_string())
            .await,
    )
    .await;
    assert_eq!(passed["result"]["content"][0]["text"], "contents");
}

#[tokio::test]
async fn keys_a_case_insensitive_server_reads_differently_get_the_strictest_rule() {
    let server = server(|b| b).await;
    let strictest = "mcp files ops private repo:admin";
    // Go's encoding/json runs delete_repo for each of these (CVE-2026-27896).
    for body in [
        r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_file","Name":"delete_repo"}}"#,
        r#"{"jsonrpc":"2.0","id":7,"method":"tools/list","Method":"tools/call","params":{"name":"delete_repo"}}"#,
        r#"{"jsonrpc":"2.0","id":7,"Method":"tools/call","Params":{"Name":"delete_repo"}}"#,
        r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_file"},"param\u017f":{"name":"delete_repo"}}"#,
        r#"{"jsonrpc":"2.0","id":7,"result":{},"Method":"tools/call","Params":{"Name":"delete_repo"}}"#,
    ] {
        let response = server
            .post_raw("base", Style::BodyOnly, &[], body.to_owned())
            .await;
        server.step_up(response, strictest).await;
    }
    // A tool name in another case is the same tool to a server that looks names up so.
    let response = server
        .post("base", Style::BodyOnly, &call("DELETE_REPO"))
        .await;
    server.step_up(response, "mcp repo:admin").await;
    assert_eq!(server.calls(), (0, 0));
}

#[tokio::test]
async fn the_body_of_every_method_but_get_head_delete_and_options_is_read() {
    let server = server(|b| b).await;
    let methods = ["post", "Post", "PUT", "PATCH", "PROPFIND"];
    for method in methods {
        let response = reqwest::Client::new()
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                &server.url,
            )
            .header("content-type", "application/json")
            .header("x-http-method-override", "POST")
            .header(AUTHORIZATION, "Bearer base")
            .body(call("delete_repo").to_string())
            .send()
            .await
            .unwrap();
        server.step_up(response, "mcp repo:admin").await;
    }
    assert_eq!(server.calls(), (0, 0));
}

#[tokio::test]
async fn get_and_delete_need_the_base_scopes_only() {
    let server = server(|b| b).await;
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let response = reqwest::Client::new()
            .request(method.clone(), &server.url)
            .header("accept", "text/event-stream")
            .header(AUTHORIZATION, "Bearer base")
            .send()
            .await
            .unwrap();
        // rmcp answers these itself (stateless: no stream, no session): not the layer's 401/403.
        assert!(
            ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&response.status()),
            "{method}: {}",
            response.status()
        );
        let refused = reqwest::Client::new()
            .request(method.clone(), &server.url)
            .header(AUTHORIZATION, "Bearer none")
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{method}");
    }
}

#[tokio::test]
async fn scope_hierarchies_apply_to_operation_scopes() {
    let server = server(|b| {
        b.scope_relation(mcp_auth::scope::PrefixScopes::new(':'))
            .operations(OperationRules::new().tool("delete_repo", ["repo:admin:delete"]))
    })
    .await;
    // `repo:admin` implies `repo:admin:delete`.
    let deleted = reply(
        server
            .post("admin", Style::BodyOnly, &call("delete_repo"))
            .await,
    )
    .await;
    assert_eq!(deleted["result"]["content"][0]["text"], "deleted");
    server
        .step_up(
            server
                .post("files", Style::BodyOnly, &call("delete_repo"))
                .await,
            "mcp repo:admin:delete",
        )
        .await;
}

fn tool_names(list: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    names
}

#[tokio::test]
async fn tools_list_shows_each_caller_what_it_may_call() {
    for style in STYLES {
        let server = server(|b| b).await;
        let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
        let base = reply(server.post("base", style, &list).await).await;
        assert_eq!(
            tool_names(&base),
            ["approve", "can_read_notes", "export", "read_file"],
            "{style:?}"
        );
        let admin = reply(server.post("admin", style, &list).await).await;
        assert_eq!(
            tool_names(&admin),
            [
                "approve",
                "can_read_notes",
                "delete_repo",
                "export",
                "read_file"
            ],
            "{style:?}"
        );
        if let Style::Headers = style {
            // A list that varies per caller must not be cached for others (MCP 2026-07-28).
            assert_eq!(base["result"]["cacheScope"], "private", "{base}");
        }
        // Hidden is not allowed: calling it still gets the step-up answer.
        server
            .step_up(
                server.post("base", style, &call("delete_repo")).await,
                "mcp repo:admin",
            )
            .await;
    }
}

/// Asserts the answer to a caller lacking a role: 403, no challenge of any kind (no step-up
/// grants a role), a JSON-RPC error answering `id` that names no role (details are off).
async fn role_refused(response: reqwest::Response, id: Value) {
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "jsonrpc": "2.0", "id": id, "error": {
            "code": -32003, "message": "the caller lacks a role this operation requires" } })
    );
}

#[tokio::test]
async fn a_tool_role_rule_refuses_without_a_challenge_and_hides_the_tool() {
    for style in STYLES {
        let server = server(|b| {
            b.operations(
                rules()
                    .tool_roles("APPROVE", ["approver", "owner"])
                    .tool_roles("delete_repo", ["owner"]),
            )
        })
        .await;
        // Every scope, no role.
        role_refused(
            server.post("everything", style, &call("approve")).await,
            json!(7),
        )
        .await;
        reached(server.post("hr", style, &call("approve")).await, 7).await;
        // Missing both a role and a scope: the role answer, so the client does not step up
        // for nothing.
        role_refused(
            server.post("base", style, &call("delete_repo")).await,
            json!(7),
        )
        .await;
        assert_eq!(server.calls().1, 0, "{style:?}");

        let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
        let everything = reply(server.post("everything", style, &list).await).await;
        assert_eq!(
            tool_names(&everything),
            ["can_read_notes", "export", "read_file"],
            "{style:?}"
        );
        let approver = reply(server.post("hr", style, &list).await).await;
        assert_eq!(
            tool_names(&approver),
            ["approve", "can_read_notes", "export", "read_file"],
            "{style:?}"
        );
    }
    // A batch needs a role of every call it holds; an unreadable body every rule's.
    let server = server(|b| b.operations(rules().tool_roles("approve", ["approver"]))).await;
    let batch = json!([call("read_file"), call("approve")]).to_string();
    role_refused(
        server
            .post_raw("everything", Style::BodyOnly, &[], batch.clone())
            .await,
        Value::Null,
    )
    .await;
    let mut hr_batch = json!([call("read_file"), call("approve")]);
    hr_batch[0]["id"] = json!(8);
    let answer = server
        .post_raw("hr", Style::BodyOnly, &[], hr_batch.to_string())
        .await;
    assert_ne!(answer.status(), StatusCode::FORBIDDEN);
    role_refused(
        server
            .post_raw("everything", Style::BodyOnly, &[], "{".to_owned())
            .await,
        Value::Null,
    )
    .await;
}

#[tokio::test]
async fn checks_inside_a_tool_answer_a_clear_json_rpc_error() {
    let server = server(|b| b).await;
    let export = |table: &str| json!({ "jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": { "name": "export", "arguments": { "table": table } } });
    let denied = reply(
        server
            .post("base", Style::BodyOnly, &export("salaries"))
            .await,
    )
    .await;
    assert_eq!(denied["error"]["code"], -32011, "{denied}");
    assert_eq!(
        denied["error"]["data"]["missing_scopes"],
        json!(["hr:read"])
    );
    let allowed = reply(
        server
            .post("base", Style::BodyOnly, &export("orders"))
            .await,
    )
    .await;
    assert_eq!(allowed["result"]["content"][0]["text"], "exported orders");

    let approve = call("approve");
    let denied = reply(server.post("base", Style::BodyOnly, &approve).await).await;
    assert_eq!(denied["error"]["code"], -32011, "{denied}");
    let approved = reply(server.post("hr", Style::BodyOnly, &approve).await).await;
    assert_eq!(approved["result"]["content"][0]["text"], "approved");
}

#[tokio::test]
async fn a_tool_asking_has_scope_gets_the_layers_answer() {
    // With a hierarchy, the layer lets `notes` stand for `notes:read`; so must the tool.
    let server = server(|b| b.scope_relation(mcp_auth::scope::PrefixScopes::new(':'))).await;
    let answer = reply(
        server
            .post("notes", Style::BodyOnly, &call("can_read_notes"))
            .await,
    )
    .await;
    assert_eq!(answer["result"]["content"][0]["text"], "true");
    let answer = reply(
        server
            .post("base", Style::BodyOnly, &call("can_read_notes"))
            .await,
    )
    .await;
    assert_eq!(answer["result"]["content"][0]["text"], "false");
}

//! The AuthZEN client against a real PDP: Cerbos, started by each test with the policies of
//! e2e/cerbos/policies (`admin_report` for the role `admins`, `echo` and `whoami` for everyone,
//! nothing else). Its endpoints are read from Cerbos's own metadata; lists are filtered by its
//! batch endpoint; Cerbos killed mid-run is an error, never a decision. Then the same through
//! the bearer layer in front of an rmcp server: 200 for admins, 403 `policy_denied` without a
//! challenge for others, lists filtered, 503 once Cerbos is gone.
//!
//! Needs the Cerbos binary of the npm package `@cerbos/cerbos-linux-x64` (`npm ci` in e2e/, which
//! `scripts/test.sh` runs), hence `#[ignore]`: run with `--include-ignored`.

use std::time::Duration;

use mcp_auth::AuthInfo;
use mcp_auth::policy::{AccessRequest, AuthZen, DecisionPoint};

use crate::common::cerbos::Cerbos;

fn caller(subject: &str, roles: &[&str]) -> AuthInfo {
    AuthInfo::new("https://auth.example.com", ["https://mcp.example.com/mcp"])
        .with_subject(subject)
        .with_client_id("mcp-client")
        .with_roles(roles.iter().copied())
        .with_scopes(["mcp:tools"])
}

fn admin() -> AuthInfo {
    caller("alice", &["admins", "users"])
}

fn user() -> AuthInfo {
    caller("bob", &["users"])
}

fn calls(caller: &AuthInfo, tools: &[&str]) -> Vec<AccessRequest> {
    tools
        .iter()
        .map(|tool| AccessRequest::tool_call(caller, tool, None))
        .collect()
}

#[tokio::test]
#[ignore = "needs Cerbos: scripts/test.sh installs it"]
async fn cerbos_allows_admin_report_to_admins_and_denies_it_to_others() {
    let cerbos = Cerbos::start().await;
    // No endpoint given: both are read from Cerbos's /.well-known/authzen-configuration.
    let pdp = AuthZen::builder(&cerbos.url).build().unwrap();
    let arguments = serde_json::json!({ "month": "2026-05" })
        .as_object()
        .cloned();
    let report =
        |caller: &AuthInfo| AccessRequest::tool_call(caller, "admin_report", arguments.clone());
    assert_eq!(pdp.decide(&report(&admin())).await, Ok(true));
    assert_eq!(pdp.decide(&report(&user())).await, Ok(false));
    let anonymous_client =
        AuthInfo::new("https://auth.example.com", ["https://mcp.example.com/mcp"])
            .with_client_id("batch-job")
            .with_roles(["admins"]);
    assert_eq!(
        pdp.decide(&report(&anonymous_client)).await,
        Ok(true),
        "a client credentials caller is the subject {{type: client, id: its client id}}"
    );
    let echo = AccessRequest::tool_call(&user(), "echo", None);
    assert_eq!(pdp.decide(&echo).await, Ok(true));
}

#[tokio::test]
#[ignore = "needs Cerbos: scripts/test.sh installs it"]
async fn cerbos_filters_a_list_in_one_batch() {
    let cerbos = Cerbos::start().await;
    let pdp = AuthZen::builder(&cerbos.url).build().unwrap();
    let tools = ["echo", "admin_report", "delete_repo", "whoami"];
    assert_eq!(
        pdp.decide_all(&calls(&admin(), &tools)).await,
        Ok(vec![true, true, false, true])
    );
    assert_eq!(
        pdp.decide_all(&calls(&user(), &tools)).await,
        Ok(vec![true, false, false, true])
    );
    // More than Cerbos takes in one batch (50): asked in parts, answered in order.
    let many: Vec<String> = (0..60).map(|i| format!("tool_{i}")).collect();
    let mut tools: Vec<&str> = many.iter().map(String::as_str).collect();
    tools[7] = "echo";
    tools[55] = "admin_report";
    let decisions = pdp.decide_all(&calls(&admin(), &tools)).await.unwrap();
    let allowed: Vec<usize> = (0..60).filter(|&i| decisions[i]).collect();
    assert_eq!(allowed, [7, 55]);
}

#[tokio::test]
#[ignore = "needs Cerbos: scripts/test.sh installs it"]
async fn cerbos_endpoints_given_or_discovered_answer_alike() {
    let cerbos = Cerbos::start().await;
    let metadata: serde_json::Value =
        reqwest::get(format!("{}/.well-known/authzen-configuration", cerbos.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(metadata["policy_decision_point"], cerbos.url.as_str());
    let given = AuthZen::builder(&cerbos.url)
        .evaluation_endpoint(format!("{}/access/v1/evaluation", cerbos.url))
        .evaluations_endpoint(format!("{}/access/v1/evaluations", cerbos.url))
        .build()
        .unwrap();
    let discovered = AuthZen::builder(&cerbos.url).build().unwrap();
    let list = calls(&user(), &["admin_report", "whoami"]);
    for pdp in [given, discovered] {
        assert_eq!(pdp.decide(&list[0]).await, Ok(false));
        assert_eq!(pdp.decide_all(&list).await, Ok(vec![false, true]));
    }
}

#[tokio::test]
#[ignore = "needs Cerbos: scripts/test.sh installs it"]
async fn cerbos_stopped_mid_run_is_an_error_not_a_decision() {
    let mut cerbos = Cerbos::start().await;
    let pdp = AuthZen::builder(&cerbos.url)
        .decision_ttl(Duration::ZERO)
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let report = AccessRequest::tool_call(&admin(), "admin_report", None);
    assert_eq!(pdp.decide(&report).await, Ok(true));
    cerbos.stop();
    let error = pdp.decide(&report).await.unwrap_err();
    assert!(error.reason().contains("could not be fetched"), "{error}");
    let error = pdp
        .decide_all(&calls(&admin(), &["echo", "admin_report"]))
        .await
        .unwrap_err();
    assert!(error.reason().contains("could not be fetched"), "{error}");
}

/// The bearer layer asking Cerbos through `AuthZen`, in front of a real rmcp Streamable HTTP
/// service in JWT mode with tokens from the test issuer.
#[cfg(all(feature = "rmcp", feature = "testing"))]
mod through_the_layer {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use mcp_auth::observe::Reason;
    use mcp_auth::policy::AuthZen;
    use mcp_auth::rmcp::decided_tools;
    use mcp_auth::testing::TestIssuer;
    use mcp_auth::{McpAuth, ProtectedResource};
    use reqwest::StatusCode;
    use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
    use rmcp::model::{ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig};
    use rmcp::service::RequestContext;
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };
    use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_handler, tool_router};
    use serde_json::{Value, json};

    use crate::common::cerbos::Cerbos;
    use crate::common::serve;

    #[derive(Clone)]
    struct Tools;

    #[tool_router]
    impl Tools {
        #[tool(description = "The admins' report")]
        async fn admin_report(&self) -> String {
            "report".to_owned()
        }

        #[tool(description = "Says hello")]
        async fn echo(&self) -> String {
            "hello".to_owned()
        }

        #[tool(description = "Deletes a repository")]
        async fn delete_repo(&self) -> String {
            "deleted".to_owned()
        }
    }

    #[tool_handler]
    impl ServerHandler for Tools {
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

    /// The status and reason of every decision the layer made.
    type Decisions = Arc<Mutex<Vec<(u16, Option<Reason>)>>>;

    struct App {
        issuer: TestIssuer,
        url: String,
        decisions: Decisions,
    }

    impl App {
        /// A stateless JSON rmcp server at `/mcp`, roles from `roles`, asking `pdp`.
        async fn start(pdp: AuthZen) -> Self {
            let issuer = TestIssuer::start().await.unwrap();
            let config = issuer.lazy_config();
            let decisions = Decisions::default();
            let audited = decisions.clone();
            let server = serve(move |addr| {
                let resource = format!("http://{addr}/mcp");
                let auth = McpAuth::builder()
                    .protected_resource(
                        ProtectedResource::new(&resource).authorization_server(config),
                    )
                    .build()
                    .unwrap();
                let bearer = auth
                    .bearer()
                    .roles_claim("roles")
                    .required_scopes(["mcp"])
                    .decision_point(pdp)
                    .audit(move |event| {
                        audited.lock().unwrap().push((event.status, event.reason));
                    })
                    .build()
                    .unwrap();
                let mcp: StreamableHttpService<Tools, LocalSessionManager> =
                    StreamableHttpService::new(
                        || Ok(Tools),
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
                decisions,
            }
        }

        fn token(&self, roles: &[&str]) -> String {
            self.issuer
                .token()
                .audience(&self.url)
                .subject("alice")
                .scopes(["mcp"])
                .claim("roles", json!(roles))
                .sign()
                .unwrap()
        }

        async fn post(&self, token: &str, message: &Value) -> reqwest::Response {
            reqwest::Client::new()
                .post(&self.url)
                .header(AUTHORIZATION, format!("Bearer {token}"))
                .header("accept", "application/json, text/event-stream")
                .header("mcp-protocol-version", "2025-11-25")
                .json(message)
                .send()
                .await
                .unwrap()
        }

        fn last_decision(&self) -> (u16, Option<Reason>) {
            *self.decisions.lock().unwrap().last().unwrap()
        }
    }

    fn call(tool: &str) -> Value {
        json!({ "jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": { "name": tool, "arguments": {} } })
    }

    fn list() -> Value {
        json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" })
    }

    async fn listed(response: reqwest::Response) -> Vec<String> {
        let body: Value = response.json().await.unwrap();
        let tools = body["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"));
        let mut names: Vec<String> = tools
            .iter()
            .map(|tool| tool["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    #[ignore = "needs Cerbos: scripts/test.sh installs it"]
    async fn the_layer_asks_cerbos_allows_admins_denies_others_and_fails_closed_without_it() {
        let mut cerbos = Cerbos::start().await;
        // Nothing kept, so that every request reaches Cerbos (or finds it gone).
        let pdp = AuthZen::builder(&cerbos.url)
            .decision_ttl(Duration::ZERO)
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap();
        let app = App::start(pdp).await;
        let admin = app.token(&["admins"]);
        let user = app.token(&["users"]);

        let allowed = app.post(&admin, &call("admin_report")).await;
        assert_eq!(allowed.status(), StatusCode::OK);
        let body: Value = allowed.json().await.unwrap();
        assert_eq!(body["result"]["content"][0]["text"], "report", "{body}");

        let denied = app.post(&user, &call("admin_report")).await;
        assert_eq!(denied.status(), StatusCode::FORBIDDEN);
        assert!(denied.headers().get(WWW_AUTHENTICATE).is_none());
        let body: Value = denied.json().await.unwrap();
        assert_eq!(body["id"], 7, "{body}");
        assert_eq!(
            body["error"]["message"], "denied by the policy decision point",
            "{body}"
        );
        assert_eq!(app.last_decision(), (403, Some(Reason::PolicyDenied)));

        // Lists: one batch question to Cerbos, the denied tools hidden.
        assert_eq!(
            listed(app.post(&admin, &list()).await).await,
            ["admin_report", "echo"]
        );
        assert_eq!(listed(app.post(&user, &list()).await).await, ["echo"]);

        cerbos.stop();
        let unavailable = app.post(&admin, &call("admin_report")).await;
        assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = app.post(&admin, &list()).await.json().await.unwrap();
        assert!(
            body["error"].is_object(),
            "a list Cerbos cannot filter is an error: {body}"
        );
    }
}

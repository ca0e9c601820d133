//! `mcp-auth demo`: a protected MCP server and its own test authorization server, offline, in one
//! command.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use mcp_auth::testing::{TestClient, TestIssuer};

use crate::Failure;
use crate::auth_args::LeewayArgs;
use crate::cel_rules::CelRuleArgs;
use crate::dpop_args::DpopArgs;
use crate::listener::BindArgs;
use crate::mcp_server::ServerArgs;
use crate::mcp_server::{self, ADMIN_SCOPE, ADMIN_TOOL};
use crate::observability::ObserveArgs;
use crate::protection::Plan;
use crate::role_rules::RoleArgs;
use crate::scope_rules::{ScopeRules, ToolScopeArgs};
use mcp_auth::testing::DpopKey;

/// The scope every request needs.
const TOOLS_SCOPE: &str = "mcp:tools";
/// The user who approves at the consent page: the subject of the printed token too.
const USER: &str = "demo-user";
/// The client registered with the demo's authorization server (its secret is drawn at each
/// start: a secret printed in the repository would let any web page or user of this machine
/// get admin tokens).
const CLIENT_ID: &str = "demo-client";

/// Flags of `demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    #[command(flatten)]
    bind: BindArgs,
    /// Allows a --bind address off loopback. The demo protects nothing: its authorization
    /// server gives admin tokens to anyone presenting its client secret (drawn at start,
    /// printed in the welcome text) or clicking Approve on its consent page.
    #[arg(long, env = "MCP_AUTH_DEMO_INSECURE_PUBLIC_BIND")]
    insecure_public_bind: bool,
    /// Approves authorization requests at once instead of showing the consent page, for
    /// redirect URIs on this machine only: http on a loopback host, or a private-use scheme in
    /// reverse-domain form (com.example.app:/callback). Any other redirect URI still meets the
    /// consent page.
    #[arg(long, env = "MCP_AUTH_DEMO_AUTO_APPROVE")]
    auto_approve: bool,
    /// Lifetime of the access tokens the demo's authorization server issues, in seconds.
    #[arg(long, env = "MCP_AUTH_DEMO_TOKEN_LIFETIME", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    token_lifetime: u64,
    #[command(flatten)]
    leeway: LeewayArgs,
    #[command(flatten)]
    tools: ToolScopeArgs,
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    observe: ObserveArgs,
    #[command(flatten)]
    dpop: DpopArgs,
}

pub(crate) async fn run(args: DemoArgs) -> Result<(), Failure> {
    args.tools.check_builtin_tools()?;
    let loopback = args.bind.address.ip().to_canonical().is_loopback();
    if !loopback && !args.insecure_public_bind {
        return Err(format!(
            "--bind {} is not a loopback address and the demo hands out admin tokens to whoever asks: \
             use --bind 127.0.0.1:PORT, or add --insecure-public-bind to expose it anyway",
            args.bind.address
        )
        .into());
    }
    // admin_report needs the admin scope, decided in the bearer layer: a token without it gets
    // the 403 step-up challenge. --tool-scope adds rules; the demo client may ask for any scope
    // a rule names.
    let base = vec![TOOLS_SCOPE.to_owned()];
    let rules = ScopeRules::new(&[(ADMIN_TOOL, ADMIN_SCOPE)], &args.tools.tool_scopes);
    let supported = rules.published(&base);
    let issuer = TestIssuer::start()
        .await
        .map_err(|err| format!("the demo authorization server could not start: {err}"))?;
    let client = TestClient::with_random_secret(CLIENT_ID, supported.clone())
        .map_err(|err| format!("the demo client's secret could not be drawn: {err}"))?;
    let client_secret = client.secret.clone();
    issuer.register_client(client);
    // Interactive clients: authorization code with PKCE, for this MCP server only.
    issuer.set_resource_owner(USER);
    issuer.set_scopes_supported(supported.clone());
    issuer.set_resource_required(true);
    issuer.set_auto_approve(args.auto_approve);
    issuer.set_access_token_lifetime(Duration::from_secs(args.token_lifetime));
    let (listener, bound) = args.bind.listen().await?;
    let resource = format!("http://{bound}/mcp");
    if !loopback {
        eprintln!(
            "warning: --insecure-public-bind: the demo listens on {bound}, off loopback; its signing \
             keys and client secret are generated at start, but its authorization server gives \
             tokens with every scope, admin included, to whoever presents the client secret \
             printed below or clicks Approve on its consent page, and the token printed below is \
             valid for an hour: it protects nothing"
        );
    }

    let dpop = args.dpop.start().await?;
    let observing = args.observe.start().await?;
    // The same protection as `serve`, from the demo's own settings.
    let plan = Plan {
        resource: resource.clone(),
        servers: vec![issuer.lazy_config()],
        resource_name: Some("mcp-auth demo".to_owned()),
        audiences: Vec::new(),
        allowed_client_ids: Vec::new(),
        scopes: base.clone(),
        rules,
        roles: RoleArgs::default(),
        cel_rules: CelRuleArgs::default(),
        decision_point: None,
        provider: None,
        leeway: args.leeway.duration(),
        body_timeout: None,
        allowed_origins: Vec::new(),
        allowed_hosts: Vec::new(),
        introspection: None,
        api_keys: Vec::new(),
        show_error_details: true,
    };
    let protection = plan.protect(bound, &observing, &dpop)?;
    let app = mcp_server::app(
        &protection.auth,
        &protection.bearer,
        protection.allowed_hosts.clone(),
        args.server.stateful,
    );
    let mut token = issuer
        .token()
        .audience(&resource)
        .subject(USER)
        .client_id(CLIENT_ID)
        .scopes([TOOLS_SCOPE])
        .expires_in(3600);
    if dpop.on() {
        // Bound to the key `mcp-auth dpop-proof` signs with.
        token = token.dpop_bound(&DpopKey::fixture().map_err(|err| err.to_string())?);
    }
    let token = token.sign().map_err(|err| err.to_string())?;

    print_welcome(&Welcome {
        resource: &resource,
        bound,
        issuer: &issuer,
        token: &token,
        client_secret: &client_secret,
        whoami_needs: protection.rules.needed_by("whoami", &base),
        admin_needs: protection.rules.needed_by(ADMIN_TOOL, &base),
        supported: &supported,
        stateful: args.server.stateful,
        dpop: dpop.on(),
        auto_approve: args.auto_approve,
    });
    observing.print_summary();
    dpop.print_summary();
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(crate::shutdown_signal())
    .await
    .map_err(|err| format!("server stopped: {err}").into())
}

/// What the welcome text shows.
struct Welcome<'a> {
    resource: &'a str,
    bound: SocketAddr,
    issuer: &'a TestIssuer,
    /// The printed token, which holds the base scope only.
    token: &'a str,
    /// The demo client's secret, new at each start.
    client_secret: &'a str,
    /// Every scope a call of `whoami`, and of `admin_report`, needs.
    whoami_needs: Vec<String>,
    admin_needs: Vec<String>,
    /// Every scope the demo client may ask for.
    supported: &'a [String],
    stateful: bool,
    /// The printed token is DPoP-bound (`--dpop`).
    dpop: bool,
    /// Authorization requests are approved without the consent page.
    auto_approve: bool,
}

fn print_welcome(welcome: &Welcome<'_>) {
    let Welcome {
        resource,
        bound,
        issuer,
        token,
        client_secret,
        ..
    } = welcome;
    let call = |tool: &str| {
        format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}","arguments":{{}}}}}}"#
        )
    };
    let headers = "-H 'Content-Type: application/json' \
                   -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-11-25'";
    let token_endpoint = issuer.token_endpoint();
    let admin_scope = welcome.admin_needs.join(" ");
    println!(
        "mcp-auth demo: an MCP server protected by mcp-auth, and a test authorization server."
    );
    println!();
    println!("MCP endpoint:          {resource}");
    println!("Resource metadata:     http://{bound}/.well-known/oauth-protected-resource/mcp");
    println!("Authorization server:  {}", issuer.issuer());
    println!(
        "  authorization code:  PKCE S256, clients register at {} or use a metadata document URL,",
        issuer.registration_endpoint()
    );
    println!(
        "                       user {USER}, {}",
        if welcome.auto_approve {
            "approved without a consent page for loopback http and reverse-domain redirect URIs (--auto-approve)"
        } else {
            "who approves on the consent page"
        }
    );
    println!(
        "  client_credentials:  client id {CLIENT_ID}, the secret below (new at each start), scopes {}",
        welcome.supported.join(" ")
    );
    println!("  client secret:       {client_secret}");
    println!("  token endpoint:      {token_endpoint}");
    println!();
    println!("A token for {resource} with scope {TOOLS_SCOPE}, valid one hour:");
    println!("TOKEN={token}");
    println!();
    if welcome.stateful {
        println!(
            "Sessions are on (--stateful): a tool call needs an initialized session (Mcp-Session-Id),"
        );
        println!(
            "which MCP clients handle; the token is checked first, so the step-up below shows with curl."
        );
    } else if welcome.whoami_needs.len() > 1 {
        println!(
            "Call the whoami tool with it (403 with this token: --tool-scope makes it need {}):",
            welcome.whoami_needs.join(" ")
        );
    } else {
        println!("Call the whoami tool with it:");
    }
    if welcome.dpop {
        println!(
            "DPoP is on: the token is bound to the demo's DPoP key, so every request needs a fresh"
        );
        println!(
            "proof, which `mcp-auth dpop-proof METHOD URL TOKEN` prints (tokens from the token endpoint"
        );
        println!("below are Bearer tokens: refused with --dpop required).");
    }
    if !welcome.stateful && welcome.dpop {
        println!(
            "curl -s -X POST {resource} -H \"Authorization: DPoP $TOKEN\" \
             -H \"DPoP: $(mcp-auth dpop-proof POST {resource} $TOKEN)\" {headers} -d '{}'",
            call("whoami")
        );
    } else if !welcome.stateful {
        println!(
            "curl -s -X POST {resource} -H \"Authorization: Bearer $TOKEN\" {headers} -d '{}'",
            call("whoami")
        );
    }
    println!();
    println!(
        "{ADMIN_TOOL} needs {admin_scope}: with this token it gets 403 insufficient_scope, and"
    );
    println!("the challenge names the scopes to ask for (the MCP step-up):");
    println!(
        "curl -si -X POST {resource} -H \"Authorization: Bearer $TOKEN\" {headers} -d '{}'",
        call(ADMIN_TOOL)
    );
    println!();
    println!("A token with them from the token endpoint (client_credentials, RFC 8707 resource):");
    println!(
        "ADMIN_TOKEN=$(curl -s -u {CLIENT_ID}:{client_secret} {token_endpoint} -d grant_type=client_credentials \
         --data-urlencode 'scope={admin_scope}' --data-urlencode 'resource={resource}' \
         | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')"
    );
    if !welcome.stateful {
        println!(
            "curl -s -X POST {resource} -H \"Authorization: Bearer $ADMIN_TOKEN\" {headers} -d '{}'",
            call(ADMIN_TOOL)
        );
    }
    println!();
    println!("Without a token the server answers 401 and points to its metadata:");
    println!(
        "curl -si -X POST {resource} -H 'Content-Type: application/json' -d '{}'",
        call("whoami")
    );
    println!();
    println!("Connect any MCP client (no token to paste): give it the URL {resource}.");
    println!(
        "It finds the authorization server in the resource metadata, registers itself, and opens"
    );
    println!(
        "the consent page in your browser; Approve, and it calls tools as {USER}. Calling {ADMIN_TOOL}"
    );
    println!("sends it back to the consent page for {admin_scope} (a step-up).");
    println!(
        "MCP Inspector (Node >= 22.19): npx @modelcontextprotocol/inspector --web --transport http --server-url {resource}"
    );
    println!();
    println!("Press Ctrl-C to stop.");
}

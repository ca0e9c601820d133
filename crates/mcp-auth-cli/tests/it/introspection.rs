//! Opaque tokens (`serve --introspection`, RFC 7662) and API keys (`--api-key-sha256`) next to
//! JWTs, against the `mcp-auth` binary started as a process and a test issuer on 127.0.0.1 that
//! mints opaque tokens and counts its introspection calls; the flags that do not fit together;
//! the client secret kept out of everything the command prints; and what `discover` says of
//! introspection.

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use crate::common::{Running, mcp_auth};
use mcp_auth::testing::{TestClient, TestIssuer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::process::Command;

/// The resource server's client at the test issuer.
const CLIENT_ID: &str = "mcp-server";
const SECRET: &str = "introspection-secret-never-printed";
/// `base64("mcp-server:" SECRET)`: the secret as HTTP Basic would carry it.
const SECRET_AS_BASIC: &str = "bWNwLXNlcnZlcjppbnRyb3NwZWN0aW9uLXNlY3JldC1uZXZlci1wcmludGVk";

/// API keys and their SHA-256 (`printf %s "$KEY" | sha256sum`).
const CI_BOT_KEY: &str = "mcp-auth-cli-test-api-key-ci-bot";
const CI_BOT_SHA256: &str = "fc206814e28281fb131aa51d8b97ddddc2ec9682dd2bb99fba8f1c6770e19b15";
const DEPLOY_KEY: &str = "mcp-auth-cli-test-api-key-deploy";
const DEPLOY_SHA256: &str = "975bbb7ba4a7481854a374204e02a73bb7c7bdbf9d23fb7bfec215a676117db9";
const OPS_KEY: &str = "mcp-auth-cli-test-api-key-ops";
const OPS_SHA256: &str = "6fe253ce19a311cfca7d2ca24ef5c9e920e349d0aadfbf36c44adb150408fd34";

/// Runs a command that must stop by itself.
async fn output(mut command: Command) -> Output {
    tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .expect("the command did not stop: did it start a server?")
        .unwrap()
}

/// A file holding `content`, named after `name`, in the tests' scratch directory.
fn secret_file(name: &str, content: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}.secret", std::process::id()));
    std::fs::write(&path, content).unwrap();
    path
}

/// The test issuer with the resource server registered as its client.
async fn issuer() -> TestIssuer {
    let issuer = TestIssuer::start().await.unwrap();
    issuer.register_client(TestClient {
        id: CLIENT_ID.to_owned(),
        secret: SECRET.to_owned(),
        scopes: Vec::new(),
    });
    issuer
}

/// `mcp-auth serve` trusting `issuers` (RFC 8414 metadata), every request needing `mcp:tools`,
/// with `args` on top; returns it and its MCP endpoint.
async fn serve(issuers: &[&TestIssuer], args: &[&str], env: &[(&str, &str)]) -> (Running, String) {
    let mut command = mcp_auth(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--issuer-type",
        "oauth",
        "--scope",
        "mcp:tools",
    ]);
    for issuer in issuers {
        command.args(["--issuer", issuer.issuer()]);
    }
    command.args(args).envs(env.iter().copied());
    let mut server = Running::spawn(command);
    let url = server.value_after("  MCP endpoint").await;
    (server, url)
}

/// A stateless `tools/call` of `tool`.
async fn call(url: &str, token: &str, tool: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&json!({
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": { "name": tool, "arguments": {} }
        }))
        .send()
        .await
        .unwrap()
}

/// What `whoami` says for `token`, which must be accepted.
async fn whoami(url: &str, token: &str) -> Value {
    let response = call(url, token, "whoami").await;
    assert_eq!(response.status(), StatusCode::OK);
    let reply: Value = response.json().await.unwrap();
    assert_eq!(reply["result"]["isError"], false, "{reply}");
    serde_json::from_str(reply["result"]["content"][0]["text"].as_str().unwrap()).unwrap()
}

/// Asserts that `token` gets 401 `invalid_token`.
async fn assert_invalid_token(url: &str, token: &str) {
    let response = call(url, token, "whoami").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{token}");
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
}

fn assert_secret_absent(printed: &str) {
    assert!(
        !printed.contains(SECRET),
        "the secret was printed: {printed}"
    );
    assert!(
        !printed.contains(SECRET_AS_BASIC),
        "the secret was printed: {printed}"
    );
}

#[tokio::test]
async fn opaque_tokens_jwts_and_api_keys_work_side_by_side_and_the_secret_never_shows() {
    let issuer = issuer().await;
    // As `echo SECRET > file` writes it: the newline is not part of the secret.
    let file = secret_file("side-by-side", &format!("{SECRET}\n"));
    let api_key = format!("{CI_BOT_SHA256}=ci-bot:mcp:tools");
    let (mut server, url) = serve(
        &[&issuer],
        &[
            "--introspection",
            "--client-id",
            CLIENT_ID,
            "--client-secret-file",
            file.to_str().unwrap(),
            "--api-key-sha256",
            &api_key,
            "--log-level",
            "trace",
        ],
        &[],
    )
    .await;
    assert_eq!(
        server.value_after("  introspection").await,
        format!(
            "the introspection_endpoint of {}, as client {CLIENT_ID}",
            issuer.issuer()
        )
    );
    assert_eq!(server.value_after("  API key").await, "ci-bot (mcp:tools)");

    // An opaque token: introspected once, then answered from the store.
    let opaque = issuer
        .token()
        .audience(&url)
        .subject("alice")
        .client_id("inspector")
        .scopes(["mcp:tools"])
        .opaque()
        .unwrap();
    for _ in 0..3 {
        let alice = whoami(&url, &opaque).await;
        assert_eq!(alice["subject"], "alice");
        assert_eq!(alice["client_id"], "inspector");
        assert_eq!(alice["issuer"], issuer.issuer());
        assert_eq!(alice["audience"], json!([url]));
        assert_eq!(alice["scopes"], json!(["mcp:tools"]));
    }
    assert_eq!(issuer.introspection_calls(), 1);

    assert_invalid_token(&url, "no-such-opaque-token").await;
    assert_eq!(issuer.introspection_calls(), 2);

    // The layer's per-tool rule applies to introspected tokens as to any.
    let admin = call(&url, &opaque, "admin_report").await;
    assert_eq!(admin.status(), StatusCode::FORBIDDEN);

    // A JWT goes to JWT mode, never to the introspection endpoint.
    let jwt = issuer
        .token()
        .audience(&url)
        .subject("bob")
        .scopes(["mcp:tools"])
        .sign()
        .unwrap();
    assert_eq!(whoami(&url, &jwt).await["subject"], "bob");
    assert_eq!(issuer.introspection_calls(), 2);

    // An API key is recognised by its digest, without a call; the resource issued it.
    let bot = whoami(&url, CI_BOT_KEY).await;
    assert_eq!(bot["subject"], "ci-bot");
    assert_eq!(bot["scopes"], json!(["mcp:tools"]));
    assert_eq!(bot["issuer"], url);
    assert_eq!(issuer.introspection_calls(), 2);
    // Any other token that is no JWT is asked about, and unknown.
    assert_invalid_token(&url, DEPLOY_KEY).await;
    assert_eq!(issuer.introspection_calls(), 3);

    let printed = server.stop().await;
    assert!(printed.contains("listening on"), "{printed}");
    assert!(
        printed.contains("TRACE"),
        "stderr was not captured: {printed}"
    );
    assert_secret_absent(&printed);
    for key in [CI_BOT_KEY, DEPLOY_KEY] {
        assert!(!printed.contains(key), "an API key was printed: {printed}");
    }
}

#[tokio::test]
async fn api_keys_from_the_variable_need_no_introspection() {
    let issuer = issuer().await;
    let keys = format!(
        "{CI_BOT_SHA256}=ci-bot:mcp:tools,{DEPLOY_SHA256}=deploy:mcp:tools mcp:admin\n{OPS_SHA256}=ops\n"
    );
    let (_server, url) = serve(&[&issuer], &[], &[("MCP_AUTH_API_KEY_SHA256", &keys)]).await;

    assert_eq!(whoami(&url, CI_BOT_KEY).await["subject"], "ci-bot");
    let report = call(&url, DEPLOY_KEY, "admin_report").await;
    assert_eq!(report.status(), StatusCode::OK);
    let reply: Value = report.json().await.unwrap();
    assert_eq!(
        reply["result"]["content"][0]["text"],
        "admin report for deploy: all systems nominal"
    );
    // A key without the required scope is a caller without it.
    let ops = call(&url, OPS_KEY, "whoami").await;
    assert_eq!(ops.status(), StatusCode::FORBIDDEN);

    assert_invalid_token(&url, "mcp-auth-cli-test-api-key-unknown").await;
    let jwt = issuer
        .token()
        .audience(&url)
        .scopes(["mcp:tools"])
        .sign()
        .unwrap();
    assert_eq!(whoami(&url, &jwt).await["subject"], "test-user");
    assert_eq!(issuer.introspection_calls(), 0);
}

#[tokio::test]
async fn with_several_issuers_the_first_introspects_at_the_endpoint_given() {
    let first = issuer().await;
    let second = issuer().await;
    let endpoint = first.introspection_endpoint();
    let (server, url) = serve(
        &[&first, &second],
        &[
            "--introspection-endpoint",
            &endpoint,
            "--introspection-auth-method",
            "post",
            "--log-level",
            "trace",
        ],
        &[
            ("MCP_AUTH_CLIENT_ID", CLIENT_ID),
            ("MCP_AUTH_CLIENT_SECRET", SECRET),
        ],
    )
    .await;

    let token = |issuer: &TestIssuer| issuer.token().audience(&url).scopes(["mcp:tools"]);
    let from_first = token(&first).subject("first").opaque().unwrap();
    assert_eq!(whoami(&url, &from_first).await["subject"], "first");
    // The second issuer's opaque tokens are unknown to the first, which alone is asked.
    let from_second = token(&second).opaque().unwrap();
    assert_invalid_token(&url, &from_second).await;
    assert_eq!(first.introspection_calls(), 2);
    assert_eq!(second.introspection_calls(), 0);
    // Its JWTs are still trusted.
    let jwt = token(&second).subject("second").sign().unwrap();
    assert_eq!(whoami(&url, &jwt).await["subject"], "second");

    let printed = server.stop().await;
    assert!(
        printed.contains(&format!(
            "  introspection     {endpoint}, as client {CLIENT_ID}"
        )),
        "{printed}"
    );
    assert_secret_absent(&printed);
}

/// Runs `serve` with `args` and `env`, which must not start it; returns its one-line stderr.
async fn refused(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = mcp_auth(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--issuer",
        "https://auth.example.com",
    ]);
    command.args(args).envs(env.iter().copied());
    let output = output(command).await;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(output.stdout.is_empty(), "{args:?}: it started");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.starts_with("mcp-auth: "), "{stderr}");
    assert_secret_absent(&stderr);
    stderr
}

/// Flags, variables, and what the refusal of them must say.
type Misfit<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[tokio::test]
async fn introspection_flags_that_do_not_fit_exit_2_naming_the_flags() {
    let secret = secret_file("misfits", SECRET);
    let secret = secret.to_str().unwrap();
    let empty = secret_file("misfits-empty", "\n");
    let empty = empty.to_str().unwrap();
    let scratch = env!("CARGO_TARGET_TMPDIR");
    let missing = format!("{scratch}/no-such-file.secret");
    let cases: [Misfit<'_>; 11] = [
        (
            &["--introspection"],
            &[],
            "--introspection needs the server's client credentials: --client-id (MCP_AUTH_CLIENT_ID) and --client-secret-file (MCP_AUTH_CLIENT_SECRET_FILE) or --client-secret (MCP_AUTH_CLIENT_SECRET)",
        ),
        (
            &["--introspection", "--client-id", CLIENT_ID],
            &[],
            "--introspection needs the server's client secret too: --client-secret-file",
        ),
        (
            &["--client-secret-file", secret],
            &[(
                "MCP_AUTH_INTROSPECTION_ENDPOINT",
                "https://auth.example.com/introspect",
            )],
            "needs the server's client credentials: --client-id",
        ),
        (
            &[
                "--introspection",
                "--client-id",
                CLIENT_ID,
                "--client-secret",
                SECRET,
                "--client-secret-file",
                secret,
            ],
            &[],
            "give the client secret once: --client-secret-file (MCP_AUTH_CLIENT_SECRET_FILE) or --client-secret (MCP_AUTH_CLIENT_SECRET), not both",
        ),
        (
            &[
                "--introspection",
                "--client-id",
                CLIENT_ID,
                "--client-secret-file",
                secret,
            ],
            &[("MCP_AUTH_CLIENT_SECRET", SECRET)],
            "give the client secret once",
        ),
        (
            &[
                "--introspection",
                "--client-id",
                CLIENT_ID,
                "--client-secret-file",
                &missing,
            ],
            &[],
            "cannot read the client secret file",
        ),
        (
            &[
                "--introspection",
                "--client-id",
                CLIENT_ID,
                "--client-secret-file",
                scratch,
            ],
            &[],
            "cannot read the client secret file",
        ),
        (
            &[
                "--introspection",
                "--client-id",
                CLIENT_ID,
                "--client-secret-file",
                empty,
            ],
            &[],
            "the client secret is empty",
        ),
        (
            &["--client-id", CLIENT_ID],
            &[],
            "--client-id (MCP_AUTH_CLIENT_ID) is for introspection, which is off: add --introspection or remove it",
        ),
        (
            &[],
            &[("MCP_AUTH_CLIENT_SECRET", SECRET)],
            "--client-secret (MCP_AUTH_CLIENT_SECRET) is for introspection",
        ),
        (
            &[
                "--introspection",
                "--client-id",
                CLIENT_ID,
                "--client-secret",
                SECRET,
                "--introspection-auth-method",
                "digest",
            ],
            &[],
            "invalid value 'digest' for '--introspection-auth-method <METHOD>'",
        ),
    ];
    for (args, env, expected) in cases {
        let said = refused(args, env).await;
        assert!(said.contains(expected), "{args:?} {env:?}: {said}");
    }
}

#[tokio::test]
async fn a_malformed_api_key_exits_2_naming_only_its_position() {
    let good = format!("{CI_BOT_SHA256}=ci-bot:mcp:tools");
    let short = &DEPLOY_SHA256[..63];
    for bad in [
        DEPLOY_KEY.to_owned(),
        format!("{DEPLOY_KEY}=deploy"),
        format!("{short}=deploy"),
        format!("{DEPLOY_SHA256}="),
        format!("{DEPLOY_SHA256}=deploy:"),
        format!("{DEPLOY_SHA256}=deploy:mcp:\"tools"),
    ] {
        let by_flag = ["--api-key-sha256", &good, "--api-key-sha256", &bad];
        let by_comma = format!("{good},{bad}");
        let by_line = format!("{good}\n{bad}");
        let saids = [
            refused(&by_flag, &[]).await,
            refused(&[], &[("MCP_AUTH_API_KEY_SHA256", &by_comma)]).await,
            refused(&[], &[("MCP_AUTH_API_KEY_SHA256", &by_line)]).await,
        ];
        for said in saids {
            assert!(
                said.starts_with(
                    "mcp-auth: --api-key-sha256 entry 2 is not HEX=SUBJECT[:SCOPES]: "
                ),
                "{bad}: {said}"
            );
            for echoed in [&bad[..], CI_BOT_SHA256, DEPLOY_KEY, short] {
                assert!(!said.contains(echoed), "{bad}: {said}");
            }
        }
    }
}

#[tokio::test]
async fn the_same_api_key_twice_exits_2() {
    let said = refused(
        &[
            "--api-key-sha256",
            &format!("{CI_BOT_SHA256}=ci-bot"),
            "--api-key-sha256",
            &format!("{}=another", CI_BOT_SHA256.to_uppercase()),
        ],
        &[],
    )
    .await;
    assert!(
        said.contains("--api-key-sha256 entries 1 and 2 name the same key"),
        "{said}"
    );
}

#[tokio::test]
async fn help_never_shows_the_secret_or_the_key_digests_from_the_environment() {
    let mut command = mcp_auth(&["serve", "--help"]);
    command.envs([
        ("MCP_AUTH_CLIENT_SECRET", SECRET),
        ("MCP_AUTH_API_KEY_SHA256", CI_BOT_SHA256),
    ]);
    let output = output(command).await;
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--introspection\n",
        "--introspection-endpoint <URL>",
        "--introspection-auth-method <METHOD>",
        "--client-id <ID>",
        "--client-secret <SECRET>",
        "--client-secret-file <PATH>",
        "--api-key-sha256 <HEX=SUBJECT[:SCOPES]>",
    ] {
        assert!(help.contains(flag), "{flag}: {help}");
    }
    assert!(help.contains("[env: MCP_AUTH_CLIENT_SECRET]"), "{help}");
    assert!(
        !help.contains(SECRET) && !help.contains(CI_BOT_SHA256),
        "{help}"
    );
}

#[tokio::test]
async fn discover_reports_the_introspection_endpoint_or_none() {
    let issuer = issuer().await;
    let discover = |json: bool| {
        let mut command = mcp_auth(&["discover", issuer.issuer(), "--issuer-type", "oauth"]);
        if json {
            command.arg("--json");
        }
        output(command)
    };
    let report: Value = serde_json::from_slice(&discover(true).await.stdout).unwrap();
    assert_eq!(
        report["introspection_endpoint"],
        issuer.introspection_endpoint()
    );
    assert_eq!(
        report["introspection_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    let text = String::from_utf8_lossy(&discover(false).await.stdout).into_owned();
    assert!(
        text.contains(&format!(
            "\nintrospection     {}\n  auth methods    client_secret_basic client_secret_post\n",
            issuer.introspection_endpoint()
        )),
        "{text}"
    );

    issuer.set_metadata(Some(json!({
        "issuer": issuer.issuer(),
        "jwks_uri": issuer.jwks_uri(),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
    })));
    let report: Value = serde_json::from_slice(&discover(true).await.stdout).unwrap();
    assert_eq!(report["introspection_endpoint"], Value::Null);
    assert_eq!(
        report["introspection_endpoint_auth_methods_supported"],
        Value::Null
    );
    let text = String::from_utf8_lossy(&discover(false).await.stdout).into_owned();
    assert!(
        text.contains("\nintrospection     none\n  auth methods    none\n"),
        "{text}"
    );
}

#[tokio::test]
async fn the_legacy_metadata_mirror_is_served_only_when_asked() {
    let issuer = issuer().await;
    let legacy = |url: &str| url.replace("/mcp", "/.well-known/oauth-authorization-server");
    let (_server, url) = serve(&[&issuer], &["--legacy-as-metadata"], &[]).await;
    let response = reqwest::get(legacy(&url)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mirrored: Value = response.json().await.unwrap();
    let original: Value = reqwest::get(format!(
        "{}/.well-known/oauth-authorization-server",
        issuer.issuer()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(mirrored, original);

    let (_plain, url) = serve(&[&issuer], &[], &[]).await;
    let response = reqwest::get(legacy(&url)).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn introspection_calls_past_max_calls_get_503() {
    let issuer = issuer().await;
    let (_server, url) = serve(
        &[&issuer],
        &[
            "--introspection",
            "--client-id",
            CLIENT_ID,
            "--introspection-max-calls",
            "2",
        ],
        &[("MCP_AUTH_CLIENT_SECRET", SECRET)],
    )
    .await;
    let mut statuses = Vec::new();
    for index in 0..5 {
        statuses.push(
            call(&url, &format!("made-up-{index}"), "whoami")
                .await
                .status(),
        );
    }
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::SERVICE_UNAVAILABLE,
        ]
    );
    assert_eq!(issuer.introspection_calls(), 2);
}

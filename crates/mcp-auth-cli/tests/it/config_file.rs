//! The configuration file (`serve --config FILE`, `MCP_AUTH_CONFIG`) and `check-config`,
//! against the `mcp-auth` binary and a test issuer on 127.0.0.1: a file's flags and rule tables
//! protect the server; flags and variables override it; a mistake is refused at its
//! `FILE:LINE:COLUMN`; `check-config` prints the settings, never a secret. The JSON Schema's
//! freshness is a unit test of the binary (`config_file::schema`).

use std::path::PathBuf;

use mcp_auth::testing::TestIssuer;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::mcp::{call, post};
use crate::common::{Running, finished, mcp_auth};

/// A configuration file holding `content`, named after `name`, in the tests' scratch directory.
fn config(name: &str, content: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}.toml", std::process::id()));
    std::fs::write(&path, content).unwrap();
    path
}

/// The first lines of a file trusting `issuer` on a free port, every request needing
/// `mcp:tools`.
fn trusting(issuer: &TestIssuer) -> String {
    format!(
        "bind = \"127.0.0.1:0\"\nissuer-type = \"oauth\"\nissuer = [\"{}\"]\nscope = [\"mcp:tools\"]\n",
        issuer.issuer()
    )
}

/// A token for `url` with `scopes` and Keycloak's realm roles `roles`.
fn token(issuer: &TestIssuer, url: &str, scopes: &[&str], roles: &[&str]) -> String {
    issuer
        .token()
        .audience(url)
        .scopes(scopes.iter().copied())
        .claim("realm_access", json!({ "roles": roles }))
        .sign()
        .unwrap()
}

/// `mcp-auth serve --config FILE ARGS...`.
fn serve(file: &std::path::Path, args: &[&str]) -> tokio::process::Command {
    let mut command = mcp_auth(&["serve", "--config", file.to_str().unwrap()]);
    command.args(args);
    command
}

#[tokio::test]
async fn a_file_s_flags_and_rule_tables_protect_the_server() {
    let issuer = TestIssuer::start().await.unwrap();
    let file = config(
        "protects",
        &format!(
            "{}roles-claim = [\"realm_access.roles\"]\n\n\
             [tool.whoami]\nscopes = [\"audit\"]\n\n\
             [tool.admin_report]\nallow_if = '\"admins\" in auth.roles'\n",
            trusting(&issuer)
        ),
    );
    let mut server = Running::spawn(serve(&file, &[]));
    let url = server.value_after("  MCP endpoint").await;
    assert_eq!(
        server.value_after("  configuration").await,
        file.display().to_string()
    );
    assert_eq!(server.value_after("  required scopes").await, "mcp:tools");

    // [tool.whoami] scopes: a token without audit gets the step-up challenge.
    let plain = token(&issuer, &url, &["mcp:tools"], &[]);
    let refused = post(&url, &plain, &call("whoami")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let challenge = refused.challenge.unwrap_or_default();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    assert!(challenge.contains("mcp:tools audit"), "{challenge}");
    let auditor = token(&issuer, &url, &["mcp:tools", "audit"], &[]);
    assert_eq!(
        post(&url, &auditor, &call("whoami")).await.status,
        StatusCode::OK
    );

    // [tool.admin_report] allow_if, on top of the tool's own mcp:admin scope.
    let admin_scope = token(&issuer, &url, &["mcp:tools", "mcp:admin"], &["users"]);
    let denied = post(&url, &admin_scope, &call("admin_report")).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.body);
    assert_eq!(denied.challenge, None, "no step-up changes a rule's answer");
    let admin = token(&issuer, &url, &["mcp:tools", "mcp:admin"], &["admins"]);
    assert_eq!(
        post(&url, &admin, &call("admin_report")).await.status,
        StatusCode::OK
    );
    server.stop().await;
}

#[tokio::test]
async fn flags_and_variables_override_the_file_and_rules_add_up() {
    let issuer = TestIssuer::start().await.unwrap();
    let file = config(
        "override",
        &format!(
            "{}leeway = 5\n\n[tool.whoami]\nscopes = [\"from-file\"]\n",
            trusting(&issuer)
        ),
    );
    // A flag wins over the file; a rule from a flag adds to the file's.
    let mut server = Running::spawn(serve(
        &file,
        &[
            "--scope",
            "from-flag",
            "--tool-scope",
            "whoami=from-tool-flag",
        ],
    ));
    assert_eq!(server.value_after("  required scopes").await, "from-flag");
    // The built-in rule on admin_report first, then whoami's.
    assert_eq!(
        server.value_after("  tool scopes").await,
        "admin_report=mcp:admin"
    );
    assert_eq!(
        server.value_after("  tool scopes").await,
        "whoami=from-tool-flag from-file"
    );
    server.stop().await;

    // So does a variable; MCP_AUTH_CONFIG names the file as --config does.
    let mut command = mcp_auth(&["serve"]);
    command
        .env("MCP_AUTH_CONFIG", &file)
        .env("MCP_AUTH_SCOPE", "from-env");
    let mut server = Running::spawn(command);
    assert_eq!(server.value_after("  required scopes").await, "from-env");
    server.stop().await;
}

#[tokio::test]
async fn a_mistake_is_refused_at_its_line_and_column() {
    let issuer = TestIssuer::start().await.unwrap();
    let head = trusting(&issuer);
    for (name, tail, at, expected) in [
        ("unknown", "leway = 3\n", "5:1", "unknown key leway"),
        ("snake", "body_timeout = 3\n", "5:1", "body-timeout"),
        (
            "bad-value",
            "\n\nleeway = \"abc\"\n",
            "7:10",
            "invalid value 'abc' for '--leeway",
        ),
        ("not-array", "audience = \"a\"\n", "5:12", "give an array"),
        (
            "scope-token",
            "[tool.whoami]\nscopes = [\"ok\", \"not ok\"]\n",
            "6:17",
            "is not a scope token",
        ),
        (
            "no-tool",
            "[tool.nope]\nscopes = [\"a\"]\n",
            "5:1",
            "no tool \"nope\"",
        ),
        (
            "unknown-rule-key",
            "[method.\"tools/list\"]\nroles = [\"a\"]\n",
            "6:1",
            "unknown field `roles`",
        ),
        (
            "cel",
            "[tool.whoami]\nallow_if = 'auth.subject == \"a\" &&'\n",
            "6:35",
            "the rule tool:whoami",
        ),
        (
            "cel-field",
            "[every_operation]\nallow_if = '''\nauth.subject == \"a\" ||\n  auth.rolez == []'''\n",
            "8:7",
            "auth has no field \"rolez\"",
        ),
        ("syntax", "audience = [\n", "5:13", "unclosed array"),
        (
            "resource-table",
            "resource = \"https://mcp.example.com/mcp\"\n[resource.\"file:///etc/hosts\"]\n",
            "6:2",
            "[resource_uri.\"URI\"]",
        ),
    ] {
        let file = config(name, &format!("{head}{tail}"));
        let output = finished(&mut serve(&file, &[])).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        let prefix = format!("{}:{at}", file.display());
        assert!(stderr.starts_with(&prefix), "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
    }
}

#[tokio::test]
async fn check_config_prints_the_settings_and_never_a_secret() {
    let secret_file = config("client-secret", "file-secret-never-printed\n");
    let pdp_token = config("pdp-token", "pdp-token-never-printed\n");
    let file = config(
        "check",
        &format!(
            "issuer = [\"https://auth.example.com\"]\n\
             resource = \"https://mcp.example.com/mcp\"\n\
             scope = [\"mcp:tools\"]\n\
             dpop = \"allowed\"\n\
             replay-store = \"redis://:redis-password-never-printed@127.0.0.1:1/0\"\n\
             introspection = true\n\
             client-id = \"mcp-server\"\n\
             client-secret-file = \"{}\"\n\n\
             [tool.admin_report]\nscopes = [\"mcp:admin\"]\n\n\
             [authzen]\nurl = \"http://127.0.0.1:3592\"\ncredentials_file = \"{}\"\n",
            secret_file.display(),
            pdp_token.display()
        ),
    );
    let path = file.to_str().unwrap();
    let mut command = mcp_auth(&["check-config", path, "--", "--leeway", "5"]);
    command.env(
        "MCP_AUTH_API_KEY_SHA256",
        "fc206814e28281fb131aa51d8b97ddddc2ec9682dd2bb99fba8f1c6770e19b15=ci-bot",
    );
    let output = finished(&mut command).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    for line in [
        format!("issuer = [\"https://auth.example.com\"]  # {path}:1:1"),
        format!("replay-store = \"redis://***@127.0.0.1:1/0\"  # {path}:5:1"),
        format!(
            "client-secret-file = \"{}\"  # {path}:8:1",
            secret_file.display()
        ),
        "leeway = 5  # flag".to_owned(),
        "api-key-sha256 = [\"***\"]  # env MCP_AUTH_API_KEY_SHA256".to_owned(),
        "issuer-type = \"oidc\"  # default".to_owned(),
        format!("[tool.admin_report]  # {path}:10:1"),
        format!("url = \"http://127.0.0.1:3592\"  # {path}:14:1"),
    ] {
        assert!(
            stdout.lines().any(|printed| printed == line),
            "{line}\n{stdout}"
        );
    }
    for secret in ["never-printed", "fc206814e2"] {
        assert!(!stdout.contains(secret), "{secret}: {stdout}");
        assert!(!stderr.contains(secret), "{secret}: {stderr}");
    }

    // For proxy, with what it needs from the command line; every key of the file it reads.
    let proxy_file = config("check-proxy", "issuer = [\"https://auth.example.com\"]\n");
    let output = finished(&mut mcp_auth(&[
        "check-config",
        "--for",
        "proxy",
        proxy_file.to_str().unwrap(),
        "--",
        "--upstream",
        "http://127.0.0.1:9/mcp",
    ]))
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("upstream = \"http://127.0.0.1:9/mcp\"  # flag"),
        "{stdout}"
    );
}

#[tokio::test]
async fn check_config_refuses_a_bad_file_at_its_position() {
    let file = config(
        "check-bad",
        "issuer = [\"https://auth.example.com\"]\n[tool.whoami]\nallow_if = 'auth.x'\n",
    );
    let output = finished(&mut mcp_auth(&["check-config", file.to_str().unwrap()])).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with(&format!("{}:3:", file.display())),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());

    // Served by serve, a prompt rule has nothing to guard; the proxy takes it.
    let file = config(
        "check-prompt",
        "issuer = [\"https://auth.example.com\"]\n\n[prompt.incident]\nscopes = [\"ops\"]\n",
    );
    let output = finished(&mut mcp_auth(&["check-config", file.to_str().unwrap()])).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with(&format!("{}:3:1: ", file.display())),
        "{stderr}"
    );
    let output = finished(&mut mcp_auth(&[
        "check-config",
        "--for",
        "proxy",
        file.to_str().unwrap(),
        "--",
        "--upstream",
        "http://127.0.0.1:9/mcp",
    ]))
    .await;
    assert_eq!(output.status.code(), Some(0));

    let missing = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-such-config.toml");
    let output = finished(&mut mcp_auth(&["check-config", missing.to_str().unwrap()])).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot read it"), "{stderr}");
}

#[tokio::test]
async fn the_reference_s_example_file_is_valid() {
    let reference = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/command.md"
    ))
    .unwrap();
    let section = reference
        .split("## Configuration file")
        .nth(1)
        .expect("docs/command.md has a Configuration file section");
    let example = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the section has a toml example");
    let file = config("reference-example", example);
    let output = finished(&mut mcp_auth(&["check-config", file.to_str().unwrap()])).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

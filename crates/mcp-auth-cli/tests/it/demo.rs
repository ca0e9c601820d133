//! `mcp-auth demo` and its bind address: loopback starts, anything else is refused unless
//! `--insecure-public-bind` (or its environment variable) says to expose it anyway. Needs
//! nothing but the binary.

use crate::common::{Running, finished, mcp_auth};

const FLAG_ENV: &str = "MCP_AUTH_DEMO_INSECURE_PUBLIC_BIND";

/// Starts the demo and waits until it prints its MCP endpoint; stops it and returns the endpoint
/// and everything it printed.
async fn started(command: tokio::process::Command) -> (String, String) {
    let mut demo = Running::spawn(command);
    let endpoint = demo.value_after("MCP endpoint:").await;
    (endpoint, demo.stop().await)
}

#[tokio::test]
async fn a_bind_off_loopback_is_refused_with_what_to_do() {
    for bind in ["0.0.0.0:0", "[::]:0"] {
        let output = finished(&mut mcp_auth(&["demo", "--bind", bind])).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "--bind {bind}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "not one line: {stderr:?}");
        assert!(
            stderr.starts_with(&format!(
                "mcp-auth: --bind {bind} is not a loopback address"
            )),
            "{stderr:?}"
        );
        assert!(stderr.contains("--insecure-public-bind"), "{stderr:?}");
        assert!(stderr.contains("--bind 127.0.0.1:PORT"), "{stderr:?}");
    }
}

#[tokio::test]
async fn a_loopback_bind_starts_without_warning() {
    for (bind, host) in [
        ("127.0.0.1:0", "http://127.0.0.1:"),
        ("[::1]:0", "http://[::1]:"),
    ] {
        if bind.starts_with('[') && std::net::TcpListener::bind("[::1]:0").is_err() {
            continue; // no IPv6 loopback here
        }
        let (endpoint, printed) = started(mcp_auth(&["demo", "--bind", bind])).await;
        assert!(
            endpoint.starts_with(host) && endpoint.ends_with("/mcp"),
            "{endpoint}"
        );
        assert!(!printed.contains("warning"), "{printed}");
    }
}

#[tokio::test]
async fn the_insecure_public_bind_flag_or_its_variable_lets_it_start_with_a_warning() {
    let by_flag = mcp_auth(&["demo", "--bind", "0.0.0.0:0", "--insecure-public-bind"]);
    let mut by_env = mcp_auth(&["demo", "--bind", "0.0.0.0:0"]);
    by_env.env(FLAG_ENV, "true");
    for command in [by_flag, by_env] {
        let (endpoint, printed) = started(command).await;
        assert!(endpoint.starts_with("http://0.0.0.0:"), "{endpoint}");
        assert!(
            printed.contains("warning: --insecure-public-bind")
                && printed.contains("client secret printed below"),
            "{printed}"
        );
    }
}

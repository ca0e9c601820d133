//! A password given in a URL (a Redis replay store's, or one pasted into an issuer, an
//! introspection endpoint or an upstream by mistake) never shows: not in `--help`, which
//! prints environment values, and not in the error about that URL (issue 21, F10).

use crate::common::mcp_auth;

const PASSWORD: &str = "s3cret-pw";

/// Runs `mcp-auth ARGS` with `env` set; returns its exit code and everything it printed.
async fn run(args: &[&str], env: &[(&str, String)]) -> (Option<i32>, String) {
    let mut command = mcp_auth(args);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().await.unwrap();
    let printed = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), printed)
}

fn assert_hidden(printed: &str, context: &str) {
    assert!(
        !printed.contains(PASSWORD),
        "{context} shows the password: {printed}"
    );
}

#[tokio::test]
async fn help_hides_the_urls_of_the_environment() {
    let env = [
        (
            "MCP_AUTH_REPLAY_STORE",
            format!("redis://:{PASSWORD}@127.0.0.1:6379/0"),
        ),
        (
            "MCP_AUTH_ISSUER",
            format!("https://alice:{PASSWORD}@auth.example.com"),
        ),
        (
            "MCP_AUTH_INTROSPECTION_ENDPOINT",
            format!("https://rs:{PASSWORD}@auth.example.com/introspect"),
        ),
        (
            "MCP_AUTH_UPSTREAM",
            format!("http://u:{PASSWORD}@127.0.0.1:9/mcp"),
        ),
    ];
    for command in ["demo", "serve", "proxy"] {
        let (code, printed) = run(&[command, "--help"], &env).await;
        assert_eq!(code, Some(0), "{printed}");
        assert!(printed.contains("MCP_AUTH_REPLAY_STORE"), "{printed}");
        assert_hidden(&printed, &format!("{command} --help"));
    }
}

#[tokio::test]
async fn errors_about_a_url_name_it_without_its_password() {
    let serve = [
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--issuer",
        "https://auth.example.com",
        "--dpop",
        "required",
    ];
    let malformed = format!("redis://:{PASSWORD}@127.0.0.1:99999/0");
    let unreachable = format!("redis://:{PASSWORD}@127.0.0.1:1/0");
    // Run together: the Redis client retries an unreachable store for seconds before giving up.
    let runs = [&malformed, &unreachable].map(|store| async move {
        // In a flag and in the environment.
        let flag = [&serve[..], &["--replay-store", store]].concat();
        let env = [("MCP_AUTH_REPLAY_STORE", store.clone())];
        let (by_flag, by_env) = tokio::join!(run(&flag, &[]), run(&serve, &env));
        (store, by_flag, by_env)
    });
    for (store, by_flag, by_env) in futures_util::future::join_all(runs).await {
        let (code, printed) = by_flag;
        assert_eq!(code, Some(1), "{printed}");
        assert!(printed.contains("--replay-store"), "{printed}");
        if store == &malformed {
            // The URL is named, so the user sees which one: without its password.
            assert!(
                printed.contains("redis://***@127.0.0.1:99999/0"),
                "{printed}"
            );
        }
        assert_hidden(&printed, store);
        let (code, printed) = by_env;
        assert_eq!(code, Some(1), "{printed}");
        assert_hidden(&printed, store);
    }

    let issuer = format!("https://alice:{PASSWORD}@auth.example.com");
    let introspection = format!("https://rs:{PASSWORD}@auth.example.com/introspect");
    let upstream = format!("http://u:{PASSWORD}@127.0.0.1:9/mcp");
    let cases: [Vec<&str>; 4] = [
        vec!["serve", "--bind", "127.0.0.1:0", "--issuer", &issuer],
        vec![
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--issuer",
            "https://auth.example.com",
            "--introspection-endpoint",
            &introspection,
            "--client-id",
            "rs",
            "--client-secret",
            "x",
        ],
        vec![
            "proxy",
            "--bind",
            "127.0.0.1:0",
            "--issuer",
            "https://auth.example.com",
            "--upstream",
            &upstream,
        ],
        vec!["discover", &issuer],
    ];
    for args in cases {
        let (code, printed) = run(&args, &[]).await;
        assert_ne!(code, Some(0), "{args:?}: {printed}");
        assert!(printed.contains("***@"), "{args:?}: {printed}");
        assert_hidden(&printed, &format!("{args:?}"));
    }
}

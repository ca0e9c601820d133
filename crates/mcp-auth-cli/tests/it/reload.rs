//! `SIGHUP` reloads the configuration file of `serve` and `proxy`, against the `mcp-auth`
//! binary and a test issuer on 127.0.0.1: a good file's rules are in force once the reload is
//! logged, on the same MCP session and the same connections; a bad file (unreadable, TOML,
//! CEL, a setting only a restart changes, another resource) is logged at its
//! `FILE:LINE:COLUMN` and the running rules stay; without `--config` a `SIGHUP` is logged and
//! the server goes on.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use mcp_auth::testing::TestIssuer;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::common::mcp::{call, serve_trusting};
use crate::common::upstream::upstream;
use crate::common::{Running, mcp_auth};

/// Where the configuration file of test `name` lives; each step writes it again.
fn config_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("reload-{name}-{}.toml", std::process::id()))
}

/// Sends `SIGHUP` to the server, as an operator does.
fn hangup(server: &Running) {
    let pid = server.child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Sends `SIGHUP` and waits (ten seconds at most) for the line the server logs about it;
/// returns that line. Logged once the reload is done or refused: no request needs to poll.
async fn reload(server: &Running, logged: &str) -> String {
    let from = server.stderr().len();
    hangup(server);
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let stderr = server.stderr();
            if let Some(line) = stderr[from..].lines().find(|line| line.contains(logged)) {
                return line.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    waited.unwrap_or_else(|_| {
        panic!(
            "no line with {logged:?} after SIGHUP: {}",
            &server.stderr()[from..]
        )
    })
}

/// A token for `url` for alice with `scopes` and Keycloak's realm roles `roles`.
fn token(issuer: &TestIssuer, url: &str, subject: &str, scopes: &[&str], roles: &[&str]) -> String {
    issuer
        .token()
        .audience(url)
        .subject(subject)
        .scopes(scopes.iter().copied())
        .claim("realm_access", json!({ "roles": roles }))
        .sign()
        .unwrap()
}

/// One MCP client: a session over one kept-alive connection pool.
struct Client {
    http: reqwest::Client,
    url: String,
    session: Option<String>,
}

impl Client {
    /// Opens a session (`initialize`, then `notifications/initialized`) as `token`.
    async fn open(url: &str, token: &str) -> Self {
        let mut client = Self {
            http: reqwest::Client::new(),
            url: url.to_owned(),
            session: None,
        };
        let initialize = json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": { "name": "reload-test", "version": "1.0.0" }
            }
        });
        let reply = client.post(token, &initialize).await;
        assert_eq!(reply.status(), StatusCode::OK);
        client.session = Some(
            reply.headers()["mcp-session-id"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
        drop(reply);
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let accepted = client.post(token, &initialized).await;
        assert_eq!(accepted.status(), StatusCode::ACCEPTED);
        client
    }

    /// POSTs `message` on the session.
    async fn post(&self, token: &str, message: &Value) -> reqwest::Response {
        let mut request = self
            .http
            .post(&self.url)
            .bearer_auth(token)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .json(message);
        if let Some(session) = &self.session {
            request = request.header("mcp-session-id", session);
        }
        request.send().await.unwrap()
    }

    /// Calls `tool` on the session: its status and body (the SSE events when accepted).
    async fn call(&self, token: &str, tool: &str) -> (StatusCode, String) {
        let reply = self.post(token, &call(tool)).await;
        let status = reply.status();
        let body = tokio::time::timeout(Duration::from_secs(10), reply.text())
            .await
            .expect("the answer did not end")
            .unwrap();
        (status, body)
    }

    /// The session's stream of server messages (`GET` with the session), held open.
    async fn listen(&self, token: &str) -> reqwest::Response {
        let stream = self
            .http
            .get(&self.url)
            .bearer_auth(token)
            .header("accept", "text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .header("mcp-session-id", self.session.as_deref().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status(), StatusCode::OK);
        stream
    }
}

/// Asserts that a held-open response stream has not ended: nothing, or more events, in a
/// moment.
async fn still_open<B>(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<B>> + Unpin),
) {
    match tokio::time::timeout(Duration::from_millis(300), stream.next()).await {
        Err(_) | Ok(Some(Ok(_))) => {}
        Ok(None) => panic!("the held-open stream ended"),
        Ok(Some(Err(error))) => panic!("the held-open stream broke: {error}"),
    }
}

/// An HTTP/1.1 connection kept alive by hand: that a second request is answered on it shows
/// the connection was not dropped in between.
struct Connection {
    stream: BufReader<TcpStream>,
    host: String,
}

impl Connection {
    async fn open(url: &str) -> Self {
        let host = url::Url::parse(url).unwrap();
        let host = format!("{}:{}", host.host_str().unwrap(), host.port().unwrap());
        let stream = TcpStream::connect(&host).await.unwrap();
        Self {
            stream: BufReader::new(stream),
            host,
        }
    }

    /// GETs `path` on this connection; the status code.
    async fn get(&mut self, path: &str) -> u16 {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.host);
        self.stream
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .unwrap();
        let mut status = String::new();
        self.stream.read_line(&mut status).await.unwrap();
        assert!(
            status.starts_with("HTTP/1.1 "),
            "the connection was closed: {status:?}"
        );
        let mut length = 0;
        loop {
            let mut header = String::new();
            self.stream.read_line(&mut header).await.unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await.unwrap();
        status[9..12].parse().unwrap()
    }
}

/// The resource's metadata document.
async fn metadata(url: &str) -> Value {
    let origin = url.trim_end_matches("/mcp");
    reqwest::get(format!("{origin}/.well-known/oauth-protected-resource/mcp"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn write(path: &Path, content: &str) {
    std::fs::write(path, content).unwrap();
}

#[tokio::test]
async fn sighup_reloads_serve_s_file_on_the_same_session_and_connections() {
    let issuer = TestIssuer::start().await.unwrap();
    let file = config_path("serve");
    let first = format!(
        "bind = \"127.0.0.1:0\"\nissuer-type = \"oauth\"\nissuer = [\"{}\"]\n\
         scope = [\"mcp:tools\"]\nroles-claim = [\"realm_access.roles\"]\nstateful = true\n",
        issuer.issuer()
    );
    write(&file, &first);
    let mut command = mcp_auth(&["serve", "--config", file.to_str().unwrap()]);
    command.args(["--log-level", "info"]);
    let mut server = Running::spawn(command);
    let url = server.value_after("  MCP endpoint").await;

    let user = token(
        &issuer,
        &url,
        "alice",
        &["mcp:tools", "mcp:admin"],
        &["users"],
    );
    let client = Client::open(&url, &user).await;
    let mut held = Box::pin(client.listen(&user).await.bytes_stream());
    let mut connection = Connection::open(&url).await;
    let well_known = "/.well-known/oauth-protected-resource/mcp";
    assert_eq!(connection.get(well_known).await, 200);
    let (status, body) = client.call(&user, "admin_report").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("all systems nominal"), "{body}");

    // A rule added: in force for the next request, on the same session and connections.
    let second = format!("{first}\n[tool.admin_report]\nallow_if = '\"admins\" in auth.roles'\n");
    write(&file, &second);
    let logged = reload(&server, "configuration reloaded from").await;
    assert!(logged.contains(" INFO "), "{logged}");
    assert!(logged.contains(file.to_str().unwrap()), "{logged}");
    let (status, body) = client.call(&user, "admin_report").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = client.call(&user, "whoami").await;
    assert_eq!(status, StatusCode::OK, "the session was lost: {body}");
    assert!(body.contains("alice"), "{body}");
    let admin = token(
        &issuer,
        &url,
        "alice",
        &["mcp:tools", "mcp:admin"],
        &["admins"],
    );
    let (status, body) = client.call(&admin, "admin_report").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The session stays alice's: the layer kept what it bound.
    let bob = token(&issuer, &url, "bob", &["mcp:tools"], &[]);
    assert_eq!(client.call(&bob, "whoami").await.0, StatusCode::NOT_FOUND);
    assert_eq!(connection.get(well_known).await, 200);
    still_open(&mut held).await;

    // A file that cannot be used: logged in a start's words, the running rules kept (the
    // admin rule would be gone with any of these files).
    let lines = first.lines().count();
    let missing = config_path("missing");
    for (name, content, expected) in [
        (
            "toml",
            format!("{first}audience = [\n"),
            format!("{}:{}:13: ", file.display(), lines + 1),
        ),
        (
            "cel",
            format!("{first}[tool.whoami]\nallow_if = 'auth.subject == \"a\" &&'\n"),
            format!("{}:{}:35: ", file.display(), lines + 2),
        ),
        (
            "restart-only",
            format!("{first}dpop = \"allowed\"\n"),
            "mcp-auth: --dpop changed: a reload cannot change it, a restart does".to_owned(),
        ),
        (
            "resource",
            format!("{first}resource = \"http://127.0.0.1:1/mcp\"\n"),
            "a reload keeps the resource, a restart changes it".to_owned(),
        ),
        ("unreadable", String::new(), "cannot read it".to_owned()),
    ] {
        if name == "unreadable" {
            std::fs::rename(&file, &missing).unwrap();
        } else {
            write(&file, &content);
        }
        let logged = reload(&server, "configuration not reloaded from").await;
        assert!(logged.contains(" ERROR "), "{name}: {logged}");
        assert!(
            logged.contains("the running one is kept: "),
            "{name}: {logged}"
        );
        assert!(logged.contains(&expected), "{name}: {logged}");
        let (status, body) = client.call(&user, "admin_report").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {body}");
        let (status, body) = client.call(&user, "whoami").await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
    }
    std::fs::rename(&missing, &file).unwrap();

    // The metadata document keeps the start's scopes, and says so.
    let published = metadata(&url).await["scopes_supported"].clone();
    write(
        &file,
        &format!("{second}\n[tool.whoami]\nscopes = [\"audit\"]\n"),
    );
    let warned = reload(&server, "metadata document keeps the start's").await;
    assert!(warned.contains(" WARN "), "{warned}");
    assert_eq!(client.call(&user, "whoami").await.0, StatusCode::FORBIDDEN);
    assert_eq!(metadata(&url).await["scopes_supported"], published);
    assert_eq!(connection.get(well_known).await, 200);
    still_open(&mut held).await;
    server.stop().await;
}

#[tokio::test]
async fn sighup_without_a_configuration_file_is_logged_and_serving_goes_on() {
    let issuer = TestIssuer::start().await.unwrap();
    let mut server = Running::spawn(serve_trusting(&issuer, &[]));
    let url = server.value_after("  MCP endpoint").await;
    let logged = reload(&server, "nothing to reload").await;
    assert!(logged.contains(" WARN "), "{logged}");
    assert!(logged.contains("without --config"), "{logged}");
    let user = token(&issuer, &url, "alice", &["mcp:tools"], &[]);
    let answer = crate::common::mcp::post(&url, &user, &call("whoami")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(server.child.try_wait().unwrap().is_none());
    server.stop().await;
}

#[tokio::test]
async fn sighup_reloads_the_proxy_s_file_and_keeps_its_streams() {
    let issuer = TestIssuer::start().await.unwrap();
    let (upstream, _) = upstream().await;
    let file = config_path("proxy");
    let first = format!(
        "bind = \"127.0.0.1:0\"\nupstream = \"{upstream}\"\nissuer-type = \"oauth\"\n\
         issuer = [\"{}\"]\nscope = [\"mcp:tools\"]\n",
        issuer.issuer()
    );
    write(&file, &first);
    let mut command = mcp_auth(&["proxy", "--config", file.to_str().unwrap()]);
    command.args(["--log-level", "info"]);
    let mut proxy = Running::spawn(command);
    let url = proxy.value_after("  MCP endpoint").await;
    let user = token(&issuer, &url, "alice", &["mcp:tools"], &[]);
    let client = reqwest::Client::new();
    let deploy = |token: &str| {
        client
            .post(&url)
            .bearer_auth(token)
            .header("accept", "application/json, text/event-stream")
            .json(&call("deploy"))
            .send()
    };
    assert_eq!(deploy(&user).await.unwrap().status(), StatusCode::OK);
    let held = client
        .get(format!("{url}/forever"))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(held.status(), StatusCode::OK);
    let mut held = Box::pin(held.bytes_stream());

    write(
        &file,
        &format!("{first}\n[tool.deploy]\nscopes = [\"deploy\"]\n"),
    );
    reload(&proxy, "configuration reloaded from").await;
    assert_eq!(deploy(&user).await.unwrap().status(), StatusCode::FORBIDDEN);
    let deployer = token(&issuer, &url, "alice", &["mcp:tools", "deploy"], &[]);
    assert_eq!(deploy(&deployer).await.unwrap().status(), StatusCode::OK);
    still_open(&mut held).await;

    // Another upstream needs a restart; a broken file changes nothing either.
    write(&file, &first.replace(&upstream, "http://127.0.0.1:9/mcp"));
    let logged = reload(&proxy, "configuration not reloaded from").await;
    assert!(logged.contains("--upstream changed"), "{logged}");
    write(&file, &format!("{first}scope = \"mcp:tools\"\n"));
    let logged = reload(&proxy, "configuration not reloaded from").await;
    assert!(
        logged.contains(&format!("{}:6:", file.display())),
        "{logged}"
    );
    assert_eq!(deploy(&user).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(deploy(&deployer).await.unwrap().status(), StatusCode::OK);
    still_open(&mut held).await;
    proxy.stop().await;
}

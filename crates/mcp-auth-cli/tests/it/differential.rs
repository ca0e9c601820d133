//! The differential suite: "what we authorize is exactly what the upstream will execute", for
//! upstreams that read requests the way real servers in Go, Python, Node and Java do.
//!
//! Five real upstreams (`e2e/differential/`, its README says what each emulates and why) each
//! execute, that is record, what *they* parsed from a request: the tools, prompts, resources
//! and methods they ran (and what a resource URI resolved to for them), the identity and
//! session headers and forwarding headers as they read them, the path they routed:
//! - **go**: `net/http` + `encoding/json` into tagged structs (keys matched without case, `ſ`
//!   and Kelvin `K` folded, the last match wins), any HTTP method, gzip bodies inflated,
//!   `EqualFold(TrimSpace(name))` tool look-up, `path.Clean` of the decoded path;
//! - **wsgi**: `wsgiref` (CGI-style headers: `X_MCP_Auth_Subject` is `X-MCP-Auth-Subject`,
//!   repeats joined with `,`), `json.loads` on bytes (BOM, UTF-16/32, NaN), method overrides,
//!   `posixpath.normpath` of `PATH_INFO`;
//! - **asgi**: uvicorn + a plain ASGI callable reading headers as Starlette does (first match),
//!   NFKC-folded tool names cut at NUL;
//! - **node**: `node:http` + `JSON.parse`, `X-HTTP-Method-Override`, gzip/deflate bodies, a
//!   `new URL` + `decodeURIComponent` + `path.posix.normalize` resolver on a case-insensitive
//!   filesystem;
//! - **java**: the JDK's HTTP server + Jackson with case-insensitive properties and lenient
//!   JSON (comments, single quotes, trailing commas), Tomcat's reading of `..;` in paths.
//!
//! One `mcp-auth proxy` per upstream, trusting a [`TestIssuer`]. Every case of
//! `differential/cases.rs` (a name and the raw pieces of one HTTP/1.1 request) is written as
//! bytes on a `TcpStream` (reqwest would normalise methods, paths and header names) to every
//! proxy; then each upstream's records are fetched directly and checked
//! (`differential/checks.rs`): (a) every operation executed is allowed by the token's scopes
//! under the rules (a resource counts as protected when its raw URI, the upstream's own
//! resolution or a strict resolution lands on `/etc/passwd` or under `/private/`), (b) every
//! identity value read is the token's, (c) a session used was created by the caller, (d) the
//! path routed is at or below `/mcp`, (e) no client-sent `Forwarded`, `X-Forwarded*`,
//! `X-Real-IP`, `X-Original-URL`, `X-Rewrite-URL`, `X-Client-IP`, `True-Client-IP`,
//! `CF-Connecting-IP`, `X-Cluster-Client-IP` or `X-Host` value arrives, and `X-Forwarded-For`
//! (the peer: 127.0.0.1 is not a trusted proxy here), `-Host` and `-Proto` are the proxy's own.
//! Positive controls must run on every upstream, so a proxy refusing everything fails too. Violations are collected and reported together,
//! grouped by finding (and written to `target/tmp/differential/report.txt`; every exchange, with
//! the status the client got and what the upstream executed, to `answers.tsv` beside it).
//!
//! `#[ignore]`d because it needs Go, Python with uvicorn, Node and a JDK with Jackson, which
//! `scripts/test.sh` installs before running the ignored tests:
//! `cargo test -p mcp-auth-cli --test differential -- --include-ignored`.

#[path = "differential/cases.rs"]
mod cases;
#[path = "differential/checks.rs"]
mod checks;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{Running, mcp_auth};
use cases::{Case, Framing, Who};
use checks::{Expected, Finding};
use mcp_auth::testing::TestIssuer;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout, Command};

/// The proxy's rules, which the checks assert (`checks.rs`), and a trusted proxy range that
/// is never the harness's own address (127.0.0.1): `X-Forwarded-For` must be the peer alone.
const FLAGS: [&str; 16] = [
    "--scope",
    "mcp:tools",
    "--tool-scope",
    "admin_report=mcp:admin",
    "--tool-scope",
    "kill_switch=mcp:admin",
    "--prompt-scope",
    "secret_prompt=mcp:admin",
    "--resource-scope",
    "file:///etc/passwd=root",
    "--resource-prefix-scope",
    "file:///private/=files:private",
    "--method-scope",
    "logging/setLevel=mcp:admin",
    "--trusted-proxy",
    "192.0.2.0/24",
];

/// The upstreams, by the name the report uses.
const UPSTREAMS: [&str; 5] = ["go", "wsgi", "asgi", "node", "java"];

/// Debian's Jackson (`libjackson2-databind-java`), for the Java upstream.
const JACKSON: [&str; 3] = [
    "/usr/share/java/jackson-databind.jar",
    "/usr/share/java/jackson-core.jar",
    "/usr/share/java/jackson-annotations.jar",
];

/// Longest wait for one exchange with a proxy.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e/differential")
}

fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("differential")
}

/// Runs `command` to completion; panics with its output when it fails.
async fn run(what: &str, command: &mut Command) {
    let output = command
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|err| panic!("{what}: cannot start: {err}"));
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The Go upstream, built once per run with the standard library only.
async fn build_go() -> PathBuf {
    let out = scratch().join("go_upstream");
    run(
        "go build",
        Command::new("go")
            .arg("build")
            .arg("-o")
            .arg(&out)
            .arg(peers_dir().join("go_upstream.go"))
            .env("GOCACHE", scratch().join("gocache"))
            .env("GOPATH", scratch().join("gopath"))
            .env("GO111MODULE", "off")
            .env("GOFLAGS", ""),
    )
    .await;
    out
}

/// The Java upstream, compiled once per run; returns its class path.
async fn build_java() -> String {
    let classes = scratch().join("java");
    let jackson = JACKSON.join(":");
    run(
        "javac",
        Command::new("javac")
            .arg("-cp")
            .arg(&jackson)
            .arg("-d")
            .arg(&classes)
            .arg(peers_dir().join("JavaUpstream.java")),
    )
    .await;
    format!("{}:{jackson}", classes.display())
}

/// How to start the upstream `name`.
fn upstream_command(name: &str, go: &PathBuf, java_classpath: &str) -> Command {
    let dir = peers_dir();
    match name {
        "go" => Command::new(go),
        "wsgi" => {
            let mut command = Command::new("python3");
            // -B: no __pycache__ left in the source tree.
            command.arg("-B").arg(dir.join("wsgi_upstream.py"));
            command
        }
        "asgi" => {
            let mut command = Command::new("python3");
            // -B: no __pycache__ left in the source tree.
            command.arg("-B").arg(dir.join("asgi_upstream.py"));
            command
        }
        "node" => {
            let mut command = Command::new("node");
            command.arg(dir.join("node_upstream.mjs"));
            command
        }
        "java" => {
            let mut command = Command::new("java");
            command
                .args(["-XX:TieredStopAtLevel=1", "-Xshare:auto", "-cp"])
                .arg(java_classpath)
                .arg("JavaUpstream");
            command
        }
        other => panic!("no upstream {other}"),
    }
}

/// A running upstream, killed when dropped.
struct Peer {
    _child: Child,
    _stdout: Lines<BufReader<ChildStdout>>,
    port: u16,
}

/// Starts an upstream and reads the port it prints.
async fn start_peer(name: &str, mut command: Command) -> Peer {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start the {name} upstream: {err}"));
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), stdout.next_line())
        .await
        .unwrap_or_else(|_| panic!("the {name} upstream printed no port within 60 s"))
        .unwrap()
        .unwrap_or_else(|| panic!("the {name} upstream ended before printing its port"));
    let port = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("the {name} upstream printed {line:?}, not a port"));
    Peer {
        _child: child,
        _stdout: stdout,
        port,
    }
}

/// `mcp-auth proxy` in front of the upstream on `port`; returns it and its `host:port`.
async fn start_proxy(issuer: &TestIssuer, port: u16, extra: &[&str]) -> (Running, String) {
    let upstream = format!("http://127.0.0.1:{port}/mcp");
    let mut args = vec![
        "proxy",
        "--bind",
        "127.0.0.1:0",
        "--upstream",
        &upstream,
        "--issuer",
        issuer.issuer(),
        "--issuer-type",
        "oauth",
    ];
    args.extend(FLAGS);
    args.extend(extra);
    let mut running = Running::spawn(mcp_auth(&args));
    let endpoint = running.value_after("  MCP endpoint").await;
    let host = endpoint
        .strip_prefix("http://")
        .and_then(|rest| rest.strip_suffix("/mcp"))
        .unwrap_or_else(|| panic!("unexpected endpoint {endpoint}"))
        .to_owned();
    (running, host)
}

/// A token for the proxy at `host`, for `who`.
fn token(issuer: &TestIssuer, host: &str, who: Who) -> String {
    let mut builder = issuer
        .token()
        .audience(format!("http://{host}/mcp"))
        .scopes(who.scopes().iter().copied())
        .expires_in(600);
    builder = match who.subject() {
        Some(subject) => builder.subject(subject),
        None => builder.without("sub"),
    };
    if let Some(client_id) = who.client_id() {
        builder = builder.client_id(client_id);
    }
    builder.sign().unwrap()
}

/// What the client got back.
#[derive(Debug, Clone, Default)]
struct Answer {
    /// 0 when no status line came back.
    status: u16,
    session: Option<String>,
    /// The status line and the start of the body, for the report.
    summary: String,
}

/// One proxy as the cases see it.
struct Target {
    host: String,
    tokens: HashMap<Who, String>,
    sessions: [String; 2],
}

impl Target {
    fn fill(&self, text: &str) -> String {
        text.replace("{HOST}", &self.host)
            .replace("{S1}", &self.sessions[0])
            .replace("{S2}", &self.sessions[1])
            .replace(
                "{TOKEN_ADMIN}",
                self.tokens.get(&Who::Admin).map_or("", String::as_str),
            )
    }

    /// The bytes of `case`'s request.
    fn request(&self, case: &Case) -> Vec<u8> {
        let given = |name: &str| {
            case.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        let mut head = format!("{} {} HTTP/1.1\r\n", case.method, self.fill(&case.target));
        if !given("host") {
            let _ = write!(head, "Host: {}\r\n", self.host);
        }
        if let Some(token) = self.tokens.get(&case.who) {
            let _ = write!(head, "Authorization: Bearer {token}\r\n");
        }
        let _ = write!(head, "X-Case: {}\r\n", case.name);
        if !case.no_content_type {
            head.push_str("Content-Type: application/json\r\n");
        }
        head.push_str("Accept: application/json, text/event-stream\r\n");
        for (name, value) in &case.headers {
            match name.is_empty() {
                true => head.push_str(value),
                false => {
                    let _ = write!(head, "{name}: {}", self.fill(value));
                }
            }
            head.push_str("\r\n");
        }
        if !given("connection") {
            head.push_str("Connection: close\r\n");
        }
        let body = match case.framing {
            Framing::Length => {
                let _ = write!(head, "Content-Length: {}\r\n", case.body.len());
                case.body.clone()
            }
            Framing::Chunked => {
                head.push_str("Transfer-Encoding: chunked\r\n");
                let (first, second) = case.body.split_at(case.body.len() / 2);
                let mut body = Vec::new();
                for chunk in [first, second].into_iter().filter(|c| !c.is_empty()) {
                    body.extend(format!("{:x}\r\n", chunk.len()).bytes());
                    body.extend(chunk);
                    body.extend(b"\r\n");
                }
                body.extend(b"0\r\n\r\n");
                body
            }
            Framing::AsGiven => case.body.clone(),
        };
        head.push_str("\r\n");
        [head.into_bytes(), body].concat()
    }
}

/// Writes `request` to the proxy at `host` and reads until the connection closes.
async fn exchange(host: &str, request: &[u8]) -> Answer {
    let mut response = Vec::new();
    let attempt = async {
        let mut stream = TcpStream::connect(host).await?;
        stream.write_all(request).await?;
        let mut buffer = [0u8; 8192];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => response.extend_from_slice(&buffer[..read]),
            }
        }
        Ok::<_, std::io::Error>(())
    };
    let outcome = tokio::time::timeout(EXCHANGE_TIMEOUT, attempt).await;
    let mut answer = parse_answer(&response);
    match outcome {
        Err(_) => answer.summary.push_str(" (timed out)"),
        Ok(Err(err)) => {
            let _ = write!(answer.summary, " (connection failed: {err})");
        }
        Ok(Ok(())) => {}
    }
    answer
}

/// The final status, the session header and a summary of a raw HTTP/1.1 response.
fn parse_answer(response: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(response);
    let mut rest: &str = &text;
    // Interim answers (100 Continue) come first.
    while rest.starts_with("HTTP/1.1 1") {
        match rest.find("\r\n\r\n") {
            Some(end) => rest = &rest[end + 4..],
            None => break,
        }
    }
    let (head, body) = rest.split_once("\r\n\r\n").unwrap_or((rest, ""));
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let session = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("mcp-session-id"))
        .map(|(_, value)| value.trim().to_owned());
    let body: String = body.chars().take(160).collect();
    Answer {
        status,
        session,
        summary: format!("{status_line} {}", body.replace(['\r', '\n'], " ")),
    }
}

/// What one upstream went through: the answers its proxy gave, and its records.
struct Outcome {
    upstream: &'static str,
    host: String,
    answers: HashMap<String, Answer>,
    records: Vec<Value>,
    sessions: Value,
}

/// Sends the setup cases, then every case, to one proxy; then fetches the upstream's records.
async fn drive(
    upstream: &'static str,
    peer_port: u16,
    mut target: Target,
    cases: Arc<Vec<Case>>,
) -> Outcome {
    let mut answers = HashMap::new();
    for (index, case) in cases::setup().into_iter().enumerate() {
        let answer = exchange(&target.host, &target.request(&case)).await;
        target.sessions[index] = answer
            .session
            .clone()
            .unwrap_or_else(|| format!("no-session-from-{}", case.name));
        answers.insert(case.name.clone(), answer);
    }
    for case in cases.iter() {
        let answer = exchange(&target.host, &target.request(case)).await;
        answers.insert(case.name.clone(), answer);
    }
    let all: Value = reqwest::get(format!("http://127.0.0.1:{peer_port}/__records"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Outcome {
        upstream,
        host: target.host,
        answers,
        records: all["records"].as_array().cloned().unwrap_or_default(),
        sessions: all["sessions"].clone(),
    }
}

/// One violation, for the report.
struct Violation {
    finding: Finding,
    case: String,
    upstream: &'static str,
    detail: String,
}

/// Every violation of one upstream's outcome.
fn violations(outcome: &Outcome, cases: &HashMap<String, Case>, issuer: &str) -> Vec<Violation> {
    let mut found = Vec::new();
    let mut add = |finding, case: &str, detail: String| {
        let status = outcome
            .answers
            .get(case)
            .map_or("no answer recorded".to_owned(), |a| a.summary.clone());
        found.push(Violation {
            finding,
            case: case.to_owned(),
            upstream: outcome.upstream,
            detail: format!("{detail} [client got: {status}]"),
        });
    };
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for record in &outcome.records {
        let name = record["case"].as_str().unwrap_or("");
        let Some(case) = cases.get(name) else {
            add(
                Finding::Unattributed,
                if name.is_empty() { "(no X-Case)" } else { name },
                format!("a request the harness did not send: {record}"),
            );
            continue;
        };
        *seen.entry(name).or_default() += 1;
        if seen[name] == 2 {
            add(
                Finding::Unattributed,
                name,
                "one request was recorded as two: a request smuggled behind the first".to_owned(),
            );
        }
        let expected = Expected {
            who: case.who,
            issuer,
            host: &outcome.host,
            sessions: &outcome.sessions,
        };
        for (finding, detail) in checks::check_record(record, &expected) {
            add(finding, name, detail);
        }
    }
    for case in cases.values() {
        let Some((kind, resolved)) = case.must_execute else {
            continue;
        };
        let executed = outcome
            .records
            .iter()
            .filter(|record| record["case"] == case.name.as_str())
            .flat_map(|record| record["executed"].as_array().cloned().unwrap_or_default())
            .any(|entry| {
                entry["kind"] == kind
                    && entry["resolved"]
                        .as_str()
                        .is_some_and(|r| r.eq_ignore_ascii_case(resolved))
            });
        let ok = outcome
            .answers
            .get(&case.name)
            .is_some_and(|answer| answer.status == 200);
        if !executed || !ok {
            add(
                Finding::Control,
                &case.name,
                format!("{kind} {resolved:?} must be executed with HTTP 200"),
            );
        }
    }
    found
}

/// The report: violations grouped by finding, then case, with the upstreams that show each.
fn report(violations: &[Violation], header: &str) -> String {
    let mut grouped: BTreeMap<Finding, BTreeMap<&str, Vec<&Violation>>> = BTreeMap::new();
    for violation in violations {
        grouped
            .entry(violation.finding)
            .or_default()
            .entry(violation.case.as_str())
            .or_default()
            .push(violation);
    }
    let mut out = format!("{header}\n");
    for (finding, by_case) in &grouped {
        let _ = writeln!(out, "\n== {} ({} cases) ==", finding.title(), by_case.len());
        for (case, list) in by_case {
            let mut upstreams: Vec<&str> = list.iter().map(|v| v.upstream).collect();
            upstreams.dedup();
            let _ = writeln!(out, "  {case}: {}", upstreams.join(", "));
            let mut shown = Vec::new();
            for violation in list {
                if !shown.contains(&violation.detail.as_str()) && shown.len() < 3 {
                    shown.push(violation.detail.as_str());
                    let _ = writeln!(out, "      {}: {}", violation.upstream, violation.detail);
                }
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Go, Python with uvicorn, Node and a JDK with Jackson: scripts/test.sh installs them"]
async fn what_is_authorized_is_what_every_upstream_executes() {
    let started = Instant::now();
    std::fs::create_dir_all(scratch()).unwrap();
    let (go, java_classpath, issuer) = tokio::join!(build_go(), build_java(), TestIssuer::start());
    let issuer = issuer.unwrap();
    let built = started.elapsed();

    let mut peers = Vec::new();
    for name in UPSTREAMS {
        peers.push(start_peer(
            name,
            upstream_command(name, &go, &java_classpath),
        ));
    }
    let peers = futures_util::future::join_all(peers).await;
    let mut proxies = Vec::new();
    for peer in &peers {
        proxies.push(start_proxy(&issuer, peer.port, &[]));
    }
    let proxies = futures_util::future::join_all(proxies).await;

    let all_cases = Arc::new(cases::all());
    let mut by_name: HashMap<String, Case> = HashMap::new();
    for case in cases::setup().into_iter().chain(all_cases.iter().cloned()) {
        assert!(
            by_name.insert(case.name.clone(), case).is_none(),
            "two cases are named alike"
        );
    }
    let ready = started.elapsed();

    let mut runs = Vec::new();
    for ((name, peer), (_, host)) in UPSTREAMS.iter().zip(&peers).zip(&proxies) {
        let tokens = Who::TOKENS
            .iter()
            .map(|who| (*who, token(&issuer, host, *who)))
            .collect();
        let target = Target {
            host: host.clone(),
            tokens,
            sessions: [String::new(), String::new()],
        };
        runs.push(tokio::spawn(drive(
            name,
            peer.port,
            target,
            all_cases.clone(),
        )));
    }
    let mut found = Vec::new();
    let mut per_upstream = Vec::new();
    let mut answers = Vec::new();
    for run in runs {
        let outcome = run.await.unwrap();
        for (case, answer) in &outcome.answers {
            let executed = outcome
                .records
                .iter()
                .filter(|record| record["case"] == case.as_str())
                .map(|record| record["executed"].to_string())
                .collect::<Vec<_>>()
                .join(" ");
            answers.push(format!(
                "{case}\t{}\t{}\t{executed}",
                outcome.upstream, answer.status
            ));
        }
        let violations = violations(&outcome, &by_name, issuer.issuer());
        per_upstream.push(format!(
            "{}: {} requests reached it, {} violations",
            outcome.upstream,
            outcome.records.len(),
            violations.len()
        ));
        found.extend(violations);
    }
    drop(proxies);
    drop(peers);

    let mut header = format!(
        "differential: {} cases x {} upstreams ({}): {} violations; build {:.1} s, start {:.1} s, total {:.1} s",
        by_name.len(),
        UPSTREAMS.len(),
        UPSTREAMS.join(", "),
        found.len(),
        built.as_secs_f64(),
        (ready - built).as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    for line in &per_upstream {
        let _ = write!(header, "\n  {line}");
    }
    let text = report(&found, &header);
    let report_file = scratch().join("report.txt");
    std::fs::write(&report_file, &text).unwrap();
    let mut list: Vec<String> = found
        .iter()
        .map(|v| format!("{:?}\t{}\t{}", v.finding, v.case, v.upstream))
        .collect();
    list.sort();
    list.dedup();
    std::fs::write(scratch().join("failures.tsv"), list.join("\n") + "\n").unwrap();
    answers.sort();
    // Every exchange: case, upstream, the status the client got, what the upstream executed.
    std::fs::write(scratch().join("answers.tsv"), answers.join("\n") + "\n").unwrap();
    println!("{text}");
    assert!(
        found.is_empty(),
        "{} violations in {} (case, upstream) pairs; the report above is also in {}",
        found.len(),
        list.len(),
        report_file.display()
    );
}

/// Behind a trusted proxy (`--trusted-proxy 127.0.0.1/32`) the client's `X-Forwarded-For`
/// chain is kept before the peer, and nothing else a client says of the request passes: the
/// WSGI upstream, which reads `X_Forwarded_For` as `X-Forwarded-For`, sees only the proxy's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python: scripts/test.sh installs the differential suite's peers"]
async fn a_trusted_proxy_keeps_its_chain_and_nothing_else() {
    let issuer = TestIssuer::start().await.unwrap();
    let peer = start_peer("wsgi", upstream_command("wsgi", &PathBuf::new(), "")).await;
    let (_proxy, host) =
        start_proxy(&issuer, peer.port, &["--trusted-proxy", "127.0.0.1/32"]).await;
    let target = Target {
        tokens: HashMap::from([(Who::User1, token(&issuer, &host, Who::User1))]),
        host,
        sessions: [String::new(), String::new()],
    };
    let whoami = cases::call("whoami");
    let chain = Case::new("trusted_chain", whoami.as_str())
        .header("X-Forwarded-For", "192.0.2.7")
        .header("X-Forwarded-For", "192.0.2.8");
    let claims = Case::new("trusted_claims", whoami.as_str())
        .header("X_Forwarded_For", "203.0.113.9")
        .header("Forwarded", "for=203.0.113.9;host=evil.example")
        .header("X-Real-IP", "203.0.113.9")
        .header("X-Forwarded-Host", "evil.example")
        .header("X-Forwarded-Prefix", "/evil");
    for case in [&chain, &claims] {
        let answer = exchange(&target.host, &target.request(case)).await;
        assert_eq!(answer.status, 200, "{}: {}", case.name, answer.summary);
    }
    let all: Value = reqwest::get(format!("http://127.0.0.1:{}/__records", peer.port))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let forwarded = |case: &str| -> Value {
        let record = all["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|record| record["case"] == case)
            .unwrap_or_else(|| panic!("{case} did not reach the upstream: {all}"));
        record["forwarded"].clone()
    };
    let expected_host = Value::from(target.host.as_str());
    let seen = forwarded("trusted_chain");
    assert_eq!(
        seen["x-forwarded-for"], "192.0.2.7, 192.0.2.8, 127.0.0.1",
        "{seen}"
    );
    assert_eq!(seen["x-forwarded-host"], expected_host, "{seen}");
    let seen = forwarded("trusted_claims");
    assert_eq!(seen["x-forwarded-for"], "127.0.0.1", "{seen}");
    assert_eq!(seen["x-forwarded-host"], expected_host, "{seen}");
    for (name, value) in seen.as_object().unwrap() {
        let value = value.as_str().unwrap_or("");
        assert!(
            !checks::CLIENT_MARKERS
                .iter()
                .any(|marker| value.contains(marker)),
            "{name}: {value} was sent by the client"
        );
    }
}

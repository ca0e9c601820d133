//! The soak test `bench/soak.sh` runs: thousands of concurrent MCP calls for minutes, mixing
//! good and bad tokens of many users, each answer checked for its status *and its subject*.
//!
//! `soak server ADDR TOKENS_FILE [USERS]` serves an rmcp MCP server (stateless, JSON responses)
//! behind the bearer layer in JWT mode (scope `read` required, the tool `delete` also needs
//! `admin`), trusting an in-process test issuer discovered lazily as a deployment would. Its
//! tools answer with the caller's subject, as the layer verified it for this very request. It
//! writes a pool of probes to TOKENS_FILE, one a line, `category status error tool subject
//! token` (`-` for no error or no token), then prints `URL=...`. Each of USERS users (5000 by
//! default) has a valid token and one other probe, the categories taking turns:
//!
//! | category            | what is sent                         | answer                   |
//! |---------------------|--------------------------------------|--------------------------|
//! | `valid`             | scope `read`, `whoami`               | 200, the user's subject  |
//! | `admin_delete`      | scopes `read admin`, `delete`        | 200, `deleted by` it     |
//! | `refused_operation` | scope `read`, `delete`               | 403 `insufficient_scope` |
//! | `missing_scope`     | scope `write`, `whoami`              | 403 `insufficient_scope` |
//! | `expired`           | `exp` an hour ago (leeway: 60 s)     | 401 `invalid_token`      |
//! | `wrong_audience`    | `aud` another resource               | 401 `invalid_token`      |
//! | `unknown_kid`       | signed by a key not in the key set   | 401 `invalid_token`      |
//! | `forged_signature`  | its claims, another user's signature | 401 `invalid_token`      |
//! | `no_token`          | no `Authorization`                   | 401, no `error`          |
//!
//! `GET /soak/stats`, outside the layer, answers how often the issuer's metadata and key set
//! were fetched: `{"jwks_fetches": N, "metadata_fetches": M}`.
//!
//! `soak client URL TOKENS_FILE [SECONDS [CONCURRENCY]]` (60 s and 1000 by default) keeps
//! CONCURRENCY calls in flight for SECONDS, each with a probe drawn at random, and checks every
//! answer: the status, the `error` of the `WWW-Authenticate` challenge, the JSON-RPC `id`, and
//! for a 200 that the tool's text names the probe's user (an identity mix-up fails it). It
//! prints per category the calls, right and wrong answers, p50 and p99 latency, then up to 10
//! wrong answers, and exits non-zero if any answer was wrong.

use std::error::Error;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use jsonwebtoken::Algorithm;
use mcp_auth::operations::OperationRules;
use mcp_auth::testing::{TestIssuer, TestKey};
use mcp_auth::verify::JwtOptions;
use mcp_auth::{Auth, McpAuth, ProtectedResource};
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use serde_json::{Value, json};

/// The `kid` of the key that signs `unknown_kid` probes: the issuer never publishes it.
const UNPUBLISHED_KID: &str = "unpublished";

/// Wrong answers printed in full; the rest are only counted.
const EXAMPLES: usize = 10;

/// The probes each user has besides a valid token, taking turns user after user: category,
/// tool, expected status and `error`.
const OTHERS: [(&str, &str, u16, &str); 8] = [
    ("admin_delete", "delete", 200, "-"),
    ("refused_operation", "delete", 403, "insufficient_scope"),
    ("missing_scope", "whoami", 403, "insufficient_scope"),
    ("expired", "whoami", 401, "invalid_token"),
    ("wrong_audience", "whoami", 401, "invalid_token"),
    ("unknown_kid", "whoami", 401, "invalid_token"),
    ("forged_signature", "whoami", 401, "invalid_token"),
    ("no_token", "whoami", 401, "-"),
];

/// What `tool` answers to `subject`: the server's tools and the client's check share it.
fn answer(tool: &str, subject: &str) -> String {
    match tool {
        "delete" => format!("deleted by {subject}"),
        _ => subject.to_owned(),
    }
}

#[derive(Clone)]
struct Tools;

#[tool_router]
impl Tools {
    #[tool(description = "The caller's subject")]
    async fn whoami(&self, Auth(info): Auth) -> String {
        answer("whoami", info.subject.as_deref().unwrap_or("-"))
    }

    /// Runs only with the admin scope: the layer's per-tool rule checks it, not the tool.
    #[tool(description = "Pretends to delete, for callers holding the admin scope")]
    async fn delete(&self, Auth(info): Auth) -> String {
        answer("delete", info.subject.as_deref().unwrap_or("-"))
    }
}

#[tool_handler]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |index: usize| args.get(index).map(String::as_str);
    match (arg(0), arg(1), arg(2)) {
        (Some("server"), Some(addr), Some(tokens_file)) => {
            let users = arg(3).unwrap_or("5000").parse()?;
            server(addr, tokens_file, users).await
        }
        (Some("client"), Some(url), Some(tokens_file)) => {
            let seconds = arg(3).unwrap_or("60").parse()?;
            let concurrency = arg(4).unwrap_or("1000").parse()?;
            client(url, tokens_file, Duration::from_secs(seconds), concurrency).await
        }
        _ => Err("usage: soak server ADDR TOKENS_FILE [USERS] \
                  | soak client URL TOKENS_FILE [SECONDS [CONCURRENCY]]"
            .into()),
    }
}

async fn server(addr: &str, tokens_file: &str, users: usize) -> Result<(), Box<dyn Error>> {
    let issuer = Arc::new(TestIssuer::start().await?);
    issuer.add_key(TestKey::generate(Algorithm::RS256, UNPUBLISHED_KID)?, false);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let url = format!("http://{}/mcp", listener.local_addr()?);
    let mcp = StreamableHttpService::new(
        || Ok(Tools),
        LocalSessionManager::default().into(),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true),
    );
    let auth = McpAuth::builder()
        .protected_resource(ProtectedResource::new(&url).authorization_server(issuer.lazy_config()))
        .build()?;
    let bearer = auth
        .bearer()
        .required_scopes(["read"])
        .operations(OperationRules::new().tool("delete", ["admin"]))
        .jwt(JwtOptions::default())
        .build()?;
    let stats = Router::new()
        .route("/soak/stats", get(issuer_stats))
        .with_state(Arc::clone(&issuer));
    let app = bearer.mount(mcp).merge(auth.metadata_router()).merge(stats);

    let started = Instant::now();
    write_probes(&issuer, &url, users, File::create(tokens_file)?)?;
    eprintln!(
        "{} probes of {users} users written to {tokens_file} in {:.1} s",
        2 * users,
        started.elapsed().as_secs_f64()
    );
    println!("URL={url}");
    axum::serve(listener, app).await?;
    Ok(())
}

async fn issuer_stats(State(issuer): State<Arc<TestIssuer>>) -> axum::Json<Value> {
    axum::Json(json!({
        "jwks_fetches": issuer.jwks_fetches(),
        "metadata_fetches": issuer.metadata_fetches(),
    }))
}

/// Writes the probe pool: per user a valid token and one probe of the next category of
/// [`OTHERS`].
fn write_probes(
    issuer: &TestIssuer,
    resource: &str,
    users: usize,
    file: File,
) -> Result<(), Box<dyn Error>> {
    // Valid for the whole run, however long: only the `expired` probes may expire.
    let token = |subject: &str| {
        issuer
            .token()
            .audience(resource)
            .subject(subject)
            .scopes(["read"])
            .expires_in(24 * 3600)
    };
    let subject = |user: usize| format!("user-{user:05}");
    let valid: Vec<String> = (0..users)
        .map(|user| token(&subject(user)).sign())
        .collect::<Result<_, _>>()?;
    let mut lines = BufWriter::new(file);
    for (user, valid_token) in valid.iter().enumerate() {
        let subject = subject(user);
        let (category, tool, status, error) = OTHERS[user % OTHERS.len()];
        let other = match category {
            "admin_delete" => token(&subject).scopes(["read", "admin"]).sign()?,
            "refused_operation" => valid_token.clone(),
            "missing_scope" => token(&subject).scopes(["write"]).sign()?,
            "expired" => token(&subject).expires_in(-3600).sign()?,
            "wrong_audience" => token(&subject)
                .audience("http://127.0.0.1/another-resource")
                .sign()?,
            "unknown_kid" => token(&subject).key(UNPUBLISHED_KID).sign()?,
            "forged_signature" => forged(valid_token, &valid[(user + 1) % users])?,
            _ => "-".to_owned(),
        };
        writeln!(lines, "valid 200 - whoami {subject} {valid_token}")?;
        writeln!(
            lines,
            "{category} {status} {error} {tool} {subject} {other}"
        )?;
    }
    lines.flush()?;
    Ok(())
}

/// `token`'s header and claims under the signature of `other`: well formed, signed by a
/// published key, but not over these claims.
fn forged(token: &str, other: &str) -> Result<String, Box<dyn Error>> {
    let claims_end = token.rfind('.').ok_or("a JWT has three parts")?;
    let signature_start = other.rfind('.').ok_or("a JWT has three parts")?;
    Ok(format!(
        "{}{}",
        &token[..claims_end],
        &other[signature_start..]
    ))
}

/// One line of the tokens file.
struct Probe {
    category: usize,
    status: u16,
    /// The `error` of the challenge; `None` for a 200 or a refusal without one.
    error: Option<String>,
    tool: String,
    subject: String,
    token: Option<String>,
}

/// The tally of one category.
#[derive(Default)]
struct Tally {
    right: u64,
    wrong: u64,
    /// Latency of each call, in microseconds.
    latencies: Vec<u32>,
    examples: Vec<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.right += other.right;
        self.wrong += other.wrong;
        self.latencies.extend(other.latencies);
        let room = EXAMPLES.saturating_sub(self.examples.len());
        self.examples.extend(other.examples.into_iter().take(room));
    }
}

async fn client(
    url: &str,
    tokens_file: &str,
    duration: Duration,
    concurrency: usize,
) -> Result<(), Box<dyn Error>> {
    let (categories, probes) = read_probes(&std::fs::read_to_string(tokens_file)?)?;
    let probes = Arc::new(probes);
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (http, url, probes) = (http.clone(), url.to_owned(), Arc::clone(&probes));
            let categories = categories.len();
            tokio::spawn(async move {
                let mut tallies: Vec<Tally> = (0..categories).map(|_| Tally::default()).collect();
                // xorshift64: a seed per worker, never 0.
                let mut random = 0x9E37_79B9_7F4A_7C15_u64 ^ (worker as u64 + 1);
                let mut id = (worker as u64) << 40;
                while Instant::now() < deadline {
                    random ^= random << 13;
                    random ^= random >> 7;
                    random ^= random << 17;
                    id += 1;
                    let probe = &probes[(random % probes.len() as u64) as usize];
                    let sent = Instant::now();
                    let verdict = call(&http, &url, probe, id).await;
                    let micros = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
                    let tally = &mut tallies[probe.category];
                    tally.latencies.push(micros);
                    match verdict {
                        Ok(()) => tally.right += 1,
                        Err(wrong) => {
                            tally.wrong += 1;
                            if tally.examples.len() < EXAMPLES {
                                tally
                                    .examples
                                    .push(format!("{} as {}: {wrong}", probe.tool, probe.subject));
                            }
                        }
                    }
                }
                tallies
            })
        })
        .collect();
    let mut totals: Vec<Tally> = (0..categories.len()).map(|_| Tally::default()).collect();
    for worker in workers {
        for (total, tally) in totals.iter_mut().zip(worker.await?) {
            total.merge(tally);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    report(&categories, &mut totals, elapsed, concurrency)
}

/// The probes of a tokens file, and the names of their categories in order of appearance.
fn read_probes(text: &str) -> Result<(Vec<String>, Vec<Probe>), Box<dyn Error>> {
    let mut categories: Vec<String> = Vec::new();
    let mut probes = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let [category, status, error, tool, subject, token] = fields[..] else {
            return Err(format!(
                "tokens file line {line:?}: expected `category status error tool subject token`"
            )
            .into());
        };
        let index = match categories.iter().position(|known| known == category) {
            Some(index) => index,
            None => {
                categories.push(category.to_owned());
                categories.len() - 1
            }
        };
        let dash = |field: &str| (field != "-").then(|| field.to_owned());
        probes.push(Probe {
            category: index,
            status: status.parse()?,
            error: dash(error),
            tool: tool.to_owned(),
            subject: subject.to_owned(),
            token: dash(token),
        });
    }
    if probes.is_empty() {
        return Err("the tokens file has no probes".into());
    }
    Ok((categories, probes))
}

/// One `tools/call` of `probe`, and whether its answer is the expected one (else why not).
async fn call(http: &reqwest::Client, url: &str, probe: &Probe, id: u64) -> Result<(), String> {
    let body = json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "tools/call",
        "params": {"name": probe.tool, "arguments": {}},
    });
    let mut request = http
        .post(url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", "2025-11-25")
        .body(body.to_string());
    if let Some(token) = &probe.token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|err| format!("request failed: {err}"))?;
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("WWW-Authenticate")
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let body = response
        .bytes()
        .await
        .map_err(|err| format!("reading the body failed: {err}"))?;
    if status != probe.status {
        return Err(format!(
            "status {status}, expected {}: {}",
            probe.status,
            String::from_utf8_lossy(&body)
        ));
    }
    if status != 200 {
        let error = challenge
            .as_deref()
            .ok_or("a refusal without a WWW-Authenticate challenge")?
            .split("error=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next());
        if error != probe.error.as_deref() {
            return Err(format!(
                "challenge error {error:?}, expected {:?}",
                probe.error
            ));
        }
        return Ok(());
    }
    let reply: Value =
        serde_json::from_slice(&body).map_err(|err| format!("the body is not JSON: {err}"))?;
    let text = reply
        .pointer("/result/content/0/text")
        .and_then(Value::as_str);
    let expected = answer(&probe.tool, &probe.subject);
    if reply["id"] != json!(id) || text != Some(&expected) {
        return Err(format!(
            "answer {reply}, expected id {id} and text {expected:?}"
        ));
    }
    Ok(())
}

/// Prints the table and the wrong answers; an error if there were any.
fn report(
    categories: &[String],
    totals: &mut [Tally],
    elapsed: f64,
    concurrency: usize,
) -> Result<(), Box<dyn Error>> {
    let percentile = |sorted: &[u32], p: usize| sorted.get(sorted.len() * p / 100).copied();
    let calls: u64 = totals.iter().map(|t| t.right + t.wrong).sum();
    let wrong: u64 = totals.iter().map(|t| t.wrong).sum();
    println!(
        "{calls} calls in {elapsed:.1} s, {concurrency} in flight: {:.0} calls/s",
        calls as f64 / elapsed
    );
    println!(
        "{:<20}{:>10}{:>10}{:>8}{:>10}{:>10}",
        "category", "calls", "right", "wrong", "p50 µs", "p99 µs"
    );
    let mut all = Vec::new();
    for (name, tally) in categories.iter().zip(totals.iter_mut()) {
        tally.latencies.sort_unstable();
        all.extend_from_slice(&tally.latencies);
        println!(
            "{name:<20}{:>10}{:>10}{:>8}{:>10}{:>10}",
            tally.right + tally.wrong,
            tally.right,
            tally.wrong,
            percentile(&tally.latencies, 50).unwrap_or(0),
            percentile(&tally.latencies, 99).unwrap_or(0),
        );
    }
    all.sort_unstable();
    println!(
        "{:<20}{calls:>10}{:>10}{wrong:>8}{:>10}{:>10}",
        "all",
        calls - wrong,
        percentile(&all, 50).unwrap_or(0),
        percentile(&all, 99).unwrap_or(0),
    );
    // The first wrong answer of each category, then the second..., so that every kind shows.
    let examples = (0..EXAMPLES).flat_map(|nth| {
        categories
            .iter()
            .zip(totals.iter())
            .filter_map(move |(name, tally)| Some((name, tally.examples.get(nth)?)))
    });
    for (name, example) in examples.take(EXAMPLES) {
        println!("WRONG {name}: {example}");
    }
    if wrong > 0 {
        return Err(format!("{wrong} of {calls} answers were wrong").into());
    }
    Ok(())
}

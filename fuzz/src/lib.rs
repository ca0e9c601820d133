//! What the fuzz targets share: a resource protected by the bearer layer in JWT mode, trusting a
//! real test issuer on 127.0.0.1, called in process; a strict parser of the challenges it
//! answers with; and a JSON reading that keeps repeated object members, so that a target can ask
//! what *any* JSON parser (first or last member wins) would read.
//!
//! Every check here is an oracle: a panic is a finding.

use std::collections::HashSet;
use std::sync::OnceLock;

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, Request};
use axum::routing::any;
use http_body_util::BodyExt;
use mcp_auth::operations::OperationRules;
use mcp_auth::testing::{TestIssuer, TestKey};
use mcp_auth::{Auth, McpAuth, ProtectedResource};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use tower::ServiceExt;

/// The protected resource: nothing listens there, the layer is called in process.
pub const RESOURCE: &str = "http://127.0.0.1:1/mcp";
/// Its metadata URL, as every challenge must name it.
pub const METADATA: &str = "http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp";
/// The scope every request needs.
pub const BASE_SCOPE: &str = "read";
/// The tool that needs `admin` on top.
pub const GUARDED_TOOL: &str = "delete";
/// The leeway of the layer (its default), in seconds.
pub const LEEWAY: u64 = 60;
/// The subject of [`Harness::reader_token`].
pub const READER: &str = "fuzz-reader";

/// The layer in front of [`victim`], its issuer and a runtime to call it on.
pub struct Harness {
    runtime: Runtime,
    app: Router,
    /// The issuer whose keys the layer trusts.
    pub issuer: TestIssuer,
    /// The issuer's EdDSA key (signing with it is fast, so the JWT target runs fast).
    pub key: TestKey,
    /// A good token of [`READER`] with scope `read` only.
    pub reader_token: String,
}

/// What the layer answered.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The `WWW-Authenticate` parameters, parsed strictly, when there is one.
    pub challenge: Option<Vec<(String, String)>>,
    /// The body, as JSON.
    pub body: Value,
}

impl Answer {
    /// A challenge parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.challenge
            .as_ref()?
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

impl Harness {
    /// The one harness of this process (the issuer and runtime start once).
    pub fn get() -> &'static Harness {
        static HARNESS: OnceLock<Harness> = OnceLock::new();
        HARNESS.get_or_init(Harness::start)
    }

    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let issuer = runtime
            .block_on(TestIssuer::start())
            .expect("the test issuer");
        let auth = McpAuth::builder()
            .protected_resource(
                ProtectedResource::new(RESOURCE).authorization_server(issuer.inline_config()),
            )
            .build()
            .expect("the resource");
        let bearer = auth
            .bearer()
            .required_scopes([BASE_SCOPE])
            .show_error_details(true)
            .operations(OperationRules::new().tool(GUARDED_TOOL, ["admin"]))
            .build()
            .expect("the layer");
        let app = bearer.mount(any(victim));
        let key = issuer.key("eddsa").expect("the EdDSA key");
        let reader_token = issuer
            .token()
            .audience(RESOURCE)
            .subject(READER)
            .scopes([BASE_SCOPE])
            .expires_in(24 * 3600)
            .sign()
            .expect("a token");
        Self {
            runtime,
            app,
            issuer,
            key,
            reader_token,
        }
    }

    /// POSTs `body` to the resource with these headers (`Authorization` among them, or not).
    pub fn call(&self, headers: &[(&'static str, HeaderValue)], body: Vec<u8>) -> Answer {
        let mut request = Request::post(RESOURCE)
            .header(CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .expect("a request");
        for (name, value) in headers {
            request
                .headers_mut()
                .append(axum::http::HeaderName::from_static(name), value.clone());
        }
        self.runtime.block_on(async {
            let response = self.app.clone().oneshot(request).await.expect("infallible");
            let status = response.status().as_u16();
            let challenge = response
                .headers()
                .get(WWW_AUTHENTICATE)
                .map(|value| parse_challenge(value.as_bytes()));
            let challenge = match challenge {
                Some(Ok(params)) => Some(params),
                Some(Err(why)) => panic!("a challenge no strict parser takes: {why}"),
                None => None,
            };
            let bytes = response
                .into_body()
                .collect()
                .await
                .expect("the body")
                .to_bytes();
            let body = serde_json::from_slice(&bytes).expect("every answer is JSON");
            Answer {
                status,
                challenge,
                body,
            }
        })
    }

    /// [`call`](Self::call) with `Authorization: Bearer token` and a call of the tool `whoami`.
    pub fn call_with_token(&self, token: &str) -> Answer {
        let authorization = HeaderValue::from_str(&format!("Bearer {token}"));
        let headers: Vec<(&'static str, HeaderValue)> = authorization
            .into_iter()
            .map(|value| ("authorization", value))
            .collect();
        self.call(&headers, whoami())
    }
}

/// A call of the tool `whoami`, which needs only the base scope.
pub fn whoami() -> Vec<u8> {
    json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": "whoami" } })
        .to_string()
        .into_bytes()
}

/// The protected handler, and the victim of any mistake of the layer: it reads the body as an
/// MCP server would and panics when a caller without `admin` got a call of the guarded tool
/// through, however a JSON parser reads the body. It answers the caller's identity.
async fn victim(Auth(info): Auth, body: Bytes) -> Json<Value> {
    let forbidden = called_tools(&body).contains(GUARDED_TOOL);
    if forbidden && !info.scopes.iter().any(|scope| scope == "admin") {
        panic!(
            "a call of {GUARDED_TOOL} passed with scopes {:?}: {}",
            info.scopes,
            String::from_utf8_lossy(&body)
        );
    }
    Json(json!({ "subject": info.subject, "scopes": info.scopes, "issuer": info.issuer }))
}

/// Every tool name some JSON parser could read as called by this body (a message or a batch):
/// with repeated members, first-wins and last-wins readings are both counted.
pub fn called_tools(body: &[u8]) -> HashSet<String> {
    let mut tools = HashSet::new();
    let Ok(json) = serde_json::from_slice::<Members>(body) else {
        return tools;
    };
    let messages = match &json {
        Members::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for message in messages {
        let calls = message
            .members("method")
            .any(|m| m.as_str() == Some("tools/call"));
        if !calls {
            continue;
        }
        for params in message.members("params") {
            for name in params.members("name") {
                if let Some(name) = name.as_str() {
                    tools.insert(name.to_owned());
                }
            }
        }
    }
    tools
}

/// Every tool name a server decoding as Go's `encoding/json` does (before go-sdk 1.3.1, and
/// .NET or Jackson in their case-insensitive modes) reads as called by this body: member names
/// match field names without regard to case (`ſ` and the Kelvin sign folding to `s` and `k`),
/// and of several members that match one field, the last wins.
pub fn case_insensitive_calls(body: &[u8]) -> Vec<String> {
    let Ok(json) = serde_json::from_slice::<Members>(body) else {
        return Vec::new();
    };
    let messages = match &json {
        Members::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    messages
        .into_iter()
        .filter(|message| {
            message.field_ignoring_case("method").and_then(Members::as_str) == Some("tools/call")
        })
        .filter_map(|message| message.field_ignoring_case("params"))
        .filter_map(|params| params.field_ignoring_case("name"))
        .filter_map(|name| name.as_str().map(str::to_owned))
        .collect()
}

/// `name` folded as lenient servers compare names: upper-cased, then lower-cased.
pub fn fold(name: &str) -> String {
    name.chars()
        .flat_map(char::to_uppercase)
        .flat_map(char::to_lowercase)
        .collect()
}

/// JSON whose objects keep every member in order, repeated ones included (`serde_json::Value`
/// keeps the last).
#[derive(Debug)]
pub enum Members {
    /// An object's members, as written.
    Object(Vec<(String, Members)>),
    /// An array.
    Array(Vec<Members>),
    /// A string.
    String(String),
    /// Anything else (number, boolean, null).
    Scalar,
}

impl Members {
    /// Every value of member `name` (several when repeated).
    pub fn members<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Members> + 'a {
        let members: &[(String, Members)] = match self {
            Self::Object(members) => members,
            _ => &[],
        };
        members
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// The field `name` as a case-insensitive, last-wins decoder sets it: the value of the last
    /// member whose name folds to `name`.
    pub fn field_ignoring_case(&self, name: &str) -> Option<&Members> {
        let Self::Object(members) = self else {
            return None;
        };
        let wanted = fold(name);
        members
            .iter()
            .rev()
            .find(|(key, _)| fold(key) == wanted)
            .map(|(_, value)| value)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(text) => Some(text),
            _ => None,
        }
    }

    /// Whether an object repeats a member, at the top level.
    pub fn repeats_a_member(&self) -> bool {
        let Self::Object(members) = self else {
            return false;
        };
        let mut seen = HashSet::new();
        members.iter().any(|(key, _)| !seen.insert(key))
    }
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AnyJson;
        impl<'de> Visitor<'de> for AnyJson {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Members, E> {
                Ok(Members::Scalar)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Members, E> {
                Ok(Members::Scalar)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Members, E> {
                Ok(Members::Scalar)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Members, E> {
                Ok(Members::Scalar)
            }
            fn visit_unit<E>(self) -> Result<Members, E> {
                Ok(Members::Scalar)
            }
            fn visit_str<E>(self, text: &str) -> Result<Members, E> {
                Ok(Members::String(text.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Members, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Members::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Members::Object(members))
            }
        }
        deserializer.deserialize_any(AnyJson)
    }
}

/// The parameters of a `WWW-Authenticate` value holding one `Bearer` challenge, parsed by the
/// book: RFC 7235 §2.1 (`auth-param` = `token "=" quoted-string` here, separated by `", "`),
/// RFC 6750 §3 (values of `error`, `error_description` and `scope` inside `%x20-21 / %x23-5B /
/// %x5D-7E`, no escapes; `error` one of three codes; `scope` space-separated scope tokens) and
/// RFC 9728 §5.1 (`resource_metadata` present). Any deviation is an error.
pub fn parse_challenge(value: &[u8]) -> Result<Vec<(String, String)>, String> {
    let text = std::str::from_utf8(value).map_err(|_| "not UTF-8".to_owned())?;
    let rest = text
        .strip_prefix("Bearer ")
        .ok_or_else(|| format!("not one Bearer challenge: {text:?}"))?;
    let mut params: Vec<(String, String)> = Vec::new();
    let mut rest = rest;
    loop {
        let (name, after) = rest
            .split_once("=\"")
            .ok_or_else(|| format!("a parameter without a quoted value: {rest:?}"))?;
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(format!("a parameter name that is not a token: {name:?}"));
        }
        let end = after
            .find('"')
            .ok_or_else(|| format!("an unterminated quoted value: {after:?}"))?;
        let value = &after[..end];
        if !value.bytes().all(is_quoted_value_char) {
            return Err(format!("a value outside RFC 6750's set: {value:?}"));
        }
        if params.iter().any(|(known, _)| known == name) {
            return Err(format!("a repeated parameter: {name}"));
        }
        params.push((name.to_owned(), value.to_owned()));
        rest = &after[end + 1..];
        if rest.is_empty() {
            break;
        }
        rest = rest
            .strip_prefix(", ")
            .ok_or_else(|| format!("parameters not separated by \", \": {rest:?}"))?;
    }
    let get = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, v)| v);
    if let Some(error) = get("error")
        && !["invalid_request", "invalid_token", "insufficient_scope"].contains(&error.as_str())
    {
        return Err(format!("an error code RFC 6750 does not define: {error}"));
    }
    if let Some(scope) = get("scope")
        && !scope
            .split(' ')
            .all(|token| !token.is_empty() && token.bytes().all(is_scope_char))
    {
        return Err(format!(
            "a scope that is not RFC 6749 scope tokens: {scope:?}"
        ));
    }
    if get("resource_metadata").is_none() {
        return Err("no resource_metadata".to_owned());
    }
    Ok(params)
}

/// RFC 7230 `tchar`.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// RFC 6750 §3: `%x20-21 / %x23-5B / %x5D-7E`.
fn is_quoted_value_char(byte: u8) -> bool {
    matches!(byte, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// RFC 6749 §3.3 `scope-token` characters.
fn is_scope_char(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// The current Unix time, in seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Every refusal carries the challenge its status calls for: 401 without `error` (no
/// credentials) or with `invalid_token`, 400 `invalid_request`, 403 `insufficient_scope`, each
/// naming this resource's metadata; 503 without a challenge. Nothing else is answered.
pub fn check_refusal(answer: &Answer) {
    let error = answer.param("error");
    match answer.status {
        200 => {}
        401 => assert!(matches!(error, None | Some("invalid_token")), "{answer:?}"),
        400 => assert_eq!(error, Some("invalid_request"), "{answer:?}"),
        403 => assert_eq!(error, Some("insufficient_scope"), "{answer:?}"),
        503 => assert!(answer.challenge.is_none(), "{answer:?}"),
        _ => panic!("an unexpected status: {answer:?}"),
    }
    if answer.challenge.is_some() {
        assert_eq!(
            answer.param("resource_metadata"),
            Some(METADATA),
            "{answer:?}"
        );
    }
}

//! What the bearer layer costs per request, against what it must cost: one `jsonwebtoken`
//! signature check per algorithm (the floor for a token seen for the first time).
//!
//! `cargo bench -p mcp-auth --features testing,metrics --bench bearer`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::hint::black_box;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use http_body_util::{Empty, Full};
use jsonwebtoken::{DecodingKey, Validation};
use mcp_auth::bearer::RequestBody;
use mcp_auth::discovery::Tenants;
use mcp_auth::dpop::{DpopOptions, MemoryReplayStore};
use mcp_auth::operations::OperationRules;
use mcp_auth::policy::AuthZen;
use mcp_auth::provider::Provider;
use mcp_auth::testing::{DpopKey, ENTRA_TENANT, Profile, TestClient, TestIssuer};
use mcp_auth::verify::{ApiKey, ApiKeys, IntrospectionOptions, JwtOptions};
use mcp_auth::{McpAuth, ProtectedResource};
use tokio::runtime::Runtime;
use tower::{Service, ServiceBuilder, ServiceExt};

const RESOURCE: &str = "http://127.0.0.1:1/mcp";
const ALGORITHMS: [&str; 4] = ["rs256", "ps256", "es256", "eddsa"];

/// What a client sends: no body (these benches measure the token, not the body).
type Sent = Empty<Bytes>;

type Inner = tower::util::ServiceFn<
    fn(Request<RequestBody<Sent>>) -> std::future::Ready<Result<Response<()>, Infallible>>,
>;

fn ok(_: Request<RequestBody<Sent>>) -> std::future::Ready<Result<Response<()>, Infallible>> {
    std::future::ready(Ok(Response::new(())))
}

/// The layer around a service that answers at once, trusting `issuer` (inline metadata).
fn protected(issuer: &TestIssuer, options: JwtOptions) -> mcp_auth::bearer::BearerAuth<Inner> {
    protected_with(issuer, options, |bearer| bearer)
}

/// [`protected`], its settings passed through `configure` first.
fn protected_with(
    issuer: &TestIssuer,
    options: JwtOptions,
    configure: impl FnOnce(mcp_auth::bearer::BearerAuthBuilder) -> mcp_auth::bearer::BearerAuthBuilder,
) -> mcp_auth::bearer::BearerAuth<Inner> {
    let auth = McpAuth::builder()
        .protected_resource(
            ProtectedResource::new(RESOURCE).authorization_server(issuer.inline_config()),
        )
        .build()
        .unwrap();
    let bearer = configure(auth.bearer())
        .required_scopes(["read"])
        .jwt(options)
        .build()
        .unwrap();
    ServiceBuilder::new()
        .layer(bearer)
        .service(tower::service_fn(ok as fn(_) -> _))
}

/// The API key of [`mixed`].
const API_KEY: &str = "bench-api-key";

/// The layer with JWT mode, introspection at `issuer` and one API key.
fn mixed(issuer: &TestIssuer) -> mcp_auth::bearer::BearerAuth<Inner> {
    issuer.register_client(TestClient {
        id: "bench".to_owned(),
        secret: "bench-secret".to_owned(),
        scopes: Vec::new(),
    });
    let auth = McpAuth::builder()
        .protected_resource(
            ProtectedResource::new(RESOURCE).authorization_server(issuer.inline_config()),
        )
        .build()
        .unwrap();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, API_KEY.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let bearer = auth
        .bearer()
        .required_scopes(["read"])
        .jwt(JwtOptions::default())
        .introspection(
            IntrospectionOptions::new("bench", "bench-secret")
                .endpoint(issuer.introspection_endpoint())
                .cache_ttl(std::time::Duration::from_secs(3600)),
        )
        .api_keys(ApiKeys::new().key(ApiKey::new(hex, "bench-bot").scopes(["read"])))
        .build()
        .unwrap();
    ServiceBuilder::new()
        .layer(bearer)
        .service(tower::service_fn(ok as fn(_) -> _))
}

fn request(token: Option<&str>) -> Request<Sent> {
    let mut builder = Request::post(RESOURCE);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder.body(Empty::new()).unwrap()
}

async fn call(service: &mut mcp_auth::bearer::BearerAuth<Inner>, token: Option<&str>) -> u16 {
    let response = service
        .ready()
        .await
        .unwrap()
        .call(request(token))
        .await
        .unwrap();
    response.status().as_u16()
}

fn benches(c: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let issuer = runtime.block_on(TestIssuer::start()).unwrap();
    let token = |kid: &str| {
        issuer
            .token()
            .key(kid)
            .audience(RESOURCE)
            .scopes(["read"])
            .expires_in(3600)
            .sign()
            .unwrap()
    };
    let mut uncached = protected(&issuer, JwtOptions::default().verified_token_cache_bytes(0));
    let mut cached = protected(&issuer, JwtOptions::default());

    // The floor: jsonwebtoken alone, key already parsed.
    let mut group = c.benchmark_group("jsonwebtoken_decode");
    for kid in ALGORITHMS {
        let token = token(kid);
        let key = DecodingKey::from_jwk(&issuer.key(kid).unwrap().jwk).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&[RESOURCE]);
        group.bench_function(BenchmarkId::from_parameter(kid), |b| {
            b.iter(|| {
                jsonwebtoken::decode::<serde_json::Value>(black_box(&token), &key, &validation)
                    .unwrap()
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("layer_first_seen");
    for kid in ALGORITHMS {
        let token = token(kid);
        assert_eq!(runtime.block_on(call(&mut uncached, Some(&token))), 200);
        group.bench_function(BenchmarkId::from_parameter(kid), |b| {
            b.to_async(&runtime).iter(|| {
                let mut service = uncached.clone();
                let token = token.clone();
                async move { assert_eq!(call(&mut service, Some(&token)).await, 200) }
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("layer");
    let rs256 = token("rs256");
    assert_eq!(runtime.block_on(call(&mut cached, Some(&rs256))), 200);
    let mut forged = rs256.clone();
    forged.replace_range(forged.len() - 8.., "AAAAAAAA");
    let cases: [(&str, Option<&str>, u16); 3] = [
        ("good_token_seen_before", Some(&rs256), 200),
        ("no_token", None, 401),
        ("bad_signature", Some(&forged), 401),
    ];
    for (name, token, status) in cases {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| {
                let mut service = cached.clone();
                async move { assert_eq!(call(&mut service, token).await, status) }
            })
        });
    }
    group.finish();

    // A remembered token of a provider's shape against a remembered plain JWT: Entra ID
    // multi-tenant (the issuer template, the tenant's `tid`), Cognito (no `aud`: the client
    // stands for it), both with roles read.
    let mut group = c.benchmark_group("providers");
    let entra = runtime.block_on(entra_layer());
    let cognito = protected_with(&issuer, JwtOptions::default(), |bearer| {
        bearer
            .allowed_client_ids(["cognito-app"])
            .roles_claim("cognito:groups")
    });
    let cognito_token = issuer
        .token()
        .client_id("cognito-app")
        .claim("token_use", serde_json::json!("access"))
        .claim("cognito:groups", serde_json::json!(["admins"]))
        .scopes(["read"])
        .expires_in(3600)
        .sign()
        .unwrap();
    // The digest of a remembered token grows with its length: a plain JWT as long as Entra's
    // tells the provider's own cost from its tokens' size.
    let padding = (entra.1.len().saturating_sub(rs256.len())) * 3 / 4;
    let entra_sized = issuer
        .token()
        .audience(RESOURCE)
        .scopes(["read"])
        .claim("pad", serde_json::json!("x".repeat(padding)))
        .expires_in(3600)
        .sign()
        .unwrap();
    let cases = [
        ("jwt_seen_before", cached.clone(), rs256.clone()),
        ("jwt_entra_sized_seen_before", cached.clone(), entra_sized),
        ("entra_seen_before", entra.0.clone(), entra.1.clone()),
        ("cognito_seen_before", cognito.clone(), cognito_token),
    ];
    for (name, mut service, token) in cases {
        assert_eq!(
            runtime.block_on(call(&mut service, Some(&token))),
            200,
            "{name}"
        );
        let token = token.as_str();
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| {
                let mut service = service.clone();
                async move { assert_eq!(call(&mut service, Some(token)).await, 200) }
            })
        });
    }
    group.finish();

    // A repeated opaque token (an introspection answer in the store) and an API key, against a
    // repeated JWT, all through one layer running the three verifiers.
    let mut group = c.benchmark_group("opaque");
    let mut mixed = mixed(&issuer);
    let opaque = issuer
        .token()
        .audience(RESOURCE)
        .scopes(["read"])
        .expires_in(3600)
        .opaque()
        .unwrap();
    let cases: [(&str, &str); 3] = [
        ("jwt_seen_before", &rs256),
        ("opaque_seen_before", &opaque),
        ("api_key", API_KEY),
    ];
    for (name, token) in cases {
        assert_eq!(runtime.block_on(call(&mut mixed, Some(token))), 200);
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| {
                let mut service = mixed.clone();
                async move { assert_eq!(call(&mut service, Some(token)).await, 200) }
            })
        });
    }
    group.finish();

    // Per-operation rules: a `tools/call` of a public tool with a token seen before, the body
    // read and parsed to find the tool, against the same request without rules.
    let mut group = c.benchmark_group("operations");
    let body = Bytes::from(
        r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"README.md"}}}"#,
    );
    let rules = OperationRules::new().tool("delete_repo", ["admin"]);
    // A CEL rule on the tool called, reading the caller; then one reading the arguments.
    let cel_rule = rules
        .clone()
        .tool_rule("read_file", r#""read" in auth.scopes"#);
    let argument_rule = rules
        .clone()
        .tool_rule("read_file", r#"mcp.arguments.path.startsWith("README")"#);
    for (name, rules) in [
        ("no_rules", None),
        ("one_tool_rule", Some(rules.clone())),
        ("one_cel_rule", Some(cel_rule)),
        ("one_argument_rule", Some(argument_rule)),
    ] {
        let service = with_body(&issuer, rules, None);
        let call = || call_with_body(service.clone(), rs256.clone(), body.clone());
        assert_eq!(runtime.block_on(call()), 200);
        group.bench_function(name, |b| {
            b.to_async(&runtime)
                .iter(|| async { assert_eq!(call().await, 200) })
        });
    }
    // The same call decided by an AuthZEN decision point whose answer is kept (the PDP, a
    // loopback stub, is asked once).
    let pdp = runtime.block_on(authzen_stub());
    let decided = with_body(&issuer, Some(rules), Some(pdp));
    let decided_call = || call_with_body(decided.clone(), rs256.clone(), body.clone());
    assert_eq!(runtime.block_on(decided_call()), 200);
    group.bench_function("cached_decision", |b| {
        b.to_async(&runtime)
            .iter(|| async { assert_eq!(decided_call().await, 200) })
    });
    group.finish();

    // What observing costs a token seen before: the layer with nobody listening, then with a
    // tracing subscriber at the default level (INFO) and a metrics recorder installed, then
    // with an audit hook writing each event as JSON too. Last, since the recorder stays.
    let mut group = c.benchmark_group("observed");
    let quiet = protected(&issuer, JwtOptions::default());
    let audited = protected_with(&issuer, JwtOptions::default(), |bearer| {
        bearer.audit(|event| {
            let mut sink = std::io::sink();
            serde_json::to_writer(&mut sink, event).unwrap();
        })
    });
    let bench = |group: &mut criterion::BenchmarkGroup<'_, _>,
                 name,
                 service: &mcp_auth::bearer::BearerAuth<Inner>| {
        let mut warm = service.clone();
        assert_eq!(runtime.block_on(call(&mut warm, Some(&rs256))), 200);
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| {
                let mut service = service.clone();
                let token = rs256.as_str();
                async move { assert_eq!(call(&mut service, Some(token)).await, 200) }
            })
        });
    };
    bench(&mut group, "quiet", &quiet);
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::sink)
        .finish();
    let _traced = tracing::subscriber::set_default(subscriber);
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .unwrap();
    bench(&mut group, "tracing_and_metrics", &quiet);
    bench(&mut group, "tracing_metrics_and_audit", &audited);
    group.finish();
    drop(_traced);

    // DPoP: a remembered bound token with a fresh ES256 proof (its signature checked, its jti
    // recorded) against a remembered Bearer token, through one layer that takes both.
    let mut group = c.benchmark_group("dpop");
    let dpop = dpop_layer(&issuer);
    let key = DpopKey::fixture().unwrap();
    let bound = issuer
        .token()
        .audience(RESOURCE)
        .scopes(["read"])
        .dpop_bound(&key)
        .sign()
        .unwrap();
    let proved = |proof: String| {
        let mut service = dpop.clone();
        let bound = bound.clone();
        async move {
            let request = Request::post(RESOURCE)
                .header("authorization", format!("DPoP {bound}"))
                .header("dpop", proof)
                .body(Empty::new())
                .unwrap();
            let response = service.ready().await.unwrap().call(request).await.unwrap();
            assert_eq!(response.status(), 200);
        }
    };
    let fresh = || key.proof("POST", RESOURCE, &bound).unwrap();
    runtime.block_on(proved(fresh()));
    let mut bearer = dpop.clone();
    assert_eq!(runtime.block_on(call(&mut bearer, Some(&rs256))), 200);
    group.bench_function("bearer_seen_before", |b| {
        b.to_async(&runtime).iter(|| {
            let mut service = dpop.clone();
            let token = rs256.as_str();
            async move { assert_eq!(call(&mut service, Some(token)).await, 200) }
        })
    });
    group.bench_function("dpop_seen_before_fresh_proof", |b| {
        b.to_async(&runtime)
            .iter_batched(fresh, proved, criterion::BatchSize::SmallInput)
    });
    group.finish();
}

/// A layer taking Bearer and DPoP tokens, remembering up to a million proofs, all of one key
/// (a bench sends more in a minute than the default store holds, or keeps for one key).
fn dpop_layer(issuer: &TestIssuer) -> mcp_auth::bearer::BearerAuth<Inner> {
    let auth = McpAuth::builder()
        .protected_resource(
            ProtectedResource::new(RESOURCE)
                .authorization_server(issuer.inline_config())
                .dpop(
                    DpopOptions::allowed()
                        .replay_store(MemoryReplayStore::new(1_000_000).max_per_key(1_000_000)),
                ),
        )
        .build()
        .unwrap();
    let bearer = auth.bearer().required_scopes(["read"]).build().unwrap();
    ServiceBuilder::new()
        .layer(bearer)
        .service(tower::service_fn(ok as fn(_) -> _))
}

type WithBody = mcp_auth::bearer::BearerAuth<
    tower::util::ServiceFn<
        fn(
            Request<RequestBody<Full<Bytes>>>,
        ) -> std::future::Ready<Result<Response<()>, Infallible>>,
    >,
>;

async fn call_with_body(mut service: WithBody, token: String, body: Bytes) -> u16 {
    let request = Request::post(RESOURCE)
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(body))
        .unwrap();
    let ready = service.ready().await.unwrap();
    ready.call(request).await.unwrap().status().as_u16()
}

fn ok_with_body(
    _: Request<RequestBody<Full<Bytes>>>,
) -> std::future::Ready<Result<Response<()>, Infallible>> {
    std::future::ready(Ok(Response::new(())))
}

/// An AuthZEN decision point on loopback allowing everything, and its client.
async fn authzen_stub() -> AuthZen {
    let app = axum::Router::new().route(
        "/access/v1/evaluation",
        axum::routing::post(|| async { axum::Json(serde_json::json!({ "decision": true })) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    AuthZen::builder(&url)
        .evaluation_endpoint(format!("{url}/access/v1/evaluation"))
        .evaluations_endpoint(format!("{url}/access/v1/evaluations"))
        .build()
        .unwrap()
}

/// The layer (JWT mode, verified-token cache on) with `rules` and `decision_point`, around a
/// service taking a body.
fn with_body(
    issuer: &TestIssuer,
    rules: Option<OperationRules>,
    decision_point: Option<AuthZen>,
) -> WithBody {
    let auth = McpAuth::builder()
        .protected_resource(
            ProtectedResource::new(RESOURCE).authorization_server(issuer.inline_config()),
        )
        .build()
        .unwrap();
    let mut bearer = auth.bearer().required_scopes(["read"]);
    if let Some(rules) = rules {
        bearer = bearer.operations(rules);
    }
    if let Some(decision_point) = decision_point {
        bearer = bearer.decision_point(decision_point);
    }
    ServiceBuilder::new()
        .layer(bearer.build().unwrap())
        .service(tower::service_fn(ok_with_body as fn(_) -> _))
}

/// An Entra ID-shaped multi-tenant issuer on loopback (the test issuer dressed as Entra ID's
/// `organizations` endpoint), its provider's layer, and a token of one of its tenants.
async fn entra_layer() -> (mcp_auth::bearer::BearerAuth<Inner>, String, TestIssuer) {
    let issuer = TestIssuer::start_as(Profile::Entra).await.unwrap();
    let provider =
        Provider::entra(Tenants::only([ENTRA_TENANT, "partner"])).at_host(issuer.origin());
    let auth = McpAuth::builder()
        .protected_resource(
            ProtectedResource::new(RESOURCE)
                .authorization_server(provider.authorization_server().unwrap()),
        )
        .build()
        .unwrap();
    let bearer = provider
        .configure(auth.bearer())
        .audience("entra-app")
        .required_scopes(["Tools.Call"])
        .build()
        .unwrap();
    let token = issuer
        .token_as(Profile::Entra)
        .audience("entra-app")
        .claim("roles", serde_json::json!(["Tools.Admin"]))
        .expires_in(3600)
        .sign()
        .unwrap();
    let service = ServiceBuilder::new()
        .layer(bearer)
        .service(tower::service_fn(ok as fn(_) -> _));
    (service, token, issuer)
}

criterion_group!(bearer, benches);
criterion_main!(bearer);

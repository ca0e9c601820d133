//! DPoP across replicas: two layers (two servers, as behind a load balancer) share a real Redis
//! server as their replay store. A proof accepted by one is refused by the other, and when Redis
//! is gone the answer is 503, never an accepted replay.
//!
//! Needs `redis-server` on the PATH (`scripts/test.sh` installs Debian's when missing), hence
//! `#[ignore]`: run with `--include-ignored`.
#![cfg(all(feature = "testing", feature = "redis"))]

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::routing::any;
use mcp_auth::dpop::{DpopOptions, RedisReplayStore};
use mcp_auth::testing::{DpopKey, TestIssuer};
use mcp_auth::{McpAuth, ProtectedResource};
use reqwest::StatusCode;
use tokio::net::TcpListener;

/// The public URL both replicas serve (clients reach them through a load balancer).
const PUBLIC: &str = "http://mcp.example.test/mcp";

/// A `redis-server` on a free loopback port, killed when dropped.
struct Redis {
    child: Child,
    url: String,
}

impl Redis {
    fn start() -> Self {
        let port = StdListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is needed (scripts/test.sh installs it)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Self {
                    child,
                    url: format!("redis://127.0.0.1:{port}/"),
                };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("redis-server did not start on port {port}");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One replica of the resource: its own layer and connection to Redis; returns its address.
async fn replica(issuer: &TestIssuer, redis: &str) -> String {
    let store = RedisReplayStore::connect(redis).await.unwrap();
    let auth = McpAuth::builder()
        .protected_resource(
            ProtectedResource::new(PUBLIC)
                .authorization_server(issuer.lazy_config())
                .dpop(DpopOptions::required().replay_store(store)),
        )
        .build()
        .unwrap();
    let app = auth
        .bearer()
        .show_error_details(true)
        .build()
        .unwrap()
        .mount(any(|| async { "ok" }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/mcp")
}

async fn post(url: &str, token: &str, proof: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", proof)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
#[ignore = "needs redis-server: scripts/test.sh installs it"]
async fn a_proof_accepted_by_one_replica_is_refused_by_another_and_no_redis_means_503() {
    let redis = Redis::start();
    let issuer = TestIssuer::start().await.unwrap();
    let first = replica(&issuer, &redis.url).await;
    let second = replica(&issuer, &redis.url).await;
    let key = DpopKey::generate().unwrap();
    let token = issuer
        .token()
        .audience(PUBLIC)
        .dpop_bound(&key)
        .sign()
        .unwrap();

    // The proof names the public URL, whichever replica the balancer picks.
    let proof = key.proof("POST", PUBLIC, &token).unwrap();
    assert_eq!(post(&first, &token, &proof).await.status(), StatusCode::OK);
    let replayed = post(&second, &token, &proof).await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    let challenge = replayed.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains(r#"error="invalid_dpop_proof""#),
        "{challenge}"
    );
    assert!(challenge.contains("used before"), "{challenge}");
    let fresh = key.proof("POST", PUBLIC, &token).unwrap();
    assert_eq!(post(&second, &token, &fresh).await.status(), StatusCode::OK);

    drop(redis);
    let unseen = key.proof("POST", PUBLIC, &token).unwrap();
    assert_eq!(
        post(&first, &token, &unseen).await.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "fail closed: no store, no proof accepted"
    );
}

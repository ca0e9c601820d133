//! The proxy's listener: the bearer layer in front of the forwarding service at the resource's
//! path, the public metadata, `GET /healthz`, and a graceful stop bounded by
//! `--shutdown-grace`.
//!
//! Request headers are bounded by hyper's HTTP/1 defaults (at most 100 headers, about 400 KB of
//! head; past them the connection gets 431 or is closed), bodies by `--max-request-bytes`.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::{any, get};
use tokio::sync::watch;

use axum::http::HeaderMap;

use super::args::ProxyArgs;
use super::forward::{self, Upstream, UpstreamSettings};
use super::gate::GateLayer;
use super::headers::IdentityHeaders;
use crate::Failure;
use crate::protection::Protection;
use crate::reload::Reload;
use crate::startup::{Setup, Started};

/// The proxy has no per-tool rules of its own: the upstream's tools get those of the flags
/// and the file, and no others.
const OWN_RULES: [(&str, &str); 0] = [];

/// Runs `mcp-auth proxy` until SIGTERM or Ctrl-C, then lets open requests finish within the
/// grace period; SIGHUP reloads the configuration file.
pub(crate) async fn run(args: ProxyArgs, reload: Reload) -> Result<(), Failure> {
    let reloader = reload.catch();
    let identity = args.identity_headers().map_err(Failure::Usage)?;
    let fixed = args.static_headers(&identity).map_err(Failure::Usage)?;
    let started = Started::start(&args.bind, &args.auth, &args.observe, &OWN_RULES).await?;
    let protection = &started.protection;
    let upstream = upstream(&args, protection, identity, fixed.clone())?;
    let forwarding = any(forward::forward).with_state(Arc::new(upstream));
    let endpoint = protection
        .bearer
        .mount(forwarding)
        .layer(GateLayer::new(&protection.bearer));
    let app = endpoint
        .merge(protection.auth.metadata_router())
        .route("/healthz", get(|| async { "ok" }));
    let app = started.with_legacy_mirror(&args.auth, app)?;

    let names: Vec<&str> = fixed.keys().map(|name| name.as_str()).collect();
    let upstream_headers = (!names.is_empty())
        .then(|| format!("upstream headers  {} (values hidden)", names.join(", ")));
    let mut head = args.config.banner();
    head.push(format!("upstream          {}", args.upstream));
    started.print_banner("proxy", &args.auth, &head, upstream_headers.as_slice());
    reloader.spawn(started.setup, &started.protection);

    let (stopping, stopped) = watch::channel(false);
    let signal = async move {
        crate::shutdown_signal().await;
        let _ = stopping.send(true);
    };
    tokio::select! {
        () = args.listener.serve(started.listener, app, signal) => Ok(()),
        () = grace_expired(stopped, args.shutdown_grace) => {
            tracing::warn!(
                grace_secs = args.shutdown_grace.as_secs_f64(),
                "requests still open after the shutdown grace period were cut"
            );
            Ok(())
        }
    }
}

/// The protection `args` make on `setup`, checked as [`run`] checks them: for a reload (the
/// upstream and its headers are the start's).
pub(crate) fn protection(args: &ProxyArgs, setup: &Setup) -> Result<Protection, Failure> {
    args.auth.protect(&OWN_RULES, setup)
}

/// Checks what [`run`] would before it listens, contacting nothing: for `check-config`.
pub(crate) fn check(args: &ProxyArgs) -> Result<(), Failure> {
    let identity = args.identity_headers().map_err(Failure::Usage)?;
    let fixed = args.static_headers(&identity).map_err(Failure::Usage)?;
    let protection = Started::check(&args.bind, &args.auth, &OWN_RULES)?;
    upstream(args, &protection, identity, fixed).map(|_| ())
}

/// The forwarding service's upstream, as the flags and the protection say.
fn upstream(
    args: &ProxyArgs,
    protection: &Protection,
    identity: IdentityHeaders,
    fixed: HeaderMap,
) -> Result<Upstream, Failure> {
    let upstream = Upstream::new(UpstreamSettings {
        url: args.upstream.clone(),
        resource: protection.bearer.resource_url().clone(),
        identity,
        fixed,
        allowed_hosts: protection.allowed_hosts.clone(),
        trusted_proxies: args.trusted_proxies(),
        max_request_bytes: args.max_request_bytes,
        connect_timeout: args.upstream_connect_timeout,
        response_timeout: args.upstream_response_timeout,
        h2c: args.upstream_h2c,
    })?;
    Ok(upstream)
}

/// Resolves `grace` after the stop signal; never before it.
async fn grace_expired(mut stopped: watch::Receiver<bool>, grace: Duration) {
    if stopped.wait_for(|stopped| *stopped).await.is_err() {
        // The signal's sender is gone without a signal: nothing to wait for.
        std::future::pending::<()>().await;
    }
    tracing::info!(
        grace_secs = grace.as_secs_f64(),
        "stopping: open requests may finish"
    );
    tokio::time::sleep(grace).await;
}

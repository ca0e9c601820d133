//! `--audit-log` and `--metrics-bind`, shared by `demo`, `serve` and `proxy`: the layer's audit
//! events as JSON lines in a file or on stdout, and its metrics as Prometheus text on a
//! listener of their own (never the public one).

use std::fs::OpenOptions;
use std::io::{LineWriter, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use clap::Args;
use mcp_auth::bearer::BearerAuthBuilder;
use mcp_auth::observe::AuditEvent;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::Failure;

/// Buckets of `mcp_auth_decision_seconds`: a remembered token takes microseconds, a first
/// verification with a key fetch up to the fetch timeout.
const DECISION_BUCKETS: [f64; 10] = [
    0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 1.0,
];

/// How often histograms are folded for rendering.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Flags for audit events and metrics.
#[derive(Debug, Args)]
pub(crate) struct ObserveArgs {
    /// Write one JSON audit event per authorization decision (who, what, allowed or why not;
    /// never a token) to this file, appended (created readable by its owner only), or to
    /// stdout with '-'.
    #[arg(long, env = "MCP_AUTH_AUDIT_LOG", value_name = "PATH|-")]
    audit_log: Option<PathBuf>,
    /// Serve Prometheus metrics at http://ADDR/metrics, on a listener of their own: keep it off
    /// the public network (127.0.0.1:9090, say).
    #[arg(long, env = "MCP_AUTH_METRICS_BIND", value_name = "ADDR")]
    metrics_bind: Option<SocketAddr>,
}

/// Where audit events go, one JSON line each, flushed per line.
type AuditSink = Arc<Mutex<LineWriter<Box<dyn Write + Send>>>>;

/// The audit sink (with its name for the banner) and metrics endpoint, once started.
pub(crate) struct Observing {
    audit: Option<(String, AuditSink)>,
    metrics_url: Option<String>,
}

impl Observing {
    /// Neither audit events nor metrics: for a check that starts nothing.
    pub(crate) fn none() -> Self {
        Self {
            audit: None,
            metrics_url: None,
        }
    }
}

impl ObserveArgs {
    /// Opens the audit log and starts the metrics listener, as the flags ask.
    pub(crate) async fn start(&self) -> Result<Observing, Failure> {
        let audit = match &self.audit_log {
            None => None,
            Some(path) if path.as_os_str() == "-" => {
                let out: Box<dyn Write + Send> = Box::new(std::io::stdout());
                Some(("stdout".to_owned(), out))
            }
            Some(path) => {
                let mut options = OpenOptions::new();
                options.create(true).append(true);
                // Who called what is nobody else's business: a new log is the owner's alone.
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let file = options.open(path).map_err(|err| {
                    format!("--audit-log {}: cannot open it: {err}", path.display())
                })?;
                let out: Box<dyn Write + Send> = Box::new(file);
                Some((path.display().to_string(), out))
            }
        };
        let metrics_url = match self.metrics_bind {
            None => None,
            Some(bind) => Some(serve_metrics(bind).await?),
        };
        Ok(Observing {
            audit: audit.map(|(name, out)| (name, Arc::new(Mutex::new(LineWriter::new(out))))),
            metrics_url,
        })
    }
}

impl Observing {
    /// The layer's settings with the audit hook, when there is an audit log.
    pub(crate) fn apply(&self, bearer: BearerAuthBuilder) -> BearerAuthBuilder {
        let Some((_, sink)) = &self.audit else {
            return bearer;
        };
        let sink = sink.clone();
        bearer.audit(move |event: &AuditEvent<'_>| {
            let written = serde_json::to_string(event)
                .map_err(|err| err.to_string())
                .and_then(|line| match sink.lock() {
                    Ok(mut out) => writeln!(out, "{line}").map_err(|err| err.to_string()),
                    Err(_) => Err("the audit log's lock is poisoned".to_owned()),
                });
            if let Err(error) = written {
                tracing::error!(%error, "an audit event could not be written");
            }
        })
    }

    /// The banner lines for the audit log and the metrics endpoint.
    pub(crate) fn print_summary(&self) {
        if let Some((name, _)) = &self.audit {
            println!("  audit log         {name} (one JSON event per decision)");
        }
        if let Some(url) = &self.metrics_url {
            println!("  metrics           {url}");
        }
    }
}

/// Installs the Prometheus recorder and serves `/metrics` on `bind`; returns its URL.
async fn serve_metrics(bind: SocketAddr) -> Result<String, Failure> {
    let listener = TcpListener::bind(bind)
        .await
        .map_err(|err| format!("--metrics-bind {bind}: cannot listen: {err}"))?;
    let bound = listener.local_addr().map_err(|err| err.to_string())?;
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("mcp_auth_decision_seconds".to_owned()),
            &DECISION_BUCKETS,
        )
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|err| format!("the metrics recorder could not be installed: {err}"))?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(UPKEEP_EVERY);
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    let app = Router::new().route("/metrics", get(move || render(handle.clone())));
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    Ok(format!("http://{bound}/metrics"))
}

async fn render(handle: PrometheusHandle) -> String {
    handle.render()
}

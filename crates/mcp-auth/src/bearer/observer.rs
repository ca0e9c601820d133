//! What a bearer layer does with each of its decisions: one span per request, one event at its
//! end, the metrics, and the audit hook (see [`observe`](crate::observe) for what each carries).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::ConnectInfo;
use http::{Extensions, HeaderMap, StatusCode};
use tracing::Level;

use super::challenge::Rejection;
use crate::auth_info::AuthInfo;
use crate::observe::{AuditEvent, AuditHook, Outcome, Reason, metrics};

const MCP_METHOD: &str = "mcp-method";
const MCP_NAME: &str = "mcp-name";

/// What a layer does with each of its decisions: trace, count, and hand to the audit hook.
#[derive(Clone)]
pub(crate) struct Observer {
    /// The protected resource's identifier, for audit events.
    pub(crate) resource: String,
    pub(crate) audit: Option<AuditHook>,
}

/// The request a decision is about, as far as observing it goes.
pub(crate) struct Seen<'a> {
    pub(crate) headers: &'a HeaderMap,
    pub(crate) extensions: &'a Extensions,
    /// When the layer started on it.
    pub(crate) started: Instant,
}

/// The span a request's decision runs in.
pub(crate) fn decision_span(headers: &HeaderMap) -> tracing::Span {
    tracing::info_span!(
        "mcp_auth.authorize",
        method = header(headers, MCP_METHOD),
        name = header(headers, MCP_NAME),
        kid = tracing::field::Empty,
    )
}

impl Observer {
    /// Records that `info` was let through.
    pub(crate) fn allowed(&self, request: &Seen<'_>, info: &AuthInfo) {
        self.decided(
            request,
            Outcome::Allowed,
            None,
            StatusCode::OK,
            Some(info),
            None,
        );
    }

    /// Records a refusal answered with `status`.
    pub(crate) fn refused(&self, request: &Seen<'_>, rejection: &Rejection, status: StatusCode) {
        let reason = rejection.reason();
        let outcome = match reason {
            Reason::IssuerUnavailable => Outcome::Unavailable,
            _ => Outcome::Refused,
        };
        self.decided(
            request,
            outcome,
            Some(reason),
            status,
            None,
            Some(rejection),
        );
    }

    fn decided(
        &self,
        request: &Seen<'_>,
        outcome: Outcome,
        reason: Option<Reason>,
        status: StatusCode,
        info: Option<&AuthInfo>,
        rejection: Option<&Rejection>,
    ) {
        let took = request.started.elapsed();
        metrics::decision(outcome, reason, took);
        let level = match outcome {
            Outcome::Allowed => Level::DEBUG,
            Outcome::Refused => Level::INFO,
            Outcome::Unavailable => Level::WARN,
        };
        let traced = match level {
            Level::DEBUG => tracing::enabled!(Level::DEBUG),
            Level::INFO => tracing::enabled!(Level::INFO),
            _ => tracing::enabled!(Level::WARN),
        };
        if !traced && self.audit.is_none() {
            return;
        }
        let event = AuditEvent {
            timestamp: SystemTime::now(),
            outcome,
            reason,
            status: status.as_u16(),
            resource: &self.resource,
            issuer: info.map(|info| info.issuer.as_str()),
            subject: info.and_then(|info| info.subject.as_deref()),
            client_id: info.and_then(|info| info.client_id.as_deref()),
            method: header(request.headers, MCP_METHOD),
            name: header(request.headers, MCP_NAME),
            remote_addr: remote_addr(request.extensions),
            duration_us: micros(took),
        };
        if traced {
            let detail = rejection.map(Rejection::detail);
            trace(level, &event, detail.as_deref());
        }
        if let Some(audit) = &self.audit {
            audit(&event);
        }
    }
}

/// The `authorization decided` event.
fn trace(level: Level, event: &AuditEvent<'_>, detail: Option<&str>) {
    macro_rules! decided {
        ($level:expr) => {
            tracing::event!(
                $level,
                outcome = event.outcome.as_str(),
                reason = event.reason.map(Reason::as_str),
                status = event.status,
                issuer = event.issuer,
                subject = event.subject,
                client_id = event.client_id,
                remote_addr = event.remote_addr.map(tracing::field::display),
                duration_us = event.duration_us,
                detail,
                "authorization decided"
            )
        };
    }
    match level {
        Level::DEBUG => decided!(Level::DEBUG),
        Level::INFO => decided!(Level::INFO),
        _ => decided!(Level::WARN),
    }
}

/// A header's value when it is text.
fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The client's address, when the server records it (axum's `ConnectInfo`).
fn remote_addr(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
}

fn micros(took: Duration) -> u64 {
    u64::try_from(took.as_micros()).unwrap_or(u64::MAX)
}

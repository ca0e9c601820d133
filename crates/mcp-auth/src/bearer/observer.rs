//! What a bearer layer does with each of its decisions: one span per request, one event at its
//! end, the metrics, and the audit hook (see [`observe`](crate::observe) for what each carries).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::ConnectInfo;
use http::{Extensions, HeaderMap, HeaderName, StatusCode};
use tracing::Level;

use super::challenge::Rejection;
use crate::auth_info::AuthInfo;
use crate::observe::{AuditEvent, AuditHook, Outcome, Reason, metrics};
use crate::operations::Decided;
use crate::wire::headers::{MCP_METHOD, MCP_NAME};

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
    /// The operation the layer read in its body, when it read one.
    pub(crate) operation: Option<&'a Decided>,
}

/// The longest header value recorded as the operation, in bytes.
const MAX_UNCHECKED_BYTES: usize = 128;

/// The span a request's decision runs in; the operation is recorded once decided.
pub(crate) fn decision_span() -> tracing::Span {
    tracing::info_span!(
        "mcp_auth.authorize",
        method = tracing::field::Empty,
        name = tracing::field::Empty,
        operation_checked = tracing::field::Empty,
        kid = tracing::field::Empty,
    )
}

/// The method and name a decision is recorded with, and whether the layer checked them: the
/// operation it read in the body, or else the client's `Mcp-Method` and `Mcp-Name`, unchecked,
/// cut to [`MAX_UNCHECKED_BYTES`] of visible ASCII.
fn operation(request: &Seen<'_>) -> (Option<String>, Option<String>, bool) {
    match request.operation {
        Some(decided) => (Some(decided.method.clone()), decided.name.clone(), true),
        None => (
            unchecked(request.headers, MCP_METHOD),
            unchecked(request.headers, MCP_NAME),
            false,
        ),
    }
}

/// A header's value as a client sent it, made safe to record: each byte that is not visible
/// ASCII (or a space) becomes `?`, and at most [`MAX_UNCHECKED_BYTES`] are kept.
fn unchecked(headers: &HeaderMap, name: HeaderName) -> Option<String> {
    let value = headers.get(name)?.as_bytes();
    let kept = &value[..value.len().min(MAX_UNCHECKED_BYTES)];
    Some(
        kept.iter()
            .map(|&byte| match byte {
                b' '..=b'~' => char::from(byte),
                _ => '?',
            })
            .collect(),
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

    /// Records a refusal answered with `status`, naming the `caller` whose token was verified
    /// before it was refused.
    pub(crate) fn refused(
        &self,
        request: &Seen<'_>,
        rejection: &Rejection,
        status: StatusCode,
        caller: Option<&AuthInfo>,
    ) {
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
            caller,
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
        let (method, name, operation_checked) = operation(request);
        if traced {
            let span = tracing::Span::current();
            span.record("method", method.as_deref());
            span.record("name", name.as_deref());
            span.record("operation_checked", operation_checked);
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
            method: method.as_deref(),
            name: name.as_deref(),
            operation_checked,
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

/// The client's address, when the server records it (axum's `ConnectInfo`).
pub(crate) fn remote_addr(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
}

fn micros(took: Duration) -> u64 {
    u64::try_from(took.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn unchecked_header_values_are_cut_to_visible_ascii() {
        let mut headers = HeaderMap::new();
        let long = "x".repeat(300_000);
        headers.insert(MCP_METHOD, HeaderValue::from_str(&long).unwrap());
        headers.insert(MCP_NAME, HeaderValue::from_bytes(b"who\xffami\t").unwrap());
        assert_eq!(unchecked(&headers, MCP_METHOD).unwrap().len(), 128);
        assert_eq!(unchecked(&headers, MCP_NAME).unwrap(), "who?ami?");
        let seen = Seen {
            headers: &headers,
            extensions: &Extensions::new(),
            started: Instant::now(),
            operation: None,
        };
        assert!(!operation(&seen).2);
        let decided = Decided {
            method: "tools/call".to_owned(),
            name: Some("admin_report".to_owned()),
        };
        let seen = Seen {
            operation: Some(&decided),
            ..seen
        };
        assert_eq!(
            operation(&seen),
            (
                Some("tools/call".to_owned()),
                Some("admin_report".to_owned()),
                true
            )
        );
    }
}

//! The audit event: one per decision of a bearer layer, for an application's own sink.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Serialize, Serializer};

use super::Reason;

/// What the bearer layer decided about a request.
///
/// ```
/// use mcp_auth::observe::Outcome;
///
/// assert_eq!(Outcome::Refused.as_str(), "refused");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Let through to the MCP server.
    Allowed,
    /// Refused: no credentials, a bad token, too few scopes, a foreign origin or session...
    Refused,
    /// Not decided: what verification depends on is unreachable (503, never accepted).
    Unavailable,
}

impl Outcome {
    /// The outcome, as logs, metrics and audit events carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Refused => "refused",
            Self::Unavailable => "unavailable",
        }
    }
}

/// One decision of a bearer layer, as handed to the hook of
/// [`BearerAuthBuilder::audit`](crate::bearer::BearerAuthBuilder::audit).
///
/// Its JSON form (`serde_json::to_string(&event)`) is stable: members are only ever added.
/// It never carries the token, a secret or the query string. Absent values are `null`.
///
/// | member | JSON | |
/// |---|---|---|
/// | `timestamp` | string | RFC 3339, UTC, microseconds |
/// | `outcome` | string | `allowed`, `refused` or `unavailable` |
/// | `reason` | string or null | a [`Reason`] code; `null` when allowed |
/// | `status` | number | the HTTP status answered (200 for a request let through, whatever the server then answers) |
/// | `resource` | string | the protected resource's identifier |
/// | `issuer` | string or null | the token's issuer, once verified |
/// | `subject` | string or null | its `sub` |
/// | `client_id` | string or null | its `client_id` (or `azp`) |
/// | `method` | string or null | the MCP method (`tools/call`...; a batch's methods, comma-separated) |
/// | `name` | string or null | the tool, prompt or resource it names |
/// | `operation_checked` | boolean | `true`: `method` and `name` are what the layer read in the body; `false`: they are the client's `Mcp-Method` and `Mcp-Name` headers, unchecked (no operation rules, or no readable body), cut to 128 bytes of visible ASCII |
/// | `remote_addr` | string or null | the client's address, when the server records it (axum's `ConnectInfo<SocketAddr>`) |
/// | `duration_us` | number | time the decision took, in microseconds |
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use mcp_auth::observe::{AuditEvent, Outcome};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// let hook = move |event: &AuditEvent<'_>| {
///     if event.outcome != Outcome::Allowed {
///         sink.lock().unwrap().push(serde_json::to_string(event).unwrap());
///     }
/// };
/// # let _ = hook;
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct AuditEvent<'a> {
    /// When the decision was made.
    #[serde(serialize_with = "rfc3339")]
    pub timestamp: SystemTime,
    /// What was decided.
    pub outcome: Outcome,
    /// Why a request was refused or not decided; `None` when allowed.
    pub reason: Option<Reason>,
    /// The HTTP status the layer answered with (200 when it let the request through).
    pub status: u16,
    /// The protected resource's identifier.
    pub resource: &'a str,
    /// The token's issuer, once verified.
    pub issuer: Option<&'a str>,
    /// The token's subject.
    pub subject: Option<&'a str>,
    /// The token's client.
    pub client_id: Option<&'a str>,
    /// The MCP method the layer read in the body, or else the client's `Mcp-Method` header.
    pub method: Option<&'a str>,
    /// The tool, prompt or resource the body names, or else the client's `Mcp-Name` header.
    pub name: Option<&'a str>,
    /// Whether `method` and `name` come from the body the layer read (`true`), or are the
    /// client's headers, unchecked and cut to 128 bytes of visible ASCII (`false`).
    pub operation_checked: bool,
    /// The client's address, when the server records it.
    pub remote_addr: Option<IpAddr>,
    /// How long the decision took, in microseconds.
    pub duration_us: u64,
}

/// The hook that receives every [`AuditEvent`] of a layer.
pub(crate) type AuditHook = Arc<dyn Fn(&AuditEvent<'_>) + Send + Sync>;

fn rfc3339<S: Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    let text = time::OffsetDateTime::from(*time)
        .format(&format)
        .map_err(serde::ser::Error::custom)?;
    serializer.serialize_str(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_json_form_is_the_documented_one() {
        let event = AuditEvent {
            timestamp: SystemTime::UNIX_EPOCH + Duration::from_micros(1_764_500_000_123_456),
            outcome: Outcome::Refused,
            reason: Some(Reason::Expired),
            status: 401,
            resource: "https://api.example.com/mcp",
            issuer: None,
            subject: None,
            client_id: None,
            method: Some("tools/call"),
            name: Some("whoami"),
            operation_checked: true,
            remote_addr: Some(IpAddr::from([127, 0, 0, 1])),
            duration_us: 12,
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            serde_json::json!({
                "timestamp": "2025-11-30T10:53:20.123456Z",
                "outcome": "refused",
                "reason": "expired",
                "status": 401,
                "resource": "https://api.example.com/mcp",
                "issuer": null,
                "subject": null,
                "client_id": null,
                "method": "tools/call",
                "name": "whoami",
                "operation_checked": true,
                "remote_addr": "127.0.0.1",
                "duration_us": 12,
            })
        );
    }
}

//! [`DecisionPoint`]: an engine outside the layer that decides each call (an AuthZEN server,
//! or your own: Cedar, OPA through `regorus`...).

use std::future::Future;
use std::pin::Pin;

use super::access::AccessRequest;

/// What a decision point's answer is awaited as.
pub type DecisionFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, DecisionError>> + Send + 'a>>;

/// A policy decision point: decides whether a caller may perform an operation. The bearer
/// layer asks it about every call naming a tool, prompt or resource that its own rules let
/// through (see [`BearerAuthBuilder::decision_point`](crate::bearer::BearerAuthBuilder::decision_point));
/// a denial is answered 403 `policy_denied`, an error 503 (never a pass).
///
/// ```
/// use mcp_auth::policy::{AccessRequest, DecisionError, DecisionFuture, DecisionPoint};
///
/// /// Lets admins call anything, others only `echo`.
/// struct AdminsOrEcho;
///
/// impl DecisionPoint for AdminsOrEcho {
///     fn decide<'a>(&'a self, request: &'a AccessRequest) -> DecisionFuture<'a, bool> {
///         let allowed = request.subject.properties.roles.iter().any(|role| role == "admins")
///             || request.resource.id == "echo";
///         Box::pin(async move { Ok(allowed) })
///     }
/// }
/// ```
pub trait DecisionPoint: Send + Sync + 'static {
    /// Whether `request` is allowed.
    fn decide<'a>(&'a self, request: &'a AccessRequest) -> DecisionFuture<'a, bool>;

    /// Whether each of `requests` is allowed, in order (list filtering asks about every item
    /// at once). By default one [`decide`](Self::decide) after another; an engine with a batch
    /// endpoint (AuthZEN's Access Evaluations) overrides it.
    fn decide_all<'a>(&'a self, requests: &'a [AccessRequest]) -> DecisionFuture<'a, Vec<bool>> {
        Box::pin(async move {
            let mut decisions = Vec::with_capacity(requests.len());
            for request in requests {
                decisions.push(self.decide(request).await?);
            }
            Ok(decisions)
        })
    }
}

/// Why a decision point could not decide: the request is answered 503 (clients retry), never
/// let through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the policy decision point could not decide: {reason}")]
pub struct DecisionError {
    reason: String,
}

impl DecisionError {
    /// The decision point could not decide, because `reason` (logged; never sent to clients).
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// Why.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

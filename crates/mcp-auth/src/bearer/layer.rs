//! The bearer layer: a cloneable value holding one layer's checks.

use std::sync::Arc;

use tower_layer::Layer;

use super::policy::Policy;
use super::service::BearerAuth;

/// A tower [`Layer`] that lets a request through only with an acceptable bearer token.
///
/// Built by [`BearerAuthBuilder::build`](super::BearerAuthBuilder::build); see the
/// [module documentation](super) for an example.
#[derive(Clone)]
pub struct BearerAuthLayer {
    policy: Arc<Policy>,
}

impl BearerAuthLayer {
    pub(crate) fn new(policy: Policy) -> Self {
        Self {
            policy: Arc::new(policy),
        }
    }
}

impl<S> Layer<S> for BearerAuthLayer {
    type Service = BearerAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BearerAuth::new(inner, self.policy.clone())
    }
}

impl std::fmt::Debug for BearerAuthLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuthLayer")
            .field("trusted_issuers", &self.policy.trusted_issuers)
            .field("audiences", &self.policy.audiences)
            .field("required_scopes", &self.policy.required_scopes)
            .finish_non_exhaustive()
    }
}

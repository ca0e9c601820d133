//! The metadata documents of OAuth 2.0 discovery: what a protected resource publishes (RFC 9728)
//! and what an authorization server publishes (RFC 8414).

mod authorization_server;
mod protected_resource;
mod validation;

pub use authorization_server::{AuthServerType, AuthorizationServerMetadata};
pub(crate) use protected_resource::well_known_path;
pub use protected_resource::{ProtectedResourceMetadata, WELL_KNOWN_SUFFIX, well_known_url};
pub use validation::{Check, CheckCode, Severity, ValidationReport};

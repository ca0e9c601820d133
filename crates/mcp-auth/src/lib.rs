#![doc = include_str!("../README.md")]

pub mod bearer;
pub mod dpop;
pub mod metadata;
pub mod observe;
pub mod operations;
pub mod policy;
pub mod provider;
#[cfg(feature = "rmcp")]
pub mod rmcp;
pub mod scope;
pub mod sessions;
#[cfg(feature = "testing")]
pub mod testing;
pub mod verify;

mod auth_info;
mod clock;
mod error;
mod extract;
mod forbidden;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod issuer;
mod legacy_metadata;
mod mcp_auth;
mod resource;
mod router;
mod wire;

pub use auth_info::AuthInfo;
pub use error::{ConfigError, UrlKind, VerifyError};
pub use extract::{Auth, MaybeAuth, MissingAuthInfo};
pub use forbidden::Forbidden;
pub use issuer::config::AuthServerConfig;
pub use issuer::discovery;
pub use issuer::fetch::FetchError;
/// The JWS algorithms of `jsonwebtoken`, as [`verify::JwtOptions::algorithms`] and
/// `testing::DpopKey::with` take them.
pub use jsonwebtoken::Algorithm;
pub use mcp_auth::{McpAuth, McpAuthBuilder};
pub use metadata::AuthServerType;
pub use observe::Reason;
pub use resource::ProtectedResource;
pub use verify::TokenVerifier;

/// The repository README's examples, compiled and run as doctests (they use rmcp and the test
/// issuer).
#[cfg(all(doctest, feature = "rmcp", feature = "testing"))]
#[doc = include_str!("../../../README.md")]
struct RepositoryReadme;

/// The library guide's examples (`docs/library.md`), compiled and run as doctests.
#[cfg(all(doctest, feature = "rmcp", feature = "testing"))]
#[doc = include_str!("../../../docs/library.md")]
struct LibraryGuide;

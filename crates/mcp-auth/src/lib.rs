#![doc = include_str!("../../../README.md")]

pub mod bearer;
pub mod discovery;
pub mod metadata;
#[cfg(feature = "rmcp")]
pub mod rmcp;
pub mod scope;
#[cfg(feature = "testing")]
pub mod testing;
pub mod verify;

mod auth_info;
mod auth_server;
mod error;
mod http;
mod mcp_auth;
mod resource;
mod router;

pub use auth_info::AuthInfo;
pub use auth_server::{AuthServerConfig, AuthServerType};
pub use error::{ConfigError, VerifyError};
pub use mcp_auth::{McpAuth, McpAuthBuilder};
pub use resource::ProtectedResource;
pub use verify::TokenVerifier;

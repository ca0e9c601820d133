//! The issuer side: how a trusted authorization server is described ([`config`]), how its
//! metadata is found ([`discovery`]) and fetched ([`fetch`]), which URLs it may use
//! ([`url_rules`]), and the one live [`Issuer`] per server that every reader shares.

pub(crate) mod config;
pub mod discovery;
pub(crate) mod fetch;
mod source;
pub(crate) mod tenants;
pub(crate) mod url_rules;

pub(crate) use source::{Issuer, Issuers, Needs};

//! The library's integration tests, linked into one binary: one link instead of one per file,
//! and every test of the crate run in parallel with the others. Each module is one subject (its
//! own docs say which); `common` is what they share.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod adversarial;
mod audiences;
mod audit_operations;
mod authzen;
mod authzen_cerbos;
mod bearer_http;
mod bearer_layer;
mod config_errors;
mod crate_readme;
mod discovery;
mod dpop;
mod dpop_redis;
mod faults;
mod introspection;
mod jwt_keys;
mod jwt_mode;
mod jwt_refusals;
mod metadata_router;
mod observability;
mod operations;
mod policy_rules;
mod rmcp_tools;
mod roles;
mod shared_issuer;
mod tenants;
mod test_issuer;
mod test_issuer_authorization_code;
mod test_issuer_introspection;
mod test_issuer_keys;
mod userinfo;

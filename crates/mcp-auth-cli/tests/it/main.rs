//! The command's integration tests, linked into one binary: one link instead of one per file,
//! and every test of the crate run in parallel with the others. Each module is one subject (its
//! own docs say which); `common` is what they share. `e2e` and `differential` are `#[ignore]`d:
//! they need peers that `scripts/test.sh` installs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod audiences;
mod config_file;
mod demo;
mod differential;
mod dpop;
mod e2e;
mod insecure_http;
mod introspection;
mod observability;
mod providers;
mod proxy;
mod readme;
mod redaction;
mod reload;
mod roles;
mod step_up;

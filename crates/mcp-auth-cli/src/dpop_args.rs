//! `--dpop`: whether `demo`, `serve` and `proxy` take sender-constrained (DPoP, RFC 9449) tokens.

use clap::{Args, ValueEnum};
use mcp_auth::ProtectedResource;
use mcp_auth::dpop::DpopOptions;

/// The `--dpop` flag.
#[derive(Debug, Args)]
pub(crate) struct DpopArgs {
    /// Sender-constrained tokens (DPoP, RFC 9449): off (Bearer only; a DPoP-bound token is
    /// refused), allowed (Bearer and DPoP; a bound token only with its proof) or required (DPoP
    /// only). Proofs are checked against the resource's public URL; each is accepted once.
    #[arg(long, env = "MCP_AUTH_DPOP", value_enum, default_value_t = DpopSetting::Off)]
    dpop: DpopSetting,
}

/// The values of `--dpop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DpopSetting {
    Off,
    Allowed,
    Required,
}

impl DpopArgs {
    /// The resource with the DPoP setting, when it is on.
    pub(crate) fn apply(&self, resource: ProtectedResource) -> ProtectedResource {
        match self.dpop {
            DpopSetting::Off => resource,
            DpopSetting::Allowed => resource.dpop(DpopOptions::allowed()),
            DpopSetting::Required => resource.dpop(DpopOptions::required()),
        }
    }

    /// The banner line, when DPoP is on.
    pub(crate) fn print_summary(&self) {
        match self.dpop {
            DpopSetting::Off => {}
            DpopSetting::Allowed => {
                println!("  DPoP              allowed (Bearer and DPoP tokens)")
            }
            DpopSetting::Required => println!("  DPoP              required (DPoP tokens only)"),
        }
    }
}

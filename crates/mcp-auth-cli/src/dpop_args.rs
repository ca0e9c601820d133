//! `--dpop`, `--replay-store` and `--replay-capacity`: whether `demo`, `serve` and `proxy` take
//! sender-constrained (DPoP, RFC 9449) tokens, and where accepted proofs are remembered.

use clap::{Args, ValueEnum};
use mcp_auth::ProtectedResource;
use mcp_auth::dpop::{DEFAULT_REPLAY_ENTRIES, DpopOptions, MemoryReplayStore, RedisReplayStore};

use crate::Failure;

/// The DPoP flags.
#[derive(Debug, Args)]
pub(crate) struct DpopArgs {
    /// Sender-constrained tokens (DPoP, RFC 9449): off (Bearer only; a DPoP-bound token is
    /// refused), allowed (Bearer and DPoP; a bound token only with its proof) or required (DPoP
    /// only). Proofs are checked against the resource's public URL; each is accepted once.
    #[arg(long, env = "MCP_AUTH_DPOP", value_enum, default_value_t = DpopSetting::Off)]
    dpop: DpopSetting,
    /// Where accepted DPoP proofs are remembered: this process by default, or a Redis every
    /// replica shares (redis://host:port/db, a password as redis://:PASSWORD@host/db; never
    /// printed), so a proof replayed to another replica is refused too. While Redis is
    /// unreachable, DPoP requests get 503.
    #[arg(
        long,
        env = "MCP_AUTH_REPLAY_STORE",
        value_name = "redis://HOST:PORT/DB",
        hide_env_values = true
    )]
    replay_store: Option<String>,
    /// How many accepted DPoP proofs this process remembers (each for twice the 60 s proof
    /// window), a tenth of them at most for one key: a client whose key has that many gets 401
    /// invalid_dpop_proof, everyone else goes on. When full, DPoP requests get 503; a warning
    /// is logged at nine tenths full. Not with --replay-store (size Redis instead).
    #[arg(
        long,
        env = "MCP_AUTH_REPLAY_CAPACITY",
        value_name = "N",
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    replay_capacity: Option<u64>,
}

/// The values of `--dpop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DpopSetting {
    Off,
    Allowed,
    Required,
}

/// What the DPoP flags became.
pub(crate) struct Dpop {
    options: Option<DpopOptions>,
    summary: Option<String>,
}

impl DpopArgs {
    /// The DPoP settings, connected to the replay store when it is Redis.
    pub(crate) async fn start(&self) -> Result<Dpop, Failure> {
        let mut dpop = self.check()?;
        if let Some(url) = &self.replay_store
            && let Some(options) = dpop.options.take()
        {
            let store = RedisReplayStore::connect(url)
                .await
                .map_err(|err| format!("--replay-store: {err}"))?;
            dpop.options = Some(options.replay_store(store));
        }
        Ok(dpop)
    }

    /// The DPoP settings, checked, without connecting to Redis (`start` does): for
    /// `check-config`, which contacts nothing.
    pub(crate) fn check(&self) -> Result<Dpop, Failure> {
        let mut options = match self.dpop {
            DpopSetting::Off if self.replay_store.is_some() || self.replay_capacity.is_some() => {
                let flag = if self.replay_store.is_some() {
                    "--replay-store"
                } else {
                    "--replay-capacity"
                };
                return Err(Failure::Usage(format!(
                    "{flag} keeps DPoP proofs: it needs --dpop allowed or required"
                )));
            }
            DpopSetting::Off => {
                return Ok(Dpop {
                    options: None,
                    summary: None,
                });
            }
            DpopSetting::Allowed => DpopOptions::allowed(),
            DpopSetting::Required => DpopOptions::required(),
        };
        let mut summary = match self.dpop {
            DpopSetting::Required => "required (DPoP tokens only)".to_owned(),
            _ => "allowed (Bearer and DPoP tokens)".to_owned(),
        };
        match (&self.replay_store, self.replay_capacity) {
            (Some(_), Some(_)) => {
                return Err(Failure::Usage(
                    "--replay-capacity sizes the proofs kept in this process: with --replay-store \
                     they are kept in Redis, sized there; remove one of them"
                        .to_owned(),
                ));
            }
            (Some(_), None) => summary.push_str(", proofs remembered in Redis"),
            (None, capacity) => {
                let capacity = capacity.map_or(DEFAULT_REPLAY_ENTRIES, |capacity| {
                    usize::try_from(capacity).unwrap_or(usize::MAX)
                });
                let store = MemoryReplayStore::new(capacity);
                summary.push_str(&format!(
                    ", at most {} proofs remembered ({} per key)",
                    store.capacity(),
                    store.per_key()
                ));
                options = options.replay_store(store);
            }
        }
        Ok(Dpop {
            options: Some(options),
            summary: Some(summary),
        })
    }
}

impl Dpop {
    /// Whether DPoP is on.
    pub(crate) fn on(&self) -> bool {
        self.options.is_some()
    }

    /// The resource with the DPoP setting, when it is on.
    pub(crate) fn apply(&self, resource: ProtectedResource) -> ProtectedResource {
        match &self.options {
            Some(options) => resource.dpop(options.clone()),
            None => resource,
        }
    }

    /// The banner line, when DPoP is on.
    pub(crate) fn print_summary(&self) {
        if let Some(summary) = &self.summary {
            println!("  DPoP              {summary}");
        }
    }
}

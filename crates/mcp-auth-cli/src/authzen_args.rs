//! `--authzen-url` and the flags that tune it (the configuration file's `[authzen]` table) for
//! `serve` and `proxy`: an AuthZEN policy decision point asked about every call and list the
//! local rules let through.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use mcp_auth::observe::redact_userinfo;
use mcp_auth::policy::{AuthZen, DecisionPoint};

use crate::Failure;
use crate::duration::{parse_duration, parse_duration_or_zero};

/// The AuthZEN flags.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct AuthZenArgs {
    /// An AuthZEN 1.0 policy decision point (PDP) asked about every call and list that passed
    /// the local rules (scopes, roles, rules in CEL): a call it denies gets 403, a list shows
    /// what it allows, and while it cannot answer, 503. Its endpoints are read from its
    /// metadata (/.well-known/authzen-configuration) unless given.
    #[arg(
        long,
        env = "MCP_AUTH_AUTHZEN_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    authzen_url: Option<String>,
    /// The PDP's Access Evaluation endpoint, instead of the one in its metadata.
    #[arg(
        long,
        env = "MCP_AUTH_AUTHZEN_EVALUATION_ENDPOINT",
        value_name = "URL",
        requires = "authzen_url",
        hide_env_values = true
    )]
    authzen_evaluation_endpoint: Option<String>,
    /// The PDP's Access Evaluations endpoint (a list's items in one call), instead of the one
    /// in its metadata.
    #[arg(
        long,
        env = "MCP_AUTH_AUTHZEN_EVALUATIONS_ENDPOINT",
        value_name = "URL",
        requires = "authzen_url",
        hide_env_values = true
    )]
    authzen_evaluations_endpoint: Option<String>,
    /// A file holding the token the PDP expects, sent as Authorization: Bearer (read at start,
    /// never printed).
    #[arg(
        long,
        env = "MCP_AUTH_AUTHZEN_CREDENTIALS_FILE",
        value_name = "PATH",
        requires = "authzen_url"
    )]
    authzen_credentials_file: Option<PathBuf>,
    /// Longest a call to the PDP may take, then 503: seconds, or milliseconds with an ms suffix
    /// (300ms) [default: the client's].
    #[arg(
        long,
        env = "MCP_AUTH_AUTHZEN_TIMEOUT",
        value_name = "SECS",
        requires = "authzen_url",
        value_parser = parse_duration
    )]
    authzen_timeout: Option<Duration>,
    /// How long a decision is reused for the same question, 0 for never: seconds, or
    /// milliseconds with an ms suffix [default: the client's].
    #[arg(
        long,
        env = "MCP_AUTH_AUTHZEN_DECISION_TTL",
        value_name = "SECS",
        requires = "authzen_url",
        value_parser = parse_duration_or_zero
    )]
    authzen_decision_ttl: Option<Duration>,
    /// Most decisions kept at once, the least used dropped first [default: the client's].
    #[arg(
        long,
        env = "MCP_AUTH_AUTHZEN_MAX_DECISIONS",
        value_name = "N",
        requires = "authzen_url",
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    authzen_max_decisions: Option<u64>,
}

impl AuthZenArgs {
    /// The decision point the flags name, its settings checked and its credentials read (no
    /// call made); `None` without `--authzen-url`.
    pub(crate) fn decision_point(&self) -> Result<Option<Arc<dyn DecisionPoint>>, Failure> {
        let Some(url) = &self.authzen_url else {
            return Ok(None);
        };
        let mut client = AuthZen::builder(url.clone());
        if let Some(endpoint) = &self.authzen_evaluation_endpoint {
            client = client.evaluation_endpoint(endpoint.clone());
        }
        if let Some(endpoint) = &self.authzen_evaluations_endpoint {
            client = client.evaluations_endpoint(endpoint.clone());
        }
        if let Some(path) = &self.authzen_credentials_file {
            client = client.credentials_file(path.clone());
        }
        if let Some(timeout) = self.authzen_timeout {
            client = client.timeout(timeout);
        }
        if let Some(ttl) = self.authzen_decision_ttl {
            client = client.decision_ttl(ttl);
        }
        if let Some(max) = self.authzen_max_decisions {
            client = client.max_decisions(usize::try_from(max).unwrap_or(usize::MAX));
        }
        let client = client
            .build()
            .map_err(|err| Failure::Usage(redact_userinfo(&err.to_string()).into_owned()))?;
        Ok(Some(Arc::new(client)))
    }

    /// The start banner's line, when a decision point is asked.
    pub(crate) fn banner(&self) -> Option<(&'static str, String)> {
        self.authzen_url.as_deref().map(|url| {
            (
                "decision point",
                format!("{} (AuthZEN)", redact_userinfo(url)),
            )
        })
    }
}

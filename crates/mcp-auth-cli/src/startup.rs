//! What `serve` and `proxy` do before they serve, said once: the token flags checked, the
//! listener bound, observability and DPoP started (the [`Setup`] a reload keeps), the resource
//! protected, and the start banner.

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

use crate::Failure;
use crate::auth_args::AuthArgs;
use crate::dpop_args::Dpop;
use crate::listener::BindArgs;
use crate::observability::{ObserveArgs, Observing};
use crate::protection::Protection;

/// A command ready to serve.
pub(crate) struct Started {
    pub(crate) listener: TcpListener,
    pub(crate) setup: Setup,
    pub(crate) protection: Protection,
}

/// What a start sets up once and every reload protects on again: the bound address (the
/// default resource identifier names it), the audit log and metrics, and the DPoP settings
/// with their replay store.
pub(crate) struct Setup {
    pub(crate) bound: SocketAddr,
    pub(crate) observing: Observing,
    pub(crate) dpop: Dpop,
}

impl Started {
    /// Checks the token flags (a usage error before anything binds), listens, starts
    /// observability and DPoP, and protects the resource; `own_rules` are the command's default
    /// per-tool scopes.
    pub(crate) async fn start(
        bind: &BindArgs,
        auth: &AuthArgs,
        observe: &ObserveArgs,
        own_rules: &[(&str, &str)],
    ) -> Result<Self, Failure> {
        // Flags that do not fit together are a usage error before anything binds or opens.
        auth.token_settings()?;
        let (listener, bound) = bind.listen().await?;
        let setup = Setup {
            bound,
            observing: observe.start().await?,
            dpop: auth.dpop.start().await?,
        };
        let protection = auth.protect(own_rules, &setup)?;
        Ok(Self {
            listener,
            setup,
            protection,
        })
    }

    /// Checks what [`start`](Self::start) would, binding, opening and connecting nothing: the
    /// token flags, the DPoP settings, and the protection built (its rules compiled), for
    /// `check-config`.
    pub(crate) fn check(
        bind: &BindArgs,
        auth: &AuthArgs,
        own_rules: &[(&str, &str)],
    ) -> Result<Protection, Failure> {
        auth.token_settings()?;
        let setup = Setup {
            bound: bind.address,
            observing: Observing::none(),
            dpop: auth.dpop.check()?,
        };
        auth.protect(own_rules, &setup)
    }

    /// `app` with the legacy authorization server metadata mirror merged when
    /// `--legacy-as-metadata` asks for it.
    pub(crate) fn with_legacy_mirror(
        &self,
        auth: &AuthArgs,
        app: Router,
    ) -> Result<Router, Failure> {
        Ok(match auth.legacy_mirror(&self.protection.auth)? {
            Some(mirror) => app.merge(mirror),
            None => app,
        })
    }

    /// The start banner of `command`: where it listens and its MCP endpoint, the command's
    /// `head` lines, how requests are authorized and observed, then its `tail` lines.
    pub(crate) fn print_banner(
        &self,
        command: &str,
        auth: &AuthArgs,
        head: &[String],
        tail: &[String],
    ) {
        println!(
            "mcp-auth {command}: listening on http://{}",
            self.setup.bound
        );
        println!("  MCP endpoint      {}", self.protection.resource);
        for line in head {
            println!("  {line}");
        }
        auth.print_summary(&self.protection, &self.setup.dpop);
        self.setup.observing.print_summary();
        for line in tail {
            println!("  {line}");
        }
        if auth.legacy_as_metadata {
            println!("  legacy metadata   /.well-known/oauth-authorization-server (deprecated)");
        }
    }
}

//! The listener of `serve` and `proxy`: HTTP/1.1 and h2c on one port, the client's address in
//! each request (`ConnectInfo`), a bound on how long a client may take to send its request
//! headers (a slow client would hold a connection and a task for as long as it likes:
//! `--header-timeout`), and a graceful stop that lets open requests finish.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use clap::Args;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower_service::Service;

use crate::duration::parse_duration;

/// `--bind`: the address `demo`, `serve` and `proxy` listen on.
#[derive(Debug, Args)]
pub(crate) struct BindArgs {
    /// Address to listen on (for demo, a loopback address unless --insecure-public-bind).
    #[arg(long = "bind", env = "MCP_AUTH_BIND", default_value = "127.0.0.1:8000")]
    pub(crate) address: SocketAddr,
}

impl BindArgs {
    /// Listens on the address; returns the listener and the address it got (the port chosen
    /// when it was 0).
    pub(crate) async fn listen(&self) -> Result<(TcpListener, SocketAddr), String> {
        let cannot = |err: std::io::Error| {
            format!(
                "cannot listen on {}: {err} (choose another with --bind)",
                self.address
            )
        };
        let listener = TcpListener::bind(self.address).await.map_err(cannot)?;
        let bound = listener.local_addr().map_err(cannot)?;
        Ok((listener, bound))
    }
}

/// The listener's flags.
#[derive(Debug, Args)]
pub(crate) struct ListenerArgs {
    /// Longest a client may take to send a request's headers, then its connection is closed:
    /// seconds, or milliseconds with an ms suffix (300ms).
    #[arg(
        long,
        env = "MCP_AUTH_HEADER_TIMEOUT",
        value_name = "SECS",
        default_value = "30",
        value_parser = parse_duration
    )]
    header_timeout: Duration,
}

impl ListenerArgs {
    /// Serves `app` on `listener` until `stop` resolves, then waits for open connections to
    /// finish their requests (the caller bounds that wait).
    pub(crate) async fn serve(
        &self,
        listener: TcpListener,
        app: Router,
        stop: impl Future<Output = ()>,
    ) {
        let graceful = GracefulShutdown::new();
        let mut connections = app.into_make_service_with_connect_info::<SocketAddr>();
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout);
        let mut stop = std::pin::pin!(stop);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors, say: wait a little rather than spin.
                        tracing::warn!(%error, "could not accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut stop => break,
            };
            // Small responses (refusals, JSON-RPC answers) go out at once.
            let _ = stream.set_nodelay(true);
            let Ok(service) = connections.call(peer).await;
            let connection = builder
                .serve_connection_with_upgrades(
                    TokioIo::new(stream),
                    TowerToHyperService::new(service),
                )
                .into_owned();
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, %peer, "connection ended with an error");
                }
            });
        }
        drop(listener);
        graceful.shutdown().await;
    }
}

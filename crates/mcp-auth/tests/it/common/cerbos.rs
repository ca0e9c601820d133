//! A real Cerbos PDP, the binary of the npm package `@cerbos/cerbos-linux-x64` (pinned by e2e/package.json,
//! installed by `npm ci` in e2e/), serving the policies kept in e2e/cerbos/policies on free
//! loopback ports. Run directly, not through `npx`, which would leave it orphaned when a test
//! ends; killed when dropped.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long Cerbos may take to answer its health check (about 0.5 s on an idle machine).
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running Cerbos.
pub struct Cerbos {
    child: Child,
    /// Its HTTP address, `http://127.0.0.1:PORT`: the PDP's identifier for AuthZEN.
    pub url: String,
    /// Where its output goes (one JSON line per request), shown when it fails to start.
    log: PathBuf,
}

impl Cerbos {
    /// Starts Cerbos and waits until it is healthy.
    pub async fn start() -> Self {
        let e2e = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e");
        let binary = e2e.join(format!(
            "node_modules/@cerbos/cerbos-{0}/cerbos-{0}",
            platform()
        ));
        assert!(
            binary.exists(),
            "{} is missing: run `npm ci` in e2e/ (scripts/test.sh does)",
            binary.display()
        );
        let (http, grpc) = two_free_ports();
        let log =
            std::env::temp_dir().join(format!("mcp-auth-cerbos-{}-{http}.log", std::process::id()));
        let output = std::fs::File::create(&log).unwrap();
        let child = Command::new(&binary)
            .arg("server")
            .arg("--set=storage.driver=disk")
            .arg(format!(
                "--set=storage.disk.directory={}",
                e2e.join("cerbos/policies").display()
            ))
            .arg(format!("--set=server.httpListenAddr=127.0.0.1:{http}"))
            .arg(format!("--set=server.grpcListenAddr=127.0.0.1:{grpc}"))
            .env("CERBOS_NO_TELEMETRY", "1")
            .stdin(Stdio::null())
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .spawn()
            .unwrap_or_else(|err| panic!("{} could not be started: {err}", binary.display()));
        let mut cerbos = Self {
            child,
            url: format!("http://127.0.0.1:{http}"),
            log,
        };
        cerbos.wait_until_healthy().await;
        cerbos
    }

    async fn wait_until_healthy(&mut self) {
        let health = format!("{}/_cerbos/health", self.url);
        let client = reqwest::Client::new();
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("Cerbos exited with {status}:\n{}", self.output());
            }
            let healthy = client
                .get(&health)
                .timeout(Duration::from_secs(1))
                .send()
                .await
                .is_ok_and(|answer| answer.status().is_success());
            if healthy {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "Cerbos was not healthy within {START_TIMEOUT:?}:\n{}",
            self.output()
        );
    }

    /// What Cerbos printed.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills Cerbos now (a PDP gone mid-run).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Cerbos {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The platform suffix of the npm package that ships the binary: `linux-x64`, `darwin-arm64`...
fn platform() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{os}-{arch}")
}

/// Two distinct loopback ports free now (Cerbos does not say which port `:0` gave it).
fn two_free_ports() -> (u16, u16) {
    let first = TcpListener::bind("127.0.0.1:0").unwrap();
    let second = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = |listener: &TcpListener| listener.local_addr().unwrap().port();
    (port(&first), port(&second))
}

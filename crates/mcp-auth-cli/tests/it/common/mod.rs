//! What the command's tests share: the `mcp-auth` binary started clean of `MCP_AUTH_*`
//! variables, a running child (the command or a peer) whose output is read as it comes, a
//! deadline for a command that runs to completion, and ([`upstream`]) the MCP server put behind
//! the proxy.

use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;

pub(crate) mod mcp;
pub(crate) mod upstream;

/// `mcp-auth ARGS...` with no `MCP_AUTH_*` variable leaking in from the environment.
pub(crate) fn mcp_auth(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcp-auth"));
    command.args(args).stdin(Stdio::null()).kill_on_drop(true);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("MCP_AUTH_") {
            command.env_remove(name);
        }
    }
    command
}

/// Runs a command to completion, within a minute.
pub(crate) async fn finished(command: &mut Command) -> Output {
    tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the command did not finish within a minute")
        .unwrap()
}

/// A running child, killed when dropped: its stdout read line by line, its stderr collected as
/// it comes (so that the pipe never fills), its stdin held open while it lives (the Node peers
/// exit when it closes, even if the test binary is killed before `kill_on_drop` can act).
pub(crate) struct Running {
    pub(crate) child: Child,
    _stdin: Option<ChildStdin>,
    lines: Lines<BufReader<ChildStdout>>,
    stdout: Vec<String>,
    pub(crate) stderr: Arc<Mutex<String>>,
    pub(crate) stderr_reader: JoinHandle<()>,
}

impl Running {
    pub(crate) fn spawn(mut command: Command) -> Self {
        let mut child = command
            .kill_on_drop(true)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let stdin = child.stdin.take();
        let mut stderr_pipe = child.stderr.take().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let collected = stderr.clone();
        let stderr_reader = tokio::spawn(async move {
            let mut buffer = [0u8; 4096];
            while let Ok(read @ 1..) = stderr_pipe.read(&mut buffer).await {
                collected
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..read]));
            }
        });
        Self {
            child,
            _stdin: stdin,
            lines: BufReader::new(stdout).lines(),
            stdout: Vec::new(),
            stderr,
            stderr_reader,
        }
    }

    /// Reads lines until one starts with `prefix`; returns the rest of it, trimmed.
    pub(crate) async fn value_after(&mut self, prefix: &str) -> String {
        let found = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = self.lines.next_line().await.unwrap() {
                self.stdout.push(line.clone());
                if let Some(rest) = line.strip_prefix(prefix) {
                    return Some(rest.trim().to_owned());
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(value)) => value,
            _ => panic!(
                "no line starting with {prefix:?} in {:#?}, stderr {}",
                self.stdout,
                self.stderr.lock().unwrap()
            ),
        }
    }

    /// What it wrote on stderr so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Stops the server; returns everything it printed, stdout then stderr.
    pub(crate) async fn stop(mut self) -> String {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
        while let Some(line) = self.lines.next_line().await.unwrap() {
            self.stdout.push(line);
        }
        self.stderr_reader.await.unwrap();
        let stderr = self.stderr.lock().unwrap().clone();
        format!("{}\n{stderr}", self.stdout.join("\n"))
    }
}

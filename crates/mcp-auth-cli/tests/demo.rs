//! `mcp-auth demo` and its bind address: loopback starts, anything else is refused unless
//! `--insecure-public-bind` (or its environment variable) says to expose it anyway. Needs
//! nothing but the binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const FLAG_ENV: &str = "MCP_AUTH_DEMO_INSECURE_PUBLIC_BIND";

/// `mcp-auth demo ARGS...` with no demo setting inherited from the environment.
fn demo(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcp-auth"));
    command
        .arg("demo")
        .args(args)
        .env_remove("MCP_AUTH_BIND")
        .env_remove(FLAG_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A demo process, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs to completion (at most 30 seconds: a demo that started instead is killed); returns
/// the exit code and stderr.
fn finished(mut command: Command) -> (Option<i32>, String) {
    let mut running = Running(command.spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = running.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the demo is still running after 30 seconds: it was not refused"
        );
        thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    running
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.code(), stderr)
}

/// Starts the demo and waits (at most 30 seconds) until it prints its MCP endpoint; returns
/// the process, the endpoint and its stderr so far.
fn started(mut command: Command) -> (Running, String, String) {
    let mut running = Running(command.spawn().unwrap());
    let stdout = running.0.stdout.take().unwrap();
    let (sender, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let endpoint = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                if let Some(url) = line.strip_prefix("MCP endpoint:") {
                    break url.trim().to_owned();
                }
            }
            Err(_) => {
                let status = running.0.try_wait().unwrap();
                panic!("the demo printed no MCP endpoint within 30 seconds (exit: {status:?})");
            }
        }
    };
    // Stop it, then read what it said on stderr.
    let _ = running.0.kill();
    let _ = running.0.wait();
    let mut stderr = String::new();
    running
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (running, endpoint, stderr)
}

#[test]
fn a_bind_off_loopback_is_refused_with_what_to_do() {
    for bind in ["0.0.0.0:0", "[::]:0"] {
        let (code, stderr) = finished(demo(&["--bind", bind]));
        assert_eq!(code, Some(1), "--bind {bind}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "not one line: {stderr:?}");
        assert!(
            stderr.starts_with(&format!(
                "mcp-auth: --bind {bind} is not a loopback address"
            )),
            "{stderr:?}"
        );
        assert!(stderr.contains("--insecure-public-bind"), "{stderr:?}");
        assert!(stderr.contains("--bind 127.0.0.1:PORT"), "{stderr:?}");
    }
}

#[test]
fn a_loopback_bind_starts_without_warning() {
    for (bind, host) in [
        ("127.0.0.1:0", "http://127.0.0.1:"),
        ("[::1]:0", "http://[::1]:"),
    ] {
        if bind.starts_with('[') && std::net::TcpListener::bind("[::1]:0").is_err() {
            continue; // no IPv6 loopback here
        }
        let (_demo, endpoint, stderr) = started(demo(&["--bind", bind]));
        assert!(
            endpoint.starts_with(host) && endpoint.ends_with("/mcp"),
            "{endpoint}"
        );
        assert!(!stderr.contains("warning"), "{stderr:?}");
    }
}

#[test]
fn the_insecure_public_bind_flag_or_its_variable_lets_it_start_with_a_warning() {
    let by_flag = demo(&["--bind", "0.0.0.0:0", "--insecure-public-bind"]);
    let mut by_env = demo(&["--bind", "0.0.0.0:0"]);
    by_env.env(FLAG_ENV, "true");
    for command in [by_flag, by_env] {
        let (_demo, endpoint, stderr) = started(command);
        assert!(endpoint.starts_with("http://0.0.0.0:"), "{endpoint}");
        assert!(
            stderr.contains("warning: --insecure-public-bind")
                && stderr.contains("client secret printed below"),
            "{stderr:?}"
        );
    }
}

//! The command's reference (`docs/command.md`) is checked against the command itself: every
//! flag that `--help` shows for `demo`, `serve` and `proxy`, and every environment variable it
//! reads, is named there. A flag added without its row fails here, not in a user's hands.

use crate::common::mcp_auth;

/// The command's reference, beside the README at the repository's root.
fn readme() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/command.md");
    std::fs::read_to_string(path).unwrap()
}

/// The `--help` text of `mcp-auth COMMAND`.
async fn help(command: &str) -> String {
    let output = mcp_auth(&[command, "--help"]).output().await.unwrap();
    assert!(output.status.success(), "{command} --help failed");
    String::from_utf8(output.stdout).unwrap()
}

/// The long flags (`--tool-scope`) and variables (`MCP_AUTH_TOOL_SCOPE`) a help text names.
fn flags_and_variables(help: &str) -> (Vec<String>, Vec<String>) {
    let mut flags = Vec::new();
    let mut variables = Vec::new();
    for word in help.split(|c: char| c.is_whitespace() || matches!(c, ',' | '[' | ']' | '=')) {
        if let Some(flag) = word.strip_prefix("--")
            && flag.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        {
            let flag: String = flag
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
                .collect();
            flags.push(format!("--{flag}"));
        }
        if word.starts_with("MCP_AUTH_") {
            let variable: String = word
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            variables.push(variable);
        }
    }
    (flags, variables)
}

#[tokio::test]
async fn every_flag_and_variable_of_the_command_is_in_its_reference() {
    let readme = readme();
    let mut missing = Vec::new();
    for command in ["demo", "serve", "proxy"] {
        let (flags, variables) = flags_and_variables(&help(command).await);
        assert!(flags.len() > 5, "{command}: {flags:?}");
        for name in flags.iter().chain(&variables) {
            if ["--help", "--version"].contains(&name.as_str()) {
                continue;
            }
            if !readme.contains(&format!("`{name}")) && !readme.contains(&format!("{name}`")) {
                missing.push(format!("{command}: {name}"));
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "not in docs/command.md: {missing:#?}");
}

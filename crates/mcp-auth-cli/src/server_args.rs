//! The flags `demo`, `serve` and `proxy` share about operations: per-tool scopes
//! (`--tool-scope`), the session mode of the built-in server (`--stateful`), and what becomes of
//! them: the bearer layer's [`OperationRules`] and the scopes the resource publishes.

use clap::Args;
use mcp_auth::operations::OperationRules;

use crate::Failure;
use crate::mcp_server;

/// `--tool-scope`: scopes per tool, for any MCP server (the built-in one or a proxied one).
#[derive(Debug, Args)]
pub(crate) struct ToolScopeArgs {
    /// Scopes a tool needs on top of the required ones, as TOOL=SCOPE; several scopes are
    /// separated by spaces ('admin_report=mcp:admin audit'). A token lacking them gets 403
    /// insufficient_scope naming every scope the call needs (MCP step-up). Repeatable, the
    /// scopes of one tool add up; comma-separated in the variable.
    #[arg(
        long = "tool-scope",
        value_name = "TOOL=SCOPE",
        env = "MCP_AUTH_TOOL_SCOPE",
        value_delimiter = ',',
        value_parser = parse_tool_scope
    )]
    pub(crate) tool_scopes: Vec<ToolScope>,
}

impl ToolScopeArgs {
    /// Refuses an entry naming a tool the built-in server (`demo`, `serve`) does not have, in
    /// the words clap uses for a bad value; a proxied server's tools are not known, so `proxy`
    /// takes any name.
    pub(crate) fn check_builtin_tools(&self) -> Result<(), Failure> {
        let tools = mcp_server::tool_names();
        match self
            .tool_scopes
            .iter()
            .find(|entry| !tools.contains(&entry.tool))
        {
            Some(entry) => Err(Failure::Usage(format!(
                "invalid value '{}={}' for '--tool-scope <TOOL=SCOPE>': the server has no tool {:?}; its tools are {}",
                entry.tool,
                entry.scopes.join(" "),
                entry.tool,
                tools.join(", ")
            ))),
            None => Ok(()),
        }
    }
}

/// Flags of the built-in MCP server, shared by `demo` and `serve`.
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// Sessions: rmcp's session mode (Mcp-Session-Id, SSE responses) instead of stateless JSON
    /// responses, for MCP protocol versions before 2026-07-28.
    #[arg(long, env = "MCP_AUTH_STATEFUL")]
    pub(crate) stateful: bool,
}

/// One `--tool-scope` entry: a tool of the server and the scopes it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ToolScope {
    tool: String,
    scopes: Vec<String>,
}

/// Parses `TOOL=SCOPE[ SCOPE...]` strictly: a tool name, and at least one scope, each an RFC
/// 6749 scope token (whether the tool exists is for the command to say). Errors are one line:
/// clap prints them after the value.
fn parse_tool_scope(entry: &str) -> Result<ToolScope, String> {
    let Some((tool, list)) = entry.split_once('=') else {
        return Err("expected TOOL=SCOPE, such as admin_report=mcp:admin".to_owned());
    };
    if tool.is_empty() {
        return Err("the tool name before '=' is empty".to_owned());
    }
    if tool.trim() != tool {
        return Err(format!(
            "the tool name {tool:?} has spaces around it (no space after a comma in the variable)"
        ));
    }
    let mut scopes: Vec<String> = Vec::new();
    for scope in list.split(' ').filter(|scope| !scope.is_empty()) {
        if !scope.bytes().all(is_scope_char) {
            return Err(format!(
                "{scope:?} is not a scope token (RFC 6749: visible ASCII except '\"' and '\\', separated by spaces)"
            ));
        }
        if !scopes.iter().any(|known| known == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if scopes.is_empty() {
        return Err(format!("no scope after '=' for the tool {tool}"));
    }
    Ok(ToolScope {
        tool: tool.to_owned(),
        scopes,
    })
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub(crate) fn is_scope_char(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// The scopes each tool needs beyond the base ones: the command's own rules first (the admin
/// tool's), then the `--tool-scope` entries; each tool once, each of its scopes once, in the
/// order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ToolRules(Vec<(String, Vec<String>)>);

impl ToolRules {
    pub(crate) fn new(own: &[(&str, &str)], given: &[ToolScope]) -> Self {
        let mut rules = Self::default();
        for (tool, scope) in own {
            rules.add(tool, std::iter::once(*scope));
        }
        for entry in given {
            rules.add(&entry.tool, entry.scopes.iter().map(String::as_str));
        }
        rules
    }

    fn add<'s>(&mut self, tool: &str, scopes: impl Iterator<Item = &'s str>) {
        let index = match self.0.iter().position(|(known, _)| known == tool) {
            Some(index) => index,
            None => {
                self.0.push((tool.to_owned(), Vec::new()));
                self.0.len() - 1
            }
        };
        let needed = &mut self.0[index].1;
        for scope in scopes {
            if !needed.iter().any(|known| known == scope) {
                needed.push(scope.to_owned());
            }
        }
    }

    /// The rules for the bearer layer.
    pub(crate) fn operations(&self) -> OperationRules {
        self.0
            .iter()
            .fold(OperationRules::new(), |rules, (tool, scopes)| {
                rules.tool(tool.clone(), scopes.iter().cloned())
            })
    }

    /// What a call of `tool` needs: the `base` scopes, then the tool's own, each once (the
    /// scope of the layer's step-up challenge).
    pub(crate) fn needed_by(&self, tool: &str, base: &[String]) -> Vec<String> {
        let mut needed = base.to_vec();
        let own = self.0.iter().find(|(known, _)| known == tool);
        for scope in own.map(|(_, scopes)| scopes.as_slice()).unwrap_or_default() {
            if !needed.contains(scope) {
                needed.push(scope.clone());
            }
        }
        needed
    }

    /// The tools with rules and what each needs beyond the base scopes, for the start banner.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0
            .iter()
            .map(|(tool, scopes)| (tool.as_str(), scopes.as_slice()))
    }

    /// The scopes the resource publishes (`scopes_supported`): the `base` ones, then every
    /// rule's, each once.
    pub(crate) fn published(&self, base: &[String]) -> Vec<String> {
        let mut scopes = base.to_vec();
        for scope in self.0.iter().flat_map(|(_, scopes)| scopes) {
            if !scopes.contains(scope) {
                scopes.push(scope.clone());
            }
        }
        scopes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(tool: &str, scopes: &[&str]) -> ToolScope {
        ToolScope {
            tool: tool.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn an_entry_names_a_tool_and_its_scopes() {
        assert_eq!(
            parse_tool_scope("admin_report=mcp:admin audit"),
            Ok(entry("admin_report", &["mcp:admin", "audit"]))
        );
        assert_eq!(
            parse_tool_scope("whoami= a  a b= "),
            Ok(entry("whoami", &["a", "b="]))
        );
    }

    #[test]
    fn malformed_entries_are_refused_in_one_line() {
        for bad in [
            "admin_report",
            "=mcp:admin",
            "admin_report=",
            "admin_report=   ",
            " whoami=mcp:admin",
            "whoami=mcp:\"admin",
            "whoami=a\tb",
            "whoami=caf\u{e9}",
        ] {
            let error = parse_tool_scope(bad).expect_err(bad);
            assert_eq!(error.lines().count(), 1, "{bad}: {error}");
        }
    }

    #[test]
    fn rules_merge_per_tool_and_publish_every_scope_once() {
        let rules = ToolRules::new(
            &[("admin_report", "mcp:admin")],
            &[
                entry("whoami", &["audit"]),
                entry("admin_report", &["mcp:admin", "ops"]),
            ],
        );
        let base = vec!["mcp:tools".to_owned()];
        assert_eq!(
            rules.needed_by("admin_report", &base),
            ["mcp:tools", "mcp:admin", "ops"]
        );
        assert_eq!(rules.needed_by("whoami", &[]), ["audit"]);
        assert_eq!(
            rules.published(&base),
            ["mcp:tools", "mcp:admin", "ops", "audit"]
        );
        let admin_base = vec!["mcp:admin".to_owned()];
        assert_eq!(
            ToolRules::new(&[("admin_report", "mcp:admin")], &[]).published(&admin_base),
            ["mcp:admin"]
        );
    }
}

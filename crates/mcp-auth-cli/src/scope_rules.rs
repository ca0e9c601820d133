//! The flags `demo`, `serve` and `proxy` share about operations: per-tool scopes
//! (`--tool-scope`), per-prompt, per-resource and per-method scopes for `serve` and `proxy`
//! (`--prompt-scope`, `--resource-scope`, `--resource-prefix-scope`, `--method-scope`), and what
//! becomes of them: the bearer layer's [`OperationRules`] and the scopes the resource publishes.

use clap::Args;
use mcp_auth::operations::OperationRules;
use mcp_auth::scope::is_scope_token;

use crate::Failure;
use crate::mcp_server;
use crate::written::Written;

/// `--tool-scope`: scopes per tool, for any MCP server (the built-in one or a proxied one).
#[derive(Debug, Args)]
pub(crate) struct ToolScopeArgs {
    /// Scopes a tool needs on top of the required ones, as TOOL=SCOPE; several scopes are
    /// separated by spaces ('admin_report=mcp:admin audit'). A token lacking them gets 403
    /// insufficient_scope naming every scope the call needs (MCP step-up). Tool names match
    /// without regard to case. Repeatable, the scopes of one tool add up; comma-separated in the
    /// variable. The built-in server's admin_report needs mcp:admin unless a rule names it.
    #[arg(
        long = "tool-scope",
        value_name = "TOOL=SCOPE",
        env = "MCP_AUTH_TOOL_SCOPE",
        value_delimiter = ',',
        value_parser = parse_tool_scope
    )]
    pub(crate) tool_scopes: Vec<ScopeRule>,
}

/// The operation rules of `serve` and `proxy`: per tool, prompt, resource and JSON-RPC method.
#[derive(Debug, Args)]
pub(crate) struct OperationScopeArgs {
    #[command(flatten)]
    pub(crate) tools: ToolScopeArgs,
    /// Scopes a prompt needs (prompts/get, and completions of its arguments), as PROMPT=SCOPE;
    /// several scopes separated by spaces. Repeatable; comma-separated in the variable.
    #[arg(
        long = "prompt-scope",
        value_name = "PROMPT=SCOPE",
        env = "MCP_AUTH_PROMPT_SCOPE",
        value_delimiter = ',',
        value_parser = parse_prompt_scope
    )]
    prompt_scopes: Vec<ScopeRule>,
    /// Scopes the resource with exactly this URI needs (resources/read, subscribe...), as
    /// URI=SCOPE, the URI in canonical form (file:///etc/passwd). It matches without regard to
    /// case or a trailing '/'; a request naming a URI out of canonical form ('?', '#', '%',
    /// ';', '\', '//', '.' or '..' segments) needs every rule's scopes. Repeatable;
    /// newline-separated in the variable.
    #[arg(
        long = "resource-scope",
        value_name = "URI=SCOPE",
        env = "MCP_AUTH_RESOURCE_SCOPE",
        value_delimiter = '\n',
        value_parser = parse_resource_scope
    )]
    resource_scopes: Vec<ScopeRule>,
    /// Scopes every resource whose URI starts with PREFIX needs, as PREFIX=SCOPE
    /// (file:///private/=files:private); matched as --resource-scope is. Repeatable;
    /// newline-separated in the variable.
    #[arg(
        long = "resource-prefix-scope",
        value_name = "PREFIX=SCOPE",
        env = "MCP_AUTH_RESOURCE_PREFIX_SCOPE",
        value_delimiter = '\n',
        value_parser = parse_resource_scope
    )]
    resource_prefix_scopes: Vec<ScopeRule>,
    /// Scopes every request of a JSON-RPC method needs, as METHOD=SCOPE
    /// (resources/list=files:list). Repeatable; comma-separated in the variable.
    #[arg(
        long = "method-scope",
        value_name = "METHOD=SCOPE",
        env = "MCP_AUTH_METHOD_SCOPE",
        value_delimiter = ',',
        value_parser = parse_method_scope
    )]
    method_scopes: Vec<ScopeRule>,
}

impl ToolScopeArgs {
    /// Refuses an entry naming a tool the built-in server (`demo`, `serve`) does not have, in
    /// the words of the place it was written (clap's for a flag); a proxied server's tools are
    /// not known, so `proxy` takes any name.
    pub(crate) fn check_builtin_tools(&self) -> Result<(), Failure> {
        let tools = mcp_server::tool_names();
        match self
            .tool_scopes
            .iter()
            .find(|entry| !tools.contains(&entry.name))
        {
            Some(entry) => Err(entry.written.invalid(
                "--tool-scope <TOOL=SCOPE>",
                &entry.to_string(),
                &format!(
                    "the server has no tool {:?}; its tools are {}",
                    entry.name,
                    tools.join(", ")
                ),
            )),
            None => Ok(()),
        }
    }
}

impl OperationScopeArgs {
    /// Refuses what the built-in server (`serve`) cannot use: a tool it does not have, and
    /// prompt and resource rules (it has neither).
    pub(crate) fn check_builtin_server(&self) -> Result<(), Failure> {
        self.tools.check_builtin_tools()?;
        let unusable = [
            ("--prompt-scope", &self.prompt_scopes),
            ("--resource-scope", &self.resource_scopes),
            ("--resource-prefix-scope", &self.resource_prefix_scopes),
        ];
        let found = unusable
            .iter()
            .find_map(|(flag, entries)| entries.first().map(|entry| (flag, entry)));
        match found {
            Some((flag, entry)) => Err(match &entry.written {
                Written::Flag => Failure::Usage(format!(
                    "{flag} guards prompts or resources, and the built-in server has none: use it with mcp-auth proxy"
                )),
                Written::File(position) => Failure::Config(position.error(
                    "this rule guards prompts or resources, and the built-in server has none: use it with mcp-auth proxy",
                )),
            }),
            None => Ok(()),
        }
    }

    /// Adds a rule written elsewhere (a configuration file) to the flags' rules of its `kind`.
    pub(crate) fn add(&mut self, kind: RuleKind, rule: ScopeRule) {
        let entries = match kind {
            RuleKind::Tool => &mut self.tools.tool_scopes,
            RuleKind::Prompt => &mut self.prompt_scopes,
            RuleKind::Resource => &mut self.resource_scopes,
            RuleKind::ResourcePrefix => &mut self.resource_prefix_scopes,
            RuleKind::Method => &mut self.method_scopes,
        };
        entries.push(rule);
    }

    /// The rules: the command's own per-tool scopes (`defaults`, each left out for a tool a
    /// `--tool-scope` names), then the flags'.
    pub(crate) fn rules(&self, defaults: &[(&str, &str)]) -> ScopeRules {
        let mut rules = ScopeRules::new(defaults, &self.tools.tool_scopes);
        let kinds = [
            (RuleKind::Prompt, &self.prompt_scopes),
            (RuleKind::Resource, &self.resource_scopes),
            (RuleKind::ResourcePrefix, &self.resource_prefix_scopes),
            (RuleKind::Method, &self.method_scopes),
        ];
        for (kind, entries) in kinds {
            for entry in entries {
                rules.add(kind, &entry.name, entry.scopes.iter().map(String::as_str));
            }
        }
        rules
    }
}

/// One `--tool-scope` (or prompt, resource, method) entry: what it guards, the scopes it
/// needs, and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScopeRule {
    name: String,
    scopes: Vec<String>,
    written: Written,
}

impl ScopeRule {
    /// A rule guarding `name` (what `what` stands for in its flag's value: TOOL, URI...) with
    /// `scopes`, each an RFC 6749 scope token and kept once. Refused when the name is empty or
    /// padded with spaces, or when no scope is given. Errors are one line: clap prints them after
    /// the value.
    pub(crate) fn new<'s>(
        name: &str,
        scopes: impl IntoIterator<Item = &'s str>,
        what: &str,
        written: Written,
    ) -> Result<Self, String> {
        let noun = what.to_lowercase();
        if name.is_empty() {
            return Err(format!("the {noun} is empty"));
        }
        if name.trim() != name {
            return Err(format!(
                "the {noun} {name:?} has spaces around it (no space after a comma in the variable)"
            ));
        }
        let mut kept: Vec<String> = Vec::new();
        for scope in scopes {
            check_scope(scope)?;
            if !kept.iter().any(|known| known == scope) {
                kept.push(scope.to_owned());
            }
        }
        if kept.is_empty() {
            return Err(format!("no scope for the {noun} {name}"));
        }
        Ok(Self {
            name: name.to_owned(),
            scopes: kept,
            written,
        })
    }

    /// What the entry names, and its scopes.
    pub(crate) fn into_parts(self) -> (String, Vec<String>) {
        (self.name, self.scopes)
    }
}

impl std::fmt::Display for ScopeRule {
    /// As its flag takes it: `NAME=SCOPE SCOPE`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.name, self.scopes.join(" "))
    }
}

/// Refuses what is not an RFC 6749 scope token.
pub(crate) fn check_scope(scope: &str) -> Result<(), String> {
    if is_scope_token(scope) {
        Ok(())
    } else {
        Err(format!(
            "{scope:?} is not a scope token (RFC 6749: visible ASCII except '\"' and '\\', separated by spaces)"
        ))
    }
}

fn parse_tool_scope(entry: &str) -> Result<ScopeRule, String> {
    parse_scope_rule(entry, "TOOL", "admin_report=mcp:admin")
}

fn parse_prompt_scope(entry: &str) -> Result<ScopeRule, String> {
    parse_scope_rule(entry, "PROMPT", "incident_report=ops")
}

fn parse_resource_scope(entry: &str) -> Result<ScopeRule, String> {
    parse_scope_rule(entry, "URI", "file:///private/=files:private")
}

fn parse_method_scope(entry: &str) -> Result<ScopeRule, String> {
    parse_scope_rule(entry, "METHOD", "resources/list=files:list")
}

/// Parses `NAME=SCOPE[ SCOPE...]` strictly: a name (`what`, as the flag's value names it), and
/// at least one scope, each an RFC 6749 scope token (whether a tool exists, or a URI is
/// canonical, is for the command and the library to say). Errors are one line: clap prints
/// them after the value.
pub(crate) fn parse_scope_rule(
    entry: &str,
    what: &str,
    example: &str,
) -> Result<ScopeRule, String> {
    let Some((name, list)) = entry.split_once('=') else {
        return Err(format!("expected {what}=SCOPE, such as {example}"));
    };
    let scopes = list.split(' ').filter(|scope| !scope.is_empty());
    ScopeRule::new(name, scopes, what, Written::Flag)
}

/// What a rule guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RuleKind {
    Tool,
    Prompt,
    Resource,
    ResourcePrefix,
    Method,
}

impl RuleKind {
    /// Its name in the library's rule ids (`tool:NAME`, `resource_prefix:PREFIX`).
    pub(crate) fn id(self) -> &'static str {
        match self {
            Self::Tool => "tool",
            Self::Prompt => "prompt",
            Self::Resource => "resource",
            Self::ResourcePrefix => "resource_prefix",
            Self::Method => "method",
        }
    }

    /// The start banner's label.
    fn label(self) -> &'static str {
        match self {
            Self::Tool => "tool scopes",
            Self::Prompt => "prompt scopes",
            Self::Resource => "resource scopes",
            Self::ResourcePrefix => "resource prefixes",
            Self::Method => "method scopes",
        }
    }
}

/// The scopes each operation needs beyond the base ones: the command's own rules first (the
/// admin tool's), then the flags' entries; each guarded name once, each of its scopes once, in
/// the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ScopeRules(Vec<(RuleKind, String, Vec<String>)>);

impl ScopeRules {
    /// The command's own tool rules (`defaults`) and the `--tool-scope` entries: a tool named
    /// by an entry needs what the entries say, its default rule left out (written wins).
    pub(crate) fn new(defaults: &[(&str, &str)], given: &[ScopeRule]) -> Self {
        let mut rules = Self::default();
        for (tool, scope) in defaults {
            if !given.iter().any(|entry| entry.name == *tool) {
                rules.add(RuleKind::Tool, tool, std::iter::once(*scope));
            }
        }
        for entry in given {
            rules.add(
                RuleKind::Tool,
                &entry.name,
                entry.scopes.iter().map(String::as_str),
            );
        }
        rules
    }

    fn add<'s>(&mut self, kind: RuleKind, name: &str, scopes: impl Iterator<Item = &'s str>) {
        let index = match self
            .0
            .iter()
            .position(|(known_kind, known, _)| *known_kind == kind && known == name)
        {
            Some(index) => index,
            None => {
                self.0.push((kind, name.to_owned(), Vec::new()));
                self.0.len() - 1
            }
        };
        let needed = &mut self.0[index].2;
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
            .fold(OperationRules::new(), |rules, (kind, name, scopes)| {
                let (name, scopes) = (name.clone(), scopes.iter().cloned());
                match kind {
                    RuleKind::Tool => rules.tool(name, scopes),
                    RuleKind::Prompt => rules.prompt(name, scopes),
                    RuleKind::Resource => rules.resource(name, scopes),
                    RuleKind::ResourcePrefix => rules.resource_prefix(name, scopes),
                    RuleKind::Method => rules.method(name, scopes),
                }
            })
    }

    /// What a call of `tool` needs: the `base` scopes, then the tool's own, each once (the
    /// scope of the layer's step-up challenge).
    pub(crate) fn needed_by(&self, tool: &str, base: &[String]) -> Vec<String> {
        let mut needed = base.to_vec();
        let own = self
            .0
            .iter()
            .find(|(kind, known, _)| *kind == RuleKind::Tool && known == tool);
        for scope in own
            .map(|(_, _, scopes)| scopes.as_slice())
            .unwrap_or_default()
        {
            if !needed.contains(scope) {
                needed.push(scope.clone());
            }
        }
        needed
    }

    /// The start banner's lines: `(label, NAME=SCOPES)` per rule.
    pub(crate) fn banner(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
        self.0
            .iter()
            .map(|(kind, name, scopes)| (kind.label(), format!("{name}={}", scopes.join(" "))))
    }

    /// The scopes the resource publishes (`scopes_supported`): the `base` ones, then every
    /// rule's, each once.
    pub(crate) fn published(&self, base: &[String]) -> Vec<String> {
        let mut scopes = base.to_vec();
        for scope in self.0.iter().flat_map(|(_, _, scopes)| scopes) {
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

    fn entry(tool: &str, scopes: &[&str]) -> ScopeRule {
        ScopeRule {
            name: tool.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            written: Written::Flag,
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
        let rules = ScopeRules::new(
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
            ["mcp:tools", "audit", "mcp:admin", "ops"]
        );
        // A rule written for a tool replaces its default.
        let written = ScopeRules::new(
            &[("admin_report", "mcp:admin")],
            &[entry("admin_report", &["admin"])],
        );
        assert_eq!(written.needed_by("admin_report", &[]), ["admin"]);
        let admin_base = vec!["mcp:admin".to_owned()];
        assert_eq!(
            ScopeRules::new(&[("admin_report", "mcp:admin")], &[]).published(&admin_base),
            ["mcp:admin"]
        );
    }
}

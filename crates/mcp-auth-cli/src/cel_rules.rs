//! The flags of `serve` and `proxy` for rules in CEL (`--tool-rule TOOL=CEL`, `--prompt-rule`,
//! `--resource-rule`, `--resource-prefix-rule`, `--method-rule`, and `--rule CEL` for every
//! operation) and the configuration file's `allow_if`: what becomes of them (the bearer layer's
//! allow rules), and a rule that does not compile refused at the place it was written.

use clap::Args;
use mcp_auth::ConfigError;
use mcp_auth::operations::OperationRules;

use crate::Failure;
use crate::config_file::TomlString;
use crate::mcp_server;
use crate::scope_rules::RuleKind;
use crate::written::Written;

/// `--tool-rule`, `--prompt-rule`, `--resource-rule`, `--resource-prefix-rule`,
/// `--method-rule`, `--rule`.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct CelRuleArgs {
    /// A rule in CEL a call of the tool must pass, on top of its scopes and roles, as TOOL=CEL
    /// ('read_file=mcp.arguments.path.underPath("/public")'). Rules read auth (subject,
    /// client_id, issuer, scopes, roles), jwt (the token's claims), mcp (method, name,
    /// arguments) and request (remote_addr). A call the rule does not allow gets 403 naming the
    /// rule, without a scope challenge. Repeatable, every rule must pass; newline-separated in
    /// the variable (an expression may hold commas).
    #[arg(
        long = "tool-rule",
        value_name = "TOOL=CEL",
        env = "MCP_AUTH_TOOL_RULE",
        value_delimiter = '\n',
        value_parser = parse_tool_rule
    )]
    tool_rules: Vec<CelRule>,
    /// A rule in CEL getting the prompt must pass, as PROMPT=CEL; read as --tool-rule.
    /// Repeatable; newline-separated in the variable.
    #[arg(
        long = "prompt-rule",
        value_name = "PROMPT=CEL",
        env = "MCP_AUTH_PROMPT_RULE",
        value_delimiter = '\n',
        value_parser = parse_prompt_rule
    )]
    prompt_rules: Vec<CelRule>,
    /// A rule in CEL reading the resource with exactly this URI must pass, as URI=CEL (matched
    /// as --resource-scope is); read as --tool-rule. Repeatable; newline-separated in the
    /// variable.
    #[arg(
        long = "resource-rule",
        value_name = "URI=CEL",
        env = "MCP_AUTH_RESOURCE_RULE",
        value_delimiter = '\n',
        value_parser = parse_resource_rule
    )]
    resource_rules: Vec<CelRule>,
    /// A rule in CEL reading any resource under PREFIX must pass, as PREFIX=CEL; read as
    /// --tool-rule. Repeatable; newline-separated in the variable.
    #[arg(
        long = "resource-prefix-rule",
        value_name = "PREFIX=CEL",
        env = "MCP_AUTH_RESOURCE_PREFIX_RULE",
        value_delimiter = '\n',
        value_parser = parse_resource_prefix_rule
    )]
    resource_prefix_rules: Vec<CelRule>,
    /// A rule in CEL every request of a JSON-RPC method must pass, as METHOD=CEL
    /// ('tools/call=auth.client_id != "legacy-bot"'); read as --tool-rule. Repeatable;
    /// newline-separated in the variable.
    #[arg(
        long = "method-rule",
        value_name = "METHOD=CEL",
        env = "MCP_AUTH_METHOD_RULE",
        value_delimiter = '\n',
        value_parser = parse_method_rule
    )]
    method_rules: Vec<CelRule>,
    /// A rule in CEL every request must pass, whatever it calls or lists (initialize included):
    /// 'jwt.tenant == "acme"'; read as --tool-rule. Repeatable; newline-separated in the
    /// variable.
    #[arg(
        long = "rule",
        value_name = "CEL",
        env = "MCP_AUTH_RULE",
        value_delimiter = '\n',
        value_parser = parse_every_rule
    )]
    every_rules: Vec<CelRule>,
}

/// One rule in CEL: what it guards (`None`: every operation), its expression, and where it was
/// written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CelRule {
    target: Option<(RuleKind, String)>,
    expression: String,
    written: Written,
    /// The expression as the configuration file spells it, for the position of an error in it.
    literal: Option<TomlString>,
}

impl CelRule {
    /// A rule on `target` (what its flag's value calls it: TOOL, URI...), refused when the
    /// name or the expression is empty, or the name padded with spaces.
    pub(crate) fn new(
        target: Option<(RuleKind, &str)>,
        expression: &str,
        what: &str,
        written: Written,
    ) -> Result<Self, String> {
        if let Some((_, name)) = target {
            let noun = what.to_lowercase();
            if name.is_empty() {
                return Err(format!("the {noun} is empty"));
            }
            if name.trim() != name {
                return Err(format!("the {noun} {name:?} has spaces around it"));
            }
        }
        if expression.trim().is_empty() {
            return Err("the expression is empty".to_owned());
        }
        Ok(Self {
            target: target.map(|(kind, name)| (kind, name.to_owned())),
            expression: expression.to_owned(),
            written,
            literal: None,
        })
    }

    /// The rule as a configuration file's `allow_if` spells it: an error in the expression is
    /// reported at its line and column in the file.
    pub(crate) fn spelled(self, literal: TomlString) -> Self {
        Self {
            literal: Some(literal),
            ..self
        }
    }

    /// The library's id for the rule, without the `#2` of a second rule on one target.
    fn base_id(&self) -> String {
        match &self.target {
            Some((kind, name)) => format!("{}:{name}", kind.id()),
            None => "every_operation".to_owned(),
        }
    }

    /// The flag that takes such a rule, as clap names it.
    fn flag(&self) -> &'static str {
        match self.target.as_ref().map(|(kind, _)| kind) {
            Some(RuleKind::Tool) => "--tool-rule <TOOL=CEL>",
            Some(RuleKind::Prompt) => "--prompt-rule <PROMPT=CEL>",
            Some(RuleKind::Resource) => "--resource-rule <URI=CEL>",
            Some(RuleKind::ResourcePrefix) => "--resource-prefix-rule <PREFIX=CEL>",
            Some(RuleKind::Method) => "--method-rule <METHOD=CEL>",
            None => "--rule <CEL>",
        }
    }
}

fn parse_rule(entry: &str, kind: RuleKind, what: &str, example: &str) -> Result<CelRule, String> {
    let Some((name, expression)) = entry.split_once('=') else {
        return Err(format!("expected {what}=CEL, such as {example}"));
    };
    CelRule::new(Some((kind, name)), expression, what, Written::Flag)
}

fn parse_tool_rule(entry: &str) -> Result<CelRule, String> {
    let example = r#"admin_report=auth.roles.exists(r, r == "admins")"#;
    parse_rule(entry, RuleKind::Tool, "TOOL", example)
}

fn parse_prompt_rule(entry: &str) -> Result<CelRule, String> {
    let example = r#"incident_report="ops" in auth.roles"#;
    parse_rule(entry, RuleKind::Prompt, "PROMPT", example)
}

fn parse_resource_rule(entry: &str) -> Result<CelRule, String> {
    let example = r#"file:///etc/hosts="ops" in auth.roles"#;
    parse_rule(entry, RuleKind::Resource, "URI", example)
}

fn parse_resource_prefix_rule(entry: &str) -> Result<CelRule, String> {
    let example = r#"file:///private/="ops" in auth.roles"#;
    parse_rule(entry, RuleKind::ResourcePrefix, "PREFIX", example)
}

fn parse_method_rule(entry: &str) -> Result<CelRule, String> {
    let example = r#"tools/call=auth.client_id != "legacy-bot""#;
    parse_rule(entry, RuleKind::Method, "METHOD", example)
}

fn parse_every_rule(entry: &str) -> Result<CelRule, String> {
    CelRule::new(None, entry, "CEL", Written::Flag)
}

impl CelRuleArgs {
    /// Every rule, in the order the library is given them (its `#2` ids count in this order).
    fn all(&self) -> impl Iterator<Item = &CelRule> {
        self.tool_rules
            .iter()
            .chain(&self.prompt_rules)
            .chain(&self.resource_rules)
            .chain(&self.resource_prefix_rules)
            .chain(&self.method_rules)
            .chain(&self.every_rules)
    }

    /// Adds a rule written elsewhere (a configuration file) to the flags' rules of its kind.
    pub(crate) fn add(&mut self, rule: CelRule) {
        let entries = match rule.target.as_ref().map(|(kind, _)| kind) {
            Some(RuleKind::Tool) => &mut self.tool_rules,
            Some(RuleKind::Prompt) => &mut self.prompt_rules,
            Some(RuleKind::Resource) => &mut self.resource_rules,
            Some(RuleKind::ResourcePrefix) => &mut self.resource_prefix_rules,
            Some(RuleKind::Method) => &mut self.method_rules,
            None => &mut self.every_rules,
        };
        entries.push(rule);
    }

    /// Refuses what the built-in server (`serve`) cannot use: a rule on a tool it does not
    /// have, and prompt and resource rules (it has neither).
    pub(crate) fn check_builtin_server(&self) -> Result<(), Failure> {
        let tools = mcp_server::tool_names();
        for rule in self.all() {
            let reason = match &rule.target {
                Some((RuleKind::Tool, tool))
                    if !tools.iter().any(|known| known.eq_ignore_ascii_case(tool)) =>
                {
                    format!(
                        "the server has no tool {tool:?}; its tools are {}",
                        tools.join(", ")
                    )
                }
                Some((RuleKind::Prompt | RuleKind::Resource | RuleKind::ResourcePrefix, _)) => {
                    "this rule guards prompts or resources, and the built-in server has none: use it with mcp-auth proxy".to_owned()
                }
                _ => continue,
            };
            let entry = match &rule.target {
                Some((_, name)) => format!("{name}={}", rule.expression),
                None => rule.expression.clone(),
            };
            return Err(rule.written.invalid(rule.flag(), &entry, &reason));
        }
        Ok(())
    }

    /// `rules` with every rule in CEL added, in the order of [`all`](Self::all).
    pub(crate) fn operations(&self, rules: OperationRules) -> OperationRules {
        self.all().fold(rules, add_rule)
    }

    /// The failure for `error`, when it is a rule the library refused: at the line and column
    /// of the configuration file for a file's `allow_if`, as the library words it for a flag.
    pub(crate) fn refused(&self, error: &ConfigError) -> Option<Failure> {
        let (rule, line, column, message) = policy_rule(error)?;
        // `tool:x#2` is the second rule on tool x; ids are made from the names as given, so a
        // second rule spelled in another case falls back to the first of its own spelling.
        let (base, nth) = rule
            .rsplit_once('#')
            .and_then(|(base, nth)| Some((base, nth.parse::<usize>().ok()?)))
            .unwrap_or((rule, 1));
        let same: Vec<&CelRule> = self.all().filter(|given| given.base_id() == base).collect();
        let found = same.get(nth.saturating_sub(1)).or(same.first());
        Some(match found.and_then(|given| given.literal.as_ref()) {
            Some(literal) => Failure::Config(
                literal
                    .position(line, column)
                    .error(format!("{message} (the rule {rule})")),
            ),
            None => Failure::Usage(error.to_string()),
        })
    }

    /// The start banner's lines: `(label, ID EXPRESSION)` per rule, on one line each.
    pub(crate) fn banner(&self) -> Vec<(&'static str, String)> {
        self.all()
            .map(|rule| {
                let expression = rule.expression.split_whitespace().collect::<Vec<_>>();
                (
                    "allow if",
                    format!("{} {}", rule.base_id(), expression.join(" ")),
                )
            })
            .collect()
    }
}

/// The rule, line, column and message of a rule the library refused.
fn policy_rule(error: &ConfigError) -> Option<(&str, usize, usize, &str)> {
    match error {
        ConfigError::PolicyRule {
            rule,
            line,
            column,
            message,
        } => Some((rule, *line, *column, message)),
        _ => None,
    }
}

/// `rules` with `rule` added.
fn add_rule(rules: OperationRules, rule: &CelRule) -> OperationRules {
    let expression = rule.expression.clone();
    match &rule.target {
        Some((kind, name)) => {
            let name = name.clone();
            match kind {
                RuleKind::Tool => rules.tool_rule(name, expression),
                RuleKind::Prompt => rules.prompt_rule(name, expression),
                RuleKind::Resource => rules.resource_rule(name, expression),
                RuleKind::ResourcePrefix => rules.resource_prefix_rule(name, expression),
                RuleKind::Method => rules.method_rule(name, expression),
            }
        }
        None => rules.every_rule(expression),
    }
}

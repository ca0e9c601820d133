//! The rule tables of a configuration file, read with serde (unknown keys refused) and checked
//! by the rules' own constructors: what `--tool-scope`, `--tool-role` and `--tool-rule` (and
//! their prompt, resource and method kin) take, written per operation.
//!
//! ```toml
//! [tool.admin_report]
//! scopes = ["mcp:admin"]
//! roles = ["admins"]
//! allow_if = 'auth.roles.exists(r, r == "admins")'
//!
//! [resource_prefix."file:///private/"]
//! scopes = ["files:private"]
//!
//! [every_operation]
//! allow_if = 'jwt.tenant == "acme"'
//! ```
//!
//! The exact-resource table is `resource_uri`: `resource` is already the flag naming the
//! protected resource.

use std::collections::BTreeMap;
use std::ops::Range;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::literal::TomlString;
use super::position::{ConfigFileError, FileText};
use crate::cel_rules::CelRule;
use crate::role_rules::ToolRole;
use crate::scope_rules::{RuleKind, ScopeRule, check_scope};
use crate::written::Written;

/// The rule tables, by what they guard.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleTables {
    /// Rules per tool, by its name ([tool.admin_report]); names match without regard to case.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, ToolRule>")]
    tool: BTreeMap<String, Spanned<ToolRule>>,
    /// Rules per prompt (prompts/get, and completions of its arguments), by its name.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, OperationRule>")]
    prompt: BTreeMap<String, Spanned<OperationRule>>,
    /// Rules per resource (resources/read, subscribe...), by its exact URI in canonical form
    /// ([resource_uri."file:///etc/hosts"]), matched as --resource-scope is.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, OperationRule>")]
    resource_uri: BTreeMap<String, Spanned<OperationRule>>,
    /// Rules for every resource whose URI starts with the prefix
    /// ([resource_prefix."file:///private/"]).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, OperationRule>")]
    resource_prefix: BTreeMap<String, Spanned<OperationRule>>,
    /// Rules per JSON-RPC method ([method."resources/list"]).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, OperationRule>")]
    method: BTreeMap<String, Spanned<OperationRule>>,
    /// A rule every request must pass, whatever it calls or lists (as --rule).
    #[serde(default)]
    #[schemars(with = "Option<EveryOperationRule>")]
    every_operation: Option<Spanned<EveryOperationRule>>,
}

/// What a tool needs; every part given must pass.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ToolRule {
    /// Scopes the tool needs on top of the required ones (as --tool-scope): a token lacking
    /// them gets 403 insufficient_scope (MCP step-up).
    #[schemars(with = "Option<Vec<String>>", length(min = 1))]
    scopes: Option<Vec<Spanned<String>>>,
    /// Roles allowed to call the tool, any of them (as --tool-role; needs roles-claim).
    #[schemars(with = "Option<Vec<String>>", length(min = 1))]
    roles: Option<Vec<Spanned<String>>>,
    /// A rule in CEL the call must pass (as --tool-rule).
    #[schemars(with = "Option<String>")]
    allow_if: Option<Spanned<String>>,
}

/// What a prompt, resource or method needs; every part given must pass.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct OperationRule {
    /// Scopes it needs on top of the required ones (as --prompt-scope, --resource-scope...).
    #[schemars(with = "Option<Vec<String>>", length(min = 1))]
    scopes: Option<Vec<Spanned<String>>>,
    /// A rule in CEL the request must pass (as --prompt-rule, --resource-rule...).
    #[schemars(with = "Option<String>")]
    allow_if: Option<Spanned<String>>,
}

/// The rule every request must pass.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct EveryOperationRule {
    /// A rule in CEL every request must pass (as --rule).
    #[schemars(with = "String")]
    allow_if: Spanned<String>,
}

/// The names of the rule tables, as the types above read them.
pub(crate) fn table_names() -> Vec<String> {
    let schema = schemars::schema_for!(RuleTables);
    schema
        .get("properties")
        .and_then(serde_json::Value::as_object)
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default()
}

/// The rules a file's tables give, each knowing where it was written, for the flags' rules
/// to take in.
#[derive(Debug, Default)]
pub(crate) struct FileRules {
    pub(crate) scopes: Vec<(RuleKind, ScopeRule)>,
    pub(crate) tool_roles: Vec<ToolRole>,
    pub(crate) cel: Vec<CelRule>,
    /// The tables as TOML, each header followed by its position: what `check-config` prints.
    pub(crate) described: Vec<String>,
}

impl RuleTables {
    /// Reads `tables`, the file's rule tables, and checks each rule.
    pub(crate) fn read(
        file: FileText<'_>,
        tables: DeTable<'_>,
    ) -> Result<FileRules, ConfigFileError> {
        let whole = Spanned::new(0..file.text.len(), DeValue::Table(tables));
        let read = Self::deserialize(ValueDeserializer::from(whole))
            .map_err(|err| file.toml_error(&err))?;
        let mut rules = FileRules {
            described: read.describe(file),
            ..FileRules::default()
        };
        for (name, table) in &read.tool {
            let rule = table.get_ref();
            let parts = Parts {
                scopes: rule.scopes.as_deref(),
                roles: rule.roles.as_deref(),
                allow_if: rule.allow_if.as_ref(),
            };
            rules.add(file, RuleKind::Tool, name, table.span(), parts)?;
        }
        let others = [
            (RuleKind::Prompt, &read.prompt),
            (RuleKind::Resource, &read.resource_uri),
            (RuleKind::ResourcePrefix, &read.resource_prefix),
            (RuleKind::Method, &read.method),
        ];
        for (kind, tables) in others {
            for (name, table) in tables {
                let rule = table.get_ref();
                let parts = Parts {
                    scopes: rule.scopes.as_deref(),
                    roles: None,
                    allow_if: rule.allow_if.as_ref(),
                };
                rules.add(file, kind, name, table.span(), parts)?;
            }
        }
        if let Some(every) = &read.every_operation {
            let allow_if = &every.get_ref().allow_if;
            let written = Written::File(file.position(every.span().start));
            let rule = CelRule::new(None, allow_if.get_ref(), "CEL", written)
                .map_err(|reason| file.error(allow_if.span(), reason))?;
            rules
                .cel
                .push(rule.spelled(TomlString::new(file.path, file.text, allow_if.span())));
        }
        Ok(rules)
    }
}

impl RuleTables {
    /// The tables as TOML, each header followed by its position.
    fn describe(&self, file: FileText<'_>) -> Vec<String> {
        let strings = |list: &Option<Vec<Spanned<String>>>| {
            list.as_ref().map(|list| {
                let items = list
                    .iter()
                    .map(|item| toml::Value::String(item.get_ref().clone()));
                toml::Value::Array(items.collect())
            })
        };
        let string = |text: &Option<Spanned<String>>| {
            text.as_ref()
                .map(|text| toml::Value::String(text.get_ref().clone()))
        };
        let mut lines = Vec::new();
        let mut table =
            |header: String, span: Range<usize>, entries: Vec<(&str, Option<toml::Value>)>| {
                lines.push(String::new());
                lines.push(format!("{header}  # {}", file.position(span.start)));
                for (key, value) in entries {
                    if let Some(value) = value {
                        lines.push(format!("{key} = {value}"));
                    }
                }
            };
        for (name, rule) in &self.tool {
            let parts = rule.get_ref();
            table(
                format!("[tool.{}]", toml_key(name)),
                rule.span(),
                vec![
                    ("scopes", strings(&parts.scopes)),
                    ("roles", strings(&parts.roles)),
                    ("allow_if", string(&parts.allow_if)),
                ],
            );
        }
        let others = [
            ("prompt", &self.prompt),
            ("resource_uri", &self.resource_uri),
            ("resource_prefix", &self.resource_prefix),
            ("method", &self.method),
        ];
        for (kind, tables) in others {
            for (name, rule) in tables {
                let parts = rule.get_ref();
                table(
                    format!("[{kind}.{}]", toml_key(name)),
                    rule.span(),
                    vec![
                        ("scopes", strings(&parts.scopes)),
                        ("allow_if", string(&parts.allow_if)),
                    ],
                );
            }
        }
        if let Some(every) = &self.every_operation {
            let allow_if = toml::Value::String(every.get_ref().allow_if.get_ref().clone());
            table(
                "[every_operation]".to_owned(),
                every.span(),
                vec![("allow_if", Some(allow_if))],
            );
        }
        lines
    }
}

/// `name` as a TOML key: bare when it can be, else quoted.
pub(crate) fn toml_key(name: &str) -> String {
    let bare = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if !name.is_empty() && name.chars().all(bare) {
        name.to_owned()
    } else {
        toml::Value::String(name.to_owned()).to_string()
    }
}

/// The parts of one table.
struct Parts<'t> {
    scopes: Option<&'t [Spanned<String>]>,
    roles: Option<&'t [Spanned<String>]>,
    allow_if: Option<&'t Spanned<String>>,
}

impl FileRules {
    /// Adds the rules of the table guarding `name`, at `span`.
    fn add(
        &mut self,
        file: FileText<'_>,
        kind: RuleKind,
        name: &str,
        span: Range<usize>,
        parts: Parts<'_>,
    ) -> Result<(), ConfigFileError> {
        let written = Written::File(file.position(span.start));
        let what = match kind {
            RuleKind::Tool => "TOOL",
            RuleKind::Prompt => "PROMPT",
            RuleKind::Resource => "URI",
            RuleKind::ResourcePrefix => "PREFIX",
            RuleKind::Method => "METHOD",
        };
        if parts.scopes.is_none() && parts.roles.is_none() && parts.allow_if.is_none() {
            return Err(file.error(
                span,
                "an empty rule table: give it scopes, roles or allow_if",
            ));
        }
        if let Some(scopes) = parts.scopes {
            for scope in scopes {
                check_scope(scope.get_ref()).map_err(|reason| file.error(scope.span(), reason))?;
            }
            let given = scopes.iter().map(|scope| scope.get_ref().as_str());
            let rule = ScopeRule::new(name, given, what, written.clone())
                .map_err(|reason| file.error(span.clone(), reason))?;
            self.scopes.push((kind, rule));
        }
        if let Some(roles) = parts.roles {
            if roles.is_empty() {
                return Err(file.error(span, "roles is empty: name at least one role"));
            }
            for role in roles {
                let rule = ToolRole::new(name, role.get_ref(), written.clone())
                    .map_err(|reason| file.error(role.span(), reason))?;
                self.tool_roles.push(rule);
            }
        }
        if let Some(allow_if) = parts.allow_if {
            let rule = CelRule::new(Some((kind, name)), allow_if.get_ref(), what, written)
                .map_err(|reason| file.error(allow_if.span(), reason))?;
            let literal = TomlString::new(file.path, file.text, allow_if.span());
            self.cel.push(rule.spelled(literal));
        }
        Ok(())
    }
}

//! [`OperationRules`]: the scopes each MCP operation needs on top of a layer's base scopes.

use std::collections::HashMap;
use std::time::Duration;

use super::allow_rules::AllowRules;
use super::message::{Operation, Target};
use super::resource_uri;
use crate::error::ConfigError;
use crate::scope::check_scope_token;
use crate::wire::case_fold::fold;

/// The largest request body read to find its operations unless
/// [`OperationRules::max_body_bytes`] says otherwise: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The longest wait for a request body being read to find its operations, unless
/// [`OperationRules::body_timeout`] says otherwise: 30 s.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Scopes required per tool, prompt, resource and JSON-RPC method, on top of the bearer layer's
/// [`required_scopes`](crate::bearer::BearerAuthBuilder::required_scopes).
///
/// An operation needs the scopes of every rule that matches it: its method's, and its tool's,
/// prompt's or resource's (exact URI, and every prefix rule the URI starts with). Scope
/// hierarchies apply as for the base scopes.
///
/// Names are matched the way the most lenient server matches them, so that no spelling a
/// server reads as a guarded name escapes its rule: tool, prompt and method names and resource
/// URIs without regard to case (Unicode case folding), resource URIs with or without a
/// trailing `/`. Resource rules must name URIs in canonical form (checked when the layer is
/// built); a request naming a URI out of canonical form gets the strictest rule.
///
/// ```
/// use mcp_auth::operations::OperationRules;
///
/// let rules = OperationRules::new()
///     .tool("delete_repo", ["repo:admin"])
///     .prompt("incident_report", ["ops"])
///     .resource_prefix("file:///private/", ["files:private"])
///     .method("resources/list", ["files"]);
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "give the rules to BearerAuthBuilder::operations"]
pub struct OperationRules {
    /// Tools, prompts and methods keyed by their folded name.
    tools: HashMap<String, Vec<String>>,
    prompts: HashMap<String, Vec<String>>,
    /// Keyed by [`resource_uri::key`].
    resources: HashMap<String, Vec<String>>,
    /// The exact resource URIs as given, checked when the layer is built.
    resource_uris: Vec<String>,
    resource_prefixes: Vec<(String, Vec<String>)>,
    methods: HashMap<String, Vec<String>>,
    /// Roles per tool, keyed by its folded name: the caller needs one of them.
    tool_roles: HashMap<String, Vec<String>>,
    /// Rules in CEL.
    allow: AllowRules,
    max_body_bytes: Option<usize>,
    body_timeout: Option<Duration>,
}

impl OperationRules {
    /// No rules yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Scopes needed to call the tool `name` (`tools/call`).
    pub fn tool<I, S>(mut self, name: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        add(&mut self.tools, fold(&name.into()).into_owned(), scopes);
        self
    }

    /// Roles allowed to call the tool `name` (`tools/call`): the caller needs one of them in
    /// [`AuthInfo::roles`](crate::AuthInfo::roles) (read from the token by
    /// [`BearerAuthBuilder::roles_claim`](crate::bearer::BearerAuthBuilder::roles_claim)).
    /// Several calls for one tool add to the roles allowed. A caller holding none of them gets
    /// 403 with no `insufficient_scope` challenge (no step-up can grant a role) and the tool is
    /// left out of its lists; roles are compared exactly, case included, as providers issue
    /// them. Role rules and scope rules both apply: a tool may need a scope and a role.
    ///
    /// ```
    /// use mcp_auth::operations::OperationRules;
    ///
    /// let rules = OperationRules::new()
    ///     .tool_roles("admin_report", ["admins", "auditors"])
    ///     .tool("admin_report", ["mcp:admin"]);
    /// ```
    pub fn tool_roles<I, S>(mut self, name: impl Into<String>, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        add(&mut self.tool_roles, fold(&name.into()).into_owned(), roles);
        self
    }

    /// Scopes needed to get the prompt `name` (`prompts/get`).
    pub fn prompt<I, S>(mut self, name: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        add(&mut self.prompts, fold(&name.into()).into_owned(), scopes);
        self
    }

    /// Scopes needed to read (or subscribe to) the resource whose URI is exactly `uri`.
    pub fn resource<I, S>(mut self, uri: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let uri = uri.into();
        self.resource_uris.push(uri.clone());
        add(&mut self.resources, resource_uri::key(&uri), scopes);
        self
    }

    /// Scopes needed to read (or subscribe to) every resource whose URI starts with `prefix`,
    /// such as `file:///private/`.
    pub fn resource_prefix<I, S>(mut self, prefix: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resource_prefixes
            .push((prefix.into(), scopes.into_iter().map(Into::into).collect()));
        self
    }

    /// Scopes needed for every request of this JSON-RPC method (`tools/list`,
    /// `resources/read`...), whatever it names.
    pub fn method<I, S>(mut self, method: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        add(&mut self.methods, fold(&method.into()).into_owned(), scopes);
        self
    }

    /// A rule in CEL that a call of the tool `name` must pass, on top of its scopes and roles:
    /// the call is allowed when `expression` is `true`. Its id, named in denials and logs, is
    /// `tool:NAME` (`tool:NAME#2` for a second rule on one tool...).
    ///
    /// Rules read `auth` (`subject`, `client_id`, `issuer`, `scopes`, `roles`), `jwt` (every
    /// claim of the token, or of the introspection answer), `mcp` (`method`, `name`,
    /// `arguments`: the call's arguments object, `{}` when it has none) and `request`
    /// (`remote_addr`, the client's address when the server records it, else `null`). Besides
    /// CEL's standard functions, `path.underPath(folder)` tells whether a path lies in a folder
    /// without being fooled by `..`, `//`, `%2e` or `\`.
    ///
    /// A call the rule denies gets 403 with a JSON-RPC error naming the rule's id (never its
    /// expression or what it read), and no `insufficient_scope` challenge: no step-up would
    /// change the answer. So does a call the rule cannot evaluate (a missing argument, a value
    /// of the wrong type, arguments larger than 64 KiB or 4096 values, or with two member
    /// names differing only in case), logged with the rule's id at `warn`. Lists hide a tool
    /// whose rules deny the caller, unless a rule reads `mcp.arguments` or `request` (known
    /// only when it is called).
    ///
    /// The expression is compiled when the layer is built: a syntax error, a variable or field
    /// no call has (`auth.role`), or a loop a request could make costly (`exists` inside
    /// `exists`, `map`, `filter`) is a [`ConfigError::PolicyRule`] naming the rule, the line
    /// and the column.
    ///
    /// ```
    /// use mcp_auth::operations::OperationRules;
    ///
    /// let rules = OperationRules::new()
    ///     .tool_rule("admin_report", r#"auth.roles.exists(r, r == "admins")"#)
    ///     .tool_rule("read_file", r#"mcp.arguments.path.underPath("/public")"#)
    ///     .tool_rule("transfer", "mcp.arguments.amount <= 100 || 'finance' in auth.roles");
    /// ```
    pub fn tool_rule(mut self, name: impl Into<String>, expression: impl Into<String>) -> Self {
        self.allow.add(Some("tool"), name.into(), expression.into());
        self
    }

    /// A rule in CEL that getting the prompt `name` must pass (id `prompt:NAME`); see
    /// [`tool_rule`](Self::tool_rule).
    pub fn prompt_rule(mut self, name: impl Into<String>, expression: impl Into<String>) -> Self {
        self.allow
            .add(Some("prompt"), name.into(), expression.into());
        self
    }

    /// A rule in CEL that reading (or subscribing to) the resource `uri` must pass (id
    /// `resource:URI`); see [`tool_rule`](Self::tool_rule).
    pub fn resource_rule(mut self, uri: impl Into<String>, expression: impl Into<String>) -> Self {
        self.allow
            .add(Some("resource"), uri.into(), expression.into());
        self
    }

    /// A rule in CEL that reading any resource under `prefix` must pass (id
    /// `resource_prefix:PREFIX`); see [`tool_rule`](Self::tool_rule).
    pub fn resource_prefix_rule(
        mut self,
        prefix: impl Into<String>,
        expression: impl Into<String>,
    ) -> Self {
        self.allow
            .add(Some("resource_prefix"), prefix.into(), expression.into());
        self
    }

    /// A rule in CEL that every request of the JSON-RPC `method` must pass (id
    /// `method:NAME`); see [`tool_rule`](Self::tool_rule).
    ///
    /// ```
    /// use mcp_auth::operations::OperationRules;
    ///
    /// let rules = OperationRules::new().method_rule("tools/call", r#"auth.client_id != "legacy-bot""#);
    /// ```
    pub fn method_rule(mut self, method: impl Into<String>, expression: impl Into<String>) -> Self {
        self.allow
            .add(Some("method"), method.into(), expression.into());
        self
    }

    /// A rule in CEL that every request carrying a JSON-RPC request or notification must pass
    /// (id `every_operation`), `initialize` included; see [`tool_rule`](Self::tool_rule).
    ///
    /// ```
    /// use mcp_auth::operations::OperationRules;
    ///
    /// let rules = OperationRules::new().every_rule(r#"jwt.tenant == "acme""#);
    /// ```
    pub fn every_rule(mut self, expression: impl Into<String>) -> Self {
        self.allow.add(None, String::new(), expression.into());
        self
    }

    /// The largest request body read to find its operations ([`DEFAULT_MAX_BODY_BYTES`] unless
    /// set). A larger body is passed on unread, held to the strictest rule: every scope any
    /// rule names.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = Some(bytes);
        self
    }

    /// The longest wait for the body of a request whose operations must be read
    /// ([`DEFAULT_BODY_TIMEOUT`] unless set). A client slower than that gets 400
    /// `invalid_request`: it would otherwise hold the request, and what it holds, as long as it
    /// likes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcp_auth::operations::OperationRules;
    ///
    /// let rules = OperationRules::new()
    ///     .tool("delete_repo", ["repo:admin"])
    ///     .body_timeout(Duration::from_secs(5));
    /// ```
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = Some(timeout);
        self
    }

    pub(crate) fn read_timeout(&self) -> Duration {
        self.body_timeout.unwrap_or(DEFAULT_BODY_TIMEOUT)
    }

    /// Whether no rule is set: then the layer never reads a body.
    pub(crate) fn is_empty(&self) -> bool {
        self.tools.is_empty()
            && self.prompts.is_empty()
            && self.resources.is_empty()
            && self.resource_prefixes.is_empty()
            && self.methods.is_empty()
            && self.tool_roles.is_empty()
            && self.allow.is_empty()
    }

    /// Compiles the CEL rules (when the layer is built).
    pub(crate) fn compile(&mut self) -> Result<(), ConfigError> {
        self.allow.compile()
    }

    /// Keeps every call for a decision point (the layer has one).
    pub(crate) fn ask_decision_point(&mut self) {
        self.allow.keep_calls_for_decision_point();
    }

    /// The CEL rules, compiled.
    pub(crate) fn allow_rules(&self) -> &AllowRules {
        &self.allow
    }

    /// Whether a rule names roles.
    pub(crate) fn has_role_rules(&self) -> bool {
        !self.tool_roles.is_empty()
    }

    pub(crate) fn body_limit(&self) -> usize {
        self.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES)
    }

    /// Refuses empty names, scopes that are not RFC 6749 scope tokens, and empty role lists or
    /// roles.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        for (tool, roles) in &self.tool_roles {
            if tool.is_empty() {
                return Err(ConfigError::EmptyOperationName);
            }
            if roles.is_empty() || roles.iter().any(String::is_empty) {
                return Err(ConfigError::invalid_setting(
                    "OperationRules",
                    "tool_roles",
                    format!(
                        "the tool {tool:?} is given no role or an empty one: name the roles that may call it"
                    ),
                ));
            }
        }
        let named = self
            .tools
            .iter()
            .chain(&self.prompts)
            .chain(&self.resources)
            .chain(&self.methods)
            .map(|(name, scopes)| (name.as_str(), scopes))
            .chain(
                self.resource_prefixes
                    .iter()
                    .map(|(prefix, scopes)| (prefix.as_str(), scopes)),
            );
        for (name, scopes) in named {
            if name.is_empty() {
                return Err(ConfigError::EmptyOperationName);
            }
            for scope in scopes {
                check_scope_token(scope)?;
            }
        }
        let resources = self.resource_uris.iter();
        let prefixes = self.resource_prefixes.iter().map(|(prefix, _)| prefix);
        if let Some(uri) = resources
            .chain(prefixes)
            .find(|uri| resource_uri::canonical(uri).is_none())
        {
            return Err(ConfigError::NonCanonicalResourceRule { uri: uri.clone() });
        }
        if self.max_body_bytes == Some(0) {
            return Err(ConfigError::invalid_setting(
                "OperationRules",
                "max_body_bytes",
                "it is zero, so no request's operation could be read; leave it unset for 1 MiB",
            ));
        }
        if self.body_timeout == Some(Duration::ZERO) {
            return Err(ConfigError::invalid_setting(
                "OperationRules",
                "body_timeout",
                "it is zero, so no request body could be read in time; leave it unset for 30 s",
            ));
        }
        Ok(())
    }

    /// The scopes `operation` needs beyond the base scopes, each once, in rule order.
    pub(crate) fn scopes_for<'r>(&'r self, operation: &Operation) -> Vec<&'r str> {
        let mut needed = Vec::new();
        let named = |rules: &'r HashMap<String, Vec<String>>, name: &str| {
            rules
                .get(fold(name).as_ref())
                .map_or(&[][..], Vec::as_slice)
        };
        extend(&mut needed, named(&self.methods, &operation.method));
        for target in &operation.targets {
            match target {
                Target::Tool(name) => extend(&mut needed, named(&self.tools, name)),
                Target::Prompt(name) => extend(&mut needed, named(&self.prompts, name)),
                // A URI out of canonical form is a server's to read as any other: it needs
                // what every rule needs.
                Target::Resource(uri) if resource_uri::canonical(uri).is_none() => {
                    for scope in self.strictest() {
                        if !needed.contains(&scope) {
                            needed.push(scope);
                        }
                    }
                }
                Target::Resource(uri) => {
                    let exact = self.resources.get(&resource_uri::key(uri));
                    extend(&mut needed, exact.map_or(&[], Vec::as_slice));
                    for (prefix, scopes) in &self.resource_prefixes {
                        if resource_uri::under(uri, prefix) {
                            extend(&mut needed, scopes);
                        }
                    }
                }
                Target::Task(_) => {}
            }
        }
        needed
    }

    /// The roles `operation` needs: one of each list.
    pub(crate) fn roles_for<'r>(&'r self, operation: &Operation) -> Vec<&'r [String]> {
        if self.tool_roles.is_empty() {
            return Vec::new();
        }
        operation
            .targets
            .iter()
            .filter_map(|target| match target {
                Target::Tool(name) => self.tool_roles.get(fold(name).as_ref()),
                _ => None,
            })
            .map(Vec::as_slice)
            .collect()
    }

    /// Every role list of every rule: what a request whose operations cannot be read needs
    /// (one role of each).
    pub(crate) fn strictest_roles(&self) -> Vec<&[String]> {
        self.tool_roles.values().map(Vec::as_slice).collect()
    }

    /// Every scope any rule names: what a request whose operations cannot be read needs.
    pub(crate) fn strictest(&self) -> Vec<&str> {
        let mut all: Vec<&str> = Vec::new();
        let every = self
            .tools
            .values()
            .chain(self.prompts.values())
            .chain(self.resources.values())
            .chain(self.methods.values())
            .chain(self.resource_prefixes.iter().map(|(_, scopes)| scopes));
        for scope in every.flatten() {
            if !all.contains(&scope.as_str()) {
                all.push(scope.as_str());
            }
        }
        all.sort_unstable();
        all
    }
}

/// Adds each of `scopes` not in `needed` yet.
fn extend<'r>(needed: &mut Vec<&'r str>, scopes: &'r [String]) {
    for scope in scopes {
        if !needed.contains(&scope.as_str()) {
            needed.push(scope.as_str());
        }
    }
}

fn add<I, S>(rules: &mut HashMap<String, Vec<String>>, name: String, scopes: I)
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    rules
        .entry(name)
        .or_default()
        .extend(scopes.into_iter().map(Into::into));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> OperationRules {
        OperationRules::new()
            .tool("delete_repo", ["repo:admin"])
            .prompt("incident", ["ops"])
            .resource("file:///etc/passwd", ["root"])
            .resource_prefix("file:///private/", ["files:private"])
            .resource_prefix("file:///private/hr/", ["hr"])
            .method("resources/read", ["files"])
            .method("tools/call", ["tools"])
    }

    fn needs(method: &str, target: Option<Target>) -> Vec<String> {
        let operation = Operation {
            method: method.to_owned(),
            targets: target.into_iter().collect(),
            arguments: None,
        };
        rules()
            .scopes_for(&operation)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn an_operation_needs_its_method_and_target_scopes() {
        assert_eq!(
            needs("tools/call", Some(Target::Tool("delete_repo".into()))),
            ["tools", "repo:admin"]
        );
        assert_eq!(
            needs("tools/call", Some(Target::Tool("read_file".into()))),
            ["tools"]
        );
        assert_eq!(
            needs("prompts/get", Some(Target::Prompt("incident".into()))),
            ["ops"]
        );
        assert_eq!(needs("tools/list", None), Vec::<String>::new());
    }

    #[test]
    fn resources_match_exactly_and_by_every_prefix() {
        let resource = |uri: &str| needs("resources/read", Some(Target::Resource(uri.into())));
        assert_eq!(
            resource("file:///private/hr/pay.csv"),
            ["files", "files:private", "hr"]
        );
        assert_eq!(
            resource("file:///private/notes"),
            ["files", "files:private"]
        );
        assert_eq!(resource("file:///etc/passwd"), ["files", "root"]);
        assert_eq!(resource("file:///etc/passwd2"), ["files"]);
        assert_eq!(resource("file:///privatex"), ["files"]);
    }

    #[test]
    fn names_and_uris_match_whatever_their_case_and_trailing_slash() {
        let resource = |uri: &str| needs("resources/read", Some(Target::Resource(uri.into())));
        assert_eq!(
            resource("file:///PRIVATE/Hr/pay.csv"),
            ["files", "files:private", "hr"]
        );
        assert_eq!(resource("file:///private"), ["files", "files:private"]);
        assert_eq!(resource("file:///etc/passwd/"), ["files", "root"]);
        assert_eq!(resource("file:///ETC/PASSWD"), ["files", "root"]);
        assert_eq!(
            needs("tools/call", Some(Target::Tool("Delete_Repo".into()))),
            ["tools", "repo:admin"]
        );
        assert_eq!(
            needs("prompts/get", Some(Target::Prompt("INCIDENT".into()))),
            ["ops"]
        );
    }

    #[test]
    fn a_uri_out_of_canonical_form_needs_every_rule_s_scopes() {
        let needed = needs(
            "resources/read",
            Some(Target::Resource("file:///public/../private/x".into())),
        );
        let mut sorted = needed.clone();
        sorted.sort();
        assert_eq!(sorted, rules().strictest());
    }

    #[test]
    fn the_strictest_rule_names_every_scope() {
        assert_eq!(
            rules().strictest(),
            [
                "files",
                "files:private",
                "hr",
                "ops",
                "repo:admin",
                "root",
                "tools"
            ]
        );
    }

    #[test]
    fn empty_names_and_bad_scopes_are_configuration_errors() {
        assert_eq!(
            OperationRules::new().tool("", ["a"]).check(),
            Err(ConfigError::EmptyOperationName)
        );
        assert!(matches!(
            OperationRules::new().tool("t", ["two words"]).check(),
            Err(ConfigError::InvalidScope { .. })
        ));
        assert!(matches!(
            OperationRules::new().max_body_bytes(0).check(),
            Err(ConfigError::InvalidSetting {
                of: "OperationRules",
                setting: "max_body_bytes",
                ..
            })
        ));
        for uri in [
            "file:///private/?",
            "file:////x",
            "FILE:///x",
            "file://host/x",
        ] {
            assert_eq!(
                OperationRules::new().resource(uri, ["a"]).check(),
                Err(ConfigError::NonCanonicalResourceRule {
                    uri: uri.to_owned()
                })
            );
            assert_eq!(
                OperationRules::new().resource_prefix(uri, ["a"]).check(),
                Err(ConfigError::NonCanonicalResourceRule {
                    uri: uri.to_owned()
                })
            );
        }
        assert!(rules().check().is_ok());
    }
}

//! The flags of `serve` and `proxy` about roles: where tokens carry them (`--roles-claim`),
//! which tools need one (`--tool-role`), and the scopes a role grants (`--role-scope`).

use clap::Args;
use mcp_auth::bearer::BearerAuthBuilder;
use mcp_auth::operations::OperationRules;

use crate::Failure;
use crate::mcp_server;
use crate::scope_rules::{ScopeRule, parse_scope_rule};
use crate::written::Written;

/// `--roles-claim`, `--tool-role`, `--role-scope`.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct RoleArgs {
    /// A claim holding the caller's roles or groups: a claim name (roles, groups,
    /// cognito:groups) or a dotted path (realm_access.roles, resource_access.CLIENT.roles); the
    /// exact name is tried first. A string is one role, an array a role each. Repeatable, the
    /// roles add up; comma-separated in the variable.
    #[arg(
        long = "roles-claim",
        value_name = "PATH",
        env = "MCP_AUTH_ROLES_CLAIM",
        value_delimiter = ','
    )]
    roles_claims: Vec<String>,
    /// A role allowed to call a tool, as TOOL=ROLE. A caller holding none of a tool's roles
    /// gets 403 with a JSON-RPC error and no insufficient_scope challenge (no step-up grants a
    /// role), and the built-in server leaves the tool out of its tools/list. Roles match
    /// exactly, tool names without regard to case. Repeatable, the roles of one tool add up
    /// (any of them will do); comma-separated in the variable. Needs --roles-claim.
    #[arg(
        long = "tool-role",
        value_name = "TOOL=ROLE",
        env = "MCP_AUTH_TOOL_ROLE",
        value_delimiter = ',',
        value_parser = parse_tool_role
    )]
    tool_roles: Vec<ToolRole>,
    /// Scopes a role grants its holders, on top of their token's, as ROLE=SCOPE; several
    /// scopes separated by spaces. For servers whose rules are written against scopes behind a
    /// provider that puts permissions in roles or groups. Repeatable; comma-separated in the
    /// variable. Needs --roles-claim.
    #[arg(
        long = "role-scope",
        value_name = "ROLE=SCOPE",
        env = "MCP_AUTH_ROLE_SCOPE",
        value_delimiter = ',',
        value_parser = parse_role_scope
    )]
    role_scopes: Vec<(String, Vec<String>)>,
}

impl RoleArgs {
    /// Refuses role rules with no claim to read roles from, here or from the provider
    /// (`provider_roles`).
    pub(crate) fn check(&self, provider_roles: bool) -> Result<(), Failure> {
        let uses_roles = !self.tool_roles.is_empty() || !self.role_scopes.is_empty();
        if uses_roles && self.roles_claims.is_empty() && !provider_roles {
            return Err(Failure::Usage(
                "--tool-role and --role-scope need --roles-claim (or a --provider that has roles): name the claim the provider puts roles in (realm_access.roles, roles, groups, cognito:groups)".to_owned(),
            ));
        }
        Ok(())
    }

    /// Refuses a tool the built-in server does not have.
    pub(crate) fn check_builtin_tools(&self) -> Result<(), Failure> {
        let tools = mcp_server::tool_names();
        // Tool names match without regard to case, as requests are matched.
        let known = |tool: &str| tools.iter().any(|name| name.eq_ignore_ascii_case(tool));
        match self.tool_roles.iter().find(|rule| !known(&rule.tool)) {
            Some(rule) => Err(rule.written.invalid(
                "--tool-role <TOOL=ROLE>",
                &format!("{}={}", rule.tool, rule.role),
                &format!(
                    "the server has no tool {:?}; its tools are {}",
                    rule.tool,
                    tools.join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    /// Adds a tool role written elsewhere (a configuration file) to the flag's.
    pub(crate) fn add_tool_role(&mut self, rule: ToolRole) {
        self.tool_roles.push(rule);
    }

    /// `rules` with the tool role rules added.
    pub(crate) fn operations(&self, rules: OperationRules) -> OperationRules {
        self.tool_roles.iter().fold(rules, |rules, rule| {
            rules.tool_roles(rule.tool.clone(), [rule.role.clone()])
        })
    }

    /// `bearer` reading roles from the claims and granting their scopes.
    pub(crate) fn apply(&self, bearer: BearerAuthBuilder) -> BearerAuthBuilder {
        let bearer = self
            .roles_claims
            .iter()
            .fold(bearer, |bearer, path| bearer.roles_claim(path.clone()));
        self.role_scopes
            .iter()
            .fold(bearer, |bearer, (role, scopes)| {
                bearer.role_scopes(role.clone(), scopes.clone())
            })
    }

    /// The start banner's lines: `(label, value)`.
    pub(crate) fn banner(&self) -> Vec<(&'static str, String)> {
        let mut lines = Vec::new();
        if !self.roles_claims.is_empty() {
            lines.push(("roles from", self.roles_claims.join(", ")));
        }
        for rule in &self.tool_roles {
            lines.push(("tool roles", format!("{}={}", rule.tool, rule.role)));
        }
        for (role, scopes) in &self.role_scopes {
            lines.push(("role scopes", format!("{role}={}", scopes.join(" "))));
        }
        lines
    }
}

/// One `--tool-role` entry: a tool, a role allowed to call it, and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ToolRole {
    tool: String,
    role: String,
    written: Written,
}

impl ToolRole {
    /// `role` may call `tool`: both non-empty, without surrounding spaces.
    pub(crate) fn new(tool: &str, role: &str, written: Written) -> Result<Self, String> {
        if tool.is_empty() || role.is_empty() {
            return Err("the tool and the role must not be empty".to_owned());
        }
        if tool.trim() != tool || role.trim() != role {
            let entry = format!("{tool}={role}");
            return Err(format!(
                "{entry:?} has spaces around a name (no space after a comma in the variable)"
            ));
        }
        Ok(Self {
            tool: tool.to_owned(),
            role: role.to_owned(),
            written,
        })
    }
}

/// `TOOL=ROLE`: both non-empty, without surrounding spaces.
fn parse_tool_role(entry: &str) -> Result<ToolRole, String> {
    let Some((tool, role)) = entry.split_once('=') else {
        return Err("expected TOOL=ROLE, such as admin_report=mcp-admins".to_owned());
    };
    ToolRole::new(tool, role, Written::Flag)
}

/// `ROLE=SCOPE[ SCOPE...]`: a role and at least one scope token, read as `--tool-scope` reads
/// its entries.
fn parse_role_scope(entry: &str) -> Result<(String, Vec<String>), String> {
    parse_scope_rule(entry, "ROLE", "mcp-admins=mcp:admin").map(ScopeRule::into_parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_name_a_tool_or_role_and_what_it_needs_or_grants() {
        let rule = parse_tool_role("admin_report=Reports.Admin").unwrap();
        assert_eq!(
            (rule.tool.as_str(), rule.role.as_str()),
            ("admin_report", "Reports.Admin")
        );
        assert_eq!(
            parse_role_scope("mcp-admins=mcp:admin  audit"),
            Ok((
                "mcp-admins".to_owned(),
                vec!["mcp:admin".to_owned(), "audit".to_owned()]
            ))
        );
        for bad in ["admin_report", "=admins", "admin_report=", " a=b", "a=b "] {
            let error = parse_tool_role(bad).expect_err(bad);
            assert_eq!(error.lines().count(), 1, "{bad}: {error}");
        }
        for bad in [
            "admins",
            "=a",
            "admins=",
            "admins=   ",
            "admins=caf\u{e9}",
            " a=b",
        ] {
            let error = parse_role_scope(bad).expect_err(bad);
            assert_eq!(error.lines().count(), 1, "{bad}: {error}");
        }
    }
}

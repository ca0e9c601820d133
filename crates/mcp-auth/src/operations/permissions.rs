//! [`Permissions`]: what a layer's rules let the caller of a request use, for lists that show
//! each caller only what it may call.

use std::sync::Arc;

use super::message::{Operation, Target};
use super::rules::OperationRules;
use crate::auth_info::AuthInfo;
use crate::policy::{AccessRequest, DecisionError, DecisionPoint};
use crate::scope::{SharedScopeRelation, missing_scopes};

/// The operation rules, base scopes and scope relation of a bearer layer. The layer puts an
/// `Arc<Permissions>` into the extensions of every request it lets through when it has
/// operation rules; [`rmcp::visible_tools`](crate::rmcp::visible_tools) and its siblings read it.
///
/// ```
/// use std::sync::Arc;
/// use mcp_auth::AuthInfo;
/// use mcp_auth::operations::Permissions;
///
/// fn tools_for(permissions: &Permissions, caller: &AuthInfo) -> Vec<&'static str> {
///     ["read_file", "delete_repo"]
///         .into_iter()
///         .filter(|tool| permissions.may_call_tool(caller, tool))
///         .collect()
/// }
/// ```
#[derive(Clone)]
pub struct Permissions {
    rules: OperationRules,
    base: Vec<String>,
    relation: SharedScopeRelation,
    decision_point: Option<Arc<dyn DecisionPoint>>,
}

impl std::fmt::Debug for Permissions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permissions")
            .field("rules", &self.rules)
            .field("base", &self.base)
            .field("decision_point", &self.decision_point.is_some())
            .finish_non_exhaustive()
    }
}

impl Permissions {
    pub(crate) fn new(
        rules: OperationRules,
        base: Vec<String>,
        relation: SharedScopeRelation,
        decision_point: Option<Arc<dyn DecisionPoint>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            rules,
            base,
            relation,
            decision_point,
        })
    }

    /// What the layer's decision point says of each of `requests`, in one batch question (all
    /// allowed when the layer has none). For lists: the layer's own rules first
    /// ([`may_call_tool`](Self::may_call_tool)...), then this for what they let through.
    ///
    /// ```
    /// use mcp_auth::AuthInfo;
    /// use mcp_auth::operations::Permissions;
    /// use mcp_auth::policy::{AccessRequest, DecisionError};
    ///
    /// async fn callable(permissions: &Permissions, caller: &AuthInfo, tools: &[&str])
    ///     -> Result<Vec<String>, DecisionError> {
    ///     let local: Vec<&str> = tools
    ///         .iter()
    ///         .copied()
    ///         .filter(|tool| permissions.may_call_tool(caller, tool))
    ///         .collect();
    ///     let questions: Vec<AccessRequest> =
    ///         local.iter().map(|tool| AccessRequest::tool_call(caller, tool, None)).collect();
    ///     let decisions = permissions.decide_all(&questions).await?;
    ///     Ok(local.into_iter().zip(decisions).filter(|(_, allowed)| *allowed).map(|(tool, _)| tool.to_owned()).collect())
    /// }
    /// ```
    pub async fn decide_all(&self, requests: &[AccessRequest]) -> Result<Vec<bool>, DecisionError> {
        match &self.decision_point {
            None => Ok(vec![true; requests.len()]),
            Some(_) if requests.is_empty() => Ok(Vec::new()),
            Some(decision_point) => {
                let decided = decision_point.decide_all(requests).await?;
                if decided.len() != requests.len() {
                    return Err(DecisionError::new(format!(
                        "{} decisions for {} questions",
                        decided.len(),
                        requests.len()
                    )));
                }
                Ok(decided)
            }
        }
    }

    /// Whether `caller` may call the tool `name` (`tools/call`).
    pub fn may_call_tool(&self, caller: &AuthInfo, name: &str) -> bool {
        self.allows(caller, "tools/call", Target::Tool(name.to_owned()))
    }

    /// Whether `caller` may get the prompt `name` (`prompts/get`).
    pub fn may_get_prompt(&self, caller: &AuthInfo, name: &str) -> bool {
        self.allows(caller, "prompts/get", Target::Prompt(name.to_owned()))
    }

    /// Whether `caller` may read the resource `uri` (`resources/read`).
    pub fn may_read_resource(&self, caller: &AuthInfo, uri: &str) -> bool {
        self.allows(caller, "resources/read", Target::Resource(uri.to_owned()))
    }

    /// The layer's own decision for this operation: one of each matching rule's roles, the
    /// CEL rules that read neither arguments nor the request, its base scopes and every
    /// matching rule's.
    fn allows(&self, caller: &AuthInfo, method: &str, target: Target) -> bool {
        let operation = Operation {
            method: method.to_owned(),
            targets: vec![target],
            arguments: None,
        };
        let has_roles = self
            .rules
            .roles_for(&operation)
            .into_iter()
            .all(|allowed| allowed.iter().any(|role| caller.roles.contains(role)));
        if !has_roles {
            return false;
        }
        let mut needed = self.base.clone();
        needed.extend(
            self.rules
                .scopes_for(&operation)
                .into_iter()
                .map(str::to_owned),
        );
        if !missing_scopes(&self.relation, &caller.scopes, &needed).is_empty() {
            return false;
        }
        let listing = self.rules.allow_rules().listing(operation);
        listing.denied(caller, None).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::PrefixScopes;

    #[test]
    fn answers_as_the_layer_would_scope_hierarchy_included() {
        let permissions = Permissions::new(
            OperationRules::new()
                .tool("delete_repo", ["repo:admin"])
                .prompt("incident", ["ops"])
                .resource_prefix("file:///private/", ["private"])
                .method("tools/call", ["tools"]),
            vec!["mcp".to_owned()],
            SharedScopeRelation::new(PrefixScopes::new(':')),
            None,
        );
        let caller = |scopes: &[&str]| AuthInfo {
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            ..AuthInfo::default()
        };
        let base = caller(&["mcp", "tools"]);
        assert!(permissions.may_call_tool(&base, "read_file"));
        assert!(!permissions.may_call_tool(&base, "delete_repo"));
        assert!(permissions.may_call_tool(&caller(&["mcp", "tools", "repo"]), "delete_repo"));
        assert!(
            !permissions.may_call_tool(&caller(&["mcp"]), "read_file"),
            "tools/call needs `tools`"
        );
        assert!(!permissions.may_get_prompt(&base, "incident"));
        let admins = OperationRules::new().tool_roles("Delete_Repo", ["admins"]);
        let by_role = Permissions::new(admins, vec![], SharedScopeRelation::default(), None);
        assert!(!by_role.may_call_tool(&base, "delete_repo"));
        assert!(by_role.may_call_tool(&base.clone().with_roles(["admins"]), "delete_repo"));
        assert!(!by_role.may_call_tool(&base.clone().with_roles(["Admins"]), "delete_repo"));
        assert!(by_role.may_call_tool(&base, "read_file"));
        assert!(permissions.may_read_resource(&base, "file:///public/a"));
        assert!(!permissions.may_read_resource(&base, "file:///private/a"));
    }
}

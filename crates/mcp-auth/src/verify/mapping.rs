//! What a layer adds to every [`AuthInfo`](crate::AuthInfo) its built-in verifiers make: its scope
//! relation, the roles read from the claims where the provider puts them
//! ([`BearerAuthBuilder::roles_claim`](crate::bearer::BearerAuthBuilder::roles_claim)), and the
//! scopes those roles grant
//! ([`BearerAuthBuilder::role_scopes`](crate::bearer::BearerAuthBuilder::role_scopes)).

use serde_json::{Map, Value};

use crate::auth_info::AuthInfo;
use crate::error::{ConfigError, VerifyError};
use crate::observe::Reason;
use crate::scope::{SharedScopeRelation, check_scope_token};

/// The layer's part of every identity its JWT and introspection verifiers make.
#[derive(Debug, Clone, Default)]
pub(crate) struct IdentityMapping {
    pub(crate) scope_relation: SharedScopeRelation,
    /// Claims holding roles or groups, each a claim name or a dotted path.
    roles_claims: Vec<String>,
    /// Scopes granted to holders of a role.
    role_scopes: Vec<(String, Vec<String>)>,
}

impl IdentityMapping {
    /// The mapping with `scope_relation`, roles from `roles_claims` and the scopes of
    /// `role_scopes`; refuses an empty path or one with an empty segment, an empty role, a
    /// role granting nothing, and scopes that are not scope tokens.
    pub(crate) fn new(
        scope_relation: SharedScopeRelation,
        roles_claims: Vec<String>,
        role_scopes: Vec<(String, Vec<String>)>,
    ) -> Result<Self, ConfigError> {
        for (role, scopes) in &role_scopes {
            if role.is_empty() || scopes.is_empty() {
                return Err(ConfigError::invalid_setting(
                    "BearerAuthBuilder",
                    "role_scopes",
                    format!(
                        "the role {role:?} is empty or grants no scope: name a role and the scopes it grants"
                    ),
                ));
            }
            for scope in scopes {
                check_scope_token(scope)?;
            }
        }
        if let Some(bad) = roles_claims
            .iter()
            .find(|path| path.is_empty() || path.split('.').any(str::is_empty))
        {
            return Err(ConfigError::invalid_setting(
                "BearerAuthBuilder",
                "roles_claim",
                format!(
                    "{bad:?} is not a claim path: name a claim (roles, cognito:groups) or a dotted path (realm_access.roles)"
                ),
            ));
        }
        Ok(Self {
            scope_relation,
            roles_claims,
            role_scopes,
        })
    }

    /// Completes `info`: the layer's scope relation, its roles from the claims, and the scopes
    /// they grant.
    pub(crate) fn apply(&self, info: &mut AuthInfo) -> Result<(), VerifyError> {
        info.scope_relation = self.scope_relation.clone();
        for path in &self.roles_claims {
            for role in roles_at(&info.claims, path)? {
                if !info.roles.contains(&role) {
                    info.roles.push(role);
                }
            }
        }
        for (role, scopes) in &self.role_scopes {
            if info.roles.contains(role) {
                for scope in scopes {
                    if !info.scopes.contains(scope) {
                        info.scopes.push(scope.clone());
                    }
                }
            }
        }
        Ok(())
    }
}

/// The roles at `path`: the claim named exactly so (`cognito:groups`, or a namespaced
/// `https://example.com/roles`, dots included), else the dotted path (`realm_access.roles`,
/// `resource_access.CLIENT.roles`). Nothing there is no role; a string is one role, an array of
/// strings is a role each; anything else refuses the token, as a registered claim of the wrong
/// type does.
fn roles_at(claims: &Map<String, Value>, path: &str) -> Result<Vec<String>, VerifyError> {
    let found = claims.get(path).or_else(|| {
        let mut segments = path.split('.');
        let first = claims.get(segments.next()?)?;
        segments.try_fold(first, |value, segment| value.as_object()?.get(segment))
    });
    let wrong = || {
        VerifyError::invalid_token(format!(
            "the {path} claim is neither a role nor a list of roles"
        ))
        .with_reason(Reason::MalformedToken)
    };
    match found {
        None => Ok(Vec::new()),
        Some(Value::String(role)) => Ok(vec![role.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(wrong))
            .collect(),
        Some(_) => Err(wrong()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn roles_are_read_where_providers_put_them() {
        let keycloak = claims(json!({
            "realm_access": { "roles": ["admin", "user"] },
            "resource_access": { "mcp-server": { "roles": ["tools"] } },
        }));
        assert_eq!(
            roles_at(&keycloak, "realm_access.roles").unwrap(),
            ["admin", "user"]
        );
        assert_eq!(
            roles_at(&keycloak, "resource_access.mcp-server.roles").unwrap(),
            ["tools"]
        );
        assert!(
            roles_at(&keycloak, "resource_access.other.roles")
                .unwrap()
                .is_empty()
        );
        let cognito = claims(json!({ "cognito:groups": ["ops"] }));
        assert_eq!(roles_at(&cognito, "cognito:groups").unwrap(), ["ops"]);
        let namespaced = claims(json!({ "https://mcp.example.com/roles": "editor" }));
        assert_eq!(
            roles_at(&namespaced, "https://mcp.example.com/roles").unwrap(),
            ["editor"]
        );
    }

    #[test]
    fn a_roles_claim_of_another_type_refuses_the_token() {
        for value in [
            json!(7),
            json!({ "admin": true }),
            json!(["admin", 1]),
            json!(null),
        ] {
            let claims = claims(json!({ "roles": value }));
            assert!(roles_at(&claims, "roles").is_err(), "{value}");
        }
    }

    #[test]
    fn every_path_adds_its_roles_once_and_empty_paths_are_refused() {
        let mapping = IdentityMapping::new(
            SharedScopeRelation::default(),
            vec!["roles".to_owned(), "groups".to_owned()],
            vec![
                (
                    "c".to_owned(),
                    vec!["mcp:admin".to_owned(), "read".to_owned()],
                ),
                ("z".to_owned(), vec!["never".to_owned()]),
            ],
        )
        .unwrap();
        let info = AuthInfo::default()
            .with_claims(claims(json!({ "roles": ["a", "b"], "groups": ["b", "c"] })));
        let mut info = info.with_scopes(["read"]);
        mapping.apply(&mut info).unwrap();
        assert_eq!(info.roles, ["a", "b", "c"]);
        assert_eq!(
            info.scopes,
            ["read", "mcp:admin"],
            "role c's scopes, each once"
        );
        let mapping = |paths: &[&str], grants: &[(&str, &[&str])]| {
            IdentityMapping::new(
                SharedScopeRelation::default(),
                paths.iter().map(|path| (*path).to_owned()).collect(),
                grants
                    .iter()
                    .map(|(role, scopes)| {
                        let scopes = scopes.iter().map(|scope| (*scope).to_owned());
                        ((*role).to_owned(), scopes.collect())
                    })
                    .collect(),
            )
        };
        for bad in ["", "realm_access.", ".roles", "a..b"] {
            assert!(mapping(&[bad], &[]).is_err(), "{bad:?}");
        }
        for bad in [("", &["a"][..]), ("admin", &[]), ("admin", &["two words"])] {
            assert!(mapping(&["roles"], &[bad]).is_err(), "{bad:?}");
        }
    }
}

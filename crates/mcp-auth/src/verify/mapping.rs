//! What a layer adds to every [`AuthInfo`](crate::AuthInfo) its built-in verifiers make: its scope
//! relation, and the roles read from the claims where the provider puts them
//! ([`BearerAuthBuilder::roles_claim`](crate::bearer::BearerAuthBuilder::roles_claim)).

use serde_json::{Map, Value};

use crate::auth_info::AuthInfo;
use crate::error::{ConfigError, VerifyError};
use crate::observe::Reason;
use crate::scope::SharedScopeRelation;

/// The layer's part of every identity its JWT and introspection verifiers make.
#[derive(Debug, Clone, Default)]
pub(crate) struct IdentityMapping {
    pub(crate) scope_relation: SharedScopeRelation,
    /// Claims holding roles or groups, each a claim name or a dotted path.
    roles_claims: Vec<String>,
}

impl IdentityMapping {
    /// The mapping with `scope_relation` and roles from `roles_claims`; refuses an empty path
    /// or one with an empty segment.
    pub(crate) fn new(
        scope_relation: SharedScopeRelation,
        roles_claims: Vec<String>,
    ) -> Result<Self, ConfigError> {
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
        })
    }

    /// Completes `info`: the layer's scope relation, and its roles from the claims.
    pub(crate) fn apply(&self, info: &mut AuthInfo) -> Result<(), VerifyError> {
        info.scope_relation = self.scope_relation.clone();
        for path in &self.roles_claims {
            for role in roles_at(&info.claims, path)? {
                if !info.roles.contains(&role) {
                    info.roles.push(role);
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
        )
        .unwrap();
        let mut info = AuthInfo::default()
            .with_claims(claims(json!({ "roles": ["a", "b"], "groups": ["b", "c"] })));
        mapping.apply(&mut info).unwrap();
        assert_eq!(info.roles, ["a", "b", "c"]);
        for bad in ["", "realm_access.", ".roles", "a..b"] {
            assert!(
                IdentityMapping::new(SharedScopeRelation::default(), vec![bad.to_owned()]).is_err(),
                "{bad:?}"
            );
        }
    }
}

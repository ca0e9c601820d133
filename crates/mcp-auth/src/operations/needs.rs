//! What a request's operations need, decided from its headers and the start of its body.

use http::HeaderMap;
use serde_json::Value;

use super::allow_rules::Conditions;
use super::headers;
use super::message::{self, Body, Target};
use super::rules::OperationRules;

/// The operation the layer decided on, as logs and audit events name it: read from the body,
/// never from headers the body did not confirm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decided {
    /// The JSON-RPC method; for a batch, each message's method, comma-separated.
    pub(crate) method: String,
    /// The tool, prompt or resource it names, when it names one.
    pub(crate) name: Option<String>,
}

impl Decided {
    /// What `body` asks for, taken from it (no copies: every request with rules makes one).
    fn of(body: Body) -> Option<Self> {
        match body {
            Body::Single {
                operation: Some(operation),
                ..
            } => Some(Self {
                name: operation.targets.into_iter().next().map(Target::into_name),
                method: operation.method,
            }),
            Body::Single {
                operation: None, ..
            } => None,
            Body::Batch(operations) => Some(Self {
                method: operations
                    .iter()
                    .map(|operation| operation.method.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                name: None,
            }),
        }
    }
}

/// The outcome for one request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Needs<'r> {
    /// These grants, beyond the layer's base scopes.
    Grants(Grants<'r>),
    /// `Mcp-Method` / `Mcp-Name` disagree with the body: 400 with JSON-RPC error -32020,
    /// answering the message `id`.
    Mismatch { id: Value, reason: String },
}

/// What a request's operations need beyond the layer's base scopes.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Grants<'r> {
    /// These scopes (none when empty).
    pub(crate) scopes: Vec<&'r str>,
    /// One role of each list (none when empty).
    pub(crate) roles: Vec<&'r [String]>,
    /// The CEL rules each call must pass (none when empty).
    pub(crate) conditions: Vec<Conditions<'r>>,
    /// The message `id` a refusal for a missing role or a rule answers (`null` for a batch or
    /// an unreadable body; only kept when roles or rules are needed).
    pub(crate) id: Value,
}

impl PartialEq for Conditions<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.call == other.call
            && self.rules.len() == other.rules.len()
            && self
                .rules
                .iter()
                .zip(&other.rules)
                .all(|(a, b)| a.id() == b.id())
    }
}

impl Eq for Conditions<'_> {}

impl<'r> Grants<'r> {
    /// What a request whose operations cannot be read needs: every rule's grants.
    fn strictest(rules: &'r OperationRules) -> Self {
        Self {
            scopes: rules.strictest(),
            roles: rules.strictest_roles(),
            conditions: rules.allow_rules().unread().into_iter().collect(),
            id: Value::Null,
        }
    }

    /// Whether a refusal will answer the message `id`.
    fn answers(&self) -> bool {
        !self.roles.is_empty() || !self.conditions.is_empty()
    }
}

/// What `body` (`None` when it was too large to read whole) needs under `rules`, and the
/// operation it asks for when it could be read. A body that cannot be read is held to the
/// strictest rule; a batch needs every message's grants.
pub(crate) fn needs<'r>(
    rules: &'r OperationRules,
    headers: &HeaderMap,
    body: Option<&[u8]>,
) -> (Needs<'r>, Option<Decided>) {
    let Some(Ok(mut body)) = body.map(message::read) else {
        return (Needs::Grants(Grants::strictest(rules)), None);
    };
    let needs = grants(rules, headers, &mut body);
    (needs, Decided::of(body))
}

fn grants<'r>(rules: &'r OperationRules, headers: &HeaderMap, body: &mut Body) -> Needs<'r> {
    match body {
        Body::Single {
            operation: Some(operation),
            id,
        } => match headers::agree(headers, operation) {
            Ok(()) => {
                let mut grants = Grants {
                    scopes: rules.scopes_for(operation),
                    roles: rules.roles_for(operation),
                    conditions: rules
                        .allow_rules()
                        .conditions(operation)
                        .into_iter()
                        .collect(),
                    id: Value::Null,
                };
                if grants.answers() {
                    grants.id = id.clone();
                }
                Needs::Grants(grants)
            }
            Err(reason) => Needs::Mismatch {
                id: id.clone(),
                reason,
            },
        },
        Body::Single {
            operation: None,
            id,
        } if headers::present(headers) => Needs::Mismatch {
            id: id.clone(),
            reason: "Mcp-Method or Mcp-Name was sent with a message that is not a request"
                .to_owned(),
        },
        Body::Single {
            operation: None, ..
        } => Needs::Grants(Grants::default()),
        Body::Batch(_) if headers::present(headers) => Needs::Mismatch {
            id: Value::Null,
            reason: "Mcp-Method or Mcp-Name was sent with a batch, which has no single method"
                .to_owned(),
        },
        Body::Batch(operations) => {
            let mut all = Grants::default();
            for operation in operations {
                for scope in rules.scopes_for(operation) {
                    if !all.scopes.contains(&scope) {
                        all.scopes.push(scope);
                    }
                }
                all.roles.extend(rules.roles_for(operation));
                all.conditions
                    .extend(rules.allow_rules().conditions(operation));
            }
            Needs::Grants(all)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn rules() -> OperationRules {
        OperationRules::new()
            .tool("delete_repo", ["repo:admin"])
            .tool("read_file", ["files"])
            .tool_roles("delete_repo", ["admins", "owners"])
            .tool_roles("deploy", ["release"])
    }

    fn needed(headers: &HeaderMap, body: Option<&str>) -> Needs<'static> {
        // Leaked: a test's rules live as long as the test.
        let rules: &'static OperationRules = Box::leak(Box::new(rules()));
        needs(rules, headers, body.map(str::as_bytes)).0
    }

    /// The scopes needed, for a request that is not a mismatch.
    fn scopes(headers: &HeaderMap, body: Option<&str>) -> Vec<&'static str> {
        match needed(headers, body) {
            Needs::Grants(grants) => grants.scopes,
            other => panic!("{other:?}"),
        }
    }

    /// The role lists needed, sorted.
    fn roles(body: Option<&str>) -> Vec<Vec<String>> {
        match needed(&HeaderMap::new(), body) {
            Needs::Grants(grants) => {
                let mut roles: Vec<Vec<String>> =
                    grants.roles.iter().map(|list| list.to_vec()).collect();
                roles.sort();
                roles
            }
            other => panic!("{other:?}"),
        }
    }

    const DELETE: &str =
        r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"delete_repo"}}"#;

    #[test]
    fn a_call_needs_its_tool_scopes() {
        assert_eq!(scopes(&HeaderMap::new(), Some(DELETE)), ["repo:admin"]);
        let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        assert!(scopes(&HeaderMap::new(), Some(list)).is_empty());
    }

    #[test]
    fn a_call_needs_one_of_its_tool_roles_and_its_id_is_kept_for_the_refusal() {
        assert_eq!(roles(Some(DELETE)), [["admins", "owners"]]);
        match needed(&HeaderMap::new(), Some(DELETE)) {
            Needs::Grants(grants) => assert_eq!(grants.id, 4),
            other => panic!("{other:?}"),
        }
        let read =
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"READ_file"}}"#;
        assert!(roles(Some(read)).is_empty());
        let folded = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"DEPLOY"}}"#;
        assert_eq!(roles(Some(folded)), [["release"]]);
    }

    #[test]
    fn unreadable_bodies_need_a_role_of_every_rule_and_batches_every_call_s() {
        for body in [
            None,
            Some("{"),
            Some(r#"{"method":"tools/call","params":{"name":" deploy"}}"#),
        ] {
            assert_eq!(
                roles(body),
                [vec!["admins", "owners"], vec!["release"]],
                "{body:?}"
            );
        }
        let batch = format!(
            r#"[{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"deploy"}}}},{DELETE}]"#
        );
        assert_eq!(
            roles(Some(&batch)),
            [vec!["admins", "owners"], vec!["release"]]
        );
    }

    #[test]
    fn unreadable_or_unread_bodies_need_every_scope() {
        for body in [
            None,
            Some("{"),
            Some(r#"{"method":"tools/call","params":{"name":7}}"#),
        ] {
            assert_eq!(
                scopes(&HeaderMap::new(), body),
                ["files", "repo:admin"],
                "{body:?}"
            );
        }
    }

    #[test]
    fn a_batch_needs_the_union() {
        let batch = format!(
            r#"[{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"read_file"}}}},{DELETE}]"#
        );
        assert_eq!(
            scopes(&HeaderMap::new(), Some(&batch)),
            ["files", "repo:admin"]
        );
    }

    #[test]
    fn the_decided_operation_comes_from_the_body() {
        let rules = rules();
        let mut headers = HeaderMap::new();
        headers.insert("mcp-method", HeaderValue::from_static("tools/list"));
        let (_, decided) = needs(&rules, &headers, Some(DELETE.as_bytes()));
        assert_eq!(
            decided,
            Some(Decided {
                method: "tools/call".to_owned(),
                name: Some("delete_repo".to_owned())
            })
        );
        let batch =
            format!(r#"[{DELETE},{{"jsonrpc":"2.0","method":"notifications/initialized"}}]"#);
        let (_, decided) = needs(&rules, &HeaderMap::new(), Some(batch.as_bytes()));
        assert_eq!(
            decided.map(|decided| decided.method),
            Some("tools/call,notifications/initialized".to_owned())
        );
        assert_eq!(needs(&rules, &HeaderMap::new(), Some(b"{")).1, None);
    }

    #[test]
    fn headers_naming_another_tool_are_a_mismatch_answering_the_id() {
        let mut headers = HeaderMap::new();
        headers.insert("mcp-method", HeaderValue::from_static("tools/call"));
        headers.insert("mcp-name", HeaderValue::from_static("read_file"));
        match needed(&headers, Some(DELETE)) {
            Needs::Mismatch { id, .. } => assert_eq!(id, 4),
            other => panic!("{other:?}"),
        }
    }
}

//! What a request's operations need, decided from its headers and the start of its body.

use http::HeaderMap;
use serde_json::Value;

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
    /// These scopes, beyond the layer's base scopes (none when empty).
    Scopes(Vec<&'r str>),
    /// `Mcp-Method` / `Mcp-Name` disagree with the body: 400 with JSON-RPC error -32020,
    /// answering the message `id`.
    Mismatch { id: Value, reason: String },
}

/// The scopes `body` (`None` when it was too large to read whole) needs under `rules`, and the
/// operation it asks for when it could be read. A body that cannot be read is held to the
/// strictest rule; a batch needs every message's scopes.
pub(crate) fn needs<'r>(
    rules: &'r OperationRules,
    headers: &HeaderMap,
    body: Option<&[u8]>,
) -> (Needs<'r>, Option<Decided>) {
    let Some(Ok(body)) = body.map(message::read) else {
        return (Needs::Scopes(rules.strictest()), None);
    };
    let needs = scopes(rules, headers, &body);
    (needs, Decided::of(body))
}

fn scopes<'r>(rules: &'r OperationRules, headers: &HeaderMap, body: &Body) -> Needs<'r> {
    match body {
        Body::Single {
            operation: Some(operation),
            id,
        } => match headers::agree(headers, operation) {
            Ok(()) => Needs::Scopes(rules.scopes_for(operation)),
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
        } => Needs::Scopes(Vec::new()),
        Body::Batch(_) if headers::present(headers) => Needs::Mismatch {
            id: Value::Null,
            reason: "Mcp-Method or Mcp-Name was sent with a batch, which has no single method"
                .to_owned(),
        },
        Body::Batch(operations) => {
            let mut all: Vec<&str> = Vec::new();
            for operation in operations {
                for scope in rules.scopes_for(operation) {
                    if !all.contains(&scope) {
                        all.push(scope);
                    }
                }
            }
            Needs::Scopes(all)
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
    }

    fn scopes(headers: &HeaderMap, body: Option<&str>) -> Needs<'static> {
        // Leaked: a test's rules live as long as the test.
        let rules: &'static OperationRules = Box::leak(Box::new(rules()));
        needs(rules, headers, body.map(str::as_bytes)).0
    }

    const DELETE: &str =
        r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"delete_repo"}}"#;

    #[test]
    fn a_call_needs_its_tool_scopes() {
        assert_eq!(
            scopes(&HeaderMap::new(), Some(DELETE)),
            Needs::Scopes(vec!["repo:admin"])
        );
        let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        assert_eq!(scopes(&HeaderMap::new(), Some(list)), Needs::Scopes(vec![]));
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
                Needs::Scopes(vec!["files", "repo:admin"]),
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
            Needs::Scopes(vec!["files", "repo:admin"])
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
        match scopes(&headers, Some(DELETE)) {
            Needs::Mismatch { id, .. } => assert_eq!(id, 4),
            other => panic!("{other:?}"),
        }
    }
}

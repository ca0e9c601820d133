//! What a JSON-RPC request body asks the server to do: each message's method and, for the
//! methods that name one, the tool, prompt or resource it acts on.

use serde_json::Value;

use super::strict_json;

/// One operation a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Operation {
    /// The JSON-RPC method (`tools/call`, `resources/read`...).
    pub(crate) method: String,
    /// What the method acts on: one target for most methods that name one, several for
    /// `subscriptions/listen`, none for the others.
    pub(crate) targets: Vec<Target>,
}

impl Operation {
    /// What `Mcp-Name` must carry for this operation (SEP-2243: the name of a tool or prompt,
    /// the URI of a resource, the id of a task), `None` for methods the header does not name.
    pub(crate) fn header_name(&self) -> Option<&str> {
        let named = matches!(
            self.method.as_str(),
            "tools/call"
                | "prompts/get"
                | "resources/read"
                | "resources/subscribe"
                | "resources/unsubscribe"
                | "tasks/get"
                | "tasks/update"
                | "tasks/cancel"
        );
        match self.targets.as_slice() {
            [target] if named => Some(target.name()),
            _ => None,
        }
    }
}

/// The tool, prompt or resource an operation acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// `tools/call`: `params.name`.
    Tool(String),
    /// `prompts/get`: `params.name`.
    Prompt(String),
    /// `resources/read`, `resources/subscribe`, `resources/unsubscribe`: `params.uri`.
    Resource(String),
    /// `tasks/get`, `tasks/update`, `tasks/cancel`: `params.taskId` (no rule names tasks; kept
    /// so that `Mcp-Name` can be held against it).
    Task(String),
}

impl Target {
    /// The value `Mcp-Name` carries for this target.
    pub(crate) fn name(&self) -> &str {
        match self {
            Self::Tool(name) | Self::Prompt(name) | Self::Resource(name) | Self::Task(name) => name,
        }
    }
}

/// What a body holds, as far as authorization cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    /// One JSON-RPC message: its operation, `None` for a response or anything without a method
    /// (which acts on nothing). `id` is kept for a JSON-RPC error answer.
    Single {
        operation: Option<Operation>,
        id: Value,
    },
    /// A JSON-RPC batch (protocol 2025-03-26): every message's operation.
    Batch(Vec<Operation>),
}

/// Why a body says nothing trustworthy about its operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unreadable {
    /// Not JSON, JSON with a repeated object member, or JSON that is not a JSON-RPC message or
    /// batch.
    NotJsonRpc,
    /// A message names its target with a value of the wrong type (`params.name: 7`) or none at
    /// all where the method requires one.
    BadTarget,
}

/// Reads the operations of a request body. Fields this function does not need are not looked
/// at; a target that is present but unusable makes the whole body unreadable, so that no rule
/// can be slipped past with a malformed target.
pub(crate) fn read(body: &[u8]) -> Result<Body, Unreadable> {
    match strict_json::parse(body).ok_or(Unreadable::NotJsonRpc)? {
        Value::Array(messages) if !messages.is_empty() => messages
            .iter()
            .map(|message| operation(message).map(|op| op.into_iter()))
            .collect::<Result<Vec<_>, _>>()
            .map(|ops| Body::Batch(ops.into_iter().flatten().collect())),
        message @ Value::Object(_) => Ok(Body::Single {
            operation: operation(&message)?,
            id: message.get("id").cloned().unwrap_or(Value::Null),
        }),
        _ => Err(Unreadable::NotJsonRpc),
    }
}

/// The operation of one message; `None` for a message without a method (a response).
fn operation(message: &Value) -> Result<Option<Operation>, Unreadable> {
    let Value::Object(fields) = message else {
        return Err(Unreadable::NotJsonRpc);
    };
    let method = match fields.get("method") {
        None => return Ok(None),
        Some(Value::String(method)) => method,
        Some(_) => return Err(Unreadable::NotJsonRpc),
    };
    let params = fields.get("params");
    let string = |value: Option<&Value>| match value {
        Some(Value::String(value)) => Ok(value.clone()),
        _ => Err(Unreadable::BadTarget),
    };
    let param = |name: &str| string(params.and_then(|params| params.get(name)));
    let targets = match method.as_str() {
        "tools/call" => vec![Target::Tool(param("name")?)],
        "prompts/get" => vec![Target::Prompt(param("name")?)],
        // SEP-2640's directory listing and skills read resources by URI too.
        "resources/read"
        | "resources/subscribe"
        | "resources/unsubscribe"
        | "resources/directory/read"
        | "skills/get" => vec![Target::Resource(literal_uri(param("uri")?)?)],
        "tasks/get" | "tasks/update" | "tasks/cancel" => vec![Target::Task(param("taskId")?)],
        // Completing an argument of a prompt or resource template reveals what it offers:
        // it needs what using the prompt or resource needs.
        "completion/complete" => {
            let reference = params.and_then(|params| params.get("ref"));
            match reference
                .and_then(|r| r.get("type"))
                .and_then(Value::as_str)
            {
                Some("ref/prompt") => vec![Target::Prompt(string(
                    reference.and_then(|r| r.get("name")),
                )?)],
                Some("ref/resource") => vec![Target::Resource(string(
                    reference.and_then(|r| r.get("uri")),
                )?)],
                _ => return Err(Unreadable::BadTarget),
            }
        }
        // 2026-07-28: one request subscribes to several resources.
        "subscriptions/listen" => match params
            .and_then(|params| params.get("notifications"))
            .and_then(|notifications| notifications.get("resourceSubscriptions"))
        {
            None => Vec::new(),
            Some(Value::Array(uris)) => uris
                .iter()
                .map(|uri| {
                    string(Some(uri))
                        .and_then(literal_uri)
                        .map(Target::Resource)
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(Unreadable::BadTarget),
        },
        _ => Vec::new(),
    };
    Ok(Some(Operation {
        method: method.clone(),
        targets,
    }))
}

/// A resource URI that means only what it says: resource rules compare URIs as strings, so a
/// URI that a server could read as another one (`%`-escapes, `.` or `..` segments, anything a
/// URL parser would rewrite: case, default port, `localhost`) gets the strictest rule instead.
fn literal_uri(uri: String) -> Result<String, Unreadable> {
    let escaped = uri.contains('%');
    let dotted = uri
        .split(['/', '\\'])
        .any(|segment| segment == "." || segment == "..");
    let rewritten = url::Url::parse(&uri).map_or(true, |url| url.as_str() != uri);
    if escaped || dotted || rewritten {
        Err(Unreadable::BadTarget)
    } else {
        Ok(uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(method: &str, target: Option<Target>) -> Operation {
        Operation {
            method: method.to_owned(),
            targets: target.into_iter().collect(),
        }
    }

    #[test]
    fn reads_the_target_of_each_method_that_names_one() {
        let single = |json: &str| match read(json.as_bytes()) {
            Ok(Body::Single { operation, .. }) => operation,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            single(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_repo","arguments":{}}}"#
            ),
            Some(op("tools/call", Some(Target::Tool("delete_repo".into()))))
        );
        assert_eq!(
            single(r#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"p"}}"#),
            Some(op("prompts/get", Some(Target::Prompt("p".into()))))
        );
        assert_eq!(
            single(
                r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a"}}"#
            ),
            Some(op(
                "resources/read",
                Some(Target::Resource("file:///a".into()))
            ))
        );
        assert_eq!(
            single(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#),
            Some(op("tools/list", None))
        );
        assert_eq!(single(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#), None);
        assert_eq!(
            single(
                r#"{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"p"},"argument":{"name":"a","value":""}}}"#
            ),
            Some(op("completion/complete", Some(Target::Prompt("p".into()))))
        );
        let listen = single(r#"{"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{"notifications":{"resourceSubscriptions":["file:///a","file:///b"]}}}"#).unwrap();
        assert_eq!(
            listen.targets,
            [
                Target::Resource("file:///a".into()),
                Target::Resource("file:///b".into())
            ]
        );
        assert_eq!(listen.header_name(), None);
        assert_eq!(
            single(
                r#"{"jsonrpc":"2.0","id":1,"method":"skills/get","params":{"uri":"skill://internal/deploy/SKILL.md"}}"#
            ),
            Some(op(
                "skills/get",
                Some(Target::Resource("skill://internal/deploy/SKILL.md".into()))
            ))
        );
        assert_eq!(
            single(
                r#"{"jsonrpc":"2.0","id":1,"method":"resources/directory/read","params":{"uri":"file:///private/"}}"#
            ),
            Some(op(
                "resources/directory/read",
                Some(Target::Resource("file:///private/".into()))
            ))
        );
    }

    #[test]
    fn a_batch_yields_every_operation() {
        let body = r#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}},
                       {"jsonrpc":"2.0","method":"notifications/initialized"},
                       {"jsonrpc":"2.0","id":9,"result":{}}]"#;
        assert_eq!(
            read(body.as_bytes()),
            Ok(Body::Batch(vec![
                op("tools/call", Some(Target::Tool("a".into()))),
                op("notifications/initialized", None),
            ]))
        );
    }

    #[test]
    fn malformed_bodies_and_targets_are_unreadable() {
        for body in [
            "",
            "not json",
            "[]",
            "7",
            r#""tools/call""#,
            r#"{"method":7}"#,
            "[1]",
        ] {
            assert_eq!(read(body.as_bytes()), Err(Unreadable::NotJsonRpc), "{body}");
        }
        for body in [
            r#"{"method":"tools/call"}"#,
            r#"{"method":"tools/call","params":{"name":7}}"#,
            r#"{"method":"resources/read","params":{"name":"file:///a"}}"#,
            r#"[{"method":"tools/list"},{"method":"prompts/get","params":{}}]"#,
            r#"{"method":"completion/complete","params":{"ref":{"type":"ref/other"}}}"#,
            r#"{"method":"subscriptions/listen","params":{"notifications":{"resourceSubscriptions":[7]}}}"#,
            r#"{"method":"resources/read","params":{"uri":"file:///public/../private/pay.csv"}}"#,
            r#"{"method":"resources/read","params":{"uri":"file:///%70rivate/pay.csv"}}"#,
            r#"{"method":"resources/read","params":{"uri":"FILE:///private/pay.csv"}}"#,
            r#"{"method":"resources/read","params":{"uri":"file://localhost/private/pay.csv"}}"#,
            r#"{"method":"resources/read","params":{"uri":"relative/private"}}"#,
            r#"{"method":"subscriptions/listen","params":{"notifications":{"resourceSubscriptions":["file:///a/./b"]}}}"#,
        ] {
            assert_eq!(read(body.as_bytes()), Err(Unreadable::BadTarget), "{body}");
        }
    }
}

//! What a JSON-RPC request body asks the server to do: each message's method and, for the
//! methods that name one, the tool, prompt or resource it acts on.

use serde_json::{Map, Value};

use super::resource_uri;
use crate::wire::case_fold::{alike, fold};
use crate::wire::json;

/// One operation a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Operation {
    /// The JSON-RPC method (`tools/call`, `resources/read`...).
    pub(crate) method: String,
    /// What the method acts on: one target for most methods that name one, several for
    /// `subscriptions/listen`, none for the others.
    pub(crate) targets: Vec<Target>,
    /// `params.arguments` of `tools/call` and `prompts/get`, when sent (an object).
    pub(crate) arguments: Option<Map<String, Value>>,
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

    /// The same, taken.
    pub(crate) fn into_name(self) -> String {
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
    /// Not JSON, JSON with a repeated object member, or JSON that is neither a JSON-RPC
    /// request (an exact `method`), nor a response (an exact `id` beside an exact `result` or
    /// `error`), nor a batch of them.
    NotJsonRpc,
    /// An object the rules read has two members whose names fold to the same one, or a member
    /// spelled like one the rules read in another case (`Params`, `paramſ`): a server matching
    /// names without regard to case could read what the rules did not.
    CaseVariant,
    /// A message names its target with a value of the wrong type (`params.name: 7`), none at
    /// all where the method requires one, or one a server could read as another (a resource
    /// URI out of canonical form, a name with control characters or surrounding spaces).
    BadTarget,
}

/// Reads the operations of a request body. Fields this function does not need are not looked
/// at; a target that is present but unusable makes the whole body unreadable, so that no rule
/// can be slipped past with a malformed target.
pub(crate) fn read(body: &[u8]) -> Result<Body, Unreadable> {
    match json::parse(body).map_err(|_| Unreadable::NotJsonRpc)? {
        Value::Array(mut messages) if !messages.is_empty() => messages
            .iter_mut()
            .map(|message| operation(message).map(|op| op.into_iter()))
            .collect::<Result<Vec<_>, _>>()
            .map(|ops| Body::Batch(ops.into_iter().flatten().collect())),
        mut message @ Value::Object(_) => Ok(Body::Single {
            operation: operation(&mut message)?,
            id: message.get("id").cloned().unwrap_or(Value::Null),
        }),
        _ => Err(Unreadable::NotJsonRpc),
    }
}

/// The methods whose targets the rules read. A method spelled like one of them in another
/// case is unreadable: a server dispatching without regard to case would run it.
const TARGETED_METHODS: [&str; 12] = [
    "tools/call",
    "prompts/get",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "resources/directory/read",
    "skills/get",
    "tasks/get",
    "tasks/update",
    "tasks/cancel",
    "completion/complete",
    "subscriptions/listen",
];

/// The operation of one message; `None` for a response. Its arguments are taken out of it.
fn operation(message: &mut Value) -> Result<Option<Operation>, Unreadable> {
    let Some(operation) = targets(message)? else {
        return Ok(None);
    };
    let arguments = match operation.method.as_str() {
        "tools/call" | "prompts/get" => arguments(message)?,
        _ => None,
    };
    Ok(Some(Operation {
        arguments,
        ..operation
    }))
}

/// `params.arguments` taken out of `message`, whose `params` is known to be an object whose
/// member names are distinct under folding: an object, or nothing.
fn arguments(message: &mut Value) -> Result<Option<Map<String, Value>>, Unreadable> {
    let Some(Value::Object(params)) = message.get_mut("params") else {
        return Ok(None);
    };
    match member(params, "arguments")? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(_)) => match params.remove("arguments") {
            Some(Value::Object(arguments)) => Ok(Some(arguments)),
            _ => Ok(None),
        },
        Some(_) => Err(Unreadable::BadTarget),
    }
}

/// The method and targets of one message; `None` for a response.
fn targets(message: &Value) -> Result<Option<Operation>, Unreadable> {
    let fields = object(message).ok_or(Unreadable::NotJsonRpc)??;
    let method = match member(fields, "method")? {
        None => return response(fields).map(|()| None),
        Some(Value::String(method)) => method,
        Some(_) => return Err(Unreadable::NotJsonRpc),
    };
    if !TARGETED_METHODS.contains(&method.as_str()) {
        let folded = fold(method);
        // No MCP method is spelt beyond ASCII: one that is could be any after normalisation.
        if !method.is_ascii() || TARGETED_METHODS.iter().any(|known| fold(known) == folded) {
            return Err(Unreadable::CaseVariant);
        }
    }
    let params = member(fields, "params")?;
    let params = || -> Result<Option<&Map<String, Value>>, Unreadable> {
        match params.map(object) {
            None => Ok(None),
            Some(None) => Err(Unreadable::BadTarget),
            Some(Some(fields)) => fields.map(Some),
        }
    };
    let param = |name: &str| -> Result<String, Unreadable> {
        let fields = params()?.ok_or(Unreadable::BadTarget)?;
        string(member(fields, name)?)
    };
    let targets = match method.as_str() {
        "tools/call" => vec![Target::Tool(plain_name(param("name")?)?)],
        "prompts/get" => vec![Target::Prompt(plain_name(param("name")?)?)],
        // SEP-2640's directory listing and skills read resources by URI too.
        "resources/read"
        | "resources/subscribe"
        | "resources/unsubscribe"
        | "resources/directory/read"
        | "skills/get" => vec![Target::Resource(canonical_uri(param("uri")?)?)],
        "tasks/get" | "tasks/update" | "tasks/cancel" => vec![Target::Task(param("taskId")?)],
        // Completing an argument of a prompt or resource template reveals what it offers:
        // it needs what using the prompt or resource needs.
        "completion/complete" => {
            let params = params()?.ok_or(Unreadable::BadTarget)?;
            let reference = member(params, "ref")?
                .and_then(object)
                .ok_or(Unreadable::BadTarget)??;
            match member(reference, "type")?.and_then(Value::as_str) {
                Some("ref/prompt") => vec![Target::Prompt(plain_name(string(member(
                    reference, "name",
                )?)?)?)],
                Some("ref/resource") => vec![Target::Resource(canonical_uri(string(member(
                    reference, "uri",
                )?)?)?)],
                _ => return Err(Unreadable::BadTarget),
            }
        }
        // 2026-07-28: one request subscribes to several resources.
        "subscriptions/listen" => {
            let notifications = match params()? {
                None => None,
                Some(params) => member(params, "notifications")?,
            };
            let subscriptions = match notifications.map(object) {
                None => None,
                Some(None) => return Err(Unreadable::BadTarget),
                Some(Some(notifications)) => member(notifications?, "resourceSubscriptions")?,
            };
            match subscriptions {
                None => Vec::new(),
                Some(Value::Array(uris)) => uris
                    .iter()
                    .map(|uri| {
                        string(Some(uri))
                            .and_then(canonical_uri)
                            .map(Target::Resource)
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(Unreadable::BadTarget),
            }
        }
        _ => Vec::new(),
    };
    Ok(Some(Operation {
        method: method.clone(),
        targets,
        arguments: None,
    }))
}

/// A message without `method` must be a response: an `id` beside a `result` or an `error`.
fn response(fields: &Map<String, Value>) -> Result<(), Unreadable> {
    let id = member(fields, "id")?.is_some();
    let outcome = member(fields, "result")?.is_some() || member(fields, "error")?.is_some();
    if id && outcome {
        Ok(())
    } else {
        Err(Unreadable::NotJsonRpc)
    }
}

/// The members of `value` when it is an object (`None` otherwise), unless two of its member
/// names fold to the same one.
fn object(value: &Value) -> Option<Result<&Map<String, Value>, Unreadable>> {
    let Value::Object(fields) = value else {
        return None;
    };
    let names: Vec<&String> = fields.keys().collect();
    let repeated = if names.len() <= 16 {
        // A message's objects have a handful of members: compare each pair, allocating nothing.
        names
            .iter()
            .enumerate()
            .any(|(index, name)| names[..index].iter().any(|other| alike(name, other)))
    } else {
        let mut folded: Vec<_> = names.iter().map(|name| fold(name)).collect();
        folded.sort_unstable();
        folded.windows(2).any(|pair| pair[0] == pair[1])
    };
    if repeated {
        return Some(Err(Unreadable::CaseVariant));
    }
    Some(Ok(fields))
}

/// The member `name` of an object whose names are distinct under folding: `None` when absent,
/// and an error when it is present under another spelling.
fn member<'v>(fields: &'v Map<String, Value>, name: &str) -> Result<Option<&'v Value>, Unreadable> {
    if let Some(value) = fields.get(name) {
        return Ok(Some(value));
    }
    if fields.keys().any(|other| alike(other, name)) {
        return Err(Unreadable::CaseVariant);
    }
    Ok(None)
}

/// The string a target is named by.
fn string(value: Option<&Value>) -> Result<String, Unreadable> {
    match value {
        Some(Value::String(value)) => Ok(value.clone()),
        _ => Err(Unreadable::BadTarget),
    }
}

/// A tool or prompt name that no server reads as another: printable ASCII (MCP tool names are
/// `A-Z a-z 0-9 _ - .`), no space around it. Beyond ASCII, servers trim (JavaScript's `trim`
/// drops U+FEFF), fold (Java's `equalsIgnoreCase` makes `İ` an `i`), normalise (NFKC makes
/// `ａｄｍｉｎ` `admin`) or cut at NUL, each its own way: such a name gets the strictest rule.
fn plain_name(name: String) -> Result<String, Unreadable> {
    let printable = name.bytes().all(|byte| matches!(byte, b' '..=b'~'));
    if printable && !name.is_empty() && name.trim_ascii() == name {
        Ok(name)
    } else {
        Err(Unreadable::BadTarget)
    }
}

/// A resource URI in canonical form (see [`resource_uri`](super::resource_uri)).
fn canonical_uri(uri: String) -> Result<String, Unreadable> {
    match resource_uri::canonical(&uri) {
        Some(_) => Ok(uri),
        None => Err(Unreadable::BadTarget),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(method: &str, target: Option<Target>) -> Operation {
        Operation {
            method: method.to_owned(),
            targets: target.into_iter().collect(),
            arguments: None,
        }
    }

    #[test]
    fn arguments_of_calls_and_prompts_are_kept_and_must_be_an_object() {
        let arguments = |json: &str| match read(json.as_bytes()) {
            Ok(Body::Single {
                operation: Some(operation),
                ..
            }) => Ok(operation.arguments.map(Value::Object)),
            Ok(other) => panic!("{other:?}"),
            Err(unreadable) => Err(unreadable),
        };
        let call = |params: &str| {
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{params}}}"#)
        };
        assert_eq!(
            arguments(&call(r#"{"name":"t","arguments":{"path":"/a"}}"#)),
            Ok(Some(serde_json::json!({"path": "/a"})))
        );
        assert_eq!(arguments(&call(r#"{"name":"t"}"#)), Ok(None));
        assert_eq!(
            arguments(&call(r#"{"name":"t","arguments":null}"#)),
            Ok(None)
        );
        assert_eq!(
            arguments(&call(r#"{"name":"t","arguments":[1]}"#)),
            Err(Unreadable::BadTarget)
        );
        assert_eq!(
            arguments(&call(r#"{"name":"t","Arguments":{"path":"/etc"}}"#)),
            Err(Unreadable::CaseVariant)
        );
        let prompt = r#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"p","arguments":{"a":"b"}}}"#;
        assert_eq!(arguments(prompt), Ok(Some(serde_json::json!({"a": "b"}))));
        let list = r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a","arguments":{"a":1}}}"#;
        assert_eq!(
            arguments(list),
            Ok(None),
            "only calls and prompts carry arguments"
        );
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
            Some(Operation {
                arguments: Some(Map::new()),
                ..op("tools/call", Some(Target::Tool("delete_repo".into())))
            })
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
    fn names_a_case_insensitive_server_reads_differently_are_unreadable() {
        // Go's encoding/json (CVE-2026-27896), .NET and Jackson in their case-insensitive modes.
        for body in [
            r#"{"method":"tools/call","params":{"name":"whoami","Name":"admin_report"}}"#,
            r#"{"method":"tools/list","Method":"tools/call","params":{"name":"admin_report"}}"#,
            r#"{"Method":"tools/call","Params":{"Name":"admin_report"}}"#,
            r#"{"method":"tools/call","params":{"name":"whoami"},"paramſ":{"name":"admin_report"}}"#,
            r#"{"method":"tools/call","params":{"name":"whoami"},"param\u017f":{"name":"admin_report"}}"#,
            r#"{"method":"tools/call","params":{"na\u006de":"whoami","NAME":"admin_report"}}"#,
            r#"{"method":"tools/call","Params":{"name":"admin_report"}}"#,
            r#"{"method":"tools/call","params":{"Name":"admin_report"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{},"Method":"tools/call","Params":{"Name":"admin_report"}}"#,
            r#"{"method":"Tools/Call","params":{"name":"admin_report"}}"#,
            r#"{"method":"tools/c\u0430ll","params":{"name":"admin_report"}}"#,
            r#"{"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"p","\u212aind":1,"NAME":"q"}}}"#,
            r#"[{"method":"tools/list"},{"method":"tools/call","params":{"name":"a","nam\u0045":"b"}}]"#,
        ] {
            assert_eq!(
                read(body.as_bytes()),
                Err(Unreadable::CaseVariant),
                "{body}"
            );
        }
        // Case variants where the rules read nothing are no concern.
        assert!(
            read(br#"{"method":"tools/call","params":{"name":"a","arguments":{"x":1,"X":2}}}"#)
                .is_ok()
        );
    }

    #[test]
    fn a_message_that_is_neither_request_nor_response_is_unreadable() {
        for body in [
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"jsonrpc":"2.0","result":{}}"#,
            r#"{"params":{"name":"admin_report"}}"#,
            "{}",
        ] {
            assert_eq!(read(body.as_bytes()), Err(Unreadable::NotJsonRpc), "{body}");
        }
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"x"}}"#,
        ] {
            assert!(
                matches!(
                    read(body.as_bytes()),
                    Ok(Body::Single {
                        operation: None,
                        ..
                    })
                ),
                "{body}"
            );
        }
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
            r#"{"method":"resources/read","params":{"uri":"file:///etc/passwd?"}}"#,
            r#"{"method":"resources/read","params":{"uri":"file:///etc/passwd#x"}}"#,
            r#"{"method":"resources/read","params":{"uri":"file:////private/x"}}"#,
            r#"{"method":"resources/read","params":{"uri":"file:///private//hr/x"}}"#,
            r#"{"method":"resources/read","params":{"uri":"file:///private;/hr/x"}}"#,
            r#"{"method":"resources/read","params":{"uri":"file:///private\\hr\\x"}}"#,
            r#"{"method":"tools/call","params":{"name":"admin_report\u0000"}}"#,
            r#"{"method":"tools/call","params":{"name":" admin_report"}}"#,
            r#"{"method":"tools/call","params":{"name":""}}"#,
            r#"{"method":"tools/call","params":{"name":"\ufeffadmin_report"}}"#,
            r#"{"method":"tools/call","params":{"name":"ADM\u0130N_REPORT"}}"#,
            r#"{"method":"tools/call","params":{"name":"\uff41dmin_report"}}"#,
            r#"{"method":"prompts/get","params":{"name":"secret\u00a0prompt"}}"#,
            r#"{"method":"tools/call","params":["admin_report"]}"#,
            r#"{"method":"subscriptions/listen","params":{"notifications":{"resourceSubscriptions":["file:///a/./b"]}}}"#,
        ] {
            assert_eq!(read(body.as_bytes()), Err(Unreadable::BadTarget), "{body}");
        }
    }
}

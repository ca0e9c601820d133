//! [`AccessRequest`]: one question to a decision point, shaped as the OpenID AuthZEN
//! Authorization API 1.0 asks it (subject, action, resource, context).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::auth_info::AuthInfo;

/// May this subject perform this action on this resource? The body of an AuthZEN Access
/// Evaluation request (`POST /access/v1/evaluation`), and what a custom
/// [`DecisionPoint`](super::DecisionPoint) is asked.
///
/// ```
/// use mcp_auth::AuthInfo;
/// use mcp_auth::policy::AccessRequest;
///
/// let caller = AuthInfo::new("https://auth.example.com", ["https://mcp.example.com/mcp"])
///     .with_subject("alice")
///     .with_roles(["admins"]);
/// let request = AccessRequest::tool_call(&caller, "admin_report", None);
/// assert_eq!(request.action.name, "tools/call");
/// assert_eq!(request.resource.kind, "tool");
/// assert_eq!(request.subject.properties.roles, ["admins"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccessRequest {
    /// Who asks.
    pub subject: Subject,
    /// What it asks to do.
    pub action: Action,
    /// What it acts on.
    pub resource: AccessResource,
}

/// The caller, as AuthZEN names a subject.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Subject {
    /// `user` when the token names a subject, `client` when only a client (a client
    /// credentials grant).
    #[serde(rename = "type")]
    pub kind: String,
    /// The token's subject, else its client id (empty when it has neither).
    pub id: String,
    /// What the token says of it.
    pub properties: SubjectProperties,
}

/// What the token says of the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SubjectProperties {
    /// [`AuthInfo::roles`].
    pub roles: Vec<String>,
    /// [`AuthInfo::scopes`].
    pub scopes: Vec<String>,
    /// [`AuthInfo::client_id`].
    pub client_id: Option<String>,
    /// [`AuthInfo::issuer`].
    pub issuer: String,
}

/// The JSON-RPC method asked for, as an AuthZEN action.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Action {
    /// `tools/call`, `prompts/get`, `resources/read`...
    pub name: String,
}

/// The tool, prompt or resource acted on, as an AuthZEN resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccessResource {
    /// `tool`, `prompt` or `resource`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The tool's or prompt's name, or the resource's URI.
    pub id: String,
    /// The call's arguments, when it carries some (`tools/call`, `prompts/get`).
    #[serde(default)]
    pub properties: ResourceProperties,
}

/// What the call carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResourceProperties {
    /// The call's `params.arguments` object, as the client sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Map<String, Value>>,
}

impl std::hash::Hash for ResourceProperties {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // `serde_json::Value` has no `Hash`: its parts are hashed in place, allocating nothing
        // (member order as sent: two orders are two questions, which costs only a miss).
        match &self.arguments {
            None => state.write_u8(0),
            Some(arguments) => {
                state.write_u8(1);
                hash_object(arguments, state);
            }
        }
    }
}

fn hash_object<H: std::hash::Hasher>(object: &Map<String, Value>, state: &mut H) {
    use std::hash::Hash;
    state.write_usize(object.len());
    for (name, value) in object {
        name.hash(state);
        hash_value(value, state);
    }
}

fn hash_value<H: std::hash::Hasher>(value: &Value, state: &mut H) {
    use std::hash::Hash;
    match value {
        Value::Null => state.write_u8(0),
        Value::Bool(value) => {
            state.write_u8(1);
            value.hash(state);
        }
        Value::Number(number) => {
            state.write_u8(2);
            number.hash(state);
        }
        Value::String(text) => {
            state.write_u8(3);
            text.hash(state);
        }
        Value::Array(items) => {
            state.write_u8(4);
            state.write_usize(items.len());
            items.iter().for_each(|item| hash_value(item, state));
        }
        Value::Object(object) => {
            state.write_u8(5);
            hash_object(object, state);
        }
    }
}

impl AccessRequest {
    /// `caller` calls the tool `name` with `arguments`.
    pub fn tool_call(caller: &AuthInfo, name: &str, arguments: Option<Map<String, Value>>) -> Self {
        Self::new(caller, "tools/call", "tool", name, arguments)
    }

    /// `caller` gets the prompt `name` with `arguments`.
    pub fn prompt_get(
        caller: &AuthInfo,
        name: &str,
        arguments: Option<Map<String, Value>>,
    ) -> Self {
        Self::new(caller, "prompts/get", "prompt", name, arguments)
    }

    /// `caller` reads the resource `uri`.
    pub fn resource_read(caller: &AuthInfo, uri: &str) -> Self {
        Self::new(caller, "resources/read", "resource", uri, None)
    }

    /// `caller` asks for `method` on the `kind` (`tool`, `prompt`, `resource`) named `id`.
    pub fn new(
        caller: &AuthInfo,
        method: &str,
        kind: &str,
        id: &str,
        arguments: Option<Map<String, Value>>,
    ) -> Self {
        let (subject_kind, subject_id) = match (&caller.subject, &caller.client_id) {
            (Some(subject), _) => ("user", subject.clone()),
            (None, Some(client)) => ("client", client.clone()),
            (None, None) => ("user", String::new()),
        };
        Self {
            subject: Subject {
                kind: subject_kind.to_owned(),
                id: subject_id,
                properties: SubjectProperties {
                    roles: caller.roles.clone(),
                    scopes: caller.scopes.clone(),
                    client_id: caller.client_id.clone(),
                    issuer: caller.issuer.clone(),
                },
            },
            action: Action {
                name: method.to_owned(),
            },
            resource: AccessResource {
                kind: kind.to_owned(),
                id: id.to_owned(),
                properties: ResourceProperties { arguments },
            },
        }
    }
}

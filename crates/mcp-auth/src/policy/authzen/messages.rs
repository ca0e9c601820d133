//! What is sent to an AuthZEN PDP and how its answers are read (Authorization API 1.0 §6–§7):
//! pure functions of the questions and the answers' JSON, so that every rule of the wire is
//! tested without a socket.

use serde::Serialize;
use serde_json::Value;

use crate::policy::access::AccessRequest;

/// The most questions sent in one Access Evaluations request: Cerbos refuses more than 50 by
/// default (`server.requestLimits.maxResourcesPerRequest`), so longer lists are asked in parts.
pub(super) const MAX_BATCH: usize = 50;

/// The `context` of every question: who asks. AuthZEN lets it be empty, but Cerbos refuses a
/// batch without a non-empty one; it is the same for every question, so a cached decision
/// still answers the whole request.
#[derive(Debug, Clone, Copy, Serialize)]
struct Context {
    /// The policy enforcement point asking: always `mcp-auth`.
    pep: &'static str,
}

const CONTEXT: Context = Context { pep: "mcp-auth" };

/// An Access Evaluation request (§6.1): the question and the context.
#[derive(Serialize)]
struct Evaluation<'a> {
    #[serde(flatten)]
    request: &'a AccessRequest,
    context: Context,
}

/// An Access Evaluations request (§7.1): each question whole (no defaults to merge, so a PDP
/// cannot merge them otherwise than meant), the context once, and every question answered.
#[derive(Serialize)]
struct Evaluations<'a> {
    context: Context,
    options: Options,
    evaluations: &'a [&'a AccessRequest],
}

/// §7.1.2: `execute_all`, the default, said anyway: a short-circuit would answer fewer
/// questions than asked.
#[derive(Serialize)]
struct Options {
    evaluations_semantic: &'static str,
}

/// The body of an Access Evaluation request about `request`.
pub(super) fn evaluation_body(request: &AccessRequest) -> Vec<u8> {
    to_vec(&Evaluation {
        request,
        context: CONTEXT,
    })
}

/// The body of an Access Evaluations request about `requests`, in order.
pub(super) fn evaluations_body(requests: &[&AccessRequest]) -> Vec<u8> {
    to_vec(&Evaluations {
        context: CONTEXT,
        options: Options {
            evaluations_semantic: "execute_all",
        },
        evaluations: requests,
    })
}

/// The JSON of a value made of strings, maps and sequences only.
fn to_vec(value: &impl Serialize) -> Vec<u8> {
    // Serializing such a value into memory cannot fail: no map has non-string keys, no
    // `Serialize` impl of its own reports an error.
    serde_json::to_vec(value).unwrap_or_default()
}

/// The decision of an Access Evaluation response (§6.2): `{"decision": true|false, ...}`.
/// Anything else is no decision.
pub(super) fn decision(answer: &Value) -> Result<bool, String> {
    match answer {
        Value::Object(members) => match members.get("decision") {
            Some(Value::Bool(decision)) => Ok(*decision),
            Some(_) => Err("its decision is not a boolean".to_owned()),
            None => Err("it has no decision".to_owned()),
        },
        _ => Err("it is not a JSON object".to_owned()),
    }
}

/// The decisions of an Access Evaluations response (§7.2): `{"evaluations": [{"decision":
/// ...}, ...]}` with exactly one answer per question `asked`, in order.
pub(super) fn decisions(answer: &Value, asked: usize) -> Result<Vec<bool>, String> {
    let Some(Value::Array(evaluations)) = answer.get("evaluations") else {
        return Err("it has no evaluations array".to_owned());
    };
    if evaluations.len() != asked {
        return Err(format!(
            "it has {} answers to {asked} questions",
            evaluations.len()
        ));
    }
    evaluations
        .iter()
        .enumerate()
        .map(|(index, evaluation)| {
            decision(evaluation).map_err(|reason| format!("answer {index}: {reason}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::auth_info::AuthInfo;

    fn alice() -> AuthInfo {
        AuthInfo::new("https://auth.example.com", ["https://mcp.example.com/mcp"])
            .with_subject("alice")
            .with_client_id("app")
            .with_roles(["admins"])
            .with_scopes(["mcp"])
    }

    fn parsed(body: &[u8]) -> Value {
        serde_json::from_slice(body).unwrap()
    }

    #[test]
    fn an_evaluation_is_the_question_and_the_context() {
        let arguments = json!({ "month": "May" }).as_object().cloned();
        let request = AccessRequest::tool_call(&alice(), "admin_report", arguments);
        assert_eq!(
            parsed(&evaluation_body(&request)),
            json!({
                "subject": {
                    "type": "user",
                    "id": "alice",
                    "properties": {
                        "roles": ["admins"],
                        "scopes": ["mcp"],
                        "client_id": "app",
                        "issuer": "https://auth.example.com",
                    },
                },
                "action": { "name": "tools/call" },
                "resource": {
                    "type": "tool",
                    "id": "admin_report",
                    "properties": { "arguments": { "month": "May" } },
                },
                "context": { "pep": "mcp-auth" },
            })
        );
    }

    #[test]
    fn a_batch_asks_every_question_whole_and_every_answer() {
        let first = AccessRequest::tool_call(&alice(), "echo", None);
        let second = AccessRequest::prompt_get(&alice(), "summary", None);
        let body = parsed(&evaluations_body(&[&first, &second]));
        assert_eq!(body["context"], json!({ "pep": "mcp-auth" }));
        assert_eq!(
            body["options"],
            json!({ "evaluations_semantic": "execute_all" })
        );
        assert_eq!(
            body["evaluations"],
            json!([
                serde_json::to_value(&first).unwrap(),
                serde_json::to_value(&second).unwrap()
            ])
        );
        assert!(body.get("subject").is_none(), "no defaults to merge");
    }

    #[test]
    fn a_decision_is_a_boolean_and_nothing_else() {
        assert_eq!(decision(&json!({ "decision": true })), Ok(true));
        assert_eq!(
            decision(&json!({ "decision": false, "context": { "reason": "no" } })),
            Ok(false)
        );
        for no_decision in [
            json!({}),
            json!({ "decision": "true" }),
            json!({ "decision": 1 }),
            json!({ "decision": null }),
            json!([true]),
            json!(true),
        ] {
            assert!(decision(&no_decision).is_err(), "{no_decision}");
        }
    }

    #[test]
    fn a_batch_answer_has_one_decision_per_question() {
        let answer = json!({ "evaluations": [{ "decision": true }, { "decision": false }] });
        assert_eq!(decisions(&answer, 2), Ok(vec![true, false]));
        assert!(decisions(&answer, 3).is_err(), "one answer missing");
        assert!(decisions(&answer, 1).is_err(), "one answer too many");
        assert!(decisions(&json!({ "evaluations": [{ "decision": true }, {}] }), 2).is_err());
        assert!(decisions(&json!({ "decision": true }), 1).is_err());
        assert!(decisions(&json!({ "evaluations": {} }), 0).is_err());
    }
}

//! The variables a rule reads, built for one call: `auth` and `jwt` from the caller's
//! [`AuthInfo`], `mcp` from the message, `request` from the connection. Only what the rules
//! read is built, and what comes from the request is bounded.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use cel::objects::{Key, Map as CelMap};
use cel::{Context, Value};
use serde_json::{Map, Value as Json};

use super::environment::environment;
use super::rule::Reads;
use crate::auth_info::AuthInfo;
use crate::operations::case_fold::fold;

/// The most of a call's arguments a rule reads: string and member-name bytes, and values. A
/// loop over them costs at most this much per step; past it the rules reading arguments deny.
const MAX_ARGUMENT_BYTES: usize = 64 * 1024;
const MAX_ARGUMENT_VALUES: usize = 4096;

/// One message as rules see it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Call<'a> {
    /// The JSON-RPC method; `None` when the body could not be read.
    pub(crate) method: Option<&'a str>,
    /// The tool's or prompt's name, or the resource's URI.
    pub(crate) name: Option<&'a str>,
    /// `params.arguments`; `None` when the message has none.
    pub(crate) arguments: Option<&'a Map<String, Json>>,
}

/// The context a rule reading `reads` runs in for `call` by `caller`; `Err` with why when
/// what the request sent cannot be handed to rules (too large, ambiguous member names).
pub(crate) fn context(
    reads: Reads,
    caller: &AuthInfo,
    call: Call<'_>,
    remote_addr: Option<IpAddr>,
) -> Result<Context<'static, 'static>, String> {
    let mut context = Context::with_env(environment());
    if reads.auth {
        context.add_variable_from_value("auth", auth(caller));
    }
    if reads.jwt {
        let mut budget = Budget::unbounded();
        let claims = object(&caller.claims, &mut budget, false)?;
        context.add_variable_from_value("jwt", claims);
    }
    if reads.mcp {
        context.add_variable_from_value("mcp", mcp(call, reads.arguments)?);
    }
    if reads.request {
        let address = remote_addr.map_or(Value::Null, |address| string(address.to_string()));
        context.add_variable_from_value("request", map([("remote_addr", address)]));
    }
    Ok(context)
}

fn auth(caller: &AuthInfo) -> Value {
    let optional = |value: &Option<String>| value.clone().map_or(Value::Null, string);
    let list =
        |values: &[String]| Value::List(Arc::new(values.iter().cloned().map(string).collect()));
    map([
        ("subject", optional(&caller.subject)),
        ("client_id", optional(&caller.client_id)),
        ("issuer", string(caller.issuer.clone())),
        ("scopes", list(&caller.scopes)),
        ("roles", list(&caller.roles)),
    ])
}

fn mcp(call: Call<'_>, with_arguments: bool) -> Result<Value, String> {
    let optional =
        |value: Option<&str>| value.map_or(Value::Null, |value| string(value.to_owned()));
    let arguments = match call.arguments {
        Some(arguments) if with_arguments => {
            let mut budget = Budget::arguments();
            object(arguments, &mut budget, true)?
        }
        _ => Value::Map(CelMap {
            map: Arc::new(HashMap::new()),
        }),
    };
    Ok(map([
        ("method", optional(call.method)),
        ("name", optional(call.name)),
        ("arguments", arguments),
    ]))
}

fn string(value: String) -> Value {
    Value::String(Arc::new(value))
}

fn map<const N: usize>(entries: [(&str, Value); N]) -> Value {
    let map: HashMap<Key, Value> = entries
        .into_iter()
        .map(|(name, value)| (Key::String(Arc::new(name.to_owned())), value))
        .collect();
    Value::Map(CelMap { map: Arc::new(map) })
}

/// What is left to convert.
struct Budget {
    bytes: usize,
    values: usize,
}

impl Budget {
    fn arguments() -> Self {
        Self {
            bytes: MAX_ARGUMENT_BYTES,
            values: MAX_ARGUMENT_VALUES,
        }
    }

    /// For claims: the verifier bounded them already.
    fn unbounded() -> Self {
        Self {
            bytes: usize::MAX,
            values: usize::MAX,
        }
    }

    fn spend(&mut self, bytes: usize) -> Result<(), String> {
        match (self.bytes.checked_sub(bytes), self.values.checked_sub(1)) {
            (Some(bytes), Some(values)) => {
                self.bytes = bytes;
                self.values = values;
                Ok(())
            }
            _ => Err(format!(
                "the call's arguments are larger than rules read ({} KiB, {MAX_ARGUMENT_VALUES} values)",
                MAX_ARGUMENT_BYTES / 1024
            )),
        }
    }
}

/// `object` as a CEL map. With `distinct_names`, two member names equal under case folding are
/// refused: a server matching names without regard to case (Go, .NET, Jackson) could read the
/// one the rule did not.
fn object(
    object: &Map<String, Json>,
    budget: &mut Budget,
    distinct_names: bool,
) -> Result<Value, String> {
    let mut map = HashMap::with_capacity(object.len());
    let mut folded = Vec::new();
    for (name, value) in object {
        budget.spend(name.len())?;
        if distinct_names {
            let name = fold(name);
            if folded.contains(&name) {
                return Err(
                    "the call's arguments hold two members whose names differ only in case"
                        .to_owned(),
                );
            }
            folded.push(name);
        }
        map.insert(
            Key::String(Arc::new(name.clone())),
            json(value, budget, distinct_names)?,
        );
    }
    Ok(Value::Map(CelMap { map: Arc::new(map) }))
}

fn json(value: &Json, budget: &mut Budget, distinct_names: bool) -> Result<Value, String> {
    Ok(match value {
        Json::Null => {
            budget.spend(0)?;
            Value::Null
        }
        Json::Bool(value) => {
            budget.spend(0)?;
            Value::Bool(*value)
        }
        Json::Number(number) => {
            budget.spend(0)?;
            match (number.as_i64(), number.as_u64(), number.as_f64()) {
                (Some(int), _, _) => Value::Int(int),
                (None, Some(uint), _) => Value::UInt(uint),
                (None, None, Some(float)) => Value::Float(float),
                (None, None, None) => return Err("a number rules cannot read".to_owned()),
            }
        }
        Json::String(text) => {
            budget.spend(text.len())?;
            string(text.clone())
        }
        Json::Array(items) => {
            budget.spend(0)?;
            let items = items
                .iter()
                .map(|item| json(item, budget, distinct_names))
                .collect::<Result<Vec<_>, _>>()?;
            Value::List(Arc::new(items))
        }
        Json::Object(members) => {
            budget.spend(0)?;
            object(members, budget, distinct_names)?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::rule::AllowRule;

    fn allows(source: &str, caller: &AuthInfo, call: Call<'_>) -> Result<bool, String> {
        let rule = AllowRule::compile("r", source).map_err(|err| err.to_string())?;
        let context = context(rule.reads(), caller, call, None)?;
        rule.allows(&context)
    }

    fn arguments(json: &str) -> Map<String, Json> {
        match serde_json::from_str(json) {
            Ok(Json::Object(map)) => map,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rules_read_the_caller_the_claims_and_the_call() {
        let mut claims = Map::new();
        claims.insert("tenant".to_owned(), Json::from("acme"));
        let caller = AuthInfo::new("https://issuer", ["https://api"])
            .with_subject("alice")
            .with_roles(["admins"])
            .with_claims(claims);
        let read = arguments(r#"{"path":"/public/a","count":3}"#);
        let call = Call {
            method: Some("tools/call"),
            name: Some("read_file"),
            arguments: Some(&read),
        };
        for (rule, expected) in [
            ("auth.roles.exists(r, r == \"admins\")", true),
            ("\"ops\" in auth.roles", false),
            ("auth.subject == \"alice\" && auth.client_id == null", true),
            ("jwt.tenant == \"acme\"", true),
            (
                "mcp.name == \"read_file\" && mcp.method == \"tools/call\"",
                true,
            ),
            ("mcp.arguments.path.underPath(\"/public\")", true),
            ("mcp.arguments.count < 5", true),
            ("request.remote_addr == null", true),
        ] {
            assert_eq!(allows(rule, &caller, call), Ok(expected), "{rule}");
        }
        assert!(allows("mcp.arguments.missing == 1", &caller, call).is_err());
        assert!(
            allows("auth.subject", &caller, call).is_err(),
            "not a boolean"
        );
    }

    #[test]
    fn arguments_that_are_too_large_or_ambiguous_deny() {
        let caller = AuthInfo::default();
        let rule = "mcp.arguments.path.underPath(\"/public\")";
        let ambiguous = arguments(r#"{"path":"/public/a","PATH":"/etc/passwd"}"#);
        let call = |arguments| Call {
            method: Some("tools/call"),
            name: Some("read_file"),
            arguments: Some(arguments),
        };
        let denied = allows(rule, &caller, call(&ambiguous));
        assert!(denied.is_err_and(|why| why.contains("case")));
        let big = arguments(&format!(
            r#"{{"path":"/public/a","pad":"{}"}}"#,
            "x".repeat(MAX_ARGUMENT_BYTES)
        ));
        assert!(allows(rule, &caller, call(&big)).is_err());
        let many = arguments(&format!(
            r#"{{"path":"/public/a","pad":[{}0]}}"#,
            "0,".repeat(MAX_ARGUMENT_VALUES)
        ));
        assert!(allows(rule, &caller, call(&many)).is_err());
        let ignored = allows("auth.subject == null", &caller, call(&ambiguous));
        assert_eq!(
            ignored,
            Ok(true),
            "arguments are not read unless a rule reads them"
        );
    }
}

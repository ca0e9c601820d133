//! The variables a rule reads, built for one call: `auth` and `jwt` from the caller's
//! [`AuthInfo`], `mcp` from the message, `request` from the connection. Only what the rules
//! read is built, and what comes from the request is bounded.

use std::collections::HashMap;
use std::net::IpAddr;

use cel::Context;
use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt,
};
use cel::common::value::Val;
use serde_json::{Map, Value as Json};

use super::environment::environment;
use super::rule::{Fields, Reads};
use crate::auth_info::AuthInfo;
use crate::wire::case_fold::fold;

/// The most of a call's arguments a rule reads: string and member-name bytes, and values. A
/// loop over them costs at most this much per step; past it the rules reading arguments deny.
const MAX_ARGUMENT_BYTES: usize = 64 * 1024;
const MAX_ARGUMENT_VALUES: usize = 4096;

/// A CEL value borrowing from the caller or the call.
type Cel<'v> = Box<dyn Val + 'v>;

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

/// The context a rule reading `reads` runs in for `call` by `caller`, borrowing from both and
/// holding only the fields read; `Err` with why when what the request sent cannot be handed
/// to rules (too large, ambiguous member names).
pub(crate) fn context<'v>(
    reads: Reads,
    caller: &'v AuthInfo,
    call: Call<'v>,
    remote_addr: Option<IpAddr>,
) -> Result<Context<'v, 'v>, String> {
    let mut context = Context::with_env(environment());
    if reads.auth.any() {
        context.add_variable_as_val("auth", auth(caller, reads.auth));
    }
    if reads.jwt {
        let claims = object(&caller.claims, &mut Budget::unbounded(), false)?;
        context.add_variable_as_val("jwt", claims);
    }
    if reads.mcp.any() {
        context.add_variable_as_val("mcp", mcp(call, reads.mcp)?);
    }
    if reads.request {
        let address: Cel<'v> = match remote_addr {
            Some(address) => Box::new(CelString::from(address.to_string())),
            None => Box::new(CelNull),
        };
        context.add_variable_as_val(
            "request",
            map([(0, "remote_addr", Some(address))], Fields::ALL),
        );
    }
    Ok(context)
}

fn auth(caller: &AuthInfo, fields: Fields) -> Cel<'_> {
    // Each field is built only when read.
    let field = |index: usize| fields.has(index);
    map(
        [
            (
                0,
                "subject",
                field(0).then(|| optional(caller.subject.as_deref())),
            ),
            (
                1,
                "client_id",
                field(1).then(|| optional(caller.client_id.as_deref())),
            ),
            (2, "issuer", field(2).then(|| text(&caller.issuer))),
            (3, "scopes", field(3).then(|| list(&caller.scopes))),
            (4, "roles", field(4).then(|| list(&caller.roles))),
        ],
        fields,
    )
}

fn optional(value: Option<&str>) -> Cel<'_> {
    value.map_or_else(null, text)
}

fn list(values: &[String]) -> Cel<'_> {
    let items: Vec<Cel<'_>> = values.iter().map(|value| text(value)).collect();
    Box::new(CelList::from(items))
}

fn mcp(call: Call<'_>, fields: Fields) -> Result<Cel<'_>, String> {
    let arguments: Option<Cel<'_>> = if fields.has(super::rule::ARGUMENTS) {
        Some(match call.arguments {
            Some(arguments) => object(arguments, &mut Budget::arguments(), true)?,
            None => Box::new(CelMap::from(HashMap::new())),
        })
    } else {
        None
    };
    Ok(map(
        [
            (0, "method", fields.has(0).then(|| optional(call.method))),
            (1, "name", fields.has(1).then(|| optional(call.name))),
            (2, "arguments", arguments),
        ],
        fields,
    ))
}

fn text(value: &str) -> Cel<'_> {
    Box::new(CelString::from(value))
}

fn null<'v>() -> Cel<'v> {
    Box::new(CelNull)
}

/// A map of the entries whose field is read (the others, `None`, are left out).
fn map<'v, const N: usize>(
    entries: [(usize, &'static str, Option<Cel<'v>>); N],
    fields: Fields,
) -> Cel<'v> {
    let map: HashMap<CelMapKey<'v>, Cel<'v>> = entries
        .into_iter()
        .filter(|(index, _, _)| fields.has(*index))
        .filter_map(|(_, name, value)| value.map(|value| (CelMapKey::from(name), value)))
        .collect();
    Box::new(CelMap::from(map))
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

/// `object` as a CEL map borrowing from it. With `distinct_names`, two member names equal
/// under case folding are refused: a server matching names without regard to case (Go, .NET,
/// Jackson) could read the one the rule did not.
fn object<'v>(
    object: &'v Map<String, Json>,
    budget: &mut Budget,
    distinct_names: bool,
) -> Result<Cel<'v>, String> {
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
            CelMapKey::from(name.as_str()),
            json(value, budget, distinct_names)?,
        );
    }
    Ok(Box::new(CelMap::from(map)))
}

fn json<'v>(value: &'v Json, budget: &mut Budget, distinct_names: bool) -> Result<Cel<'v>, String> {
    Ok(match value {
        Json::Null => {
            budget.spend(0)?;
            null()
        }
        Json::Bool(value) => {
            budget.spend(0)?;
            Box::new(CelBool::from(*value))
        }
        Json::Number(number) => {
            budget.spend(0)?;
            match (number.as_i64(), number.as_u64(), number.as_f64()) {
                (Some(int), _, _) => Box::new(CelInt::from(int)),
                (None, Some(uint), _) => Box::new(CelUInt::from(uint)),
                (None, None, Some(float)) => Box::new(CelDouble::from(float)),
                (None, None, None) => return Err("a number rules cannot read".to_owned()),
            }
        }
        Json::String(value) => {
            budget.spend(value.len())?;
            text(value)
        }
        Json::Array(items) => {
            budget.spend(0)?;
            let items = items
                .iter()
                .map(|item| json(item, budget, distinct_names))
                .collect::<Result<Vec<_>, _>>()?;
            Box::new(CelList::from(items))
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

//! Where a PDP's endpoints are: given, or named by its metadata at
//! `{pdp}/.well-known/authzen-configuration` (Authorization API 1.0 §9). The document is read
//! strictly: it must name the PDP asked (`policy_decision_point`), and its endpoints must be on
//! the PDP's origin, since they receive the PDP's credentials.

use serde_json::Value;
use url::Url;

use crate::error::UrlKind;
use crate::issuer::url_rules::parse_http_url;

/// The path of a PDP's metadata, after its URL.
const WELL_KNOWN: &str = "/.well-known/authzen-configuration";

/// The endpoints a PDP's metadata names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Discovered {
    /// `access_evaluation_endpoint`, required; `None` when the PDP publishes no metadata
    /// (its well-known URL answers 404).
    pub(super) evaluation: Option<Url>,
    /// `access_evaluations_endpoint`, optional: without it, lists are asked one item at a time.
    pub(super) evaluations: Option<Url>,
}

impl Discovered {
    /// What a PDP without metadata names: nothing.
    pub(super) fn nothing() -> Self {
        Self {
            evaluation: None,
            evaluations: None,
        }
    }
}

/// The URL of the metadata of the PDP at `pdp`.
pub(super) fn well_known_url(pdp: &Url) -> Option<Url> {
    Url::parse(&format!("{}{WELL_KNOWN}", identifier(pdp))).ok()
}

/// The PDP's identifier as its metadata must name it: its URL without a trailing slash.
fn identifier(pdp: &Url) -> &str {
    pdp.as_str().trim_end_matches('/')
}

/// The endpoints the metadata `document` of the PDP at `pdp` names, or why it cannot be used.
pub(super) fn read(document: &Value, pdp: &Url) -> Result<Discovered, String> {
    let Value::Object(members) = document else {
        return Err("it is not a JSON object".to_owned());
    };
    let named = match members.get("policy_decision_point") {
        Some(Value::String(named)) => named,
        Some(_) => return Err("its policy_decision_point is not a string".to_owned()),
        None => return Err("it has no policy_decision_point".to_owned()),
    };
    let same_pdp = Url::parse(named).is_ok_and(|named| identifier(&named) == identifier(pdp));
    if !same_pdp {
        return Err(format!(
            "it describes the PDP {named:?}, not {:?}: metadata names the PDP it describes, so that one PDP is never taken for another",
            identifier(pdp)
        ));
    }
    let endpoint = |name: &str| -> Result<Option<Url>, String> {
        let Some(value) = members.get(name) else {
            return Ok(None);
        };
        let Value::String(value) = value else {
            return Err(format!("its {name} is not a string"));
        };
        let url = parse_http_url(UrlKind::PolicyDecisionPoint, value)
            .map_err(|err| format!("its {name}: {err}"))?;
        if url.origin() != pdp.origin() {
            return Err(format!(
                "its {name} {value:?} is not on the PDP's origin, and it would receive the PDP's credentials: give the endpoint with AuthZenBuilder::{} if it is meant",
                setter(name)
            ));
        }
        Ok(Some(url))
    };
    let evaluation = endpoint("access_evaluation_endpoint")?
        .ok_or_else(|| "it has no access_evaluation_endpoint".to_owned())?;
    Ok(Discovered {
        evaluation: Some(evaluation),
        evaluations: endpoint("access_evaluations_endpoint")?,
    })
}

/// The builder's setter for the endpoint the metadata member `name` names.
fn setter(name: &str) -> &'static str {
    match name {
        "access_evaluations_endpoint" => "evaluations_endpoint",
        _ => "evaluation_endpoint",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pdp() -> Url {
        Url::parse("http://127.0.0.1:3592").unwrap()
    }

    #[test]
    fn the_metadata_is_after_the_pdp_url() {
        for (pdp, expected) in [
            (
                "http://127.0.0.1:3592",
                "http://127.0.0.1:3592/.well-known/authzen-configuration",
            ),
            (
                "https://pdp.example.com/",
                "https://pdp.example.com/.well-known/authzen-configuration",
            ),
            (
                "https://pdp.example.com/tenant",
                "https://pdp.example.com/tenant/.well-known/authzen-configuration",
            ),
        ] {
            let url = well_known_url(&Url::parse(pdp).unwrap()).unwrap();
            assert_eq!(url.as_str(), expected);
        }
    }

    #[test]
    fn reads_both_endpoints() {
        let document = json!({
            "policy_decision_point": "http://127.0.0.1:3592",
            "access_evaluation_endpoint": "http://127.0.0.1:3592/access/v1/evaluation",
            "access_evaluations_endpoint": "http://127.0.0.1:3592/access/v1/evaluations",
            "search_subject_endpoint": "http://127.0.0.1:3592/access/v1/search/subject",
        });
        let discovered = read(&document, &pdp()).unwrap();
        assert_eq!(
            discovered.evaluation.unwrap().as_str(),
            "http://127.0.0.1:3592/access/v1/evaluation"
        );
        assert_eq!(
            discovered.evaluations.unwrap().as_str(),
            "http://127.0.0.1:3592/access/v1/evaluations"
        );
    }

    #[test]
    fn the_batch_endpoint_is_optional() {
        let document = json!({
            "policy_decision_point": "http://127.0.0.1:3592/",
            "access_evaluation_endpoint": "http://127.0.0.1:3592/access/v1/evaluation",
        });
        assert_eq!(read(&document, &pdp()).unwrap().evaluations, None);
    }

    #[test]
    fn refuses_metadata_that_cannot_be_trusted() {
        let evaluation = "http://127.0.0.1:3592/access/v1/evaluation";
        for (document, why) in [
            (
                json!({ "access_evaluation_endpoint": evaluation }),
                "no policy_decision_point",
            ),
            (
                json!({ "policy_decision_point": "http://127.0.0.1:9999", "access_evaluation_endpoint": evaluation }),
                "not \"http://127.0.0.1:3592\"",
            ),
            (
                json!({ "policy_decision_point": "http://127.0.0.1:3592" }),
                "no access_evaluation_endpoint",
            ),
            (
                json!({ "policy_decision_point": "http://127.0.0.1:3592", "access_evaluation_endpoint": "https://elsewhere.example.com/access/v1/evaluation" }),
                "not on the PDP's origin",
            ),
            (
                json!({ "policy_decision_point": "http://127.0.0.1:3592", "access_evaluation_endpoint": evaluation, "access_evaluations_endpoint": 7 }),
                "not a string",
            ),
            (
                json!({ "policy_decision_point": "http://127.0.0.1:3592", "access_evaluation_endpoint": "ftp://127.0.0.1:3592/x" }),
                "scheme",
            ),
            (json!([]), "not a JSON object"),
        ] {
            let error = read(&document, &pdp()).unwrap_err();
            assert!(error.contains(why), "{document}: {error}");
        }
    }
}

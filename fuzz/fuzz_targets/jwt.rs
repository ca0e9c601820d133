//! JWT decoding and claims, through the layer: the input is a JOSE header and a payload
//! (separated by a NUL byte; `$ISS`, `$AUD`, `$EXP`, `$NOW` stand for the issuer, the resource,
//! an hour from now and now), signed with the issuer's EdDSA key whatever the header says. A
//! token the layer accepts must be one RFC 7519 / RFC 8725 and the layer's rules accept, read by
//! any JSON parser: header `alg` EdDSA, no `crit`, an access token `typ`; no repeated member;
//! `iss` the issuer, `aud` naming the resource, `exp` not past (leeway aside), `nbf` not ahead,
//! scope `read` granted; and the handler sees the token's `sub`. A refusal carries the right
//! challenge; 503 never happens (the issuer is up).
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use libfuzzer_sys::fuzz_target;
use mcp_auth_fuzz::{BASE_SCOPE, Harness, LEEWAY, Members, RESOURCE, check_refusal, unix_now};
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let harness = Harness::get();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = unix_now();
    let text = text
        .replace("$ISS", harness.issuer.issuer())
        .replace("$AUD", RESOURCE)
        .replace("$EXP", &(now + 3600).to_string())
        .replace("$NOW", &now.to_string());
    let (header, payload) = text.split_once('\0').unwrap_or((&text, "{}"));
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let Ok(signature) = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &harness.key.encoding_key,
        Algorithm::EdDSA,
    ) else {
        return;
    };
    let answer = harness.call_with_token(&format!("{message}.{signature}"));
    check_refusal(&answer);
    assert_ne!(answer.status, 503, "{answer:?}");
    if answer.status != 200 {
        return;
    }
    let after = unix_now();
    let why = format!("accepted {header:?} . {payload:?}: {answer:?}");

    let header = object(header).unwrap_or_else(|| panic!("header not one object: {why}"));
    assert_eq!(header.get("alg"), Some(&Value::from("EdDSA")), "{why}");
    assert!(!header.contains_key("crit"), "{why}");
    match header.get("typ") {
        None => {}
        Some(Value::String(typ)) => assert!(
            ["jwt", "at+jwt", "application/at+jwt"].contains(&typ.to_ascii_lowercase().as_str()),
            "{why}"
        ),
        Some(_) => panic!("typ not a string: {why}"),
    }

    let claims = object(payload).unwrap_or_else(|| panic!("payload not one object: {why}"));
    assert_eq!(
        claims.get("iss"),
        Some(&Value::from(harness.issuer.issuer())),
        "{why}"
    );
    match claims.get("aud") {
        Some(Value::String(aud)) => assert_eq!(aud, RESOURCE, "{why}"),
        Some(Value::Array(auds)) => assert!(auds.contains(&Value::from(RESOURCE)), "{why}"),
        _ => panic!("no audience: {why}"),
    }
    let exp = claims.get("exp").and_then(Value::as_f64);
    assert!(
        exp.is_some_and(|exp| exp + LEEWAY as f64 >= now as f64),
        "{why}"
    );
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf
            .as_f64()
            .unwrap_or_else(|| panic!("nbf not a number: {why}"));
        assert!(nbf <= (after + LEEWAY) as f64, "{why}");
    }
    assert!(grants_base_scope(&claims), "{why}");
    assert_eq!(
        answer.body["subject"],
        claims.get("sub").cloned().unwrap_or(Value::Null),
        "{why}"
    );
    assert_eq!(answer.body["issuer"], harness.issuer.issuer(), "{why}");
});

/// The JSON object `text` holds, when it is one with no repeated member.
fn object(text: &str) -> Option<Map<String, Value>> {
    let members: Members = serde_json::from_str(text).ok()?;
    if !matches!(members, Members::Object(_)) || members.repeats_a_member() {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// Whether `scope` (space-separated), or else `scp` (a list or a string), grants `read`.
fn grants_base_scope(claims: &Map<String, Value>) -> bool {
    let in_list = |list: &str| list.split(' ').any(|scope| scope == BASE_SCOPE);
    match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(scope)), _) => in_list(scope),
        (Some(_), _) => false,
        (None, Some(Value::String(scp))) => in_list(scp),
        (None, Some(Value::Array(scp))) => scp.contains(&Value::from(BASE_SCOPE)),
        (None, _) => false,
    }
}

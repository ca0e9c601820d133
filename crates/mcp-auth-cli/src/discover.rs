//! `mcp-auth discover`: can MCP clients and mcp-auth work with this authorization server?

use clap::Args;
use mcp_auth::discovery::{Discovery, DiscoveryError, TENANT_PLACEHOLDER};
use mcp_auth::metadata::{Check, CheckCode, Severity};
use mcp_auth::observe::redact_userinfo;
use mcp_auth::verify::KeySetReport;
use serde_json::{Value, json};

use crate::auth_args::IssuerType;
use crate::recognize::{Recognized, recognize};

/// Flags of `discover`.
#[derive(Debug, Args)]
pub(crate) struct DiscoverArgs {
    /// The issuer identifier, or the full URL of its well-known metadata document.
    issuer: String,
    /// Which discovery document the issuer publishes (both are tried either way).
    #[arg(long, env = "MCP_AUTH_ISSUER_TYPE", value_enum, default_value = "oidc")]
    issuer_type: IssuerType,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Accept the issuer, its metadata and key set over plain http off loopback, as
    /// `serve --insecure-http-issuers` would.
    #[arg(long, env = "MCP_AUTH_INSECURE_HTTP_ISSUERS")]
    insecure_http_issuers: bool,
}

/// Runs discovery and the checks; `Ok(true)` when the provider passes.
pub(crate) async fn run(args: DiscoverArgs) -> Result<bool, String> {
    let mut discovery = if args.issuer.contains("/.well-known/") {
        Discovery::from_well_known_url(&args.issuer).map_err(|err| err.to_string())?
    } else {
        Discovery::new(&args.issuer, args.issuer_type.into())
    };
    if args.insecure_http_issuers {
        discovery = discovery.allow_insecure_http();
    }
    if !args.json {
        eprintln!("discovering {} ...", redact_userinfo(discovery.issuer()));
    }
    let found = match discovery.fetch().await {
        Ok(found) => found,
        Err(error) => {
            report_failed_discovery(discovery.issuer(), &error, args.json);
            return Ok(false);
        }
    };
    let recognized = recognize(&found.document);
    let mut report = found.metadata.validate();
    if recognized
        .as_ref()
        .is_some_and(|found| found.provider == "cognito")
    {
        // Cognito publishes no code_challenge_methods_supported yet supports S256: MCP clients
        // reach it with a pre-registered client, so this is a warning, not a failure.
        for check in &mut report.checks {
            if check.code == CheckCode::PkceS256 && !check.passed {
                check.severity = Severity::Warning;
            }
        }
    }
    let key_set = match &found.metadata.jwks_uri {
        Some(uri) => {
            if !args.json {
                eprintln!("fetching the key set {uri} ...");
            }
            Some(
                KeySetReport::fetch(&discovery, uri)
                    .await
                    .map_err(|err| err.to_string()),
            )
        }
        None => None,
    };
    let keys_usable = matches!(&key_set, Some(Ok(summary)) if !summary.keys.is_empty());
    let introspection = found.metadata.introspection_endpoint.as_deref();
    // RFC 8414 §2: absent and empty say the same (no method listed).
    let introspection_methods = Some(&found.metadata.introspection_endpoint_auth_methods_supported)
        .filter(|methods| !methods.is_empty());
    let passed = report.is_valid() && keys_usable;

    if args.json {
        let checks: Vec<Value> = report.checks.iter().map(check_json).collect();
        let keys = match &key_set {
            Some(Ok(summary)) => json!({
                "reachable": true,
                "keys": summary.keys.iter().map(|key| json!({ "kid": key.kid, "algorithms": algorithm_names(&key.algorithms) })).collect::<Vec<_>>(),
                "ignored": summary.ignored,
            }),
            Some(Err(error)) => json!({ "reachable": false, "error": error }),
            None => json!({ "reachable": false, "error": "no jwks_uri" }),
        };
        let document = json!({
            "issuer": found.metadata.issuer,
            "metadata_url": found.url.as_str(),
            "issuer_matches": true,
            "checks": checks,
            "introspection_endpoint": introspection,
            "introspection_endpoint_auth_methods_supported": introspection_methods,
            "key_set": keys,
            "provider": recognized.as_ref().map(provider_json),
            "passed": passed,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&document).map_err(|err| err.to_string())?
        );
    } else {
        println!("issuer            {}", found.metadata.issuer);
        println!("metadata found at {}", found.url);
        println!("issuer matches    yes (RFC 8414 §3.3)");
        if let Some(found) = &recognized {
            print_recognized(found);
        }
        for check in &report.checks {
            println!(
                "{:<17} {} {}",
                label(check.code),
                mark(check),
                check.message
            );
        }
        // Informative: introspection is optional, for servers handing out opaque tokens.
        println!("introspection     {}", introspection.unwrap_or("none"));
        println!(
            "  auth methods    {}",
            introspection_methods.map_or("none".to_owned(), |methods| methods.join(" "))
        );
        match &key_set {
            Some(Ok(summary)) => {
                let mark = if summary.keys.is_empty() {
                    "FAIL"
                } else {
                    "ok  "
                };
                println!(
                    "key set           {mark} {} usable keys, {} ignored",
                    summary.keys.len(),
                    summary.ignored
                );
                for key in &summary.keys {
                    println!(
                        "                  kid {:<20} {}",
                        key.kid.as_deref().unwrap_or("(none)"),
                        algorithm_names(&key.algorithms).join(" ")
                    );
                }
            }
            Some(Err(error)) => println!("key set           FAIL unreachable: {error}"),
            None => println!("key set           FAIL no jwks_uri"),
        }
        println!("{}", if passed { "PASS" } else { "FAIL" });
    }
    Ok(passed)
}

/// The report when no metadata was found, or it named another issuer.
fn report_failed_discovery(issuer: &str, error: &DiscoveryError, json: bool) {
    let mismatch = matches!(error, DiscoveryError::IssuerMismatch { .. });
    // A multi-tenant provider's document names a template, which no issuer equals; GitHub
    // publishes no document at all.
    let template = match error {
        DiscoveryError::IssuerMismatch { found, .. } if found.contains(TENANT_PLACEHOLDER) => {
            recognize(&json!({ "issuer": found }))
        }
        _ => recognize(&json!({ "issuer": issuer })).filter(|found| found.provider == "github"),
    };
    // The issuer is the flag as given: a password in it is not repeated.
    let issuer = redact_userinfo(issuer);
    let error = redact_userinfo(&error.to_string()).into_owned();
    if json {
        let document = json!({
            "issuer": issuer,
            "issuer_matches": if mismatch { Some(false) } else { None },
            "provider": template.as_ref().map(provider_json),
            "error": error,
            "passed": false,
        });
        println!("{document:#}");
    } else {
        println!("issuer            {issuer}");
        if mismatch {
            println!("issuer matches    FAIL {error}");
            if let Some(found) = template {
                print_recognized(&found);
            }
        } else {
            println!("metadata          FAIL {error}");
            if let Some(found) = &template {
                print_recognized(found);
            }
        }
        println!("FAIL");
    }
}

/// The recognised provider's lines: its name, the flags to use, its traps.
fn print_recognized(found: &Recognized) {
    println!("provider          {}", found.provider);
    println!("  flags           {}", found.flags);
    for trap in &found.traps {
        println!("  warn            {trap}");
    }
}

fn provider_json(found: &Recognized) -> Value {
    json!({ "name": found.provider, "flags": found.flags, "traps": found.traps })
}

fn algorithm_names(algorithms: &[impl std::fmt::Debug]) -> Vec<String> {
    algorithms.iter().map(|alg| format!("{alg:?}")).collect()
}

fn label(code: CheckCode) -> &'static str {
    match code {
        CheckCode::CodeResponseType => "response type",
        CheckCode::AuthorizationCodeGrant => "grant type",
        CheckCode::PkceS256 => "PKCE",
        CheckCode::ClientRegistration => "registration",
        CheckCode::JwksUri => "jwks_uri",
        _ => "check",
    }
}

fn mark(check: &Check) -> &'static str {
    match (check.passed, check.severity) {
        (true, _) => "ok  ",
        (false, Severity::Warning) => "warn",
        (false, Severity::Error) => "FAIL",
    }
}

fn check_json(check: &Check) -> Value {
    json!({
        "check": label(check.code),
        "passed": check.passed,
        "severity": match check.severity { Severity::Error => "error", Severity::Warning => "warning" },
        "message": check.message,
    })
}

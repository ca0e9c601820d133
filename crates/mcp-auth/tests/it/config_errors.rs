//! Misconfiguration fails when the configuration is built, with a message that says what to fix.

use crate::common;

use crate::common::{fixed_tokens, mcp_auth};
use mcp_auth::metadata::AuthorizationServerMetadata;
use mcp_auth::{
    AuthServerConfig, AuthServerType, ConfigError, McpAuth, ProtectedResource, UrlKind,
};

fn server(issuer: &str) -> AuthServerConfig {
    AuthServerConfig::new(
        AuthorizationServerMetadata::new(issuer),
        AuthServerType::OAuth,
    )
}

fn build(resources: Vec<ProtectedResource>) -> Result<McpAuth, ConfigError> {
    resources
        .into_iter()
        .fold(McpAuth::builder(), |builder, r| {
            builder.protected_resource(r)
        })
        .build()
}

fn build_one(identifier: &str) -> Result<McpAuth, ConfigError> {
    build(vec![
        ProtectedResource::new(identifier).authorization_server(server("https://as.example")),
    ])
}

#[test]
fn resource_identifiers_must_be_absolute_http_urls_without_fragment() {
    let cases = [
        ("/mcp", "relative URL without a base"),
        ("api.example.com/mcp", "relative URL without a base"),
        ("ftp://api.example.com/mcp", "the scheme must be https"),
        ("https://api.example.com/mcp#frag", "forbids a fragment"),
        ("https://api.example.com/mcp#", "forbids a fragment"),
        (
            "https://user:pw@api.example.com/mcp",
            "remove the user name and password",
        ),
        ("https://api.example.com/:tenant/mcp", "cannot be routed"),
        (
            "https://api.example.com/mcp?tenant=a",
            "remove the '?...' part",
        ),
        // Published and compared verbatim, so parsing must not change them.
        (
            "https://API.example.com/mcp",
            "canonical form: https://api.example.com/mcp",
        ),
        (
            "https://api.example.com:443/mcp",
            "canonical form: https://api.example.com/mcp",
        ),
        (
            " https://api.example.com/mcp",
            "canonical form: https://api.example.com/mcp",
        ),
        (
            "https://api.example.com/a/../mcp",
            "canonical form: https://api.example.com/mcp",
        ),
    ];
    for (identifier, expected) in cases {
        let err = build_one(identifier).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::InvalidUrl {
                    kind: UrlKind::ResourceIdentifier,
                    ..
                }
            ),
            "{identifier}: {err:?}"
        );
        let message = err.to_string();
        // Named as given, but never with a password (issue 21).
        let named = mcp_auth::observe::redact_userinfo(identifier);
        assert!(
            message.contains(expected) && message.contains(&*named) && !message.contains("pw@"),
            "{identifier}: {message}"
        );
    }
    assert!(build_one("http://127.0.0.1:8080").is_ok());
    assert!(build_one("http://127.0.0.1:8080/").is_ok());
    assert!(build_one("https://api.example.com/mcp/").is_ok());
}

#[test]
fn nothing_configured_is_an_error() {
    assert_eq!(
        McpAuth::builder().build().unwrap_err(),
        ConfigError::NoProtectedResource
    );
}

#[test]
fn duplicate_resources_and_clashing_metadata_paths_are_errors() {
    let one = || {
        ProtectedResource::new("https://api.example.com/mcp")
            .authorization_server(server("https://as.example"))
    };
    assert_eq!(
        build(vec![one(), one()]).unwrap_err(),
        ConfigError::DuplicateResource {
            resource: "https://api.example.com/mcp".into()
        }
    );
    let other_host = ProtectedResource::new("https://other.example.com/mcp")
        .authorization_server(server("https://as.example"));
    let err = build(vec![one(), other_host]).unwrap_err();
    assert!(
        matches!(err, ConfigError::DuplicateMetadataPath { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("/.well-known/oauth-protected-resource/mcp")
    );
}

#[test]
fn a_resource_needs_distinct_valid_authorization_servers() {
    let err = build(vec![ProtectedResource::new("https://api.example.com/mcp")]).unwrap_err();
    assert_eq!(
        err,
        ConfigError::NoAuthorizationServer {
            resource: "https://api.example.com/mcp".into()
        }
    );
    assert!(err.to_string().contains("authorization_server"));

    let twice = ProtectedResource::new("https://api.example.com/mcp")
        .authorization_server(server("https://as.example"))
        .authorization_server(server("https://as.example"));
    assert!(matches!(
        build(vec![twice]).unwrap_err(),
        ConfigError::DuplicateIssuer { .. }
    ));

    for issuer in [
        "https://AS.example",
        "as.example",
        "https://as.example?x=1",
        "https://as.example#x",
        "mailto:a@b.c",
    ] {
        let resource = ProtectedResource::new("https://api.example.com/mcp")
            .authorization_server(server(issuer));
        let err = build(vec![resource]).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::InvalidUrl {
                    kind: UrlKind::Issuer,
                    ..
                }
            ),
            "{issuer}: {err:?}"
        );
    }
}

#[test]
fn scopes_and_metadata_urls_are_checked() {
    let bad_scope = ProtectedResource::new("https://api.example.com/mcp")
        .authorization_server(server("https://as.example"))
        .scopes_supported(["read", "two words"]);
    assert_eq!(
        build(vec![bad_scope]).unwrap_err(),
        ConfigError::InvalidScope {
            scope: "two words".into()
        }
    );
    let bad_docs = ProtectedResource::new("https://api.example.com/mcp")
        .authorization_server(server("https://as.example"))
        .resource_documentation("docs/index.html");
    assert!(matches!(
        build(vec![bad_docs]).unwrap_err(),
        ConfigError::InvalidUrl {
            kind: UrlKind::ResourcePage,
            ..
        }
    ));
}

#[test]
fn the_bearer_layer_checks_its_own_settings() {
    let resource = "https://api.example.com/mcp";
    let auth = mcp_auth(resource);
    // JWT mode (no verifier given) needs the key set of every trusted server.
    assert_eq!(
        auth.bearer().build().unwrap_err(),
        ConfigError::NoJwksUri {
            issuer: common::ISSUER.into()
        }
    );
    assert!(matches!(
        auth.bearer()
            .verifier(fixed_tokens(resource))
            .resource("https://api.example.com/other")
            .build()
            .unwrap_err(),
        ConfigError::UnknownResource { .. }
    ));
    assert_eq!(
        auth.bearer()
            .verifier(fixed_tokens(resource))
            .required_scopes(["a\"b"])
            .build()
            .unwrap_err(),
        ConfigError::InvalidScope {
            scope: "a\"b".into()
        }
    );
    assert!(matches!(
        auth.bearer()
            .verifier(fixed_tokens(resource))
            .allowed_origins(["https://app.example.com/path"])
            .build()
            .unwrap_err(),
        ConfigError::InvalidOrigin { .. }
    ));
    assert!(
        auth.bearer()
            .verifier(fixed_tokens(resource))
            .resource(resource)
            .build()
            .is_ok()
    );
}

#[test]
fn introspection_or_api_keys_must_say_whether_jwts_are_accepted_too() {
    let mut metadata = AuthorizationServerMetadata::new("https://as.example");
    metadata.jwks_uri = Some("https://as.example/jwks".into());
    metadata.introspection_endpoint = Some("https://as.example/introspect".into());
    let auth = build(vec![
        ProtectedResource::new("https://mcp.example.com/mcp")
            .authorization_server(AuthServerConfig::new(metadata, AuthServerType::OAuth)),
    ])
    .unwrap();
    let introspection = || mcp_auth::verify::IntrospectionOptions::new("rs", "secret");
    let keys = || {
        mcp_auth::verify::ApiKeys::new().key(mcp_auth::verify::ApiKey::from_plain_text("k", "ci"))
    };
    for (layer, alongside) in [
        (
            auth.bearer().introspection(introspection()),
            "introspection",
        ),
        (auth.bearer().api_keys(keys()), "API keys"),
    ] {
        let err = layer.build().unwrap_err();
        assert_eq!(err, ConfigError::JwtModeUnstated { alongside });
        let said = err.to_string();
        assert!(
            said.contains(".jwt(JwtOptions::default())") && said.contains(".without_jwt()"),
            "{said}"
        );
    }
    // Said either way, it builds.
    for layer in [
        auth.bearer().api_keys(keys()).without_jwt(),
        auth.bearer()
            .api_keys(keys())
            .jwt(mcp_auth::verify::JwtOptions::default()),
        auth.bearer().introspection(introspection()).without_jwt(),
        auth.bearer(),
    ] {
        if let Err(err) = layer.build() {
            panic!("{err}");
        }
    }
    // Off, with nothing else: no token could pass.
    let err = auth.bearer().without_jwt().build().unwrap_err();
    assert_eq!(err, ConfigError::NoTokenVerifier);
    assert!(err.to_string().contains(".api_keys(...)"), "{err}");
}

#[test]
fn with_several_resources_the_layer_must_name_one() {
    let auth = build(vec![
        ProtectedResource::new("https://api.example.com/a")
            .authorization_server(server("https://as.example")),
        ProtectedResource::new("https://api.example.com/b")
            .authorization_server(server("https://as.example")),
    ])
    .unwrap();
    let err = auth
        .bearer()
        .verifier(fixed_tokens("x"))
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::AmbiguousResource { .. }));
    assert!(err.to_string().contains("BearerAuthBuilder::resource"));
    assert!(
        auth.bearer()
            .verifier(fixed_tokens("x"))
            .resource("https://api.example.com/b")
            .build()
            .is_ok()
    );
}

#[test]
fn jwt_mode_settings_are_checked_when_the_layer_is_built() {
    let resource = "https://api.example.com/mcp";
    let with_jwks = |issuer: &str, jwks: &str| {
        let mut metadata = AuthorizationServerMetadata::new(issuer);
        metadata.jwks_uri = Some(jwks.to_owned());
        build(vec![ProtectedResource::new(resource).authorization_server(
            AuthServerConfig::new(metadata, AuthServerType::OAuth),
        )])
        .unwrap()
    };
    let good = with_jwks("https://as.example", "https://as.example/jwks");
    assert!(good.bearer().build().is_ok());

    let downgraded = with_jwks("https://as.example", "http://as.example/jwks");
    let err = downgraded.bearer().build().unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::InvalidUrl {
                kind: UrlKind::JwksUri,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("plain http while the issuer"),
        "{err}"
    );

    assert_eq!(
        good.bearer().audience("").build().unwrap_err(),
        ConfigError::EmptyAudience
    );
    let err = good
        .bearer()
        .leeway(std::time::Duration::from_secs(86_400))
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::InvalidSetting {
                of: "BearerAuthBuilder",
                setting: "leeway",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("at most one hour"), "{err}");

    use mcp_auth::verify::JwtOptions;
    let day = std::time::Duration::from_secs(86_400);
    let cases = [
        (
            JwtOptions::default().algorithms([]),
            "algorithms",
            "the list is empty",
        ),
        (
            JwtOptions::default().algorithms([jsonwebtoken::Algorithm::HS256]),
            "algorithms",
            "HS256 is an HMAC algorithm",
        ),
        (
            JwtOptions::default().max_token_bytes(0),
            "max_token_bytes",
            "above zero",
        ),
        (
            JwtOptions::default().key_cache_ttl_bounds(day, day * 365),
            "key_cache_ttl_bounds",
            "above one week",
        ),
        (
            JwtOptions::default().key_cache_ttl_bounds(day, day / 2),
            "key_cache_ttl_bounds",
            "bounds are inverted",
        ),
        (
            JwtOptions::default().key_cache_ttl(std::time::Duration::ZERO),
            "key_cache_ttl",
            "for every token",
        ),
        (
            JwtOptions::default().key_cache_ttl_bounds(std::time::Duration::ZERO, day),
            "key_cache_ttl_bounds",
            "for every token",
        ),
        (
            JwtOptions::default().retry_backoff(day, day / 2),
            "retry_backoff",
            "bounds are inverted",
        ),
        (
            JwtOptions::default().fetch_timeout(std::time::Duration::ZERO),
            "fetch_timeout",
            "above zero",
        ),
    ];
    for (options, setter, expected) in cases {
        let err = good.bearer().jwt(options).build().unwrap_err();
        assert!(
            matches!(err, ConfigError::InvalidSetting { of: "JwtOptions", setting, .. } if setting == setter),
            "{err:?}"
        );
        assert!(err.to_string().contains(expected), "{err}");
    }

    let custom_and_jwt = good
        .bearer()
        .verifier(|_: String| async { Err(mcp_auth::VerifyError::invalid_token("no")) })
        .jwt(JwtOptions::default())
        .build()
        .unwrap_err();
    assert_eq!(
        custom_and_jwt,
        ConfigError::VerifierAndBuiltIn {
            built_in: "JWT options"
        }
    );

    let timeout_without_verifier = good
        .bearer()
        .verifier_timeout(std::time::Duration::from_secs(1))
        .build()
        .unwrap_err();
    assert!(matches!(
        timeout_without_verifier,
        ConfigError::InvalidSetting {
            of: "BearerAuthBuilder",
            setting: "verifier_timeout",
            ..
        }
    ));
    let zero_timeout = good
        .bearer()
        .verifier(|_: String| async { Err(mcp_auth::VerifyError::invalid_token("no")) })
        .verifier_timeout(std::time::Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(matches!(
        zero_timeout,
        ConfigError::InvalidSetting {
            of: "BearerAuthBuilder",
            setting: "verifier_timeout",
            ..
        }
    ));
}

#[test]
fn discovery_settings_are_checked_when_the_configuration_is_built() {
    use mcp_auth::discovery::Discovery;
    use std::time::Duration;

    let discovery = || Discovery::new("https://as.example", AuthServerType::OAuth);
    let cases = [
        (
            discovery().timeout(Duration::ZERO),
            "timeout",
            "no fetch could ever finish",
        ),
        (
            discovery().refresh_every(Duration::ZERO),
            "refresh_every",
            "on every request",
        ),
        (
            discovery().retry_backoff(Duration::from_secs(2), Duration::from_secs(1)),
            "retry_backoff",
            "bounds are inverted",
        ),
    ];
    for (discovery, setter, expected) in cases {
        let err = build(vec![
            ProtectedResource::new("https://api.example.com/mcp")
                .authorization_server(AuthServerConfig::lazy_with(discovery)),
        ])
        .unwrap_err();
        assert!(
            matches!(err, ConfigError::InvalidSetting { of: "Discovery", setting, .. } if setting == setter),
            "{err:?}"
        );
        assert!(err.to_string().contains(expected), "{err}");
    }
}

#[test]
fn plain_http_issuers_and_key_sets_off_loopback_need_an_explicit_opt_in() {
    let resource = "https://api.example.com/mcp";
    let trusting = |server: AuthServerConfig| {
        build(vec![
            ProtectedResource::new(resource).authorization_server(server),
        ])
    };
    let off_loopback = "plain http off loopback lets anyone on the path swap the keys";

    // An issuer, discovered lazily or given inline.
    for server in [
        AuthServerConfig::lazy("http://auth.example.com", AuthServerType::Oidc),
        server("http://auth.example.com"),
    ] {
        let err = trusting(server.clone()).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::InvalidUrl {
                    kind: UrlKind::Issuer,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains(off_loopback), "{err}");
        assert!(trusting(server.allow_insecure_http()).is_ok());
    }
    // Loopback needs no opt-in: a sidecar issuer, the test issuer.
    for loopback in [
        "http://127.0.0.1:9000",
        "http://[::1]:9000",
        "http://localhost:9000",
    ] {
        assert!(trusting(server(loopback)).is_ok(), "{loopback}");
    }

    // A key set named by inline metadata.
    let with_jwks = |issuer: &str, jwks: &str| {
        let mut metadata = AuthorizationServerMetadata::new(issuer);
        metadata.jwks_uri = Some(jwks.to_owned());
        AuthServerConfig::new(metadata, AuthServerType::OAuth)
    };
    let plain = with_jwks("http://127.0.0.1:9000", "http://keys.example.com/jwks");
    let err = trusting(plain.clone())
        .unwrap()
        .bearer()
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::InvalidUrl {
                kind: UrlKind::JwksUri,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains(off_loopback), "{err}");
    let opted_in = trusting(plain.allow_insecure_http()).unwrap();
    assert!(opted_in.bearer().build().is_ok());
    // The opt-in never lets an https issuer's key set fall back to http.
    let downgraded =
        with_jwks("https://as.example", "http://as.example/jwks").allow_insecure_http();
    assert!(trusting(downgraded).unwrap().bearer().build().is_err());
}

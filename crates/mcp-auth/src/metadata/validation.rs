//! Whether an authorization server's metadata lets MCP clients and this library work with it.

use std::fmt;

use super::AuthorizationServerMetadata;

/// How much a failed check matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// MCP clients or JWT mode cannot work with the server.
    Error,
    /// Something works less well (clients must be registered by hand, say).
    Warning,
}

/// What one check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckCode {
    /// `response_types_supported` contains `code`.
    CodeResponseType,
    /// The `authorization_code` grant is supported (the default when the field is absent).
    AuthorizationCodeGrant,
    /// PKCE with `S256` is announced (MCP clients must refuse servers that do not).
    PkceS256,
    /// Clients can register: a registration endpoint (RFC 7591) or Client ID Metadata Documents.
    ClientRegistration,
    /// `jwks_uri` is present, as JWT mode needs.
    JwksUri,
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub code: CheckCode,
    /// How much it matters when it fails.
    pub severity: Severity,
    /// Whether it passed.
    pub passed: bool,
    /// What was found, in a sentence.
    pub message: String,
}

/// Every check of one metadata document; printable as one line per check.
///
/// ```
/// use mcp_auth::metadata::{AuthorizationServerMetadata, CheckCode};
///
/// let mut metadata = AuthorizationServerMetadata::new("https://auth.example.com");
/// metadata.response_types_supported = vec!["code".into()];
/// metadata.code_challenge_methods_supported = vec!["S256".into()];
/// metadata.jwks_uri = Some("https://auth.example.com/jwks".into());
/// let report = metadata.validate();
/// assert!(report.is_valid());
/// assert!(!report.check(CheckCode::ClientRegistration).unwrap().passed); // a warning only
/// println!("{report}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationReport {
    /// The checks, in a fixed order.
    pub checks: Vec<Check>,
}

impl ValidationReport {
    /// Whether no check of [`Severity::Error`] failed.
    pub fn is_valid(&self) -> bool {
        self.checks
            .iter()
            .all(|check| check.passed || check.severity == Severity::Warning)
    }

    /// The check with this code.
    pub fn check(&self, code: CheckCode) -> Option<&Check> {
        self.checks.iter().find(|check| check.code == code)
    }
}

impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            let mark = match (check.passed, check.severity) {
                (true, _) => "ok  ",
                (false, Severity::Warning) => "warn",
                (false, Severity::Error) => "FAIL",
            };
            writeln!(f, "{mark} {}", check.message)?;
        }
        Ok(())
    }
}

impl AuthorizationServerMetadata {
    /// Checks the metadata against what MCP clients (authorization code with PKCE, client
    /// registration) and JWT mode (a key set) need.
    pub fn validate(&self) -> ValidationReport {
        let has = |list: &[String], value: &str| list.iter().any(|item| item == value);
        let code = has(&self.response_types_supported, "code");
        let grant = self.grant_types_supported.is_empty()
            || has(&self.grant_types_supported, "authorization_code");
        let pkce = has(&self.code_challenge_methods_supported, "S256");
        let registration = self.registration_endpoint.is_some()
            || self.client_id_metadata_document_supported == Some(true);
        let jwks = self.jwks_uri.is_some();
        let check = |code, severity, passed, yes: &str, no: &str| Check {
            code,
            severity,
            passed,
            message: if passed { yes } else { no }.to_owned(),
        };
        ValidationReport {
            checks: vec![
                check(
                    CheckCode::CodeResponseType,
                    Severity::Error,
                    code,
                    "response type \"code\" is supported",
                    "response_types_supported lacks \"code\": MCP clients use the authorization code flow",
                ),
                check(
                    CheckCode::AuthorizationCodeGrant,
                    Severity::Error,
                    grant,
                    "the authorization_code grant is supported",
                    "grant_types_supported lacks \"authorization_code\"",
                ),
                check(
                    CheckCode::PkceS256,
                    Severity::Error,
                    pkce,
                    "PKCE S256 is supported",
                    "code_challenge_methods_supported lacks \"S256\": MCP clients must refuse this server",
                ),
                check(
                    CheckCode::ClientRegistration,
                    Severity::Warning,
                    registration,
                    "clients can register (registration endpoint or Client ID Metadata Documents)",
                    "no registration_endpoint and no Client ID Metadata Document support: clients must be registered by hand",
                ),
                check(
                    CheckCode::JwksUri,
                    Severity::Error,
                    jwks,
                    "jwks_uri is published",
                    "no jwks_uri: JWT mode cannot verify this server's tokens",
                ),
            ],
        }
    }
}

//! The flags of `serve` and `proxy` for tokens that are not JWTs: opaque tokens introspected at the
//! authorization server (RFC 7662) with the resource server's client credentials, and API keys
//! known by their SHA-256; and what they become: the bearer layer's [`IntrospectionOptions`]
//! and [`ApiKeys`]. Flags that do not fit together are refused before anything starts.

use std::fmt;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use mcp_auth::verify::{ApiKey, ApiKeys, ClientAuthMethod, IntrospectionOptions};

/// Flags of `serve` and `proxy` for opaque tokens and API keys.
#[derive(Debug, Args)]
pub(crate) struct OpaqueTokenArgs {
    /// Introspect opaque tokens (RFC 7662) at the introspection_endpoint of the issuer's
    /// metadata, as the client --client-id; JWTs are still verified with the issuers' keys.
    /// With several --issuer, the first one introspects.
    #[arg(long, env = "MCP_AUTH_INTROSPECTION")]
    introspection: bool,
    /// The introspection endpoint, instead of the one in the issuer's metadata (implies
    /// --introspection).
    #[arg(
        long,
        env = "MCP_AUTH_INTROSPECTION_ENDPOINT",
        value_name = "URL",
        hide_env_values = true
    )]
    introspection_endpoint: Option<String>,
    /// How the server authenticates to the introspection endpoint [default: the first of basic
    /// and post the issuer's metadata lists, else basic].
    #[arg(
        long,
        env = "MCP_AUTH_INTROSPECTION_AUTH_METHOD",
        value_name = "METHOD",
        value_enum
    )]
    introspection_auth_method: Option<AuthMethod>,
    /// Most calls a second to the introspection endpoint [default: 100]: past it, a token that
    /// needs a call gets 503, so a flood of made-up tokens cannot hammer the issuer.
    #[arg(
        long,
        env = "MCP_AUTH_INTROSPECTION_MAX_CALLS",
        value_name = "PER_SECOND",
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    introspection_max_calls: Option<u32>,
    /// The server's client id at the authorization server, for introspection.
    #[arg(long, env = "MCP_AUTH_CLIENT_ID", value_name = "ID")]
    client_id: Option<String>,
    /// The server's client secret, for introspection. On the command line other local users
    /// can read it in the process list: prefer --client-secret-file or the variable.
    #[arg(
        long,
        env = "MCP_AUTH_CLIENT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    client_secret: Option<Hidden>,
    /// A file holding the client secret, instead of --client-secret (a trailing newline is
    /// ignored).
    #[arg(long, env = "MCP_AUTH_CLIENT_SECRET_FILE", value_name = "PATH")]
    client_secret_file: Option<PathBuf>,
    /// An API key the server accepts as a bearer token, by the SHA-256 of the key (64
    /// hexadecimal digits: printf %s "$KEY" | sha256sum), the subject it stands for (no ':')
    /// and the scopes it grants, separated by spaces ('HEX=ci-bot:mcp:tools mcp:admin').
    /// Repeatable; comma- or newline-separated in the variable.
    #[arg(
        long = "api-key-sha256",
        value_name = "HEX=SUBJECT[:SCOPES]",
        env = "MCP_AUTH_API_KEY_SHA256",
        value_delimiter = ',',
        hide_env_values = true
    )]
    api_keys: Vec<Hidden>,
}

/// `--introspection-auth-method`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum AuthMethod {
    /// HTTP Basic with the client id and secret (client_secret_basic).
    Basic,
    /// The client id and secret in the form body (client_secret_post).
    Post,
}

impl From<AuthMethod> for ClientAuthMethod {
    fn from(method: AuthMethod) -> Self {
        match method {
            AuthMethod::Basic => ClientAuthMethod::ClientSecretBasic,
            AuthMethod::Post => ClientAuthMethod::ClientSecretPost,
        }
    }
}

/// A flag value never shown, not even in `Debug` or by `check-config`: a client secret, an
/// upstream header that may carry one, an API key's digest.
#[derive(Clone)]
pub(crate) struct Hidden(pub(crate) String);

impl From<String> for Hidden {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Debug for Hidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The two ways to give the client secret.
const SECRET_FLAGS: &str = "--client-secret-file (MCP_AUTH_CLIENT_SECRET_FILE) or --client-secret \
                            (MCP_AUTH_CLIENT_SECRET)";

impl OpaqueTokenArgs {
    /// Whether opaque tokens are introspected.
    fn introspects(&self) -> bool {
        self.introspection || self.introspection_endpoint.is_some()
    }

    /// The start banner's word on introspection (never the secret), or `None` when it is off.
    pub(crate) fn introspection_summary(&self, issuer: Option<&str>) -> Option<String> {
        if !self.introspects() {
            return None;
        }
        let client = self.client_id.as_deref().unwrap_or_default();
        Some(match (&self.introspection_endpoint, issuer) {
            (Some(endpoint), _) => format!("{endpoint}, as client {client}"),
            (None, Some(issuer)) => {
                format!("the introspection_endpoint of {issuer}, as client {client}")
            }
            (None, None) => format!("as client {client}"),
        })
    }

    /// The introspection settings, asking `issuer` (the first trusted one), or `None` when
    /// introspection is off; the client secret is read from its file here.
    pub(crate) fn introspection(
        &self,
        issuer: Option<&str>,
    ) -> Result<Option<IntrospectionOptions>, String> {
        if !self.introspects() {
            let given = [
                (self.client_id.is_some(), "--client-id (MCP_AUTH_CLIENT_ID)"),
                (
                    self.client_secret.is_some(),
                    "--client-secret (MCP_AUTH_CLIENT_SECRET)",
                ),
                (
                    self.client_secret_file.is_some(),
                    "--client-secret-file (MCP_AUTH_CLIENT_SECRET_FILE)",
                ),
                (
                    self.introspection_auth_method.is_some(),
                    "--introspection-auth-method (MCP_AUTH_INTROSPECTION_AUTH_METHOD)",
                ),
                (
                    self.introspection_max_calls.is_some(),
                    "--introspection-max-calls (MCP_AUTH_INTROSPECTION_MAX_CALLS)",
                ),
            ];
            return match given.iter().find(|(set, _)| *set) {
                Some((_, flag)) => Err(format!(
                    "{flag} is for introspection, which is off: add --introspection or remove it"
                )),
                None => Ok(None),
            };
        }
        let client_id = match self.client_id.as_deref() {
            Some(id) if !id.is_empty() => id,
            Some(_) => return Err("--client-id is empty".to_owned()),
            None => {
                return Err(format!(
                    "--introspection needs the server's client credentials: --client-id \
                     (MCP_AUTH_CLIENT_ID) and {SECRET_FLAGS}"
                ));
            }
        };
        let secret = match (&self.client_secret, &self.client_secret_file) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "give the client secret once: {SECRET_FLAGS}, not both"
                ));
            }
            (None, None) => {
                return Err(format!(
                    "--introspection needs the server's client secret too: {SECRET_FLAGS}"
                ));
            }
            (Some(Hidden(secret)), None) => secret.clone(),
            (None, Some(path)) => read_secret(path)?,
        };
        if secret.is_empty() {
            return Err("the client secret is empty".to_owned());
        }
        let mut options = IntrospectionOptions::new(client_id, secret);
        if let Some(issuer) = issuer {
            options = options.issuer(issuer);
        }
        if let Some(endpoint) = &self.introspection_endpoint {
            options = options.endpoint(endpoint.clone());
        }
        if let Some(method) = self.introspection_auth_method {
            options = options.auth_method(method.into());
        }
        if let Some(calls) = self.introspection_max_calls {
            options = options.max_calls_per_second(calls);
        }
        Ok(Some(options))
    }

    /// The `--api-key-sha256` entries, checked: each names its key by a SHA-256, a subject and
    /// valid scopes, and no key comes twice. An error names the entry by its position only:
    /// a malformed one may be the key itself, pasted by mistake.
    pub(crate) fn api_key_entries(&self) -> Result<Vec<ApiKey>, String> {
        let mut entries: Vec<ApiKey> = Vec::new();
        let given = self
            .api_keys
            .iter()
            .flat_map(|Hidden(value)| value.split('\n'))
            .map(str::trim)
            .filter(|entry| !entry.is_empty());
        for (index, entry) in given.enumerate() {
            let position = index + 1;
            let parsed: ApiKey = entry.parse().map_err(|reason| {
                format!("--api-key-sha256 entry {position} is not HEX=SUBJECT[:SCOPES]: {reason}")
            })?;
            if let Some(first) = entries
                .iter()
                .position(|known| known.sha256_hex() == parsed.sha256_hex())
            {
                return Err(format!(
                    "--api-key-sha256 entries {} and {position} name the same key",
                    first + 1
                ));
            }
            entries.push(parsed);
        }
        Ok(entries)
    }
}

/// The layer's API keys, or `None` without any.
pub(crate) fn api_keys(entries: &[ApiKey]) -> Option<ApiKeys> {
    if entries.is_empty() {
        return None;
    }
    Some(
        entries
            .iter()
            .fold(ApiKeys::new(), |keys, entry| keys.key(entry.clone())),
    )
}

/// The secret in `path`, without its trailing newline. The error names the file, never its
/// content.
fn read_secret(path: &Path) -> Result<String, String> {
    let content = std::fs::read_to_string(path).map_err(|err| {
        format!(
            "cannot read the client secret file {}: {err}",
            path.display()
        )
    })?;
    Ok(content.trim_end_matches(['\n', '\r']).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn args(api_keys: &[&str]) -> OpaqueTokenArgs {
        OpaqueTokenArgs {
            introspection: false,
            introspection_endpoint: None,
            introspection_auth_method: None,
            introspection_max_calls: None,
            client_id: None,
            client_secret: None,
            client_secret_file: None,
            api_keys: api_keys.iter().map(|s| Hidden((*s).to_owned())).collect(),
        }
    }

    #[test]
    fn entries_come_by_comma_or_line_and_each_key_once() {
        let other = HEX.replace('9', "8");
        let line = format!("{HEX}=a:x\n\n {other}=b \n");
        let entries = args(&[&line]).api_key_entries().unwrap();
        assert_eq!(
            entries.iter().map(ApiKey::subject).collect::<Vec<_>>(),
            ["a", "b"]
        );
        let error = args(&[&format!("{HEX}=a"), "oops", &format!("{HEX}=c")])
            .api_key_entries()
            .unwrap_err();
        assert!(error.starts_with("--api-key-sha256 entry 2 "), "{error}");
        assert!(!error.contains("oops"), "{error}");
        let error = args(&[&format!("{HEX}=a"), &format!("{}=c", HEX.to_uppercase())])
            .api_key_entries()
            .unwrap_err();
        assert_eq!(error, "--api-key-sha256 entries 1 and 2 name the same key");
    }

    #[test]
    fn the_secret_never_shows_in_debug() {
        let mut args = args(&[]);
        args.client_secret = Some(Hidden("hunter2".to_owned()));
        assert!(!format!("{args:?}").contains("hunter2"));
    }
}

//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the document and where it is published.

use serde::{Deserialize, Serialize};
use url::Url;

/// The well-known URI suffix of RFC 9728 §3.
pub const WELL_KNOWN_SUFFIX: &str = "/.well-known/oauth-protected-resource";

/// An RFC 9728 §2 Protected Resource Metadata document.
///
/// Fields that are unset are left out of the JSON, never sent as `null`.
///
/// ```
/// use mcp_auth::metadata::ProtectedResourceMetadata;
///
/// let doc = ProtectedResourceMetadata {
///     resource: "https://api.example.com/mcp".into(),
///     authorization_servers: vec!["https://auth.example.com".into()],
///     ..ProtectedResourceMetadata::default()
/// };
/// let json = serde_json::to_value(&doc).unwrap();
/// assert_eq!(json["resource"], "https://api.example.com/mcp");
/// assert!(json.get("resource_name").is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedResourceMetadata {
    /// The resource identifier; clients send it as the RFC 8707 `resource` of their token request.
    pub resource: String,
    /// Issuer identifiers of the authorization servers that issue tokens for this resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_servers: Vec<String>,
    /// URL of the resource's own JSON Web Key Set (for signed responses), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Scopes clients may request for this resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// How the resource accepts bearer tokens; this library accepts only `header`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bearer_methods_supported: Vec<String>,
    /// JWS algorithms the resource signs its responses with, if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_signing_alg_values_supported: Vec<String>,
    /// Human-readable name of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// URL of developer documentation for the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_documentation: Option<String>,
    /// URL of the resource's data-use policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy_uri: Option<String>,
    /// URL of the resource's terms of service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_tos_uri: Option<String>,
    /// JWS algorithms the resource accepts for DPoP proofs (RFC 9449 §5.1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// Whether the resource accepts only DPoP-bound access tokens (RFC 9728 §2).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dpop_bound_access_tokens_required: bool,
}

/// The URL where the metadata of `resource` is published (RFC 9728 §3.1).
///
/// The well-known suffix goes between the host and the path; a root path adds nothing, and a
/// query or fragment is not part of the metadata URL.
///
/// ```
/// use mcp_auth::metadata::well_known_url;
/// use url::Url;
///
/// let url = well_known_url(&Url::parse("https://api.example.com:8443/mcp").unwrap());
/// assert_eq!(url.as_str(), "https://api.example.com:8443/.well-known/oauth-protected-resource/mcp");
/// ```
pub fn well_known_url(resource: &Url) -> Url {
    let mut url = resource.clone();
    url.set_path(&well_known_path(resource));
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// The path part of [`well_known_url`]: what the metadata router answers on.
pub(crate) fn well_known_path(resource: &Url) -> String {
    match resource.path() {
        "" | "/" => WELL_KNOWN_SUFFIX.to_owned(),
        path => format!("{WELL_KNOWN_SUFFIX}{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn well_known(resource: &str) -> String {
        well_known_url(&Url::parse(resource).unwrap()).to_string()
    }

    #[test]
    fn root_resource_gets_the_bare_suffix() {
        assert_eq!(
            well_known("https://h.example"),
            "https://h.example/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            well_known("https://h.example/"),
            "https://h.example/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn path_is_inserted_after_the_suffix() {
        assert_eq!(
            well_known("https://h.example/mcp"),
            "https://h.example/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            well_known("https://h.example/a/b/mcp"),
            "https://h.example/.well-known/oauth-protected-resource/a/b/mcp"
        );
    }

    #[test]
    fn trailing_slash_of_a_path_is_kept() {
        assert_eq!(
            well_known("https://h.example/mcp/"),
            "https://h.example/.well-known/oauth-protected-resource/mcp/"
        );
    }

    #[test]
    fn port_is_kept_and_default_port_dropped() {
        assert_eq!(
            well_known("http://127.0.0.1:8080/mcp"),
            "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            well_known("https://h.example:443/mcp"),
            "https://h.example/.well-known/oauth-protected-resource/mcp"
        );
    }

    #[test]
    fn query_and_fragment_are_dropped() {
        assert_eq!(
            well_known("https://h.example/mcp?tenant=a"),
            "https://h.example/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            well_known("https://h.example/?tenant=a"),
            "https://h.example/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn unset_fields_are_left_out_not_null() {
        let doc = ProtectedResourceMetadata {
            resource: "https://h.example/mcp".into(),
            ..Default::default()
        };
        let json = serde_json::to_string(&doc).unwrap();
        assert_eq!(json, r#"{"resource":"https://h.example/mcp"}"#);
    }
}

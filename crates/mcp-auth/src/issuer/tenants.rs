//! Multi-tenant issuers: a provider (Entra ID's `common` and `organizations` endpoints) whose
//! metadata names an issuer template holding a literal `{tenantid}`, and whose tokens carry
//! their tenant in `tid`. A token's issuer is trusted when it is the template with the token's
//! own `tid` in place of `{tenantid}`, and that tenant is one the resource accepts.

use std::fmt;

use crate::error::ConfigError;

/// What stands for the tenant in an issuer template, as Entra ID publishes it.
pub const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// The tenants a multi-tenant issuer's tokens are accepted from
/// ([`Discovery::multi_tenant`](crate::discovery::Discovery::multi_tenant)).
///
/// ```
/// use mcp_auth::discovery::Tenants;
///
/// let ours = Tenants::only(["72f988bf-86f1-41af-91ab-2d7cd011db47"]);
/// assert!(ours.allows("72f988bf-86f1-41af-91ab-2d7cd011db47"));
/// assert!(!ours.allows("00000000-0000-0000-0000-000000000000"));
/// assert!(Tenants::any().allows("00000000-0000-0000-0000-000000000000"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Tenants(Allowed);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Allowed {
    Only(Vec<String>),
    Any,
}

impl Tenants {
    /// These tenants only (tenant ids compare without regard to case: Entra writes them in
    /// lower case, people paste them in either).
    pub fn only<I, S>(tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let ids = tenants
            .into_iter()
            .map(|tenant| tenant.into().to_ascii_lowercase());
        Self(Allowed::Only(ids.collect()))
    }

    /// Any tenant: every organization using the provider can call the resource. Only for
    /// resources meant for everyone; the layer logs it when built.
    pub fn any() -> Self {
        Self(Allowed::Any)
    }

    /// Whether tokens of `tenant` are accepted.
    pub fn allows(&self, tenant: &str) -> bool {
        is_tenant_id(tenant)
            && match &self.0 {
                Allowed::Only(ids) => ids.iter().any(|id| id.eq_ignore_ascii_case(tenant)),
                Allowed::Any => true,
            }
    }

    /// Whether every tenant is accepted.
    pub fn is_any(&self) -> bool {
        self.0 == Allowed::Any
    }

    /// The tenants named, empty for [`any`](Self::any).
    pub fn ids(&self) -> &[String] {
        match &self.0 {
            Allowed::Only(ids) => ids,
            Allowed::Any => &[],
        }
    }

    /// Refuses an empty list and ids that are not tenant ids.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        let invalid = |reason: String| {
            Err(ConfigError::invalid_setting(
                "Discovery",
                "multi_tenant",
                reason,
            ))
        };
        match &self.0 {
            Allowed::Only(ids) if ids.is_empty() => invalid(
                "no tenant is named: name the tenants whose users may call, or use Tenants::any()"
                    .to_owned(),
            ),
            Allowed::Only(ids) => match ids.iter().find(|id| !is_tenant_id(id)) {
                Some(bad) => invalid(format!(
                    "{bad:?} is not a tenant id (letters, digits and '-', such as a directory GUID)"
                )),
                None => Ok(()),
            },
            Allowed::Any => Ok(()),
        }
    }
}

impl fmt::Debug for Tenants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Allowed::Only(ids) => f.debug_tuple("Tenants::only").field(ids).finish(),
            Allowed::Any => f.write_str("Tenants::any"),
        }
    }
}

/// A tenant id as providers issue them: 1 to 64 letters, digits and `-` (Entra's directory
/// GUIDs). Nothing that could end a path segment or start another.
fn is_tenant_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The tenant `issuer` names when it is `template` with a tenant id in place of
/// [`TENANT_PLACEHOLDER`]; `None` when it is not (or `template` holds no placeholder).
pub(crate) fn tenant_in<'i>(template: &str, issuer: &'i str) -> Option<&'i str> {
    let (prefix, suffix) = template.split_once(TENANT_PLACEHOLDER)?;
    let tenant = issuer.strip_prefix(prefix)?.strip_suffix(suffix)?;
    is_tenant_id(tenant).then_some(tenant)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V2: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";
    const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    #[test]
    fn the_tenant_is_the_segment_in_place_of_the_placeholder() {
        let issuer = format!("https://login.microsoftonline.com/{TID}/v2.0");
        assert_eq!(tenant_in(V2, &issuer), Some(TID));
        assert_eq!(
            tenant_in(
                "https://sts.windows.net/{tenantid}/",
                &format!("https://sts.windows.net/{TID}/")
            ),
            Some(TID)
        );
        for other in [
            "https://login.microsoftonline.com//v2.0".to_owned(),
            format!("https://login.microsoftonline.com/{TID}/v2.0/"),
            format!("https://login.microsoftonline.com/{TID}/x/v2.0"),
            format!("https://login.microsoftonline.com.evil/{TID}/v2.0"),
            format!("https://sts.windows.net/{TID}/"),
            "https://login.microsoftonline.com/a?b/v2.0".to_owned(),
        ] {
            assert_eq!(tenant_in(V2, &other), None, "{other}");
        }
        assert_eq!(
            tenant_in("https://auth.example.com", "https://auth.example.com"),
            None
        );
    }

    #[test]
    fn tenants_are_allowed_by_list_or_all_and_lists_are_checked() {
        let ours = Tenants::only([TID.to_uppercase()]);
        assert!(
            ours.allows(TID),
            "pasted in upper case, compared without case"
        );
        assert!(!ours.allows("00000000-0000-0000-0000-000000000000"));
        assert!(!Tenants::any().allows("a/b"));
        assert!(ours.check().is_ok());
        assert!(Tenants::only(Vec::<String>::new()).check().is_err());
        assert!(Tenants::only(["a/b"]).check().is_err());
        assert!(Tenants::only([""]).check().is_err());
    }
}

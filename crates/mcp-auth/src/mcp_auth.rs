//! [`McpAuth`]: the protected resources of a server, checked once, from which bearer layers and
//! the metadata router are made.

use std::sync::Arc;

use crate::bearer::BearerAuthBuilder;
use crate::error::ConfigError;
use crate::issuer::Issuers;
use crate::metadata::{ProtectedResourceMetadata, well_known_path};
use crate::resource::{ProtectedResource, ResourceConfig};
use crate::verify::KeyCaches;

/// The authorization configuration of an MCP server.
///
/// ```
/// use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
/// use mcp_auth::metadata::AuthorizationServerMetadata;
///
/// let auth = McpAuth::builder()
///     .protected_resource(
///         ProtectedResource::new("https://api.example.com/mcp").authorization_server(
///             AuthServerConfig::new(
///                 AuthorizationServerMetadata::new("https://auth.example.com"),
///                 AuthServerType::OAuth,
///             ),
///         ),
///     )
///     .build()?;
/// let doc = auth.protected_resource_metadata("https://api.example.com/mcp").unwrap();
/// assert_eq!(doc.authorization_servers, ["https://auth.example.com"]);
/// # Ok::<(), mcp_auth::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct McpAuth {
    resources: Arc<[ResourceConfig]>,
    /// Shared by every layer, so that layers trusting one issuer fetch its keys once.
    key_caches: Arc<KeyCaches>,
}

impl McpAuth {
    /// Starts a configuration.
    pub fn builder() -> McpAuthBuilder {
        McpAuthBuilder::default()
    }

    /// Starts a bearer layer for one of the protected resources.
    pub fn bearer(&self) -> BearerAuthBuilder {
        BearerAuthBuilder::new(self.resources.clone(), self.key_caches.clone())
    }

    /// The RFC 9728 document published for `resource`, if it is configured.
    pub fn protected_resource_metadata(
        &self,
        resource: &str,
    ) -> Option<&ProtectedResourceMetadata> {
        self.resources
            .iter()
            .find(|r| r.identifier == resource)
            .map(|r| &r.document)
    }

    pub(crate) fn resources(&self) -> &[ResourceConfig] {
        &self.resources
    }
}

/// Collects protected resources; [`build`](Self::build) checks them all.
#[derive(Debug, Default)]
#[must_use = "call .build() to get the configuration"]
pub struct McpAuthBuilder {
    resources: Vec<ProtectedResource>,
}

impl McpAuthBuilder {
    /// Adds a protected resource.
    pub fn protected_resource(mut self, resource: ProtectedResource) -> Self {
        self.resources.push(resource);
        self
    }

    /// Checks every resource and returns the configuration, or the first mistake found.
    pub fn build(self) -> Result<McpAuth, ConfigError> {
        if self.resources.is_empty() {
            return Err(ConfigError::NoProtectedResource);
        }
        let mut resources: Vec<ResourceConfig> = Vec::with_capacity(self.resources.len());
        let mut issuers = Issuers::default();
        for resource in self.resources {
            let resource = resource.validate(&mut issuers)?;
            for known in &resources {
                if known.identifier == resource.identifier {
                    return Err(ConfigError::DuplicateResource {
                        resource: resource.identifier,
                    });
                }
                let path = well_known_path(&resource.url);
                if well_known_path(&known.url) == path {
                    return Err(ConfigError::DuplicateMetadataPath {
                        first: known.identifier.clone(),
                        second: resource.identifier,
                        path,
                    });
                }
            }
            resources.push(resource);
        }
        Ok(McpAuth {
            resources: resources.into(),
            key_caches: Arc::default(),
        })
    }
}

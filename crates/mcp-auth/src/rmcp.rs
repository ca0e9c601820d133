//! rmcp support: the [`Auth`] and [`MaybeAuth`] extractors in tool and prompt handlers, checks
//! inside a tool ([`Auth::require_scopes`], [`Auth::require_claim`], whose [`Forbidden`] `?`
//! turns into the JSON-RPC error [`FORBIDDEN`]), and lists that show each
//! caller only what the layer's [operation rules](crate::operations) let it use
//! ([`visible_tools`], [`visible_prompts`], [`visible_resources`]; with a
//! [decision point](crate::policy::DecisionPoint), [`decided_tools`], [`decided_prompts`],
//! [`decided_resources`]).
//!
//! rmcp's Streamable HTTP service copies each request's `http::request::Parts` into the
//! handler's context, so the `AuthInfo` the bearer layer inserted for *this* request is what a
//! handler sees: identity is per request, never per session.
//!
//! ```
//! use mcp_auth::Auth;
//! use rmcp::{tool, tool_router};
//!
//! #[derive(Clone)]
//! struct Server;
//!
//! #[tool_router]
//! impl Server {
//!     #[tool(description = "Who is calling")]
//!     async fn whoami(&self, Auth(info): Auth) -> String {
//!         info.subject.clone().unwrap_or_default()
//!     }
//! }
//! ```

use std::sync::Arc;

use rmcp::ErrorData;
use rmcp::RoleServer;
use rmcp::handler::server::common::{AsRequestContext, FromContextPart};
use rmcp::model::{ErrorCode, Prompt, Resource, Tool};
use rmcp::service::RequestContext;

use crate::auth_info::AuthInfo;
use crate::extract::{Auth, MaybeAuth, MissingAuthInfo};
use crate::forbidden::Forbidden;
use crate::operations::Permissions;
use crate::policy::AccessRequest;

/// The JSON-RPC error code of [`Auth::require_scopes`] and [`Auth::require_claim`]: one of the
/// codes JSON-RPC leaves to implementations (-32000 to -32099), clear of those MCP uses.
pub const FORBIDDEN: ErrorCode = ErrorCode(-32011);

/// A handler's own refusal as the JSON-RPC error [`FORBIDDEN`], naming what is missing.
impl From<Forbidden> for ErrorData {
    fn from(refused: Forbidden) -> Self {
        ErrorData::new(FORBIDDEN, refused.to_string(), Some(refused.data()))
    }
}

/// The caller of the request `context` belongs to, and what the layer lets it use.
fn caller(
    context: &RequestContext<RoleServer>,
) -> (Option<Arc<AuthInfo>>, Option<Arc<Permissions>>) {
    let parts = context.extensions.get::<http::request::Parts>();
    let info = parts.and_then(|parts| parts.extensions.get::<Arc<AuthInfo>>().cloned());
    let permissions = parts.and_then(|parts| parts.extensions.get::<Arc<Permissions>>().cloned());
    (info, permissions)
}

/// Keeps the items `allowed` says the caller may use: none without a caller (no bearer layer
/// ran: fail closed), all when the layer has no operation rules.
fn visible<T>(
    context: &RequestContext<RoleServer>,
    items: Vec<T>,
    allowed: impl Fn(&Permissions, &AuthInfo, &T) -> bool,
) -> Vec<T> {
    match caller(context) {
        (None, _) => Vec::new(),
        (Some(_), None) => items,
        (Some(info), Some(permissions)) => items
            .into_iter()
            .filter(|item| allowed(&permissions, &info, item))
            .collect(),
    }
}

/// The tools of `tools` the caller of this request may call, by the layer's rules: for a
/// `list_tools` that shows each caller its own tools. Such a list is per user: rmcp marks it
/// `cacheScope: "private"` for protocol 2026-07-28 when the handler leaves the hint unset.
///
/// ```
/// use mcp_auth::rmcp::visible_tools;
/// use rmcp::model::{ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig};
/// use rmcp::service::RequestContext;
/// use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_handler, tool_router};
///
/// #[derive(Clone)]
/// struct Repo;
///
/// #[tool_router]
/// impl Repo {
///     #[tool(description = "Deletes the repository")]
///     async fn delete_repo(&self) -> String {
///         "deleted".into()
///     }
/// }
///
/// #[tool_handler]
/// impl ServerHandler for Repo {
///     fn get_info(&self) -> ServerConfig {
///         ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
///     }
///
///     async fn list_tools(
///         &self,
///         _: Option<PaginatedRequestParams>,
///         context: RequestContext<RoleServer>,
///     ) -> Result<ListToolsResult, ErrorData> {
///         let tools = visible_tools(&context, Self::tool_router().list_all());
///         Ok(ListToolsResult::with_all_items(tools))
///     }
/// }
/// ```
pub fn visible_tools(context: &RequestContext<RoleServer>, tools: Vec<Tool>) -> Vec<Tool> {
    visible(context, tools, |permissions, info, tool| {
        permissions.may_call_tool(info, &tool.name)
    })
}

/// The prompts of `prompts` the caller of this request may get, by the layer's rules.
pub fn visible_prompts(context: &RequestContext<RoleServer>, prompts: Vec<Prompt>) -> Vec<Prompt> {
    visible(context, prompts, |permissions, info, prompt| {
        permissions.may_get_prompt(info, &prompt.name)
    })
}

/// The resources of `resources` the caller of this request may read, by the layer's rules.
pub fn visible_resources(
    context: &RequestContext<RoleServer>,
    resources: Vec<Resource>,
) -> Vec<Resource> {
    visible(context, resources, |permissions, info, resource| {
        permissions.may_read_resource(info, &resource.uri)
    })
}

/// Keeps the items `visible` leaves that the layer's decision point allows, asked in one batch
/// question; a decision point that cannot answer is a JSON-RPC error (fail closed).
async fn decided<T>(
    context: &RequestContext<RoleServer>,
    items: Vec<T>,
    visible: impl FnOnce(&RequestContext<RoleServer>, Vec<T>) -> Vec<T>,
    question: impl Fn(&AuthInfo, &T) -> AccessRequest,
) -> Result<Vec<T>, ErrorData> {
    let items = visible(context, items);
    let (Some(info), Some(permissions)) = caller(context) else {
        return Ok(items);
    };
    let questions: Vec<AccessRequest> = items.iter().map(|item| question(&info, item)).collect();
    let decisions = permissions.decide_all(&questions).await.map_err(|err| {
        tracing::warn!(
            reason = err.reason(),
            "the policy decision point could not filter a list"
        );
        ErrorData::internal_error("the policy decision point could not decide; retry", None)
    })?;
    Ok(items
        .into_iter()
        .zip(decisions)
        .filter_map(|(item, allowed)| allowed.then_some(item))
        .collect())
}

/// [`visible_tools`], then one batch question to the layer's
/// [decision point](crate::bearer::BearerAuthBuilder::decision_point) (an AuthZEN
/// `evaluations` request): the tools it allows. Without a decision point, `visible_tools`'s
/// answer; when it cannot decide, a JSON-RPC error (the client retries), never the whole list.
///
/// ```
/// use mcp_auth::rmcp::decided_tools;
/// use rmcp::model::{ListToolsResult, PaginatedRequestParams};
/// use rmcp::service::RequestContext;
/// use rmcp::{ErrorData, RoleServer};
///
/// async fn list_tools(
///     all: Vec<rmcp::model::Tool>,
///     context: RequestContext<RoleServer>,
/// ) -> Result<ListToolsResult, ErrorData> {
///     Ok(ListToolsResult::with_all_items(decided_tools(&context, all).await?))
/// }
/// ```
pub async fn decided_tools(
    context: &RequestContext<RoleServer>,
    tools: Vec<Tool>,
) -> Result<Vec<Tool>, ErrorData> {
    decided(context, tools, visible_tools, |info, tool| {
        AccessRequest::tool_call(info, &tool.name, None)
    })
    .await
}

/// [`visible_prompts`], then the decision point's answer, as [`decided_tools`].
pub async fn decided_prompts(
    context: &RequestContext<RoleServer>,
    prompts: Vec<Prompt>,
) -> Result<Vec<Prompt>, ErrorData> {
    decided(context, prompts, visible_prompts, |info, prompt| {
        AccessRequest::prompt_get(info, &prompt.name, None)
    })
    .await
}

/// [`visible_resources`], then the decision point's answer, as [`decided_tools`].
pub async fn decided_resources(
    context: &RequestContext<RoleServer>,
    resources: Vec<Resource>,
) -> Result<Vec<Resource>, ErrorData> {
    decided(context, resources, visible_resources, |info, resource| {
        AccessRequest::resource_read(info, &resource.uri)
    })
    .await
}

impl<C: AsRequestContext> FromContextPart<C> for MaybeAuth {
    fn from_context_part(context: &mut C) -> Result<Self, ErrorData> {
        let info = context
            .as_request_context()
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| Auth::from_extensions(&parts.extensions))
            .map(|Auth(info)| info);
        Ok(Self(info))
    }
}

impl<C: AsRequestContext> FromContextPart<C> for Auth {
    fn from_context_part(context: &mut C) -> Result<Self, ErrorData> {
        match MaybeAuth::from_context_part(context)? {
            MaybeAuth(Some(info)) => Ok(Self(info)),
            MaybeAuth(None) => Err(ErrorData::internal_error(MissingAuthInfo.to_string(), None)),
        }
    }
}

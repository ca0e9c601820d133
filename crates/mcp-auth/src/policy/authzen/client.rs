//! [`AuthZen`]: asks an AuthZEN PDP, through the crate's bounded fetcher (one HTTP client,
//! timeouts, a body-size cap, redirects within the origin, the strict JSON reader), keeping
//! decisions briefly and making one call for concurrent identical questions.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use url::Url;

use super::builder::AuthZenBuilder;
use super::credentials::Credentials;
use super::decisions::Decisions;
use super::discovery::{self, Discovered};
use super::messages::{self, MAX_BATCH};
use crate::issuer::fetch::{FetchError, FetchLimits, get_strict_json, post_strict_json};
use crate::policy::access::AccessRequest;
use crate::policy::decision_point::{DecisionError, DecisionFuture, DecisionPoint};
use crate::verify::SingleFlight;

/// The largest answer read from a PDP, in bytes (a batch of 50 decisions with reasons fits many
/// times over).
const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// An OpenID AuthZEN Authorization API 1.0 client: a [`DecisionPoint`] that asks a PDP
/// (Cerbos, OpenFGA, Topaz, an OPA with AuthZEN...) about each call, and about whole lists at
/// once through its Access Evaluations endpoint. Cheap to clone: clones share the decisions
/// kept and the endpoints discovered.
///
/// - **Endpoints**: given, or read once, on first use, from the PDP's metadata at
///   `{pdp_url}/.well-known/authzen-configuration`, which must name the PDP asked
///   (`policy_decision_point`) and keep its endpoints on the PDP's origin. A PDP without a
///   batch endpoint is asked about each item of a list in turn.
/// - **Questions**: the [`AccessRequest`] as it is, with the context `{"pep": "mcp-auth"}`
///   (Cerbos refuses a batch without a non-empty context). A batch carries each question
///   whole (no defaults to merge), `options.evaluations_semantic: "execute_all"`, at most 50
///   questions (Cerbos's default limit; longer lists take several calls), and must be answered
///   once per question, in order.
/// - **Decisions** are kept for [`decision_ttl`](AuthZenBuilder::decision_ttl), keyed by the
///   whole question (caller, method, name, arguments), at most
///   [`max_decisions`](AuthZenBuilder::max_decisions) of them; a question whose JSON exceeds
///   4 KiB (large arguments) is never kept. Concurrent identical questions make one call.
///   Errors are never kept: the next request asks again.
/// - **Fails closed**: an unreachable PDP, a status other than 200, an answer that is not
///   JSON (read strictly: a repeated member is refused) or has no boolean `decision`, or no
///   answer within the [`timeout`](AuthZenBuilder::timeout) is a [`DecisionError`]: the
///   bearer layer answers 503, which clients retry, never a pass.
/// - **Credentials**: the token of [`credentials_file`](AuthZenBuilder::credentials_file),
///   sent as `Authorization: Bearer`, never logged nor printed.
///
/// ```
/// use std::time::Duration;
/// use mcp_auth::policy::AuthZen;
/// # use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
/// # let auth = McpAuth::builder()
/// #     .protected_resource(ProtectedResource::new("https://api.example.com/mcp")
/// #         .authorization_server(AuthServerConfig::lazy("https://auth.example.com", AuthServerType::Oidc)))
/// #     .build()?;
///
/// // A Cerbos beside the server: its endpoints are read from its metadata on first use.
/// let pdp = AuthZen::builder("http://127.0.0.1:3592")
///     .timeout(Duration::from_millis(500))
///     .build()?;
/// assert!(format!("{pdp:?}").contains("127.0.0.1:3592"));
/// let bearer = auth.bearer().decision_point(pdp).build()?;
/// # Ok::<(), mcp_auth::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct AuthZen {
    inner: Arc<Inner>,
}

/// What [`AuthZenBuilder::build`] checked.
pub(super) struct Settings {
    pub(super) pdp: Url,
    pub(super) evaluation: Option<Url>,
    pub(super) evaluations: Option<Url>,
    pub(super) credentials: Option<Credentials>,
    pub(super) timeout: Duration,
    pub(super) decision_ttl: Duration,
    pub(super) max_decisions: usize,
}

struct Inner {
    settings: Settings,
    decisions: Decisions,
    /// The PDP's metadata, once read (only when an endpoint is not given).
    discovered: OnceLock<Discovered>,
    /// One read of the metadata for all concurrent requests; a failure is shared by them, and
    /// the next request tries again.
    discovering: SingleFlight<Result<Discovered, DecisionError>, ()>,
    /// One call for all concurrent requests asking the same question.
    asking: SingleFlight<Result<bool, DecisionError>, AccessRequest>,
}

impl AuthZen {
    /// A builder for the PDP at `pdp_url` (such as `http://127.0.0.1:3592` for a Cerbos
    /// beside the server): endpoints not given are read from
    /// `{pdp_url}/.well-known/authzen-configuration` on first use.
    ///
    /// ```
    /// use mcp_auth::policy::AuthZen;
    ///
    /// let pdp = AuthZen::builder("http://127.0.0.1:3592").build()?;
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn builder(pdp_url: impl Into<String>) -> AuthZenBuilder {
        AuthZenBuilder::new(pdp_url.into())
    }

    pub(super) fn new(settings: Settings) -> Self {
        Self {
            inner: Arc::new(Inner {
                decisions: Decisions::new(settings.max_decisions, settings.decision_ttl),
                settings,
                discovered: OnceLock::new(),
                discovering: SingleFlight::default(),
                asking: SingleFlight::default(),
            }),
        }
    }
}

impl DecisionPoint for AuthZen {
    fn decide<'a>(&'a self, request: &'a AccessRequest) -> DecisionFuture<'a, bool> {
        Box::pin(self.inner.decide(request))
    }

    fn decide_all<'a>(&'a self, requests: &'a [AccessRequest]) -> DecisionFuture<'a, Vec<bool>> {
        Box::pin(self.inner.decide_all(requests))
    }
}

impl Inner {
    /// The decision on `request`: kept, or asked once for every concurrent caller.
    async fn decide(&self, request: &AccessRequest) -> Result<bool, DecisionError> {
        if let Some(allowed) = self.decisions.get(request, Instant::now()) {
            return Ok(allowed);
        }
        self.asking
            .run(request.clone(), || async {
                // A flight that ended just before this one began may have kept it.
                if let Some(allowed) = self.decisions.get(request, Instant::now()) {
                    return Ok(allowed);
                }
                let url = self.evaluation_endpoint().await?;
                let answer = self.ask(&url, messages::evaluation_body(request)).await?;
                let allowed =
                    messages::decision(&answer).map_err(|reason| no_decision(&url, &reason))?;
                self.decisions.put(request, allowed, Instant::now());
                Ok(allowed)
            })
            .await
    }

    /// The decisions on `requests`, in order: those kept, and the others asked in batches
    /// (or one by one when the PDP has no batch endpoint).
    async fn decide_all(&self, requests: &[AccessRequest]) -> Result<Vec<bool>, DecisionError> {
        let now = Instant::now();
        let mut decided: Vec<Option<bool>> = requests
            .iter()
            .map(|request| self.decisions.get(request, now))
            .collect();
        let open: Vec<usize> = (0..requests.len())
            .filter(|&index| decided[index].is_none())
            .collect();
        let batch = match open.len() {
            0 | 1 => None,
            _ => self.evaluations_endpoint().await?,
        };
        match batch {
            Some(url) => {
                for part in open.chunks(MAX_BATCH) {
                    let asked: Vec<&AccessRequest> =
                        part.iter().map(|&index| &requests[index]).collect();
                    let answer = self.ask(&url, messages::evaluations_body(&asked)).await?;
                    let answers = messages::decisions(&answer, asked.len())
                        .map_err(|reason| no_decision(&url, &reason))?;
                    let now = Instant::now();
                    for (&index, allowed) in part.iter().zip(answers) {
                        self.decisions.put(&requests[index], allowed, now);
                        decided[index] = Some(allowed);
                    }
                }
            }
            None => {
                for index in open {
                    decided[index] = Some(self.decide(&requests[index]).await?);
                }
            }
        }
        // Every item is decided by now; one that were not would be denied.
        Ok(decided
            .into_iter()
            .map(|allowed| allowed == Some(true))
            .collect())
    }

    /// POSTs `body` to `url` and reads the answer.
    async fn ask(&self, url: &Url, body: Vec<u8>) -> Result<Value, DecisionError> {
        let authorization = self
            .settings
            .credentials
            .as_ref()
            .map(Credentials::authorization);
        post_strict_json(url, body, authorization, self.limits())
            .await
            .map(|fetched| fetched.json)
            .map_err(|error| self.unavailable(&error))
    }

    /// A failed call as an error, saying what to fix when the PDP refused our credentials.
    fn unavailable(&self, error: &FetchError) -> DecisionError {
        let hint = match error {
            FetchError::Status {
                status: 401 | 403, ..
            } => match self.settings.credentials {
                Some(_) => ": the PDP refused the token of AuthZenBuilder::credentials_file",
                None => {
                    ": the PDP wants credentials, give them with AuthZenBuilder::credentials_file"
                }
            },
            _ => "",
        };
        DecisionError::new(format!("{error}{hint}"))
    }

    fn limits(&self) -> FetchLimits {
        FetchLimits {
            timeout: self.settings.timeout,
            max_body: MAX_ANSWER_BYTES,
        }
    }

    /// The Access Evaluation endpoint: given, or named by the PDP's metadata.
    async fn evaluation_endpoint(&self) -> Result<Url, DecisionError> {
        if let Some(url) = &self.settings.evaluation {
            return Ok(url.clone());
        }
        self.discovered().await?.evaluation.clone().ok_or_else(|| {
            DecisionError::new(format!(
                "the PDP at {} publishes no AuthZEN metadata: give its endpoint with AuthZenBuilder::evaluation_endpoint",
                self.settings.pdp
            ))
        })
    }

    /// The Access Evaluations endpoint, if the PDP has one: given, or named by its metadata.
    async fn evaluations_endpoint(&self) -> Result<Option<Url>, DecisionError> {
        if let Some(url) = &self.settings.evaluations {
            return Ok(Some(url.clone()));
        }
        Ok(self.discovered().await?.evaluations.clone())
    }

    /// The PDP's metadata, read on first need, once.
    async fn discovered(&self) -> Result<&Discovered, DecisionError> {
        if let Some(discovered) = self.discovered.get() {
            return Ok(discovered);
        }
        let found = self.discovering.run((), || self.discover()).await?;
        Ok(self.discovered.get_or_init(|| found))
    }

    /// Reads the PDP's metadata. A PDP answering 404 publishes none: when its evaluation
    /// endpoint is given, that is an answer (lists are then asked item by item); when it is
    /// not, an error, tried again on the next request.
    async fn discover(&self) -> Result<Discovered, DecisionError> {
        if let Some(discovered) = self.discovered.get() {
            return Ok(discovered.clone());
        }
        let pdp = &self.settings.pdp;
        let Some(url) = discovery::well_known_url(pdp) else {
            return Err(DecisionError::new(format!(
                "no metadata URL can be made from the PDP's URL {pdp}"
            )));
        };
        let authorization = self
            .settings
            .credentials
            .as_ref()
            .map(Credentials::authorization);
        let discovered = match get_strict_json(&url, authorization, self.limits()).await {
            Ok(fetched) => discovery::read(&fetched.json, pdp).map_err(|reason| {
                DecisionError::new(format!(
                    "the AuthZEN metadata at {url} cannot be used: {reason}"
                ))
            })?,
            Err(FetchError::Status { status: 404, .. }) if self.settings.evaluation.is_some() => {
                Discovered::nothing()
            }
            Err(error) => {
                return Err(DecisionError::new(format!(
                    "the AuthZEN metadata could not be read: {}",
                    self.unavailable(&error).reason()
                )));
            }
        };
        tracing::debug!(
            pdp = %pdp,
            evaluation = ?discovered.evaluation.as_ref().map(Url::as_str),
            evaluations = ?discovered.evaluations.as_ref().map(Url::as_str),
            "AuthZEN metadata read"
        );
        Ok(discovered)
    }
}

/// An answer without the decisions asked for.
fn no_decision(url: &Url, reason: &str) -> DecisionError {
    DecisionError::new(format!("{url} answered no usable decision: {reason}"))
}

impl fmt::Debug for AuthZen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let settings = &self.inner.settings;
        f.debug_struct("AuthZen")
            .field("pdp", &settings.pdp.as_str())
            .field(
                "evaluation_endpoint",
                &settings.evaluation.as_ref().map(Url::as_str),
            )
            .field(
                "evaluations_endpoint",
                &settings.evaluations.as_ref().map(Url::as_str),
            )
            .field("credentials", &settings.credentials)
            .field("timeout", &settings.timeout)
            .field("decision_ttl", &settings.decision_ttl)
            .field("max_decisions", &settings.max_decisions)
            .finish()
    }
}

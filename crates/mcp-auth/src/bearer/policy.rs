//! Everything one bearer layer checks on a request, in order: origin, token syntax, the
//! verifier, then the rules every token follows (issuer, audience, times) and the scopes.

use std::borrow::Cow;
use std::sync::Arc;

use http::{HeaderMap, Method, Uri};

use super::challenge::{ChallengeParams, DECISION_POINT, Rejection};
use super::observer::Observer;
use super::origin::AllowedOrigins;
use super::token::{Scheme, access_token};
use crate::auth_info::AuthInfo;
use crate::clock::unix_now;
use crate::dpop::{ProofRefusal, RequestProofs, bound_key, is_bound};
use crate::observe::Reason;
use crate::operations::{Conditions, Decided, Grants, Needs, OperationRules, Permissions, needs};
use crate::policy::{AccessRequest, DecisionPoint};
use crate::scope::{SharedScopeRelation, missing_scopes};
use crate::sessions::{SessionBindings, SessionWatch};
use crate::verify::{TokenRules, Verifier};

/// The checks of one layer, shared by all its services.
pub(crate) struct Policy {
    pub(crate) verifier: Verifier,
    pub(crate) rules: TokenRules,
    pub(crate) required_scopes: Vec<String>,
    pub(crate) scope_relation: SharedScopeRelation,
    pub(crate) allowed_origins: AllowedOrigins,
    pub(crate) challenge: ChallengeParams,
    /// Scopes per operation; `None` when no rule is set, and then no body is ever read.
    pub(crate) operations: Option<OperationRules>,
    /// What those rules let a caller use, handed to the inner service with each request.
    pub(crate) permissions: Option<Arc<Permissions>>,
    /// Which principal created each session; `None` when session binding is off.
    pub(crate) sessions: Option<Arc<SessionBindings>>,
    /// Traces, counts and audits each decision.
    pub(crate) observer: Observer,
    /// The resource's DPoP, when it takes DPoP tokens.
    pub(crate) dpop: Option<RequestProofs>,
    /// Asked about every call the layer's own rules let through, when set.
    pub(crate) decision_point: Option<Arc<dyn DecisionPoint>>,
}

/// What is left to decide once the layer's own rules let a request through: the questions
/// for the decision point (none without one), and the message `id` a denial answers.
#[derive(Debug, Default)]
pub(crate) struct Questions {
    pub(crate) id: serde_json::Value,
    pub(crate) requests: Vec<AccessRequest>,
}

/// How much of a request body to read to find its operations, and for how long at most.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyRead {
    pub(crate) limit: usize,
    pub(crate) timeout: std::time::Duration,
}

/// A refusal, and the caller when its token was verified before it was refused (too few
/// scopes, a rule it breaks, another's session): logs and audit events then name who it was.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) rejection: Rejection,
    pub(crate) caller: Option<Arc<AuthInfo>>,
}

impl From<Rejection> for Refusal {
    fn from(rejection: Rejection) -> Self {
        Self {
            rejection,
            caller: None,
        }
    }
}

impl Refusal {
    /// `rejection` of the verified `caller`.
    pub(crate) fn of(caller: &Arc<AuthInfo>, rejection: Rejection) -> Self {
        Self {
            rejection,
            caller: Some(caller.clone()),
        }
    }
}

/// What [`Policy::decide`] found, owning all it carries.
pub(crate) enum Decision {
    /// Let the request through with this identity.
    Allow(Arc<AuthInfo>),
    /// Answer with this refusal.
    Refuse(Refusal),
    /// This token must be verified first (a signature check, perhaps a key fetch).
    Verify(String),
    /// This DPoP token must be verified (or found remembered), then its proof checked.
    Prove(String),
}

impl Policy {
    /// Decides what needs no verification: the origin, the credentials' syntax, and tokens the
    /// verifier remembers. Nothing here allocates a future or waits.
    pub(crate) fn decide(&self, headers: &HeaderMap, uri: &Uri) -> Decision {
        if !self.allowed_origins.permit(headers) {
            return Decision::Refuse(Rejection::ForbiddenOrigin.into());
        }
        let (scheme, token) = match access_token(headers, uri, self.dpop.is_some()) {
            Ok(Some(credentials)) => credentials,
            Ok(None) => return Decision::Refuse(Rejection::NoCredentials.into()),
            Err(rejection) => return Decision::Refuse(rejection.into()),
        };
        match (scheme, &self.dpop) {
            (Scheme::Dpop, _) => return Decision::Prove(token.to_owned()),
            (Scheme::Bearer, Some(dpop)) if dpop.required() => {
                return Decision::Refuse(
                    Rejection::InvalidToken(
                        Reason::DpopRequired,
                        "this resource takes DPoP-bound tokens only".into(),
                    )
                    .into(),
                );
            }
            (Scheme::Bearer, _) => {}
        }
        match self.verifier.remembered(token) {
            Some(info) => match self.check(&info, Scheme::Bearer) {
                Ok(()) => Decision::Allow(info),
                Err(rejection) => Decision::Refuse(Refusal::of(&info, rejection)),
            },
            None => Decision::Verify(token.to_owned()),
        }
    }

    /// Verifies a token [`decide`](Self::decide) could not decide, then checks what the
    /// verifier says of it.
    pub(crate) async fn verify(
        &self,
        token: &str,
        scheme: Scheme,
    ) -> Result<Arc<AuthInfo>, Refusal> {
        let info = self.verified(token).await?;
        match self.check(&info, scheme) {
            Ok(()) => Ok(info),
            Err(rejection) => Err(Refusal::of(&info, rejection)),
        }
    }

    /// What the verifier says of `token` (its signature, or the issuer's answer), remembered or
    /// not; nothing of the rules every token follows yet.
    async fn verified(&self, token: &str) -> Result<Arc<AuthInfo>, Rejection> {
        if let Some(info) = self.verifier.remembered(token) {
            return Ok(info);
        }
        self.verifier
            .verify(token, &self.scope_relation)
            .await
            .map_err(|err| match err.into_parts() {
                (Reason::IssuerUnavailable, detail) => {
                    Rejection::Unavailable(without_token(detail, token))
                }
                (reason, detail) => Rejection::InvalidToken(reason, without_token(detail, token)),
            })
    }

    /// Verifies a DPoP token (or finds it remembered) and checks the request's proof: its
    /// form, signature and claims, its key against the token's `cnf.jkt`, and that its `jti`
    /// was never accepted before. Only then the token's rules and scopes: a stolen bound token
    /// sent without its key learns nothing of its expiry, audience or scopes.
    pub(crate) async fn prove(
        &self,
        token: &str,
        parts: &http::request::Parts,
    ) -> Result<Arc<AuthInfo>, Refusal> {
        let Some(dpop) = &self.dpop else {
            return Err(Rejection::NoCredentials.into());
        };
        let info = self.verified(token).await?;
        dpop.check(token, &info, parts)
            .await
            .map_err(|refusal| match refusal {
                ProofRefusal::Invalid(reason, detail) => {
                    Rejection::InvalidDpopProof(reason, detail)
                }
                ProofRefusal::UseNonce(nonce) => Rejection::UseDpopNonce(nonce),
                ProofRefusal::KeyMismatch => Rejection::InvalidToken(
                    Reason::DpopKeyMismatch,
                    "the token is not bound to the DPoP proof's key".into(),
                ),
                ProofRefusal::Unavailable(detail) => Rejection::Unavailable(detail.into()),
            })?;
        match self.check(&info, Scheme::Dpop) {
            Ok(()) => Ok(info),
            Err(rejection) => Err(Refusal::of(&info, rejection)),
        }
    }

    /// The token rules, whether the token may come with `scheme`, then the scopes this layer
    /// requires.
    fn check(&self, info: &AuthInfo, scheme: Scheme) -> Result<(), Rejection> {
        if scheme == Scheme::Bearer && is_bound(info) {
            let detail = match bound_key(info) {
                Some(_) => "the token is DPoP-bound: send it with the DPoP scheme and a proof",
                None => "the token is bound to a key (cnf) this resource cannot check",
            };
            return Err(Rejection::InvalidToken(Reason::DpopRequired, detail.into()));
        }
        self.rules.check(info, unix_now()).map_err(|violation| {
            Rejection::InvalidToken(violation.reason(), violation.to_string().into())
        })?;
        self.has_scopes(info, &self.required_scopes, false)
    }

    /// Refuses with `insufficient_scope` when `info` lacks any of `needed`; the challenge names
    /// them all when `name_all` (an operation's scopes, base ones included), else only the
    /// missing ones.
    fn has_scopes(
        &self,
        info: &AuthInfo,
        needed: &[String],
        name_all: bool,
    ) -> Result<(), Rejection> {
        let missing = missing_scopes(&self.scope_relation, &info.scopes, needed);
        if missing.is_empty() {
            return Ok(());
        }
        Err(Rejection::InsufficientScope {
            missing: missing.into_iter().map(str::to_owned).collect(),
            needed: name_all.then(|| needed.to_vec()),
        })
    }
}

impl Policy {
    /// Takes over what `running` remembers of its clients, for a reload: the sessions it
    /// bound and the DPoP replay store (with the proofs it saw).
    pub(crate) fn carry_over(&mut self, running: &Policy) {
        if let (Some(_), Some(sessions)) = (&self.sessions, &running.sessions) {
            self.sessions = Some(sessions.clone());
        }
        if let (Some(next), Some(running)) = (&mut self.dpop, &running.dpop) {
            next.keep_replay_store(running);
        }
    }

    /// Gives an allowed request what handlers read: its caller's [`AuthInfo`] and, with
    /// operation rules, the caller's permissions (for lists and checks inside tools).
    pub(crate) fn equip(&self, extensions: &mut http::Extensions, info: Arc<AuthInfo>) {
        extensions.insert(info);
        if let Some(permissions) = &self.permissions {
            extensions.insert(permissions.clone());
        }
    }

    /// Checks the request's session against its caller: what to watch in the answer, or the
    /// 404 refusal for a session that is not the caller's.
    pub(crate) fn watch_session(
        &self,
        method: &Method,
        headers: &HeaderMap,
        info: &Arc<AuthInfo>,
    ) -> Result<Option<SessionWatch>, Rejection> {
        match &self.sessions {
            None => Ok(None),
            Some(bindings) => SessionWatch::before(bindings, method, headers, info)
                .map(Some)
                .map_err(|()| Rejection::SessionNotFound),
        }
    }

    /// How much of a request's body must be read to find its operations: `None` when none
    /// (no rules, or `GET`, `HEAD`, `DELETE` or `OPTIONS`, which carry no JSON-RPC message).
    /// Every other method is read, whatever its spelling: servers that upper-case a method
    /// (`post`) or honour an override header would run its body as a `POST`.
    pub(crate) fn body_to_read(&self, method: &Method) -> Option<BodyRead> {
        let bodiless = [Method::GET, Method::HEAD, Method::DELETE, Method::OPTIONS];
        self.operations
            .as_ref()
            .filter(|_| !bodiless.contains(method))
            .map(|rules| BodyRead {
                limit: rules.body_limit(),
                timeout: rules.read_timeout(),
            })
    }

    /// The roles, rules and scopes the request's operations need beyond the base scopes:
    /// `body` is the request body when it was read whole, `None` when it was too large (then
    /// every rule's). Also returns the operation the body asks for, when it could be read, and
    /// what the decision point must still be asked.
    pub(crate) fn check_operations(
        &self,
        info: &AuthInfo,
        headers: &HeaderMap,
        remote_addr: Option<std::net::IpAddr>,
        body: Option<&[u8]>,
    ) -> (Result<Questions, Rejection>, Option<Decided>) {
        let Some(rules) = &self.operations else {
            return (Ok(Questions::default()), None);
        };
        let (needs, decided) = needs(rules, headers, body);
        (self.grants_needed(info, remote_addr, needs), decided)
    }

    /// Roles first, then rules: a caller refused by either is refused without a scope
    /// challenge, even when it also lacks scopes, since no step-up would get it through.
    fn grants_needed(
        &self,
        info: &AuthInfo,
        remote_addr: Option<std::net::IpAddr>,
        needs: Needs<'_>,
    ) -> Result<Questions, Rejection> {
        let Grants {
            scopes: extra,
            roles,
            conditions,
            id,
        } = match needs {
            Needs::Mismatch { id, reason } => return Err(Rejection::HeaderMismatch { id, reason }),
            Needs::Grants(grants) => grants,
        };
        if let Some(allowed) = roles
            .into_iter()
            .find(|allowed| !allowed.iter().any(|role| info.roles.contains(role)))
        {
            return Err(Rejection::RoleRequired {
                id,
                roles: allowed.to_vec(),
            });
        }
        if let Some(rule) = conditions
            .iter()
            .find_map(|conditions| conditions.denied(info, remote_addr))
        {
            return Err(Rejection::PolicyDenied {
                id,
                rule: rule.to_owned(),
            });
        }
        if !extra.is_empty() {
            // The challenge names everything the operation needs, base scopes included, so
            // that one step-up is enough (MCP 2026-07-28).
            let mut needed = self.required_scopes.clone();
            for scope in extra {
                if !needed.iter().any(|known| known == scope) {
                    needed.push(scope.to_owned());
                }
            }
            self.has_scopes(info, &needed, true)?;
        }
        if self.decision_point.is_none() {
            return Ok(Questions::default());
        }
        let requests = questions(info, conditions).ok_or_else(|| Rejection::PolicyDenied {
            id: id.clone(),
            rule: DECISION_POINT.to_owned(),
        })?;
        Ok(Questions { id, requests })
    }

    /// Asks the decision point about each of `questions`: the first denial is a 403
    /// `policy_denied`, an error or a timeout a 503.
    pub(crate) async fn ask(&self, questions: Questions) -> Result<(), Rejection> {
        let Some(decision_point) = &self.decision_point else {
            return Ok(());
        };
        for request in &questions.requests {
            let decided = tokio::time::timeout(DECISION_TIMEOUT, decision_point.decide(request));
            match decided.await {
                Ok(Ok(true)) => {}
                Ok(Ok(false)) => {
                    return Err(Rejection::PolicyDenied {
                        id: questions.id,
                        rule: DECISION_POINT.to_owned(),
                    });
                }
                Ok(Err(err)) => {
                    tracing::warn!(
                        reason = err.reason(),
                        "the policy decision point could not decide"
                    );
                    return Err(Rejection::Unavailable(
                        "the policy decision point could not decide".into(),
                    ));
                }
                Err(_) => {
                    return Err(Rejection::Unavailable(
                        "the policy decision point did not answer in time".into(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The longest the layer waits for a decision point, whatever the point's own timeout.
const DECISION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The decision point's questions for these calls: one per call naming a tool, prompt or
/// resource. `None` when a call could not be read (no question can be asked about it).
fn questions(info: &AuthInfo, conditions: Vec<Conditions<'_>>) -> Option<Vec<AccessRequest>> {
    let mut requests = Vec::new();
    for conditions in conditions {
        let operation = conditions.call?;
        let arguments = operation.arguments;
        for target in operation.targets {
            let kind = match &target {
                crate::operations::Target::Tool(_) => "tool",
                crate::operations::Target::Prompt(_) => "prompt",
                crate::operations::Target::Resource(_) => "resource",
                crate::operations::Target::Task(_) => continue,
            };
            requests.push(AccessRequest::new(
                info,
                &operation.method,
                kind,
                target.name(),
                arguments.clone(),
            ));
        }
    }
    Some(requests)
}

/// A verifier's message with the token cut out, so no response or log line repeats it.
fn without_token(reason: Cow<'static, str>, token: &str) -> Cow<'static, str> {
    if reason.contains(token) {
        Cow::Owned(reason.replace(token, "[token]"))
    } else {
        reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_messages_lose_the_token() {
        let token = "eyJhbGciOiJSUzI1NiJ9.payload.sig";
        let reason = Cow::Owned(format!("could not parse {token} at all"));
        assert_eq!(
            without_token(reason, token),
            "could not parse [token] at all"
        );
    }
}

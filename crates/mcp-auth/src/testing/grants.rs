//! What the test issuer remembers between the steps of the authorization code flow: requests
//! waiting at the consent page, authorization codes (single use, RFC 6749 §4.1.2) and refresh
//! tokens (rotated on use; a reused one revokes the refresh tokens of its whole family, OAuth
//! 2.1 §4.3.1; access tokens are JWTs and live until they expire).

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use super::pkce;

/// How long an authorization code can be exchanged.
const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// How long a used code is remembered after it expires, so a reuse is seen as one.
const USED_CODE_MEMORY: Duration = Duration::from_secs(600);
/// How long a request waits at the consent page.
const CONSENT_LIFETIME: Duration = Duration::from_secs(600);
/// Most requests waiting at the consent page at once, in all and for one client.
const MAX_PENDING: usize = 1000;
const MAX_PENDING_PER_CLIENT: usize = 10;
/// Most authorization codes remembered (live, or used and remembered as such), and most live
/// (unused, unexpired) codes of one client.
const MAX_CODES: usize = 10_000;
const MAX_CODES_PER_CLIENT: usize = 10;
/// How long a refresh token (and the memory of a used one) lasts.
const REFRESH_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// A checked authorization request (RFC 6749 §4.1.1 with PKCE and RFC 8707 `resource`).
#[derive(Debug, Clone)]
pub(crate) struct AuthorizationRequest {
    pub(crate) client_id: String,
    /// The client's name from its registration or metadata document, for the consent page.
    pub(crate) client_name: Option<String>,
    /// Where the answer goes: the request's `redirect_uri`, or the only registered one.
    pub(crate) redirect_uri: String,
    /// Whether the request named it (then the token request must name it too).
    pub(crate) redirect_uri_sent: bool,
    pub(crate) state: Option<String>,
    pub(crate) code_challenge: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) resource: Option<String>,
}

/// A refresh token's grant: what every access token minted from it holds.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) client_id: String,
    pub(crate) subject: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) resource: Option<String>,
    /// Refresh tokens rotated from one code share a family, revoked together.
    pub(crate) family: u64,
}

/// Why a request cannot wait or a code cannot be issued now: too many of them, for this client
/// or in all (RFC 6749 §4.1.2.1 `temporarily_unavailable`). The text says which.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Busy(pub(crate) String);

/// Why a code or refresh token is refused: always `invalid_grant` (RFC 6749 §5.2).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct InvalidGrant(pub(crate) &'static str);

struct Code {
    request: AuthorizationRequest,
    grant: Grant,
    expires: Instant,
    redeemed: bool,
}

struct RefreshToken {
    grant: Grant,
    used: bool,
    issued: Instant,
}

/// The flow's memory.
#[derive(Default)]
pub(crate) struct Grants {
    pending: HashMap<String, (AuthorizationRequest, Instant)>,
    codes: HashMap<String, Code>,
    refresh_tokens: HashMap<String, RefreshToken>,
    /// Scopes each user approved for each client, so a step-up shows what it adds.
    approved: HashMap<(String, String), BTreeSet<String>>,
    families: u64,
}

impl Grants {
    /// Keeps `request` under `id` until the user answers the consent page, unless too many
    /// requests wait already: [`MAX_PENDING_PER_CLIENT`] of its client (so one client cannot
    /// crowd out the others), or [`MAX_PENDING`] in all.
    pub(crate) fn wait_for_consent(
        &mut self,
        id: String,
        request: AuthorizationRequest,
        now: Instant,
    ) -> Result<(), Busy> {
        self.pending
            .retain(|_, (_, since)| now.duration_since(*since) < CONSENT_LIFETIME);
        let of_client = self
            .pending
            .values()
            .filter(|(waiting, _)| waiting.client_id == request.client_id)
            .count();
        if of_client >= MAX_PENDING_PER_CLIENT {
            return Err(Busy(format!(
                "this client has {MAX_PENDING_PER_CLIENT} authorization requests waiting at the \
                 consent page already: answer them, or wait until they expire ({} minutes)",
                CONSENT_LIFETIME.as_secs() / 60
            )));
        }
        if self.pending.len() >= MAX_PENDING {
            return Err(Busy(
                "too many authorization requests are waiting: try again in a few minutes".into(),
            ));
        }
        self.pending.insert(id, (request, now));
        Ok(())
    }

    /// The request waiting under `id`, removed: a consent is answered once.
    pub(crate) fn answer_consent(
        &mut self,
        id: &str,
        now: Instant,
    ) -> Option<AuthorizationRequest> {
        let (request, since) = self.pending.remove(id)?;
        (now.duration_since(since) < CONSENT_LIFETIME).then_some(request)
    }

    /// The scopes `subject` approved before for `client_id`.
    pub(crate) fn approved(&self, client_id: &str, subject: &str) -> BTreeSet<String> {
        self.approved
            .get(&(client_id.to_owned(), subject.to_owned()))
            .cloned()
            .unwrap_or_default()
    }

    /// Records an approval and keeps `code` for the approved request, unless too many codes
    /// are kept already: [`MAX_CODES_PER_CLIENT`] live ones of its client, or [`MAX_CODES`] in
    /// all.
    pub(crate) fn issue_code(
        &mut self,
        code: String,
        request: AuthorizationRequest,
        subject: &str,
        now: Instant,
    ) -> Result<(), Busy> {
        self.codes
            .retain(|_, code| now < code.expires + USED_CODE_MEMORY);
        let live_of_client = self
            .codes
            .values()
            .filter(|code| {
                code.request.client_id == request.client_id && !code.redeemed && now < code.expires
            })
            .count();
        if live_of_client >= MAX_CODES_PER_CLIENT {
            return Err(Busy(format!(
                "this client holds {MAX_CODES_PER_CLIENT} unused authorization codes already: \
                 exchange them, or wait until they expire ({} s)",
                CODE_LIFETIME.as_secs()
            )));
        }
        if self.codes.len() >= MAX_CODES {
            return Err(Busy(
                "too many authorization codes are kept: try again in a few minutes".into(),
            ));
        }
        self.approved
            .entry((request.client_id.clone(), subject.to_owned()))
            .or_default()
            .extend(request.scopes.iter().cloned());
        self.families += 1;
        let grant = Grant {
            client_id: request.client_id.clone(),
            subject: subject.to_owned(),
            scopes: request.scopes.clone(),
            resource: request.resource.clone(),
            family: self.families,
        };
        let expires = now + CODE_LIFETIME;
        self.codes.insert(
            code,
            Code {
                request,
                grant,
                expires,
                redeemed: false,
            },
        );
        Ok(())
    }

    /// Exchanges `code` (RFC 6749 §4.1.3, RFC 7636 §4.6). The first attempt uses the code up,
    /// whatever its outcome, so a verifier cannot be guessed; a second one also revokes the
    /// refresh tokens the first one got (RFC 6749 §4.1.2).
    pub(crate) fn redeem_code(
        &mut self,
        code: &str,
        client_id: &str,
        redirect_uri: Option<&str>,
        verifier: &str,
        now: Instant,
    ) -> Result<Grant, InvalidGrant> {
        let Some(found) = self.codes.get_mut(code) else {
            return Err(InvalidGrant("unknown authorization code"));
        };
        if found.redeemed {
            let family = found.grant.family;
            self.revoke_family(family);
            return Err(InvalidGrant(
                "the authorization code was already used; the refresh token it gave is revoked",
            ));
        }
        found.redeemed = true;
        let request = &found.request;
        if now >= found.expires {
            return Err(InvalidGrant("the authorization code expired"));
        }
        if request.client_id != client_id {
            return Err(InvalidGrant(
                "the authorization code was issued to another client",
            ));
        }
        let redirect_ok = match redirect_uri {
            // RFC 6749 §4.1.3: identical to the one used (the only registered one when the
            // authorization request named none).
            Some(sent) => sent == request.redirect_uri,
            None => !request.redirect_uri_sent,
        };
        if !redirect_ok {
            return Err(InvalidGrant(
                "redirect_uri differs from the authorization request's",
            ));
        }
        if !pkce::verifier_matches(verifier, &request.code_challenge) {
            return Err(InvalidGrant(
                "code_verifier does not match the code_challenge",
            ));
        }
        Ok(found.grant.clone())
    }

    /// Keeps a refresh token for `grant`.
    pub(crate) fn issue_refresh_token(&mut self, token: String, grant: Grant, now: Instant) {
        self.refresh_tokens
            .retain(|_, token| now.duration_since(token.issued) < REFRESH_LIFETIME);
        let fresh = RefreshToken {
            grant,
            used: false,
            issued: now,
        };
        self.refresh_tokens.insert(token, fresh);
    }

    /// The grant of the refresh token `token` held by `client_id`. A token used before
    /// revokes its family: one of its holders is not the client.
    pub(crate) fn refresh_grant(
        &mut self,
        token: &str,
        client_id: &str,
        now: Instant,
    ) -> Result<Grant, InvalidGrant> {
        let found = self
            .refresh_tokens
            .get(token)
            .filter(|found| now.duration_since(found.issued) < REFRESH_LIFETIME);
        let Some(found) = found else {
            return Err(InvalidGrant("unknown, revoked or expired refresh token"));
        };
        if found.grant.client_id != client_id {
            return Err(InvalidGrant(
                "the refresh token was issued to another client",
            ));
        }
        if found.used {
            let family = found.grant.family;
            self.revoke_family(family);
            return Err(InvalidGrant(
                "the refresh token was already used; every refresh token of its grant is revoked",
            ));
        }
        Ok(found.grant.clone())
    }

    /// Uses up `token`; its grant continues in `next` (rotation, OAuth 2.1 §4.3.1).
    pub(crate) fn rotate(&mut self, token: &str, next: String, now: Instant) {
        let Some(found) = self.refresh_tokens.get_mut(token) else {
            return;
        };
        found.used = true;
        let grant = found.grant.clone();
        self.issue_refresh_token(next, grant, now);
    }

    /// Forgets the family's live refresh token; its used ones stay known as used, so trying
    /// them again is still seen as reuse.
    fn revoke_family(&mut self, family: u64) {
        self.refresh_tokens
            .retain(|_, token| token.grant.family != family || token.used);
    }
}

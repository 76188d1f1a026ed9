//! The provincial portal's legal-person login (法人登录) over OpenID Connect:
//! the authorization-code flow with PKCE (S256), through the `openidconnect`
//! crate, configured by `[identity.oidc]`. It tells which enterprise (by its
//! USCC) the portal vouches the person in front of the browser acts for; the
//! claim flow decides what that verifies.
//!
//! Use:
//! 1. Build one [`OidcConnector`] at start-up ([`OidcConnector::new`]; no
//!    network).
//! 2. [`OidcConnector::begin`] gives the provider's authorization URL and the
//!    three one-time values of this login (`state`, `nonce`, PKCE verifier).
//!    Keep all three **server-side** (bound to the browser's session, short
//!    lived, used once) and redirect the browser to the URL.
//! 3. On the callback (`redirect_url`), the caller compares the `state`
//!    query parameter with the stored one ([`state_matches`], constant time)
//!    and refuses the callback when they differ or when an `error` parameter
//!    came back; then it calls [`OidcConnector::finish`] with the `code`
//!    parameter and the stored verifier and nonce, and forgets them.
//!
//! The provider's discovery document and keys (JWKS) are fetched on first use
//! and kept; a failed fetch is not kept (the next login tries again); they
//! are fetched again after [`METADATA_MAX_AGE`], and when an ID token's
//! signature does not verify against keys older than [`KEYS_MIN_AGE`] (the
//! provider rotated its keys; the code is not exchanged again).
//!
//! Nothing here logs or shows tokens, codes, verifiers or the client secret;
//! [`OidcError`]'s text is for the log, its variant chooses the user's
//! message.

use onestop_domain::config::OidcConfig;
use onestop_domain::form::uscc_is_valid;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClientAuthMethod,
    CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthType, AuthorizationCode, ClaimsVerificationError,
    Client, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, HttpClientError, IdToken, IdTokenClaims, IdTokenFields, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, StandardErrorResponse, StandardTokenResponse, TokenResponse,
    UserInfoError,
};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The discovery document and keys are fetched again after this long.
pub const METADATA_MAX_AGE: Duration = Duration::from_secs(3600);
/// Keys at least this old are fetched again when a signature fails (key
/// rotation); younger ones are not, so bad tokens cannot make us hammer the
/// provider.
pub const KEYS_MIN_AGE: Duration = Duration::from_secs(60);
/// An ID token issued further in the future than this is refused.
const CLOCK_SKEW_SECONDS: i64 = 300;

/// The ID token's signature algorithms accepted: public-key ones only, so
/// that the signature is always checked against the provider's JWKS.
const SIGNING_ALGS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// Why a legal-person login failed. The text (`Display`) names the detail
/// for the log and never holds a token, code or secret; the variant chooses
/// what the person is told.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The connector cannot be built: an unreadable `ca_file`, a missing
    /// secret variable, a malformed URL. A start-up error, not a login one.
    #[error("identity provider configuration: {0}")]
    Config(String),
    /// The provider cannot be reached or answers nonsense (network,
    /// timeout, 5xx, unreadable documents). Suggested message:
    /// 暂时无法连接政务服务网，请稍后再试。
    #[error("identity provider unreachable: {0}")]
    Unreachable(String),
    /// The provider refused: the code, verifier or client was not accepted,
    /// or userinfo was denied. Suggested message: 政务服务网未能完成本次登录，请重新登录。
    #[error("identity provider refused: {0}")]
    Refused(String),
    /// The ID token (or a signed userinfo answer) does not verify.
    /// Suggested message: 政务服务网的登录结果无法核验，请重新登录。
    #[error("identity token invalid ({problem:?}): {detail}")]
    TokenInvalid {
        problem: TokenProblem,
        detail: String,
    },
    /// Neither the ID token nor userinfo holds the configured claim.
    /// Suggested message: 政务服务网未提供企业的统一社会信用代码，请确认以法人身份登录。
    #[error("identity provider gave no USCC (claim {claim:?})")]
    NoUscc { claim: String },
    /// The claim holds something that is not a valid USCC (normalised).
    /// Suggested message: 政务服务网提供的统一社会信用代码无效。
    #[error("identity provider gave an invalid USCC {value:?}")]
    InvalidUscc { value: String },
}

/// Which check an ID token failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// The token response had no ID token.
    Missing,
    /// The signature does not verify against the provider's keys (or no key
    /// fits, or the algorithm is not accepted).
    Signature,
    Issuer,
    Audience,
    /// Expired, or issued in the future.
    Expired,
    /// Not the nonce of this login.
    Nonce,
    /// The access-token hash (`at_hash`) does not match.
    AccessTokenHash,
    /// Userinfo names another subject than the ID token.
    Subject,
    Other,
}

/// The start of one login: redirect the browser to `authorize_url`; keep the
/// other three server-side for [`OidcConnector::finish`].
#[derive(Clone)]
pub struct LoginStart {
    pub authorize_url: String,
    /// Compare with the callback's `state` ([`state_matches`]).
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl std::fmt::Debug for LoginStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginStart")
            .field("state", &"[redacted]")
            .field("nonce", &"[redacted]")
            .field("pkce_verifier", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Who the provider vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalPerson {
    /// The provider's stable identifier of the person (`sub`).
    pub subject: String,
    /// The provider (`iss`); `(issuer, subject)` identifies the person.
    pub issuer: String,
    /// The enterprise's unified social credit code, trimmed, upper-case,
    /// with a valid check character.
    pub uscc: String,
    /// The enterprise's or legal person's name, when `name_claim` is set and
    /// the provider gave it.
    pub name: Option<String>,
}

/// Whether the callback's `state` is the one stored at [`OidcConnector::begin`],
/// compared in constant time (SHA-256 of both). An empty stored state never
/// matches.
pub fn state_matches(stored: &str, received: &str) -> bool {
    !stored.is_empty() && CsrfToken::new(stored.to_owned()) == CsrfToken::new(received.to_owned())
}

/// Every claim the ID token or userinfo holds besides the standard ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OtherClaims {
    #[serde(flatten)]
    claims: serde_json::Map<String, serde_json::Value>,
}

impl AdditionalClaims for OtherClaims {}

type IdTokenOf = IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

type TokenAnswer = StandardTokenResponse<
    IdTokenFields<
        OtherClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

/// A client built from the discovery document: authorization endpoint
/// always, token and userinfo endpoints if the provider has them.
type DiscoveredClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenAnswer,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The provider as discovered at one instant.
struct Provider {
    client: DiscoveredClient,
    fetched: Instant,
}

/// The legal-person login of one provider. Cheap to share (`Arc`); safe
/// to use from many requests at once.
pub struct OidcConnector {
    config: OidcConfig,
    issuer: IssuerUrl,
    redirect: RedirectUrl,
    secret: Option<ClientSecret>,
    http: reqwest::Client,
    provider: tokio::sync::Mutex<Option<Arc<Provider>>>,
    keys_min_age: Duration,
}

impl std::fmt::Debug for OidcConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConnector")
            .field("issuer", &self.config.issuer)
            .field("client_id", &self.config.client_id)
            .field(
                "client_secret",
                &if self.secret.is_some() {
                    "[set]"
                } else {
                    "[none]"
                },
            )
            .field("redirect_url", &self.config.redirect_url)
            .finish_non_exhaustive()
    }
}

impl OidcConnector {
    /// Builds the connector: reads the client secret from the variable
    /// `client_secret_env` names and the `ca_file` (relative to `base_dir`,
    /// the configuration file's folder), and builds the HTTP client. No
    /// network.
    pub fn new(config: &OidcConfig, base_dir: Option<&Path>) -> Result<Self, OidcError> {
        let secret = match &config.client_secret_env {
            None => None,
            Some(var) => match std::env::var(var) {
                Ok(s) if !s.is_empty() => Some(s),
                _ => {
                    return Err(OidcError::Config(format!(
                        "the client secret variable {var} is not set"
                    )));
                }
            },
        };
        Self::with_client_secret(config, base_dir, secret)
    }

    /// [`OidcConnector::new`] with the client secret given rather than read
    /// from the environment (`client_secret_env` is then ignored).
    pub fn with_client_secret(
        config: &OidcConfig,
        base_dir: Option<&Path>,
        secret: Option<String>,
    ) -> Result<Self, OidcError> {
        let issuer = IssuerUrl::new(config.issuer.clone())
            .map_err(|e| OidcError::Config(format!("issuer {:?}: {e}", config.issuer)))?;
        let redirect = RedirectUrl::new(config.redirect_url.clone()).map_err(|e| {
            OidcError::Config(format!("redirect_url {:?}: {e}", config.redirect_url))
        })?;
        let limit = Duration::from_secs(u64::from(config.timeout_seconds.max(1)));
        let mut http = reqwest::Client::builder()
            .timeout(limit)
            .connect_timeout(limit)
            // A redirect from the provider's endpoints is not followed (the
            // crate's advice against request forgery).
            .redirect(reqwest::redirect::Policy::none())
            .https_only(config.issuer.starts_with("https://"))
            .user_agent(concat!("onestop/", env!("CARGO_PKG_VERSION")));
        if let Some(file) = &config.ca_file {
            let path = match base_dir {
                Some(b) if Path::new(file).is_relative() => b.join(file),
                _ => Path::new(file).to_path_buf(),
            };
            let pem = std::fs::read(&path).map_err(|e| {
                OidcError::Config(format!("cannot read ca_file {}: {e}", path.display()))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .ok()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    OidcError::Config(format!(
                        "ca_file {} holds no PEM certificate",
                        path.display()
                    ))
                })?;
            for cert in certs {
                http = http.add_root_certificate(cert);
            }
        }
        let http = http
            .build()
            .map_err(|e| OidcError::Config(format!("HTTP client: {}", chain(&e))))?;
        Ok(OidcConnector {
            config: config.clone(),
            issuer,
            redirect,
            secret: secret.map(ClientSecret::new),
            http,
            provider: tokio::sync::Mutex::new(None),
            keys_min_age: KEYS_MIN_AGE,
        })
    }

    /// Keys at least this old are fetched again when an ID token's
    /// signature fails (default [`KEYS_MIN_AGE`]).
    pub fn with_keys_min_age(mut self, age: Duration) -> Self {
        self.keys_min_age = age;
        self
    }

    /// The label of the login button (`name`).
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Starts a login: the provider's authorization URL for this login, with
    /// a fresh `state`, `nonce` and PKCE (S256) verifier. Fetches the
    /// discovery document on first use.
    pub async fn begin(&self) -> Result<LoginStart, OidcError> {
        let provider = self.provider(None).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = provider
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        // The crate always asks for `openid`.
        for scope in self.config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        Ok(LoginStart {
            authorize_url: url.to_string(),
            state: state.into_secret(),
            nonce: nonce.into_secret(),
            pkce_verifier: verifier.into_secret(),
        })
    }

    /// Finishes a login whose callback brought `code` (its `state` already
    /// checked by the caller): exchanges the code with the PKCE verifier,
    /// verifies the ID token (signature against the provider's keys, issuer,
    /// audience, expiry, nonce, access-token hash), and reads the USCC and
    /// name from it, or from userinfo when the ID token lacks the USCC.
    pub async fn finish(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<LegalPerson, OidcError> {
        let mut provider = self.provider(None).await?;
        let answer = provider
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Refused(format!("the provider has no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let id_token = answer.id_token().ok_or_else(|| OidcError::TokenInvalid {
            problem: TokenProblem::Missing,
            detail: "the token answer has no id_token".into(),
        })?;
        let nonce = Nonce::new(nonce.to_owned());
        let claims = match verify(&provider.client, id_token, &answer, &nonce) {
            Err(e)
                if matches!(
                    e,
                    OidcError::TokenInvalid {
                        problem: TokenProblem::Signature,
                        ..
                    }
                ) && provider.fetched.elapsed() >= self.keys_min_age =>
            {
                provider = self.provider(Some(&provider)).await?;
                verify(&provider.client, id_token, &answer, &nonce)?
            }
            other => other?,
        };
        let subject = claims.subject().as_str().to_owned();
        let id_claims = serde_json::to_value(claims).map_err(|e| OidcError::TokenInvalid {
            problem: TokenProblem::Other,
            detail: format!("claims: {e}"),
        })?;
        let mut uscc = string_claim(&id_claims, &self.config.uscc_claim);
        let name_claim = self.config.name_claim.as_deref();
        let mut name = name_claim.and_then(|c| string_claim(&id_claims, c));
        let userinfo_url = provider.client.user_info_url().is_some();
        if userinfo_url && (uscc.is_none() || (name_claim.is_some() && name.is_none())) {
            match self.userinfo(&provider.client, &answer, claims).await {
                Ok(info) => {
                    uscc = uscc.or_else(|| string_claim(&info, &self.config.uscc_claim));
                    name = name.or_else(|| name_claim.and_then(|c| string_claim(&info, c)));
                }
                // Only the (optional) name was missing: go on without it.
                Err(e) if uscc.is_some() => {
                    tracing::warn!(error = %e, "identity provider: userinfo failed; the name is left out");
                }
                Err(e) => return Err(e),
            }
        }
        let uscc = uscc
            .map(|u| u.trim().to_uppercase())
            .filter(|u| !u.is_empty())
            .ok_or_else(|| OidcError::NoUscc {
                claim: self.config.uscc_claim.clone(),
            })?;
        if !uscc_is_valid(&uscc) {
            return Err(OidcError::InvalidUscc { value: uscc });
        }
        Ok(LegalPerson {
            subject,
            issuer: claims.issuer().as_str().to_owned(),
            uscc,
            name: name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
        })
    }

    /// The userinfo answer's claims, for the ID token's subject.
    async fn userinfo(
        &self,
        client: &DiscoveredClient,
        answer: &TokenAnswer,
        claims: &IdTokenClaims<OtherClaims, CoreGenderClaim>,
    ) -> Result<serde_json::Value, OidcError> {
        let info = client
            .user_info(
                answer.access_token().clone(),
                Some(claims.subject().clone()),
            )
            .map_err(|e| OidcError::Refused(format!("userinfo: {e}")))?
            .request_async::<OtherClaims, _, CoreGenderClaim>(&self.http)
            .await
            .map_err(userinfo_error)?;
        serde_json::to_value(&info).map_err(|e| OidcError::TokenInvalid {
            problem: TokenProblem::Other,
            detail: format!("userinfo claims: {e}"),
        })
    }

    /// The discovered provider: the kept one while it is young enough and
    /// not `stale` (the one a caller found wanting), else a fresh fetch. A
    /// failed fetch is not kept; when an old one exists, it is used on.
    async fn provider(&self, stale: Option<&Arc<Provider>>) -> Result<Arc<Provider>, OidcError> {
        let mut kept = self.provider.lock().await;
        if let Some(p) = kept.as_ref() {
            let replaced = stale.is_some_and(|s| !Arc::ptr_eq(s, p));
            let wanting = stale.is_some_and(|s| Arc::ptr_eq(s, p));
            if replaced || (!wanting && p.fetched.elapsed() < METADATA_MAX_AGE) {
                return Ok(p.clone());
            }
        }
        match self.discover().await {
            Ok(client) => {
                let fresh = Arc::new(Provider {
                    client,
                    fetched: Instant::now(),
                });
                *kept = Some(fresh.clone());
                Ok(fresh)
            }
            Err(e) => match kept.as_ref() {
                Some(old) => {
                    tracing::warn!(error = %e, "identity provider: refreshing its discovery document failed; the kept one is used");
                    Ok(old.clone())
                }
                None => Err(e),
            },
        }
    }

    async fn discover(&self) -> Result<DiscoveredClient, OidcError> {
        let metadata = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| {
                use openidconnect::DiscoveryError as D;
                OidcError::Unreachable(match e {
                    D::Parse(p) => format!("discovery: unreadable answer at {}", p.path()),
                    D::Response(status, _, _) => format!("discovery answered {status}"),
                    other => format!("discovery: {}", chain(&other)),
                })
            })?;
        // client_secret_basic unless the provider only takes client_secret_post.
        let post_only = metadata
            .token_endpoint_auth_methods_supported()
            .is_some_and(|m| {
                !m.contains(&CoreClientAuthMethod::ClientSecretBasic)
                    && m.contains(&CoreClientAuthMethod::ClientSecretPost)
            });
        let client = DiscoveredClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            self.secret.clone(),
        )
        .set_redirect_uri(self.redirect.clone());
        Ok(if post_only && self.secret.is_some() {
            client.set_auth_type(AuthType::RequestBody)
        } else {
            client
        })
    }
}

/// The ID token's verified claims.
fn verify<'a>(
    client: &DiscoveredClient,
    id_token: &'a IdTokenOf,
    answer: &TokenAnswer,
    nonce: &Nonce,
) -> Result<&'a IdTokenClaims<OtherClaims, CoreGenderClaim>, OidcError> {
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(SIGNING_ALGS)
        .set_issue_time_verifier_fn(|iat| {
            let ahead = iat.timestamp() - openidconnect_now();
            if ahead > CLOCK_SKEW_SECONDS {
                Err(format!("issued {ahead} s in the future"))
            } else {
                Ok(())
            }
        });
    let claims = id_token.claims(&verifier, nonce).map_err(claims_error)?;
    if let Some(expected) = claims.access_token_hash() {
        let signature = |e: openidconnect::SignatureVerificationError| OidcError::TokenInvalid {
            problem: TokenProblem::Signature,
            detail: e.to_string(),
        };
        let alg = id_token.signing_alg().map_err(signature)?;
        let key = id_token.signing_key(&verifier).map_err(signature)?;
        let actual = AccessTokenHash::from_token(answer.access_token(), alg, key).map_err(|e| {
            OidcError::TokenInvalid {
                problem: TokenProblem::AccessTokenHash,
                detail: e.to_string(),
            }
        })?;
        if actual != *expected {
            return Err(OidcError::TokenInvalid {
                problem: TokenProblem::AccessTokenHash,
                detail: "at_hash does not match the access token".into(),
            });
        }
    }
    Ok(claims)
}

/// Seconds since the epoch, the clock the crate checks expiry with.
fn openidconnect_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A claim's value when it is a string.
fn string_claim(claims: &serde_json::Value, name: &str) -> Option<String> {
    claims.get(name)?.as_str().map(str::to_owned)
}

fn claims_error(e: ClaimsVerificationError) -> OidcError {
    let problem = match &e {
        ClaimsVerificationError::SignatureVerification(_) => TokenProblem::Signature,
        ClaimsVerificationError::InvalidIssuer(_) => TokenProblem::Issuer,
        ClaimsVerificationError::InvalidAudience(_) => TokenProblem::Audience,
        ClaimsVerificationError::Expired(_) => TokenProblem::Expired,
        ClaimsVerificationError::InvalidNonce(_) => TokenProblem::Nonce,
        ClaimsVerificationError::InvalidSubject(_) => TokenProblem::Subject,
        _ => TokenProblem::Other,
    };
    OidcError::TokenInvalid {
        problem,
        detail: chain(&e),
    }
}

fn token_error(
    e: RequestTokenError<
        HttpClientError<reqwest::Error>,
        StandardErrorResponse<CoreErrorResponseType>,
    >,
) -> OidcError {
    match e {
        RequestTokenError::ServerResponse(r) => OidcError::Refused(format!(
            "token endpoint: {}{}",
            r.error(),
            r.error_description()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        )),
        RequestTokenError::Parse(p, _) => {
            OidcError::Unreachable(format!("token endpoint: unreadable answer at {}", p.path()))
        }
        other => OidcError::Unreachable(format!("token endpoint: {}", chain(&other))),
    }
}

fn userinfo_error(e: UserInfoError<HttpClientError<reqwest::Error>>) -> OidcError {
    match e {
        UserInfoError::ClaimsVerification(c) => match claims_error(c) {
            OidcError::TokenInvalid { problem, detail } => OidcError::TokenInvalid {
                problem,
                detail: format!("userinfo: {detail}"),
            },
            other => other,
        },
        UserInfoError::Response(status, _, _) if status.is_server_error() => {
            OidcError::Unreachable(format!("userinfo answered {status}"))
        }
        UserInfoError::Response(status, _, _) => {
            OidcError::Refused(format!("userinfo answered {status}"))
        }
        UserInfoError::Parse(p) => {
            OidcError::Unreachable(format!("userinfo: unreadable answer at {}", p.path()))
        }
        other => OidcError::Unreachable(format!("userinfo: {}", chain(&other))),
    }
}

/// An error and its sources, one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_compare_by_value_and_empty_never_matches() {
        assert!(state_matches("abc", "abc"));
        assert!(!state_matches("abc", "abd"));
        assert!(!state_matches("abc", ""));
        assert!(!state_matches("", ""));
    }

    #[test]
    fn login_start_debug_hides_the_one_time_values() {
        let start = LoginStart {
            authorize_url: "https://idp/authorize".into(),
            state: "STATE-VALUE".into(),
            nonce: "NONCE-VALUE".into(),
            pkce_verifier: "VERIFIER-VALUE".into(),
        };
        let shown = format!("{start:?}");
        assert!(!shown.contains("VALUE"), "{shown}");
    }
}

//! A small OpenID Connect provider standing in for the provincial portal's
//! legal-person login: HTTPS on 127.0.0.1 (a self-signed certificate made
//! at start, written to a PEM file for `ca_file`), serving discovery, JWKS,
//! `/authorize` (answers at once with a redirect carrying `code` and
//! `state` for the configured person), `/token` (client authentication,
//! redirect URI, PKCE S256, one use per code; an RS256 ID token) and
//! `/userinfo`. [`Knobs`] make it misbehave for the negative tests.

#![allow(dead_code)]

use super::listener::TlsListener;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine;
use openidconnect::core::{
    CoreGenderClaim, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRsaPrivateSigningKey,
};
use openidconnect::{
    AccessToken, AdditionalClaims, Audience, AuthorizationCode, IdToken, IdTokenClaims, IssuerUrl,
    JsonWebKeyId, Nonce, PkceCodeChallenge, PkceCodeVerifier, PrivateSigningKey, StandardClaims,
    SubjectIdentifier,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// The client the provider knows.
pub const CLIENT_ID: &str = "onestop-test";
pub const CLIENT_SECRET: &str = "s3cret-of-the-test-client";

/// The person the provider logs in.
#[derive(Debug, Clone)]
pub struct TestPerson {
    pub subject: String,
    pub uscc: String,
    pub name: String,
}

impl Default for TestPerson {
    fn default() -> Self {
        TestPerson {
            subject: "legal-person-0001".into(),
            uscc: "91421300MA4900000M".into(),
            name: "随州市示例制造有限公司".into(),
        }
    }
}

/// How the provider behaves; change with [`Idp::set`].
#[derive(Debug, Clone)]
pub struct Knobs {
    pub person: TestPerson,
    /// Sign ID tokens with a key that is not in the JWKS (same key id).
    pub sign_with_wrong_key: bool,
    /// The provider has rotated its key: the other key signs and is the one
    /// in the JWKS (another key id).
    pub rotated: bool,
    /// The `iss` written into ID tokens instead of the real issuer.
    pub token_issuer: Option<String>,
    /// The `aud` written into ID tokens instead of the client id.
    pub token_audience: Option<String>,
    /// Put the USCC claim into the ID token.
    pub uscc_in_id_token: bool,
    /// Put the USCC claim into the userinfo answer.
    pub uscc_in_userinfo: bool,
    /// ID tokens expired five minutes ago.
    pub expired: bool,
    /// The discovery document answers 503.
    pub discovery_fails: bool,
    /// Userinfo answers 500.
    pub userinfo_fails: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            person: TestPerson::default(),
            sign_with_wrong_key: false,
            rotated: false,
            token_issuer: None,
            token_audience: None,
            uscc_in_id_token: true,
            uscc_in_userinfo: true,
            expired: false,
            discovery_fails: false,
            userinfo_fails: false,
        }
    }
}

/// One `/authorize` request as received.
#[derive(Debug, Clone)]
pub struct Authorized {
    pub params: HashMap<String, String>,
    pub code: String,
}

/// What the provider counts.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub discovery: u32,
    pub jwks: u32,
    pub token: u32,
    pub userinfo: u32,
}

/// The callback the browser was sent to.
#[derive(Debug, Clone)]
pub struct Callback {
    pub location: String,
    pub code: String,
    pub state: String,
}

struct Pending {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
}

struct Shared {
    issuer: String,
    /// `None`: a public client (no secret, `client_id` in the body).
    secret: Option<String>,
    knobs: Knobs,
    codes: HashMap<String, Pending>,
    access_tokens: HashMap<String, String>,
    authorized: Vec<Authorized>,
    counts: Counts,
}

type Inner = Arc<Mutex<Shared>>;

pub struct Idp {
    pub addr: SocketAddr,
    /// `https://127.0.0.1:PORT`
    pub issuer: String,
    /// The certificate to trust (`ca_file`).
    pub ca_file: PathBuf,
    inner: Inner,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.ca_file);
    }
}

/// The provider's signing key and another one, made once per test binary
/// (RSA key generation is slow).
fn keys() -> &'static (String, String) {
    static KEYS: OnceLock<(String, String)> = OnceLock::new();
    KEYS.get_or_init(|| {
        use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
        let pem = || {
            rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
                .unwrap()
                .to_pkcs1_pem(LineEnding::LF)
                .unwrap()
                .to_string()
        };
        (pem(), pem())
    })
}

/// The first key (`test-key-1`) or the second (`test-key-2`); `kid` is the
/// key id written into tokens and the JWKS.
fn signing_key(second: bool, kid: &str) -> CoreRsaPrivateSigningKey {
    let (first, other) = keys();
    CoreRsaPrivateSigningKey::from_pem(
        if second { other } else { first },
        Some(JsonWebKeyId::new(kid.into())),
    )
    .unwrap()
}

/// The key the provider publishes now.
fn current_key(k: &Knobs) -> CoreRsaPrivateSigningKey {
    if k.rotated {
        signing_key(true, "test-key-2")
    } else {
        signing_key(false, "test-key-1")
    }
}

impl Idp {
    /// A provider for a confidential client ([`CLIENT_ID`], [`CLIENT_SECRET`]).
    pub async fn start() -> Idp {
        Self::start_with(Some(CLIENT_SECRET)).await
    }

    /// A provider for a public client (no secret).
    pub async fn start_public() -> Idp {
        Self::start_with(None).await
    }

    async fn start_with(secret: Option<&str>) -> Idp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let issuer = format!("https://127.0.0.1:{}", addr.port());
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .unwrap();
        let ca_file = std::env::temp_dir().join(format!(
            "onestop-test-idp-{}-{}.pem",
            std::process::id(),
            addr.port()
        ));
        std::fs::write(&ca_file, cert.cert.pem()).unwrap();
        let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into()),
        )
        .unwrap();
        keys();
        let inner: Inner = Arc::new(Mutex::new(Shared {
            issuer: issuer.clone(),
            secret: secret.map(str::to_owned),
            knobs: Knobs::default(),
            codes: HashMap::new(),
            access_tokens: HashMap::new(),
            authorized: Vec::new(),
            counts: Counts::default(),
        }));
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", axum::routing::post(token))
            .route("/userinfo", get(userinfo))
            .with_state(inner.clone());
        let listener = TlsListener {
            tcp: listener,
            acceptor: TlsAcceptor::from(Arc::new(tls)),
            refused: Arc::default(),
            patience: Some(Duration::from_secs(5)),
        };
        let task = super::listener::serve_in_background(listener, app);
        Idp {
            addr,
            issuer,
            ca_file,
            inner,
            task,
        }
    }

    /// `[identity.oidc]` for this provider, the client secret (if any) to be
    /// given to `OidcConnector::with_client_secret`.
    pub fn config(&self, redirect_url: &str) -> onestop_domain::config::OidcConfig {
        onestop_domain::config::OidcConfig {
            name: "测试政务服务网法人登录".into(),
            issuer: self.issuer.clone(),
            client_id: CLIENT_ID.into(),
            client_secret_env: None,
            redirect_url: redirect_url.into(),
            scopes: vec!["openid".into(), "profile".into()],
            uscc_claim: "uscc".into(),
            name_claim: Some("name".into()),
            ca_file: Some(self.ca_file.to_string_lossy().into_owned()),
            timeout_seconds: 5,
        }
    }

    pub fn set(&self, change: impl FnOnce(&mut Knobs)) {
        change(&mut self.inner.lock().unwrap().knobs);
    }

    pub fn authorized(&self) -> Vec<Authorized> {
        self.inner.lock().unwrap().authorized.clone()
    }

    pub fn counts(&self) -> Counts {
        self.inner.lock().unwrap().counts.clone()
    }

    /// What a browser does with the authorization URL: one GET, the
    /// redirect's `code` and `state` taken from its `Location`.
    pub async fn authorize(&self, authorize_url: &str) -> Callback {
        let pem = std::fs::read(&self.ca_file).unwrap();
        let browser = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let answer = browser.get(authorize_url).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::SEE_OTHER, "{authorize_url}");
        let location = answer.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .to_owned();
        let url = reqwest::Url::parse(&location).unwrap();
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        Callback {
            code: param("code"),
            state: param("state"),
            location,
        }
    }
}

async fn discovery(State(inner): State<Inner>) -> Response {
    let mut s = inner.lock().unwrap();
    s.counts.discovery += 1;
    if s.knobs.discovery_fails {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let i = &s.issuer;
    axum::Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "name", "uscc"]
    }))
    .into_response()
}

async fn jwks(State(inner): State<Inner>) -> axum::Json<CoreJsonWebKeySet> {
    let mut s = inner.lock().unwrap();
    s.counts.jwks += 1;
    axum::Json(CoreJsonWebKeySet::new(vec![
        current_key(&s.knobs).as_verification_key(),
    ]))
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

async fn authorize(
    State(inner): State<Inner>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let mut s = inner.lock().unwrap();
    let p = |k: &str| params.get(k).cloned().unwrap_or_default();
    if p("client_id") != CLIENT_ID
        || p("response_type") != "code"
        || p("redirect_uri").is_empty()
        || p("code_challenge_method") != "S256"
        || p("code_challenge").is_empty()
        || !p("scope").split(' ').any(|x| x == "openid")
    {
        return (StatusCode::BAD_REQUEST, "invalid authorization request").into_response();
    }
    let code = uuid::Uuid::new_v4().simple().to_string();
    s.codes.insert(
        code.clone(),
        Pending {
            client_id: p("client_id"),
            redirect_uri: p("redirect_uri"),
            challenge: p("code_challenge"),
            nonce: params.get("nonce").cloned(),
        },
    );
    s.authorized.push(Authorized {
        params: params.clone(),
        code: code.clone(),
    });
    let mut to = reqwest::Url::parse(&p("redirect_uri")).unwrap();
    to.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &p("state"));
    Redirect::to(to.as_str()).into_response()
}

/// Every claim besides the standard ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Extra {
    #[serde(flatten)]
    claims: serde_json::Map<String, Value>,
}

impl AdditionalClaims for Extra {}

async fn token(
    State(inner): State<Inner>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut s = inner.lock().unwrap();
    s.counts.token += 1;
    let f = |k: &str| form.get(k).cloned().unwrap_or_default();
    // Client authentication: HTTP Basic for the confidential client, the
    // client id alone in the body for the public one.
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let client_ok = match (&s.secret, basic) {
        (Some(secret), Some(pair)) => pair == format!("{CLIENT_ID}:{secret}"),
        (None, None) => f("client_id") == CLIENT_ID && !form.contains_key("client_secret"),
        _ => false,
    };
    if !client_ok {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    if f("grant_type") != "authorization_code" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "authorization_code only",
        );
    }
    // One use per code, whatever happens next.
    let Some(pending) = s.codes.remove(&f("code")) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "unknown or used code",
        );
    };
    if pending.client_id != CLIENT_ID || pending.redirect_uri != f("redirect_uri") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "redirect_uri mismatch",
        );
    }
    let verifier = f("code_verifier");
    let challenge =
        PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier.clone()));
    if verifier.is_empty() || challenge.as_str() != pending.challenge {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "PKCE verification failed",
        );
    }
    let k = s.knobs.clone();
    let access = AccessToken::new(uuid::Uuid::new_v4().simple().to_string());
    s.access_tokens
        .insert(access.secret().clone(), k.person.subject.clone());
    let now = chrono::Utc::now();
    let (iat, exp) = if k.expired {
        (
            now - chrono::Duration::hours(1),
            now - chrono::Duration::minutes(5),
        )
    } else {
        (now, now + chrono::Duration::minutes(5))
    };
    let mut extra = serde_json::Map::new();
    extra.insert("name".into(), k.person.name.clone().into());
    if k.uscc_in_id_token {
        extra.insert("uscc".into(), k.person.uscc.clone().into());
    }
    let claims = IdTokenClaims::<Extra, CoreGenderClaim>::new(
        IssuerUrl::new(k.token_issuer.clone().unwrap_or_else(|| s.issuer.clone())).unwrap(),
        vec![Audience::new(
            k.token_audience.clone().unwrap_or_else(|| CLIENT_ID.into()),
        )],
        exp,
        iat,
        StandardClaims::new(SubjectIdentifier::new(k.person.subject.clone())),
        Extra { claims: extra },
    )
    .set_nonce(pending.nonce.map(Nonce::new));
    let code = AuthorizationCode::new(f("code"));
    let id_token = IdToken::<
        Extra,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >::new(
        claims,
        &if k.sign_with_wrong_key {
            // The other key under the published key's id.
            signing_key(
                !k.rotated,
                if k.rotated {
                    "test-key-2"
                } else {
                    "test-key-1"
                },
            )
        } else {
            current_key(&k)
        },
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        Some(&access),
        Some(&code),
    )
    .unwrap();
    axum::Json(json!({
        "access_token": access.secret(),
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token.to_string(),
    }))
    .into_response()
}

async fn userinfo(State(inner): State<Inner>, headers: HeaderMap) -> Response {
    let mut s = inner.lock().unwrap();
    s.counts.userinfo += 1;
    if s.knobs.userinfo_fails {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let subject = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| s.access_tokens.get(t).cloned());
    let Some(subject) = subject else {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    };
    let k = &s.knobs;
    let mut body = json!({"sub": subject, "name": k.person.name});
    if k.uscc_in_userinfo {
        body["uscc"] = k.person.uscc.clone().into();
    }
    axum::Json(body).into_response()
}

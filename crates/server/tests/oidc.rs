//! The legal-person login connector against a local OpenID Connect provider
//! over HTTPS (`common::idp`): the full code flow with PKCE, and each way a
//! login must be refused. No database.

mod common;

use common::idp::{CLIENT_SECRET, Callback, Idp};
use onestop_server::connectors::oidc::{
    LegalPerson, LoginStart, OidcConnector, OidcError, TokenProblem, state_matches,
};
use openidconnect::{PkceCodeChallenge, PkceCodeVerifier};
use std::time::{Duration, Instant};

const CALLBACK: &str = "https://onestop.example.gov.cn/identity/oidc/callback";

fn connector(idp: &Idp) -> OidcConnector {
    OidcConnector::with_client_secret(&idp.config(CALLBACK), None, Some(CLIENT_SECRET.into()))
        .unwrap()
}

/// Begins a login and lets the provider answer it, as a browser would.
async fn login(idp: &Idp, c: &OidcConnector) -> (LoginStart, Callback) {
    let start = c.begin().await.unwrap();
    let callback = idp.authorize(&start.authorize_url).await;
    assert!(callback.location.starts_with(CALLBACK), "{callback:?}");
    assert!(state_matches(&start.state, &callback.state), "{callback:?}");
    (start, callback)
}

/// A whole login with the provider's current knobs.
async fn attempt(idp: &Idp) -> Result<LegalPerson, OidcError> {
    let c = connector(idp);
    let (start, callback) = login(idp, &c).await;
    c.finish(&callback.code, &start.pkce_verifier, &start.nonce)
        .await
}

fn token_problem(result: Result<LegalPerson, OidcError>) -> TokenProblem {
    match result {
        Err(OidcError::TokenInvalid { problem, detail }) => {
            assert!(!detail.is_empty());
            problem
        }
        other => panic!("expected an invalid token, got {other:?}"),
    }
}

#[tokio::test]
async fn the_code_flow_with_pkce_names_the_legal_person() {
    let idp = Idp::start().await;
    let c = connector(&idp);
    let (start, callback) = login(&idp, &c).await;

    // The request carried an S256 challenge of our verifier, our nonce and
    // the configured scopes.
    let asked = idp.authorized();
    assert_eq!(asked.len(), 1);
    let p = &asked[0].params;
    assert_eq!(p["code_challenge_method"], "S256");
    assert_eq!(
        p["code_challenge"],
        PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            start.pkce_verifier.clone()
        ))
        .as_str()
    );
    assert_eq!(p["nonce"], start.nonce);
    assert_eq!(p["state"], start.state);
    assert_eq!(p["redirect_uri"], CALLBACK);
    assert_eq!(p["scope"], "openid profile");
    assert_eq!(asked[0].code, callback.code);

    let person = c
        .finish(&callback.code, &start.pkce_verifier, &start.nonce)
        .await
        .unwrap();
    assert_eq!(
        person,
        LegalPerson {
            subject: "legal-person-0001".into(),
            issuer: idp.issuer.clone(),
            uscc: "91421300MA4900000M".into(),
            name: Some("随州市示例制造有限公司".into()),
        }
    );
    // Everything came in the ID token: userinfo was not asked.
    let counts = idp.counts();
    assert_eq!((counts.token, counts.userinfo), (1, 0));

    // A code serves once.
    let again = c
        .finish(&callback.code, &start.pkce_verifier, &start.nonce)
        .await;
    assert!(matches!(again, Err(OidcError::Refused(_))), "{again:?}");
    // Discovery and keys were fetched once for all of it.
    let counts = idp.counts();
    assert_eq!((counts.discovery, counts.jwks), (1, 1));
}

#[tokio::test]
async fn each_login_has_its_own_state_nonce_and_verifier() {
    let idp = Idp::start().await;
    let c = connector(&idp);
    let a = c.begin().await.unwrap();
    let b = c.begin().await.unwrap();
    assert_ne!(a.state, b.state);
    assert_ne!(a.nonce, b.nonce);
    assert_ne!(a.pkce_verifier, b.pkce_verifier);
    assert!(a.pkce_verifier.len() >= 43);
    assert!(!state_matches(&a.state, &b.state));
    assert!(!format!("{a:?}").contains(&a.pkce_verifier));
}

#[tokio::test]
async fn a_wrong_verifier_is_refused_by_the_provider() {
    let idp = Idp::start().await;
    let c = connector(&idp);
    let (start, callback) = login(&idp, &c).await;
    let (_, other_verifier) = PkceCodeChallenge::new_random_sha256();
    let result = c
        .finish(&callback.code, other_verifier.secret(), &start.nonce)
        .await;
    match result {
        Err(OidcError::Refused(detail)) => assert!(detail.contains("invalid_grant"), "{detail}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_nonce_is_refused() {
    let idp = Idp::start().await;
    let c = connector(&idp);
    let (start, callback) = login(&idp, &c).await;
    let other = c.begin().await.unwrap();
    let result = c
        .finish(&callback.code, &start.pkce_verifier, &other.nonce)
        .await;
    assert_eq!(token_problem(result), TokenProblem::Nonce);
}

#[tokio::test]
async fn a_token_signed_by_another_key_is_refused() {
    let idp = Idp::start().await;
    idp.set(|k| k.sign_with_wrong_key = true);
    assert_eq!(token_problem(attempt(&idp).await), TokenProblem::Signature);
    // The keys are young: no second fetch for a bad signature.
    assert_eq!(idp.counts().jwks, 1);
}

#[tokio::test]
async fn rotated_keys_are_fetched_again_when_old_enough() {
    let idp = Idp::start().await;
    // Keys fetched just now are kept: a token under a new key is refused.
    let c = connector(&idp);
    login(&idp, &c).await;
    idp.set(|k| k.rotated = true);
    let (start, callback) = login(&idp, &c).await;
    let result = c
        .finish(&callback.code, &start.pkce_verifier, &start.nonce)
        .await;
    assert_eq!(token_problem(result), TokenProblem::Signature);
    assert_eq!(idp.counts().jwks, 1);

    // Keys old enough are fetched again and the same token answer verifies.
    let c = connector(&idp).with_keys_min_age(Duration::ZERO);
    idp.set(|k| k.rotated = false);
    login(&idp, &c).await;
    idp.set(|k| k.rotated = true);
    let (start, callback) = login(&idp, &c).await;
    let person = c
        .finish(&callback.code, &start.pkce_verifier, &start.nonce)
        .await
        .unwrap();
    assert_eq!(person.uscc, "91421300MA4900000M");
    let counts = idp.counts();
    assert_eq!((counts.jwks, counts.token), (3, 2));
}

#[tokio::test]
async fn a_token_from_another_issuer_is_refused() {
    let idp = Idp::start().await;
    idp.set(|k| k.token_issuer = Some("https://impostor.example.com".into()));
    assert_eq!(token_problem(attempt(&idp).await), TokenProblem::Issuer);
}

#[tokio::test]
async fn a_token_for_another_client_is_refused() {
    let idp = Idp::start().await;
    idp.set(|k| k.token_audience = Some("another-client".into()));
    assert_eq!(token_problem(attempt(&idp).await), TokenProblem::Audience);
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let idp = Idp::start().await;
    idp.set(|k| k.expired = true);
    assert_eq!(token_problem(attempt(&idp).await), TokenProblem::Expired);
}

#[tokio::test]
async fn the_uscc_comes_from_userinfo_when_the_id_token_lacks_it() {
    let idp = Idp::start().await;
    idp.set(|k| k.uscc_in_id_token = false);
    let person = attempt(&idp).await.unwrap();
    assert_eq!(person.uscc, "91421300MA4900000M");
    assert_eq!(person.subject, "legal-person-0001");
    assert_eq!(idp.counts().userinfo, 1);
}

#[tokio::test]
async fn a_failing_userinfo_fails_only_logins_that_need_it() {
    let idp = Idp::start().await;
    idp.set(|k| k.userinfo_fails = true);
    // The name claim is nowhere: userinfo is asked, fails, and the USCC
    // from the ID token is enough.
    let mut config = idp.config(CALLBACK);
    config.name_claim = Some("corp_name".into());
    let c = OidcConnector::with_client_secret(&config, None, Some(CLIENT_SECRET.into())).unwrap();
    let (start, callback) = login(&idp, &c).await;
    let person = c
        .finish(&callback.code, &start.pkce_verifier, &start.nonce)
        .await
        .unwrap();
    assert_eq!(
        (person.uscc.as_str(), person.name),
        ("91421300MA4900000M", None)
    );
    assert_eq!(idp.counts().userinfo, 1);
    // The USCC only in userinfo: the login fails.
    idp.set(|k| k.uscc_in_id_token = false);
    let result = attempt(&idp).await;
    match result {
        Err(OidcError::Unreachable(detail)) => assert!(detail.contains("500"), "{detail}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn no_uscc_anywhere_is_refused() {
    let idp = Idp::start().await;
    idp.set(|k| {
        k.uscc_in_id_token = false;
        k.uscc_in_userinfo = false;
    });
    match attempt(&idp).await {
        Err(OidcError::NoUscc { claim }) => assert_eq!(claim, "uscc"),
        other => panic!("{other:?}"),
    }
    assert_eq!(idp.counts().userinfo, 1);
}

#[tokio::test]
async fn the_uscc_is_normalised_and_checked() {
    let idp = Idp::start().await;
    idp.set(|k| k.person.uscc = " 91421300ma4900000m ".into());
    assert_eq!(attempt(&idp).await.unwrap().uscc, "91421300MA4900000M");

    // Wrong check character.
    idp.set(|k| k.person.uscc = "91421300MA4900000X".into());
    match attempt(&idp).await {
        Err(OidcError::InvalidUscc { value }) => assert_eq!(value, "91421300MA4900000X"),
        other => panic!("{other:?}"),
    }
    // Blank counts as absent (userinfo has the same blank).
    idp.set(|k| k.person.uscc = "  ".into());
    assert!(matches!(attempt(&idp).await, Err(OidcError::NoUscc { .. })));
}

#[tokio::test]
async fn a_public_client_logs_in_without_a_secret() {
    let idp = Idp::start_public().await;
    let c = OidcConnector::new(&idp.config(CALLBACK), None).unwrap();
    let (start, callback) = login(&idp, &c).await;
    let person = c
        .finish(&callback.code, &start.pkce_verifier, &start.nonce)
        .await
        .unwrap();
    assert_eq!(person.uscc, "91421300MA4900000M");
    // The confidential client's secret is refused by a public-client provider
    // (the secret is really sent).
    let confidential = connector(&idp);
    let (start, callback) = login(&idp, &confidential).await;
    let result = confidential
        .finish(&callback.code, &start.pkce_verifier, &start.nonce)
        .await;
    match result {
        Err(OidcError::Refused(detail)) => assert!(detail.contains("invalid_client"), "{detail}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_private_ca_is_needed_and_trusted() {
    let idp = Idp::start().await;
    let mut config = idp.config(CALLBACK);
    config.ca_file = None;
    let c = OidcConnector::with_client_secret(&config, None, Some(CLIENT_SECRET.into())).unwrap();
    match c.begin().await {
        Err(OidcError::Unreachable(detail)) => {
            assert!(detail.to_lowercase().contains("certificate"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    // Relative to the configuration's folder.
    let dir = idp.ca_file.parent().unwrap();
    config.ca_file = Some(
        idp.ca_file
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned(),
    );
    let c =
        OidcConnector::with_client_secret(&config, Some(dir), Some(CLIENT_SECRET.into())).unwrap();
    assert!(c.begin().await.is_ok());
}

#[tokio::test]
async fn building_names_what_is_missing_and_hides_the_secret() {
    let idp = Idp::start().await;
    let mut config = idp.config(CALLBACK);
    config.client_secret_env = Some("ONESTOP_TEST_OIDC_SECRET_THAT_IS_NOT_SET".into());
    match OidcConnector::new(&config, None) {
        Err(OidcError::Config(detail)) => {
            assert!(detail.contains("ONESTOP_TEST_OIDC_SECRET_THAT_IS_NOT_SET"))
        }
        other => panic!("{other:?}"),
    }
    config.client_secret_env = None;
    config.ca_file = Some("/nonexistent/onestop-ca.pem".into());
    match OidcConnector::new(&config, None) {
        Err(OidcError::Config(detail)) => assert!(detail.contains("/nonexistent/onestop-ca.pem")),
        other => panic!("{other:?}"),
    }
    let c = connector(&idp);
    let shown = format!("{c:?}");
    assert!(!shown.contains(CLIENT_SECRET), "{shown}");
    assert!(shown.contains("[set]"), "{shown}");
}

#[tokio::test]
async fn a_failed_discovery_is_not_kept() {
    let idp = Idp::start().await;
    idp.set(|k| k.discovery_fails = true);
    let c = connector(&idp);
    match c.begin().await {
        Err(OidcError::Unreachable(detail)) => assert!(detail.contains("503"), "{detail}"),
        other => panic!("{other:?}"),
    }
    idp.set(|k| k.discovery_fails = false);
    c.begin().await.unwrap();
    c.begin().await.unwrap();
    // One failed fetch, one kept.
    assert_eq!(idp.counts().discovery, 2);
}

#[tokio::test]
async fn an_unreachable_provider_fails_quickly() {
    // Nobody listens: refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let idp = Idp::start().await;
    let mut config = idp.config(CALLBACK);
    config.issuer = format!("https://127.0.0.1:{port}");
    let c = OidcConnector::with_client_secret(&config, None, None).unwrap();
    let started = Instant::now();
    assert!(matches!(c.begin().await, Err(OidcError::Unreachable(_))));
    assert!(started.elapsed() < Duration::from_secs(2));

    // Someone listens and never answers: the configured timeout (1 s) ends it.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    config.issuer = format!("https://{}", silent.local_addr().unwrap());
    config.timeout_seconds = 1;
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            open.push(s);
        }
    });
    let c = OidcConnector::with_client_secret(&config, None, None).unwrap();
    let started = Instant::now();
    let result = c.begin().await;
    let took = started.elapsed();
    assert!(
        matches!(result, Err(OidcError::Unreachable(_))),
        "{result:?}"
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
    held.abort();
}

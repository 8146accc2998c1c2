//! OIDC bearer JWTs against a local issuer.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use spoke_auth::{Auth, AuthConfig, AuthError, Caller, OidcConfig, Via, Write};
use spoke_domain::{ModuleName, Principal, VersionId};

use crate::store::TestStore;
use spoke_test_support::oidc::{AUDIENCE, Issuer, now, sign_es256};

fn config(issuer: &str) -> AuthConfig {
    AuthConfig {
        enabled: true,
        oidc: Some(OidcConfig {
            audience: Some(AUDIENCE.to_owned()),
            ..OidcConfig::new(issuer)
        }),
        ..AuthConfig::default()
    }
}

fn auth_for(issuer: &Issuer, store: &TestStore) -> Auth {
    Auth::new(config(&issuer.url), store.access()).unwrap()
}

async fn authenticate(auth: &Auth, token: &str) -> Result<Caller, AuthError> {
    auth.authenticate(Some(format!("Bearer {token}").as_bytes()))
        .await
}

/// The failure's reason label, after checking the message never shows the
/// token.
async fn refused(auth: &Auth, token: &str) -> &'static str {
    let error = authenticate(auth, token).await.unwrap_err();
    let AuthError::Unauthenticated(failure) = &error else {
        panic!("expected Unauthenticated, got {error:?}");
    };
    for part in token.split('.').filter(|part| part.len() > 8) {
        assert!(!error.to_string().contains(part));
        assert!(!format!("{error:?}").contains(part));
    }
    failure.reason()
}

fn with(mut claims: Value, field: &str, value: Value) -> Value {
    claims[field] = value;
    claims
}

#[tokio::test]
async fn a_valid_token_is_accepted_with_its_subject_and_groups() {
    let store = TestStore::open();
    let issuer = Issuer::start().await;
    let auth = auth_for(&issuer, &store);
    let claims = with(
        issuer.claims("alice@example.com"),
        "groups",
        json!(["platform", "has space", 42, "ops", "platform"]),
    );
    let caller = authenticate(&auth, &issuer.sign("k1", &claims))
        .await
        .unwrap();
    let identity = caller.identity().unwrap();
    assert_eq!(
        identity.subject,
        Principal::parse("user:alice@example.com").unwrap()
    );
    assert_eq!(
        identity.groups,
        vec![
            Principal::parse("group:ops").unwrap(),
            Principal::parse("group:platform").unwrap(),
        ]
    );
    assert_eq!(identity.via, Via::Oidc);

    // A configured claim name, and a claim that is not an array.
    let mut custom = config(&issuer.url);
    custom.oidc.as_mut().unwrap().groups_claim = "roles".to_owned();
    let auth = Auth::new(custom, store.access()).unwrap();
    let claims = with(
        with(issuer.claims("bob"), "roles", json!(["admins"])),
        "groups",
        json!(["x"]),
    );
    let caller = authenticate(&auth, &issuer.sign("k1", &claims))
        .await
        .unwrap();
    assert_eq!(
        caller.identity().unwrap().groups,
        vec![Principal::parse("group:admins").unwrap()]
    );
    let claims = with(issuer.claims("bob"), "roles", json!("admins"));
    let caller = authenticate(&auth, &issuer.sign("k1", &claims))
        .await
        .unwrap();
    assert!(caller.identity().unwrap().groups.is_empty());
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_refused_with_30_seconds_of_leeway() {
    let store = TestStore::open();
    let issuer = Issuer::start().await;
    let auth = auth_for(&issuer, &store);
    let expired = with(issuer.claims("alice"), "exp", json!(now() - 120));
    assert_eq!(
        refused(&auth, &issuer.sign("k1", &expired)).await,
        "expired"
    );
    let just_expired = with(issuer.claims("alice"), "exp", json!(now() - 10));
    assert!(
        authenticate(&auth, &issuer.sign("k1", &just_expired))
            .await
            .is_ok()
    );
    let future = with(issuer.claims("alice"), "nbf", json!(now() + 120));
    assert_eq!(
        refused(&auth, &issuer.sign("k1", &future)).await,
        "invalid_claims"
    );
    let no_exp = {
        let mut claims = issuer.claims("alice");
        claims.as_object_mut().unwrap().remove("exp");
        claims
    };
    assert_eq!(
        refused(&auth, &issuer.sign("k1", &no_exp)).await,
        "invalid_claims"
    );
}

#[tokio::test]
async fn wrong_audience_issuer_or_subject_is_refused() {
    let store = TestStore::open();
    let issuer = Issuer::start().await;
    let auth = auth_for(&issuer, &store);
    for claims in [
        with(issuer.claims("alice"), "aud", json!("another-service")),
        with(issuer.claims("alice"), "aud", json!(["a", "b"])),
        with(
            issuer.claims("alice"),
            "iss",
            json!(format!("{}/", issuer.url)),
        ),
        with(
            issuer.claims("alice"),
            "iss",
            json!("https://evil.example.com"),
        ),
        with(issuer.claims("alice"), "sub", json!("has space")),
        with(issuer.claims("alice"), "sub", json!(7)),
    ] {
        assert_eq!(
            refused(&auth, &issuer.sign("k1", &claims)).await,
            "invalid_claims",
            "{claims}"
        );
    }
    // An audience among several is fine.
    let claims = with(issuer.claims("alice"), "aud", json!(["other", AUDIENCE]));
    assert!(
        authenticate(&auth, &issuer.sign("k1", &claims))
            .await
            .is_ok()
    );
    // Without a configured audience, aud is not checked.
    let mut no_audience = config(&issuer.url);
    no_audience.oidc.as_mut().unwrap().audience = None;
    let auth = Auth::new(no_audience, store.access()).unwrap();
    let claims = with(issuer.claims("alice"), "aud", json!("another-service"));
    assert!(
        authenticate(&auth, &issuer.sign("k1", &claims))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn tampered_tokens_and_foreign_keys_are_refused() {
    let store = TestStore::open();
    let issuer = Issuer::start().await;
    let auth = auth_for(&issuer, &store);
    let token = issuer.sign("k1", &issuer.claims("alice"));
    let parts: Vec<&str> = token.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode(issuer.claims("admin").to_string());
    let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
    assert_eq!(refused(&auth, &tampered).await, "invalid_signature");

    // Signed by a key that claims the issuer's kid.
    let foreign = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let forged = sign_es256(&foreign, "k1", &issuer.claims("alice"));
    assert_eq!(refused(&auth, &forged).await, "invalid_signature");

    for garbage in ["a.b.c", "eyJhbGciOiJFUzI1NiJ9.%%%.x", "e30.e30.e30"] {
        let reason = refused(&auth, garbage).await;
        assert!(
            reason == "malformed" || reason == "invalid_signature",
            "{garbage}: {reason}"
        );
    }
}

#[tokio::test]
async fn alg_none_and_hmac_signed_with_the_public_key_are_refused() {
    let store = TestStore::open();
    let issuer = Issuer::start().await;
    let auth = auth_for(&issuer, &store);
    let claims = issuer.claims("alice");

    let none_header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": "k1"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    for token in [
        format!("{none_header}.{payload}."),
        format!("{none_header}.{payload}.c2ln"),
    ] {
        assert_eq!(refused(&auth, &token).await, "invalid_signature");
    }
    let none_upper = URL_SAFE_NO_PAD.encode(json!({"alg": "None", "kid": "k1"}).to_string());
    assert_eq!(
        refused(&auth, &format!("{none_upper}.{payload}.")).await,
        "invalid_signature"
    );

    // HMAC keyed with what a verifier that trusts the header might use as
    // the secret: the public key's PEM (and a guessable secret).
    let pem = issuer.public_key_pem("k1");
    for (alg, secret) in [
        (Algorithm::HS256, pem.as_bytes().to_vec()),
        (Algorithm::HS384, pem.as_bytes().to_vec()),
        (Algorithm::HS256, b"k1".to_vec()),
    ] {
        let mut header = Header::new(alg);
        header.kid = Some("k1".to_owned());
        let token = jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(&secret).unwrap(),
        )
        .unwrap();
        assert_eq!(refused(&auth, &token).await, "invalid_signature");
    }
    // ES384 named on an ES256 key: the key pins its algorithm.
    let token = issuer.sign("k1", &claims);
    let es384 = URL_SAFE_NO_PAD.encode(json!({"alg": "ES384", "kid": "k1"}).to_string());
    let rest = token.split_once('.').unwrap().1;
    assert_eq!(
        refused(&auth, &format!("{es384}.{rest}")).await,
        "invalid_signature"
    );
}

#[tokio::test]
async fn an_unknown_kid_fetches_the_keys_again_at_most_once_in_10_seconds() {
    let store = TestStore::open();
    let issuer = Issuer::start().await;
    let auth = auth_for(&issuer, &store);
    assert!(
        authenticate(&auth, &issuer.sign("k1", &issuer.claims("a")))
            .await
            .is_ok()
    );
    assert_eq!(issuer.jwks_fetches(), 1);

    // The issuer rotates in a key: its first token fetches the set again.
    issuer.add_key("k2");
    assert!(
        authenticate(&auth, &issuer.sign("k2", &issuer.claims("b")))
            .await
            .is_ok()
    );
    assert_eq!(issuer.jwks_fetches(), 2);

    // Made-up kids, concurrently and one after another: no more fetches.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let auth = auth.clone();
        let header = URL_SAFE_NO_PAD
            .encode(json!({"alg": "ES256", "kid": format!("random-{i}")}).to_string());
        tasks.push(tokio::spawn(async move {
            refused(&auth, &format!("{header}.e30.c2ln")).await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), "invalid_signature");
    }
    issuer.add_key("k3");
    assert_eq!(
        refused(&auth, &issuer.sign("k3", &issuer.claims("c"))).await,
        "invalid_signature"
    );
    assert_eq!(issuer.jwks_fetches(), 2);
    // Known keys keep working meanwhile.
    assert!(
        authenticate(&auth, &issuer.sign("k1", &issuer.claims("d")))
            .await
            .is_ok()
    );
    assert_eq!(issuer.jwks_fetches(), 2);

    // A first load that does not find the kid counts as such a fetch.
    let fresh = auth_for(&issuer, &store);
    let made_up = URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": "nope"}).to_string());
    for _ in 0..3 {
        assert_eq!(
            refused(&fresh, &format!("{made_up}.e30.c2ln")).await,
            "invalid_signature"
        );
    }
    assert_eq!(issuer.jwks_fetches(), 3);
}

#[tokio::test]
async fn an_unreachable_issuer_is_oidc_unavailable() {
    let store = TestStore::open();
    // A port nothing listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let auth = Auth::new(config(&url), store.access()).unwrap();
    let issuer = Issuer::start().await;
    let token = issuer.sign("k1", &with(issuer.claims("a"), "iss", json!(url)));
    assert_eq!(refused(&auth, &token).await, "oidc_unavailable");
    assert_eq!(refused(&auth, &token).await, "oidc_unavailable");
}

#[tokio::test]
async fn verified_tokens_are_cached_and_jwts_need_oidc_configured() {
    let store = TestStore::open();
    let issuer = Issuer::start().await;
    let auth = auth_for(&issuer, &store);
    let token = issuer.sign("k1", &issuer.claims("alice"));
    let first = authenticate(&auth, &token).await.unwrap();
    let second = authenticate(&auth, &token).await.unwrap();
    // The same shared identity: the second answer came from the cache.
    match (&first, &second) {
        (Caller::Identity(a), Caller::Identity(b)) => assert!(Arc::ptr_eq(a, b)),
        _ => panic!("expected identities"),
    }

    let without_oidc = Auth::new(
        AuthConfig {
            enabled: true,
            ..AuthConfig::default()
        },
        store.access(),
    )
    .unwrap();
    assert_eq!(refused(&without_oidc, &token).await, "unknown_token");
    assert_eq!(issuer.jwks_fetches(), 1);
}

#[tokio::test]
async fn a_grant_to_a_group_lets_its_members_push() {
    let store = TestStore::open();
    let issuer = Issuer::start().await;
    let mut settings = config(&issuer.url);
    settings.bootstrap_token = Some(crate::tokens::BOOTSTRAP.to_owned().into());
    let auth = Auth::new(settings, store.access()).unwrap();
    let admin = auth
        .authenticate(Some(
            format!("Bearer {}", crate::tokens::BOOTSTRAP).as_bytes(),
        ))
        .await
        .unwrap();
    auth.create_grant(
        &admin,
        &Principal::parse("group:platform").unwrap(),
        &spoke_domain::Scope::parse("common").unwrap(),
        spoke_domain::Role::Writer,
        "req-1",
    )
    .await
    .unwrap();

    let member = with(issuer.claims("carol"), "groups", json!(["platform"]));
    let outsider = issuer.claims("dave");
    let common = ModuleName::parse("common").unwrap();
    let version = VersionId::parse("1.0.0").unwrap();
    let push = Write::PushVersion {
        module: &common,
        version: &version,
    };
    let carol = authenticate(&auth, &issuer.sign("k1", &member))
        .await
        .unwrap();
    let records = auth.authorize_write(&carol, push, "req-2").await.unwrap();
    let entry = records.audit.unwrap();
    assert_eq!(entry.subject, "user:carol");
    assert_eq!(entry.target, "common@1.0.0");
    let dave = authenticate(&auth, &issuer.sign("k1", &outsider))
        .await
        .unwrap();
    let error = auth
        .authorize_write(&dave, push, "req-3")
        .await
        .unwrap_err();
    assert_eq!(error.code(), "PERMISSION_DENIED");
}

#[test]
fn issuers_must_be_https_or_loopback() {
    let store = TestStore::open();
    for bad in [
        "http://id.example.com",
        "not a url",
        "https://u:p@id.example.com",
        "https://id.example.com/?x=1",
    ] {
        let error = Auth::new(config(bad), store.access()).err().unwrap();
        assert_eq!(error.code(), "INVALID_AUTH_CONFIG", "{bad}");
    }
    assert!(Auth::new(config("https://id.example.com/realms/x"), store.access()).is_ok());
}

#[tokio::test]
async fn a_slow_issuer_times_out_instead_of_hanging() {
    let store = TestStore::open();
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let _silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let auth = Auth::new(config(&url), store.access()).unwrap();
    let issuer = Issuer::start().await;
    let token = issuer.sign("k1", &with(issuer.claims("a"), "iss", json!(url)));
    let started = std::time::Instant::now();
    assert_eq!(refused(&auth, &token).await, "oidc_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

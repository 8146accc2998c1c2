//! Authentication with the bootstrap token and stored API tokens: parsing,
//! hashing, caching, expiry, revocation and last use.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use spoke_auth::{Auth, AuthConfig, AuthError, Caller, Secret, Via};
use spoke_domain::{Digest, Principal, Role, Scope};
use spoke_storage_postgres::PgMetadataStore;
use spoke_test_support::postgres::{TestDb, admin_url};

use crate::store::TestStore;

pub const BOOTSTRAP: &str = "bootstrap-0123456789abcdefghijklmnopqrstuvwxyz";

pub fn enabled(ttl: Duration) -> AuthConfig {
    AuthConfig {
        enabled: true,
        bootstrap_token: Some(Secret::new(BOOTSTRAP)),
        cache_ttl: ttl,
        ..AuthConfig::default()
    }
}

pub fn bearer(token: &str) -> Vec<u8> {
    format!("Bearer {token}").into_bytes()
}

pub async fn login(auth: &Auth, token: &str) -> Result<Caller, AuthError> {
    auth.authenticate(Some(&bearer(token))).await
}

pub fn user(name: &str) -> Principal {
    Principal::parse(&format!("user:{name}")).unwrap()
}

fn reason(result: Result<Caller, AuthError>) -> &'static str {
    match result {
        Err(AuthError::Unauthenticated(failure)) => failure.reason(),
        other => panic!("expected Unauthenticated, got {other:?}"),
    }
}

#[tokio::test]
async fn the_bootstrap_token_is_user_admin_with_the_admin_role() {
    let store = TestStore::open();
    let auth = Auth::new(enabled(Duration::from_secs(1)), store.access()).unwrap();
    let caller = login(&auth, BOOTSTRAP).await.unwrap();
    let identity = caller.identity().unwrap();
    assert_eq!(identity.subject, user("admin"));
    assert_eq!(identity.via, Via::Bootstrap);
    let whoami = auth.whoami(&caller).await.unwrap();
    assert_eq!(whoami.roles, vec![(Scope::All, Role::Admin)]);
    // Any other case or a prefix of it is not it.
    assert_eq!(
        reason(login(&auth, &BOOTSTRAP.to_uppercase()).await),
        "unknown_token"
    );
    assert_eq!(
        reason(login(&auth, &BOOTSTRAP[..40]).await),
        "unknown_token"
    );
}

#[test]
fn a_weak_or_unsendable_bootstrap_token_is_a_configuration_error() {
    let store = TestStore::open();
    for bad in ["short", &"x".repeat(31), &format!("{} x", "y".repeat(40))] {
        let config = AuthConfig {
            bootstrap_token: Some(Secret::new(bad)),
            ..enabled(Duration::from_secs(1))
        };
        let error = Auth::new(config, store.access()).err().unwrap();
        assert_eq!(error.code(), "INVALID_AUTH_CONFIG");
        assert!(!error.to_string().contains(bad));
    }
}

#[tokio::test]
async fn no_header_is_anonymous_and_access_control_off_ignores_headers() {
    let store = TestStore::open();
    let auth = Auth::new(enabled(Duration::from_secs(1)), store.access()).unwrap();
    assert_eq!(auth.authenticate(None).await.unwrap(), Caller::Anonymous);
    let off = Auth::new(AuthConfig::default(), store.access()).unwrap();
    assert!(!off.enabled());
    for header in [&b"Bearer whatever"[..], b"garbage", BOOTSTRAP.as_bytes()] {
        assert_eq!(
            off.authenticate(Some(header)).await.unwrap(),
            Caller::Anonymous
        );
    }
}

#[tokio::test]
async fn stored_tokens_authenticate_their_user_and_keep_only_a_hash() {
    let store = TestStore::open();
    let auth = Auth::new(enabled(Duration::from_secs(1)), store.access()).unwrap();
    let admin = login(&auth, BOOTSTRAP).await.unwrap();
    let (record, token) = auth
        .create_token(
            &admin,
            &user("ci-bot"),
            Some(Duration::from_secs(3600)),
            "req-1",
        )
        .await
        .unwrap();
    let text = token.expose();
    assert!(text.starts_with(&format!("spoke_{}_", record.id)));
    assert_eq!(record.secret_hash, Digest::of(&text.as_bytes()[23..]));
    assert!(record.expires_at.is_some());

    let caller = login(&auth, text).await.unwrap();
    let identity = caller.identity().unwrap();
    assert_eq!(identity.subject, user("ci-bot"));
    assert_eq!(identity.via, Via::Token(record.id.clone()));
    assert!(identity.groups.is_empty());

    // Neither the audit log nor any Debug output holds the secret.
    let secret = &text[23..];
    for shown in [
        format!("{:?}", store.audit().await),
        format!("{record:?}"),
        format!("{token:?}"),
        token.to_string(),
        format!("{caller:?}"),
    ] {
        assert!(!shown.contains(secret), "{shown}");
    }
    // Nor does any file of the store, which does hold the record.
    assert_eq!(store.files_containing(secret), Vec::<PathBuf>::new());
    assert!(!store.files_containing(record.id.as_str()).is_empty());
}

#[tokio::test]
async fn bad_tokens_are_refused_with_their_reason() {
    let store = TestStore::open();
    let auth = Auth::new(enabled(Duration::from_secs(1)), store.access()).unwrap();
    let admin = login(&auth, BOOTSTRAP).await.unwrap();
    let (record, token) = auth
        .create_token(&admin, &user("ci-bot"), None, "req-1")
        .await
        .unwrap();
    let text = token.expose();
    let mut wrong_secret = text.to_owned();
    let last = wrong_secret.pop().unwrap();
    wrong_secret.push(if last == 'A' { 'B' } else { 'A' });
    let unknown_id = text.replace(record.id.as_str(), "0000000000000000");

    assert_eq!(reason(login(&auth, &wrong_secret).await), "unknown_token");
    assert_eq!(reason(login(&auth, &unknown_id).await), "unknown_token");
    assert_eq!(reason(login(&auth, "spoke_tooshort").await), "malformed");
    assert_eq!(
        reason(login(&auth, "some-other-token").await),
        "unknown_token"
    );
    assert_eq!(reason(login(&auth, "a.b.c").await), "unknown_token");
    for header in [
        &b"Basic dXNlcjpwYXNz"[..],
        b"Bearer",
        b"Bearer  x",
        b"bearer a b",
    ] {
        assert_eq!(reason(auth.authenticate(Some(header)).await), "malformed");
    }
    // Failure messages never carry the presented token.
    let error = login(&auth, &wrong_secret).await.unwrap_err();
    assert!(!error.to_string().contains(&wrong_secret[23..]));
    assert!(!format!("{error:?}").contains(&wrong_secret[23..]));
    assert_eq!(error.code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn verified_tokens_are_cached_for_the_ttl_and_local_revocation_is_immediate() {
    let store = TestStore::open();
    let auth = Auth::new(enabled(Duration::from_secs(30)), store.access()).unwrap();
    let admin = login(&auth, BOOTSTRAP).await.unwrap();
    let (record, token) = auth
        .create_token(&admin, &user("ci-bot"), None, "req-1")
        .await
        .unwrap();
    for _ in 0..5 {
        login(&auth, token.expose()).await.unwrap();
    }
    assert_eq!(
        store.reads().0,
        1,
        "one store read for five authentications"
    );

    auth.revoke_token(&admin, &record.id, "req-2")
        .await
        .unwrap();
    assert_eq!(reason(login(&auth, token.expose()).await), "unknown_token");
}

#[tokio::test]
async fn a_revocation_elsewhere_is_seen_within_the_ttl() {
    let store = TestStore::open();
    let ttl = Duration::from_millis(300);
    let here = Auth::new(enabled(ttl), store.access()).unwrap();
    let elsewhere = Auth::new(enabled(ttl), store.shared()).unwrap();
    revoked_elsewhere_is_refused_within_the_ttl(&here, &elsewhere, ttl).await;
}

/// The fleet property over PostgreSQL: two instances, each with its own
/// connection pool on one database, and the default TTL.
#[tokio::test]
async fn a_revocation_through_another_postgres_instance_is_seen_within_the_ttl() {
    let Some(admin_url) = admin_url() else { return };
    let db = TestDb::create(&admin_url).await;
    let ttl = AuthConfig::DEFAULT_CACHE_TTL;
    let mut instances = Vec::new();
    for _ in 0..2 {
        let store = PgMetadataStore::connect(db.config()).await.unwrap();
        instances.push(Auth::new(enabled(ttl), Arc::new(store.access_store())).unwrap());
    }
    revoked_elsewhere_is_refused_within_the_ttl(&instances[0], &instances[1], ttl).await;
}

/// `here` verifies a token, then `elsewhere` (another instance over the
/// same data) verifies and revokes it: `elsewhere` refuses it at once;
/// `here`, whose cache does not hear of it, once that cache is a TTL old,
/// within 2 s of the revocation.
async fn revoked_elsewhere_is_refused_within_the_ttl(here: &Auth, elsewhere: &Auth, ttl: Duration) {
    let admin = login(here, BOOTSTRAP).await.unwrap();
    let (record, token) = here
        .create_token(&admin, &user("ci-bot"), None, "req-1")
        .await
        .unwrap();
    login(here, token.expose()).await.unwrap();
    login(elsewhere, token.expose()).await.unwrap();
    let admin_elsewhere = login(elsewhere, BOOTSTRAP).await.unwrap();
    elsewhere
        .revoke_token(&admin_elsewhere, &record.id, "req-2")
        .await
        .unwrap();
    let revoked_at = Instant::now();
    assert_eq!(
        reason(login(elsewhere, token.expose()).await),
        "unknown_token"
    );
    assert!(login(here, token.expose()).await.is_ok(), "still cached");
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    assert_eq!(reason(login(here, token.expose()).await), "unknown_token");
    let refused_after = revoked_at.elapsed();
    assert!(
        refused_after < Duration::from_secs(2),
        "refused {refused_after:?} after the revocation"
    );
}

#[tokio::test]
async fn an_expiry_is_honoured_exactly_even_while_cached() {
    let store = TestStore::open();
    let auth = Auth::new(enabled(Duration::from_secs(60)), store.access()).unwrap();
    let admin = login(&auth, BOOTSTRAP).await.unwrap();
    let (_, token) = auth
        .create_token(
            &admin,
            &user("ci-bot"),
            Some(Duration::from_millis(400)),
            "req-1",
        )
        .await
        .unwrap();
    login(&auth, token.expose()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(reason(login(&auth, token.expose()).await), "expired");
    // And from the store, once the cache is gone.
    let fresh = Auth::new(enabled(Duration::from_secs(60)), store.access()).unwrap();
    assert_eq!(reason(login(&fresh, token.expose()).await), "expired");
}

#[tokio::test]
async fn last_use_is_recorded_in_the_background_at_most_once_a_minute() {
    let store = TestStore::open();
    let auth = Auth::new(enabled(Duration::ZERO), store.access()).unwrap();
    let admin = login(&auth, BOOTSTRAP).await.unwrap();
    let (record, token) = auth
        .create_token(&admin, &user("ci-bot"), None, "req-1")
        .await
        .unwrap();
    login(&auth, token.expose()).await.unwrap();
    // The touch was spawned; give it a moment.
    for _ in 0..50 {
        if store.touches() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(store.touches(), 1);
    assert!(
        store
            .token(&record.id)
            .await
            .unwrap()
            .last_used_at
            .is_some()
    );
    // Without a cache every use reads the record, and it is fresh.
    for _ in 0..5 {
        login(&auth, token.expose()).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(store.touches(), 1);
    assert_eq!(store.reads().0, 6);
}

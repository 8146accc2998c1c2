//! Authentication with the bootstrap token and stored API tokens: parsing,
//! hashing, caching, expiry, revocation and last use.

use std::time::Duration;

use spoke_auth::{Auth, AuthConfig, AuthError, Caller, Secret, Via};
use spoke_domain::{Digest, Principal, Role, Scope};

use crate::memory_store::MemoryAccessStore;

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
    let auth = Auth::new(enabled(Duration::from_secs(1)), MemoryAccessStore::new()).unwrap();
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
    for bad in ["short", &"x".repeat(31), &format!("{} x", "y".repeat(40))] {
        let config = AuthConfig {
            bootstrap_token: Some(Secret::new(bad)),
            ..enabled(Duration::from_secs(1))
        };
        let error = Auth::new(config, MemoryAccessStore::new()).err().unwrap();
        assert_eq!(error.code(), "INVALID_AUTH_CONFIG");
        assert!(!error.to_string().contains(bad));
    }
}

#[tokio::test]
async fn no_header_is_anonymous_and_access_control_off_ignores_headers() {
    let auth = Auth::new(enabled(Duration::from_secs(1)), MemoryAccessStore::new()).unwrap();
    assert_eq!(auth.authenticate(None).await.unwrap(), Caller::Anonymous);
    let off = Auth::new(AuthConfig::default(), MemoryAccessStore::new()).unwrap();
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
    let store = MemoryAccessStore::new();
    let auth = Auth::new(enabled(Duration::from_secs(1)), store.clone()).unwrap();
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
        format!("{:?}", store.audit()),
        format!("{record:?}"),
        format!("{token:?}"),
        token.to_string(),
        format!("{caller:?}"),
    ] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[tokio::test]
async fn bad_tokens_are_refused_with_their_reason() {
    let store = MemoryAccessStore::new();
    let auth = Auth::new(enabled(Duration::from_secs(1)), store.clone()).unwrap();
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
    let store = MemoryAccessStore::new();
    let auth = Auth::new(enabled(Duration::from_secs(30)), store.clone()).unwrap();
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
    let store = MemoryAccessStore::new();
    let ttl = Duration::from_millis(300);
    let auth = Auth::new(enabled(ttl), store.clone()).unwrap();
    let admin = login(&auth, BOOTSTRAP).await.unwrap();
    let (record, token) = auth
        .create_token(&admin, &user("ci-bot"), None, "req-1")
        .await
        .unwrap();
    login(&auth, token.expose()).await.unwrap();
    // Another instance revokes it: this one's cache does not hear of it.
    store.remove_token_behind_the_back(&record.id);
    assert!(login(&auth, token.expose()).await.is_ok(), "still cached");
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    assert_eq!(reason(login(&auth, token.expose()).await), "unknown_token");
}

#[tokio::test]
async fn an_expiry_is_honoured_exactly_even_while_cached() {
    let store = MemoryAccessStore::new();
    let auth = Auth::new(enabled(Duration::from_secs(60)), store.clone()).unwrap();
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
    let fresh = Auth::new(enabled(Duration::from_secs(60)), store.clone()).unwrap();
    assert_eq!(reason(login(&fresh, token.expose()).await), "expired");
}

#[tokio::test]
async fn last_use_is_recorded_in_the_background_at_most_once_a_minute() {
    let store = MemoryAccessStore::new();
    let auth = Auth::new(enabled(Duration::ZERO), store.clone()).unwrap();
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
    assert!(store.token(&record.id).unwrap().last_used_at.is_some());
    // Without a cache every use reads the record, and it is fresh.
    for _ in 0..5 {
        login(&auth, token.expose()).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(store.touches(), 1);
    assert_eq!(store.reads().0, 6);
}

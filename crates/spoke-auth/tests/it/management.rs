//! Managing tokens and grants, whoami and the audit log: who may, and
//! what each attempt leaves in the audit log.

use std::time::Duration;

use spoke_auth::{Auth, AuthError, Caller};
use spoke_domain::{AccessId, AuditAction, AuditOutcome, AuditQuery, Principal, Role, Scope};

use crate::store::TestStore;
use crate::tokens::{BOOTSTRAP, enabled, login, user};

fn scope(text: &str) -> Scope {
    Scope::parse(text).unwrap()
}

struct World {
    auth: Auth,
    store: TestStore,
    admin: Caller,
}

impl World {
    async fn new() -> World {
        let store = TestStore::open();
        let auth = Auth::new(enabled(Duration::from_secs(60)), store.access()).unwrap();
        let admin = login(&auth, BOOTSTRAP).await.unwrap();
        World { auth, store, admin }
    }

    /// A caller for `user:NAME` holding `grants` (scope, role).
    async fn user(&self, name: &str, grants: &[(&str, Role)]) -> Caller {
        for (scope_text, role) in grants {
            self.auth
                .create_grant(&self.admin, &user(name), &scope(scope_text), *role, "setup")
                .await
                .unwrap();
        }
        let (_, token) = self
            .auth
            .create_token(&self.admin, &user(name), None, "setup")
            .await
            .unwrap();
        login(&self.auth, token.expose()).await.unwrap()
    }

    async fn last_audit(&self) -> (AuditAction, String, AuditOutcome, String, String) {
        let entry = self.store.audit().await.pop().unwrap();
        (
            entry.action,
            entry.subject,
            entry.outcome,
            entry.target,
            entry.request_id,
        )
    }
}

#[tokio::test]
async fn users_manage_their_own_tokens_and_admins_everyones() {
    let world = World::new().await;
    let bot = world.user("ci-bot", &[]).await;
    let alice = world.user("alice", &[]).await;

    let (own, _) = world
        .auth
        .create_token(
            &bot,
            &user("ci-bot"),
            Some(Duration::from_secs(60)),
            "req-1",
        )
        .await
        .unwrap();
    let (action, subject, outcome, target, request) = world.last_audit().await;
    assert_eq!(
        (action, outcome),
        (AuditAction::TokenCreate, AuditOutcome::Succeeded)
    );
    assert_eq!(
        (subject.as_str(), request.as_str()),
        ("user:ci-bot", "req-1")
    );
    assert_eq!(target, format!("{} user:ci-bot", own.id));

    let error = world
        .auth
        .create_token(&bot, &user("alice"), None, "req-2")
        .await
        .unwrap_err();
    assert_eq!(error.code(), "PERMISSION_DENIED");
    let (action, _, outcome, target, _) = world.last_audit().await;
    assert_eq!(
        (action, outcome, target.as_str()),
        (AuditAction::TokenCreate, AuditOutcome::Denied, "user:alice")
    );

    // Tokens go to users only, and live a bounded time.
    let group = Principal::parse("group:platform").unwrap();
    let error = world
        .auth
        .create_token(&world.admin, &group, None, "req-3")
        .await
        .unwrap_err();
    assert_eq!(error.code(), "INVALID_PRINCIPAL");
    assert_eq!(world.last_audit().await.2, AuditOutcome::Failed);
    let error = world
        .auth
        .create_token(&world.admin, &user("x"), Some(Duration::ZERO), "req-4")
        .await
        .unwrap_err();
    assert_eq!(error.code(), "INVALID_EXPIRES_IN");

    // Listing: own tokens, or all for an admin; never a secret.
    let listed = world.auth.list_tokens(&bot).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|token| token.subject == user("ci-bot")));
    assert_eq!(world.auth.list_tokens(&world.admin).await.unwrap().len(), 3);

    // Revoking: alice may not revoke the bot's token; the bot may.
    let error = world
        .auth
        .revoke_token(&alice, &own.id, "req-5")
        .await
        .unwrap_err();
    assert_eq!(error.code(), "PERMISSION_DENIED");
    let (action, _, outcome, target, _) = world.last_audit().await;
    assert_eq!(
        (action, outcome),
        (AuditAction::TokenRevoke, AuditOutcome::Denied)
    );
    assert_eq!(target, format!("{} user:ci-bot", own.id));
    world
        .auth
        .revoke_token(&bot, &own.id, "req-6")
        .await
        .unwrap();
    assert_eq!(world.last_audit().await.2, AuditOutcome::Succeeded);
    let error = world
        .auth
        .revoke_token(&bot, &own.id, "req-7")
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::TokenNotFound(_)));
    assert_eq!(error.code(), "TOKEN_NOT_FOUND");
    let (action, _, outcome, _, request) = world.last_audit().await;
    assert_eq!(
        (action, outcome, request.as_str()),
        (AuditAction::TokenRevoke, AuditOutcome::Failed, "req-7")
    );

    // Anonymous: unauthenticated, and audited.
    let error = world
        .auth
        .create_token(&Caller::Anonymous, &user("x"), None, "req-8")
        .await
        .unwrap_err();
    assert_eq!(error.code(), "UNAUTHENTICATED");
    let (_, subject, outcome, _, _) = world.last_audit().await;
    assert_eq!(
        (subject.as_str(), outcome),
        ("anonymous", AuditOutcome::Denied)
    );
    assert_eq!(
        world
            .auth
            .list_tokens(&Caller::Anonymous)
            .await
            .unwrap_err()
            .code(),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn an_admin_grant_makes_an_admin() {
    let world = World::new().await;
    let root = world.user("root", &[("*", Role::Admin)]).await;
    let (_, _) = world
        .auth
        .create_token(&root, &user("someone"), None, "req-1")
        .await
        .unwrap();
    assert_eq!(world.auth.list_tokens(&root).await.unwrap().len(), 2);
    let whoami = world.auth.whoami(&root).await.unwrap();
    assert_eq!(whoami.subject, Some(user("root")));
    assert_eq!(whoami.roles, vec![(Scope::All, Role::Admin)]);
}

#[tokio::test]
async fn owners_grant_within_their_scope_up_to_owner() {
    let world = World::new().await;
    let alice = world
        .user("alice", &[("acme.payments.*", Role::Owner)])
        .await;
    let bot = Principal::parse("user:ci-bot").unwrap();

    let granted = world
        .auth
        .create_grant(
            &alice,
            &bot,
            &scope("acme.payments.ledger"),
            Role::Writer,
            "req-1",
        )
        .await
        .unwrap();
    assert_eq!(granted.created_by, "user:alice");
    let (action, _, outcome, target, _) = world.last_audit().await;
    assert_eq!(
        (action, outcome),
        (AuditAction::GrantCreate, AuditOutcome::Succeeded)
    );
    assert_eq!(
        target,
        format!("{} user:ci-bot writer acme.payments.ledger", granted.id)
    );
    world
        .auth
        .create_grant(
            &alice,
            &bot,
            &scope("acme.payments.cards.*"),
            Role::Owner,
            "req-2",
        )
        .await
        .unwrap();

    for (scope_text, role, code) in [
        ("acme.*", Role::Reader, "PERMISSION_DENIED"),
        ("other", Role::Writer, "PERMISSION_DENIED"),
        ("*", Role::Admin, "PERMISSION_DENIED"),
        ("acme.payments.x", Role::Admin, "INVALID_SCOPE"),
    ] {
        let error = world
            .auth
            .create_grant(&alice, &bot, &scope(scope_text), role, "req-3")
            .await
            .unwrap_err();
        assert_eq!(error.code(), code, "{scope_text} {role}");
        let expected = if code == "PERMISSION_DENIED" {
            AuditOutcome::Denied
        } else {
            AuditOutcome::Failed
        };
        let (action, _, outcome, target, _) = world.last_audit().await;
        assert_eq!((action, outcome), (AuditAction::GrantCreate, expected));
        assert_eq!(target, format!("user:ci-bot {role} {scope_text}"));
    }

    // Deleting follows the same rules; a grant outside alice's scope is not hers.
    world
        .auth
        .delete_grant(&alice, &granted.id, "req-4")
        .await
        .unwrap();
    let (action, _, outcome, target, _) = world.last_audit().await;
    assert_eq!(
        (action, outcome),
        (AuditAction::GrantDelete, AuditOutcome::Succeeded)
    );
    assert_eq!(
        target,
        format!("{} user:ci-bot writer acme.payments.ledger", granted.id)
    );
    let elsewhere = world
        .auth
        .create_grant(&world.admin, &bot, &scope("common"), Role::Writer, "req-5")
        .await
        .unwrap();
    let error = world
        .auth
        .delete_grant(&alice, &elsewhere.id, "req-6")
        .await
        .unwrap_err();
    assert_eq!(error.code(), "PERMISSION_DENIED");
    assert_eq!(world.last_audit().await.2, AuditOutcome::Denied);
    let missing = AccessId::parse("nope").unwrap();
    let error = world
        .auth
        .delete_grant(&alice, &missing, "req-7")
        .await
        .unwrap_err();
    assert_eq!(error.code(), "GRANT_NOT_FOUND");
    assert_eq!(world.last_audit().await.2, AuditOutcome::Failed);
}

#[tokio::test]
async fn only_admins_grant_admin_and_only_on_everything() {
    let world = World::new().await;
    let someone = user("someone");
    let error = world
        .auth
        .create_grant(&world.admin, &someone, &scope("common"), Role::Admin, "r")
        .await
        .unwrap_err();
    assert_eq!(error.code(), "INVALID_SCOPE");
    world
        .auth
        .create_grant(&world.admin, &someone, &Scope::All, Role::Admin, "r")
        .await
        .unwrap();
    let writer = world.user("writer", &[("*", Role::Writer)]).await;
    let error = world
        .auth
        .create_grant(&writer, &someone, &scope("common"), Role::Reader, "r")
        .await
        .unwrap_err();
    assert_eq!(error.code(), "PERMISSION_DENIED");
}

#[tokio::test]
async fn grant_listings_show_what_the_caller_holds_or_owns() {
    let world = World::new().await;
    let alice = world.user("alice", &[("acme.*", Role::Owner)]).await;
    let bob = world.user("bob", &[("common", Role::Writer)]).await;
    let bot = user("ci-bot");
    world
        .auth
        .create_grant(&alice, &bot, &scope("acme.x"), Role::Writer, "r")
        .await
        .unwrap();
    world
        .auth
        .create_grant(&world.admin, &bot, &scope("other"), Role::Writer, "r")
        .await
        .unwrap();

    assert_eq!(
        world
            .auth
            .list_grants(&world.admin, None, None)
            .await
            .unwrap()
            .len(),
        4
    );
    let seen = world.auth.list_grants(&alice, None, None).await.unwrap();
    let seen: Vec<String> = seen
        .iter()
        .map(|g| format!("{} {}", g.subject, g.scope))
        .collect();
    assert_eq!(seen, vec!["user:alice acme.*", "user:ci-bot acme.x"]);
    let seen = world.auth.list_grants(&bob, None, None).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].subject, user("bob"));

    let filtered = world
        .auth
        .list_grants(&world.admin, Some(&bot), None)
        .await
        .unwrap();
    assert_eq!(filtered.len(), 2);
    let filtered = world
        .auth
        .list_grants(&world.admin, Some(&bot), Some(&scope("other")))
        .await
        .unwrap();
    assert_eq!(filtered.len(), 1);
}

#[tokio::test]
async fn whoami_names_the_caller_and_its_roles() {
    let world = World::new().await;
    let alice = world
        .user(
            "alice",
            &[("acme.*", Role::Owner), ("common", Role::Reader)],
        )
        .await;
    let whoami = world.auth.whoami(&alice).await.unwrap();
    assert_eq!(whoami.subject, Some(user("alice")));
    assert!(whoami.groups.is_empty());
    assert_eq!(
        whoami.roles,
        vec![
            (scope("common"), Role::Reader),
            (scope("acme.*"), Role::Owner)
        ]
    );
    let anonymous = world.auth.whoami(&Caller::Anonymous).await.unwrap();
    assert_eq!(anonymous.subject, None);
    assert!(anonymous.roles.is_empty());
}

#[tokio::test]
async fn the_audit_log_is_for_admins_in_order_with_request_ids() {
    let world = World::new().await;
    let bob = world.user("bob", &[]).await;
    let query = AuditQuery {
        after: None,
        limit: 100,
        subject: None,
        action: None,
    };
    let error = world.auth.audit(&bob, &query).await.unwrap_err();
    assert_eq!(error.code(), "PERMISSION_DENIED");
    assert_eq!(
        world
            .auth
            .audit(&Caller::Anonymous, &query)
            .await
            .unwrap_err()
            .code(),
        "UNAUTHENTICATED"
    );
    let _ = world
        .auth
        .create_token(&bob, &user("eve"), None, "req-denied")
        .await;

    let records = world.auth.audit(&world.admin, &query).await.unwrap();
    let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    let last = &records.last().unwrap().entry;
    assert_eq!(
        (last.request_id.as_str(), last.outcome),
        ("req-denied", AuditOutcome::Denied)
    );

    let only_bob = AuditQuery {
        subject: Some("user:bob".to_owned()),
        ..query.clone()
    };
    assert_eq!(
        world
            .auth
            .audit(&world.admin, &only_bob)
            .await
            .unwrap()
            .len(),
        1
    );
    for limit in [0, 1001] {
        let error = world
            .auth
            .audit(
                &world.admin,
                &AuditQuery {
                    limit,
                    ..query.clone()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(error.code(), "INVALID_LIMIT");
    }
}

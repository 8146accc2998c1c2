//! Who may do what: pure functions of an identity and a grants snapshot.
//! Nothing here reads a store or a clock, so every rule is tested on plain
//! grant lists.

use spoke_domain::{Grant, ModuleName, Principal, Role, Scope};

use crate::{Identity, Write};

/// An identity's standing under a grants snapshot.
pub(crate) struct Standing<'a> {
    identity: &'a Identity,
    grants: &'a [Grant],
}

impl<'a> Standing<'a> {
    pub fn new(identity: &'a Identity, grants: &'a [Grant]) -> Standing<'a> {
        Standing { identity, grants }
    }

    /// The grants to the identity's user or to one of its groups.
    fn held(&self) -> impl Iterator<Item = &'a Grant> + '_ {
        self.grants
            .iter()
            .filter(|grant| self.identity.is(&grant.subject))
    }

    /// The bootstrap identity, or the holder of an `admin` grant on `*`.
    pub fn is_admin(&self) -> bool {
        self.identity.is_bootstrap()
            || self
                .held()
                .any(|grant| grant.role == Role::Admin && grant.scope == Scope::All)
    }

    /// The highest role held on a scope covering `module`.
    pub fn role_on(&self, module: &ModuleName) -> Option<Role> {
        if self.is_admin() {
            return Some(Role::Admin);
        }
        self.held()
            .filter(|grant| grant.scope.covers(module))
            .map(effective_role)
            .max()
    }

    /// Whether the identity is an owner of a scope containing all of
    /// `scope` (an admin owns everything).
    fn owns(&self, scope: &Scope) -> bool {
        self.is_admin()
            || self
                .held()
                .any(|grant| effective_role(grant) >= Role::Owner && scope.within(&grant.scope))
    }

    /// Every (scope, role) the identity holds, sorted, without repeats.
    pub fn roles(&self) -> Vec<(Scope, Role)> {
        let mut roles: Vec<(Scope, Role)> = self
            .held()
            .map(|grant| (grant.scope.clone(), grant.role))
            .collect();
        if self.identity.is_bootstrap() {
            roles.push((Scope::All, Role::Admin));
        }
        roles.sort();
        roles.dedup();
        roles
    }

    pub fn check_write(&self, write: &Write<'_>) -> Result<(), String> {
        let held = self.role_on(write.module());
        if held >= Some(write.required_role()) {
            Ok(())
        } else {
            Err(write.refusal(&self.identity.subject.to_string(), held))
        }
    }

    /// Creating or deleting a grant of `role` on `scope`: an admin may do
    /// anything; an owner may grant up to `owner` within a scope it owns.
    /// (That `admin` goes only with `*` is validated before.)
    pub fn check_grant_change(&self, scope: &Scope, role: Role) -> Result<(), String> {
        let subject = &self.identity.subject;
        if self.is_admin() {
            Ok(())
        } else if role == Role::Admin {
            Err(format!(
                "{subject} may not grant or remove the admin role: only an admin may"
            ))
        } else if self.owns(scope) {
            Ok(())
        } else {
            Err(format!(
                "{subject} may not grant or remove roles on {scope}: that needs the owner role on a scope containing it"
            ))
        }
    }

    /// Listing grants: an admin sees all, others the grants they hold and
    /// those within the scopes they own.
    pub fn may_see(&self, grant: &Grant) -> bool {
        self.identity.is(&grant.subject) || self.owns(&grant.scope)
    }

    /// Tokens: an admin for anyone, a user for itself.
    pub fn check_tokens_of(&self, subject: &Principal) -> Result<(), String> {
        if self.is_admin() || &self.identity.subject == subject {
            Ok(())
        } else {
            Err(format!(
                "{} may not manage tokens of {subject}: only its own, unless it is an admin",
                self.identity.subject
            ))
        }
    }

    pub fn check_admin(&self, what: &str) -> Result<(), String> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(format!(
                "{} may not {what}: that needs the admin role",
                self.identity.subject
            ))
        }
    }
}

/// `admin` counts only on `*`; a stray admin grant on a narrower scope (the
/// rules never create one) counts as `owner` there.
fn effective_role(grant: &Grant) -> Role {
    if grant.role == Role::Admin && grant.scope != Scope::All {
        Role::Owner
    } else {
        grant.role
    }
}

#[cfg(test)]
mod tests {
    use spoke_domain::{AccessId, Timestamp, VersionId};

    use super::*;
    use crate::Via;

    fn principal(text: &str) -> Principal {
        Principal::parse(text).unwrap()
    }

    fn module(name: &str) -> ModuleName {
        ModuleName::parse(name).unwrap()
    }

    fn scope(text: &str) -> Scope {
        Scope::parse(text).unwrap()
    }

    fn grant(subject: &str, scope_text: &str, role: Role) -> Grant {
        Grant {
            id: AccessId::parse("g").unwrap(),
            subject: principal(subject),
            scope: scope(scope_text),
            role,
            created_at: Timestamp::from_unix_seconds(0).unwrap(),
            created_by: "user:admin".to_owned(),
        }
    }

    fn user(name: &str, groups: &[&str]) -> Identity {
        Identity {
            subject: principal(&format!("user:{name}")),
            groups: groups
                .iter()
                .map(|g| principal(&format!("group:{g}")))
                .collect(),
            via: Via::Oidc,
        }
    }

    fn grants() -> Vec<Grant> {
        vec![
            grant("user:ci-bot", "common", Role::Writer),
            grant("group:platform", "acme.*", Role::Writer),
            grant("user:alice", "acme.payments.*", Role::Owner),
            grant("user:alice", "acme.payments.ledger", Role::Reader),
            grant("user:root", "*", Role::Admin),
            grant("user:mallory", "acme.*", Role::Admin),
            grant("group:everyone", "*", Role::Reader),
        ]
    }

    #[test]
    fn a_role_is_the_highest_over_user_and_group_grants_covering_the_module() {
        let grants = grants();
        let bot = user("ci-bot", &[]);
        let standing = Standing::new(&bot, &grants);
        assert_eq!(standing.role_on(&module("common")), Some(Role::Writer));
        assert_eq!(standing.role_on(&module("common.x")), None);
        assert_eq!(standing.role_on(&module("user")), None);

        let carol = user("carol", &["platform", "everyone"]);
        let standing = Standing::new(&carol, &grants);
        assert_eq!(
            standing.role_on(&module("acme.billing")),
            Some(Role::Writer)
        );
        assert_eq!(standing.role_on(&module("acme")), Some(Role::Reader));
        assert_eq!(standing.role_on(&module("other")), Some(Role::Reader));

        // Owner by prefix beats the narrower reader grant.
        let alice = user("alice", &[]);
        let standing = Standing::new(&alice, &grants);
        assert_eq!(
            standing.role_on(&module("acme.payments.ledger")),
            Some(Role::Owner)
        );
        assert_eq!(standing.role_on(&module("acme.payments")), None);
    }

    #[test]
    fn admins_are_the_bootstrap_identity_and_admin_grants_on_everything() {
        let grants = grants();
        let root = user("root", &[]);
        assert!(Standing::new(&root, &grants).is_admin());
        assert_eq!(
            Standing::new(&root, &grants).role_on(&module("anything")),
            Some(Role::Admin)
        );
        let bootstrap = Identity {
            subject: principal("user:admin"),
            groups: vec![],
            via: Via::Bootstrap,
        };
        assert!(Standing::new(&bootstrap, &[]).is_admin());
        assert_eq!(
            Standing::new(&bootstrap, &[]).roles(),
            vec![(Scope::All, Role::Admin)]
        );

        // An admin grant on a narrower scope is only an owner there.
        let mallory = user("mallory", &[]);
        let standing = Standing::new(&mallory, &grants);
        assert!(!standing.is_admin());
        assert_eq!(standing.role_on(&module("acme.x")), Some(Role::Owner));
        assert_eq!(standing.role_on(&module("other")), None);
        // A user:admin that is not the bootstrap token is nobody special.
        let impostor = user("admin", &[]);
        assert!(!Standing::new(&impostor, &grants).is_admin());
    }

    #[test]
    fn writes_need_writer_and_policies_need_owner() {
        let grants = grants();
        let bot = user("ci-bot", &[]);
        let standing = Standing::new(&bot, &grants);
        let common = module("common");
        let version = VersionId::parse("1.0.0").unwrap();
        assert!(
            standing
                .check_write(&Write::PushVersion {
                    module: &common,
                    version: &version
                })
                .is_ok()
        );
        assert!(
            standing
                .check_write(&Write::CreateModule { module: &common })
                .is_ok()
        );
        let refusal = standing
            .check_write(&Write::ChangePolicy { module: &common })
            .unwrap_err();
        assert!(
            refusal.contains("user:ci-bot") && refusal.contains("owner"),
            "{refusal}"
        );
        assert!(refusal.contains("it holds writer"), "{refusal}");
        let other = module("user");
        let refusal = standing
            .check_write(&Write::CreateModule { module: &other })
            .unwrap_err();
        assert!(refusal.contains("no role"), "{refusal}");

        let reader = user("dave", &["everyone"]);
        let standing = Standing::new(&reader, &grants);
        assert!(
            standing
                .check_write(&Write::PushVersion {
                    module: &common,
                    version: &version
                })
                .is_err()
        );

        let alice = user("alice", &[]);
        let ledger = module("acme.payments.ledger");
        assert!(
            Standing::new(&alice, &grants)
                .check_write(&Write::ChangePolicy { module: &ledger })
                .is_ok()
        );
    }

    #[test]
    fn owners_grant_up_to_owner_within_their_scopes() {
        let grants = grants();
        let alice = user("alice", &[]);
        let standing = Standing::new(&alice, &grants);
        for (scope_text, role) in [
            ("acme.payments.ledger", Role::Owner),
            ("acme.payments.ledger", Role::Reader),
            ("acme.payments.*", Role::Writer),
            ("acme.payments.cards.*", Role::Owner),
        ] {
            assert!(
                standing
                    .check_grant_change(&scope(scope_text), role)
                    .is_ok(),
                "{scope_text} {role}"
            );
        }
        for (scope_text, role) in [
            ("acme.payments", Role::Reader),
            ("acme.*", Role::Reader),
            ("*", Role::Reader),
            ("other", Role::Writer),
            ("acme.payments.ledger", Role::Admin),
            ("*", Role::Admin),
        ] {
            assert!(
                standing
                    .check_grant_change(&scope(scope_text), role)
                    .is_err(),
                "{scope_text} {role}"
            );
        }
        // A writer owns nothing.
        let bot = user("ci-bot", &[]);
        assert!(
            Standing::new(&bot, &grants)
                .check_grant_change(&scope("common"), Role::Reader)
                .is_err()
        );
        // An admin may grant anything.
        let root = user("root", &[]);
        let standing = Standing::new(&root, &grants);
        assert!(
            standing
                .check_grant_change(&scope("*"), Role::Admin)
                .is_ok()
        );
        assert!(
            standing
                .check_grant_change(&scope("x"), Role::Owner)
                .is_ok()
        );
    }

    #[test]
    fn grants_are_visible_to_their_holders_and_to_owners_of_their_scope() {
        let grants = grants();
        let alice = user("alice", &[]);
        let standing = Standing::new(&alice, &grants);
        let visible: Vec<_> = grants.iter().filter(|g| standing.may_see(g)).collect();
        assert_eq!(visible.len(), 2);
        assert!(visible.iter().all(|g| g.subject == principal("user:alice")));

        let owner_of_acme = vec![
            grant("user:bob", "acme.*", Role::Owner),
            grant("user:x", "acme.payments.*", Role::Writer),
            grant("user:y", "common", Role::Writer),
        ];
        let bob = user("bob", &[]);
        let standing = Standing::new(&bob, &owner_of_acme);
        let visible: Vec<_> = owner_of_acme
            .iter()
            .filter(|g| standing.may_see(g))
            .collect();
        assert_eq!(visible.len(), 2);

        let carol = user("carol", &["platform"]);
        let standing = Standing::new(&carol, &grants);
        let visible: Vec<_> = grants.iter().filter(|g| standing.may_see(g)).collect();
        assert_eq!(visible, vec![&grants[1]]);
    }

    #[test]
    fn tokens_are_managed_by_admins_and_by_users_for_themselves() {
        let grants = grants();
        let bot = user("ci-bot", &[]);
        let standing = Standing::new(&bot, &grants);
        assert!(standing.check_tokens_of(&principal("user:ci-bot")).is_ok());
        assert!(standing.check_tokens_of(&principal("user:alice")).is_err());
        let root = user("root", &[]);
        assert!(
            Standing::new(&root, &grants)
                .check_tokens_of(&principal("user:alice"))
                .is_ok()
        );
        assert!(standing.check_admin("read the audit log").is_err());
        assert!(
            Standing::new(&root, &grants)
                .check_admin("read the audit log")
                .is_ok()
        );
    }

    #[test]
    fn roles_list_what_the_identity_holds() {
        let grants = grants();
        let carol = user("carol", &["platform", "everyone"]);
        assert_eq!(
            Standing::new(&carol, &grants).roles(),
            vec![(Scope::All, Role::Reader), (scope("acme.*"), Role::Writer)]
        );
    }
}

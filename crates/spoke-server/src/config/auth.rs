//! `SPOKE_AUTH_*` and `SPOKE_OIDC_*`: access control (see
//! docs/security.md). The values are checked alone here and together by
//! `spoke_auth::Auth::new` when the server starts (the bootstrap token's
//! strength, the issuer's URL), so the rules live in one place.

use std::time::Duration;

use spoke_auth::{AuthConfig, OidcConfig};

use super::table;
use super::{ConfigError, Raw, Secret};

/// Access control's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthSettings {
    /// `SPOKE_AUTH_ENABLED`: off, every request is allowed.
    pub enabled: bool,
    /// `SPOKE_AUTH_ANONYMOUS_READ`: reads need no credentials.
    pub anonymous_read: bool,
    /// `SPOKE_AUTH_BOOTSTRAP_TOKEN`: authenticates as `user:admin`.
    pub bootstrap_token: Option<Secret>,
    /// `SPOKE_OIDC_ISSUER`, `SPOKE_OIDC_AUDIENCE`, `SPOKE_OIDC_GROUPS_CLAIM`.
    pub oidc: Option<OidcConfig>,
    /// `SPOKE_AUTH_CACHE_TTL`: how long verified credentials and the grants
    /// snapshot are reused; the longest a revocation through another
    /// instance goes unnoticed.
    pub cache_ttl: Duration,
}

impl Default for AuthSettings {
    /// The defaults of the settings table.
    fn default() -> AuthSettings {
        AuthSettings {
            enabled: table::AUTH_ENABLED.default_value(),
            anonymous_read: table::AUTH_ANONYMOUS_READ.default_value(),
            bootstrap_token: table::AUTH_BOOTSTRAP_TOKEN.default_value(),
            oidc: None,
            cache_ttl: table::AUTH_CACHE_TTL.default_value(),
        }
    }
}

impl AuthSettings {
    /// What `spoke_auth::Auth::new` takes.
    pub fn auth_config(&self) -> AuthConfig {
        AuthConfig {
            enabled: self.enabled,
            anonymous_read: self.anonymous_read,
            bootstrap_token: self
                .bootstrap_token
                .as_ref()
                .map(|token| spoke_auth::Secret::new(token.expose())),
            oidc: self.oidc.clone(),
            cache_ttl: self.cache_ttl,
        }
    }

    /// Settings that have no effect with access control off, as sentences
    /// for a startup warning.
    pub(super) fn inert(&self) -> Vec<String> {
        if self.enabled {
            return Vec::new();
        }
        let mut notes = Vec::new();
        if self.bootstrap_token.is_some() {
            notes.push(
                "SPOKE_AUTH_BOOTSTRAP_TOKEN is ignored with SPOKE_AUTH_ENABLED=false".to_owned(),
            );
        }
        if self.oidc.is_some() {
            notes.push("SPOKE_OIDC_ISSUER is ignored with SPOKE_AUTH_ENABLED=false".to_owned());
        }
        notes
    }
}

/// The settings; an audience or a groups claim of its own only with an
/// issuer (alone they would suggest JWTs are checked that are not accepted).
pub(super) fn auth_settings(raw: &Raw) -> Result<AuthSettings, ConfigError> {
    let issuer = raw.value(&table::OIDC_ISSUER)?;
    let audience = raw.value(&table::OIDC_AUDIENCE)?;
    let groups_claim = raw
        .given(&table::OIDC_GROUPS_CLAIM)?
        .filter(|claim| *claim != table::OIDC_GROUPS_CLAIM.default_value());
    let oidc = match issuer {
        Some(issuer) => Some(OidcConfig {
            issuer,
            audience,
            groups_claim: groups_claim.unwrap_or_else(|| table::OIDC_GROUPS_CLAIM.default_value()),
        }),
        None => {
            for (setting, given) in [
                (&table::OIDC_AUDIENCE.doc, audience.is_some()),
                (&table::OIDC_GROUPS_CLAIM.doc, groups_claim.is_some()),
            ] {
                if given {
                    return Err(ConfigError::Conflict {
                        var: setting.var(),
                        message: "has no effect without SPOKE_OIDC_ISSUER".to_owned(),
                    });
                }
            }
            None
        }
    };
    Ok(AuthSettings {
        enabled: raw.value(&table::AUTH_ENABLED)?,
        anonymous_read: raw.value(&table::AUTH_ANONYMOUS_READ)?,
        bootstrap_token: raw.value(&table::AUTH_BOOTSTRAP_TOKEN)?,
        oidc,
        cache_ttl: raw.value(&table::AUTH_CACHE_TTL)?,
    })
}

/// `SPOKE_OIDC_ISSUER`: an `http(s)://` URL (whether plain HTTP is allowed,
/// only to loopback, is `spoke_auth`'s rule).
pub(super) fn issuer(raw: &str) -> Option<Option<String>> {
    super::values::url_with_scheme(raw, &["https", "http"]).then(|| Some(raw.to_owned()))
}

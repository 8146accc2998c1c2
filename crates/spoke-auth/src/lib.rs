//! Spoke's access control: who a request is and what it may do.
//!
//! - Credentials: Spoke API tokens (`spoke_<id>_<secret>`, stored as the
//!   secret's SHA-256, compared in constant time), the bootstrap token of
//!   the configuration, and OIDC bearer JWTs (discovery, JWKS, signature
//!   with the algorithm the key pins, `iss`, `aud`, `exp`/`nbf`).
//! - Permissions: roles (`reader` < `writer` < `owner`, and `admin` on `*`)
//!   granted to users and groups on scopes, evaluated over a snapshot of
//!   every grant (`rules.rs`, pure).
//! - Management: tokens, grants, `whoami` and the audit log, every write
//!   audited, denied and failed attempts included.
//!
//! No HTTP server, no wire format and no environment: front-ends pass the
//! raw `Authorization` value in and translate [`Caller`], [`AuthError`] and
//! the records out. See `docs/security.md`.
#![forbid(unsafe_code)]

mod bearer;
mod cache;
mod caller;
mod config;
mod error;
mod failure;
mod oidc;
mod rules;
mod secret;
mod service;
mod token;
mod write;

pub use caller::{Caller, Identity, Via};
pub use config::{AuthConfig, OidcConfig};
pub use error::AuthError;
pub use failure::{AuthFailure, FailureReason};
pub use secret::Secret;
pub use service::{Auth, MAX_TOKEN_LIFETIME, PushEnd, ReadableModules, Whoami, parse_lifetime};
pub use write::Write;

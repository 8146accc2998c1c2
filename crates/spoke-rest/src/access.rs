//! Who a request is, and what it may do: every handler takes an [`Access`]
//! and asks it before answering. Authentication is not done here: the
//! server's layer verifies the `Authorization` header and puts the
//! [`Caller`] in the request's extensions (none there, as with access
//! control off or a router used on its own: anonymous).

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::HeaderValue;
use axum::http::request::Parts;
use spoke_auth::{Auth, AuthError, Caller, PushEnd, Write};
use spoke_domain::{AccessRecords, DependencyRef, ModuleName};
use spoke_registry::{ModuleFilter, PushOutcome, PushRecords, Registry, RegistryError};

use crate::ApiError;

/// The header the server sets on every request (a sane client value or
/// one of its own); the audit log names writes by it.
const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request's caller and id, with the access control deciding for them.
pub(crate) struct Access {
    pub(crate) auth: Auth,
    pub(crate) caller: Caller,
    /// Shares the header's bytes: most requests (reads) never look at it.
    request_id: Option<HeaderValue>,
}

impl<S> FromRequestParts<S> for Access
where
    Auth: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or(Caller::Anonymous);
        let request_id = parts.headers.get(REQUEST_ID_HEADER).cloned();
        Ok(Access {
            auth: Auth::from_ref(state),
            caller,
            request_id,
        })
    }
}

/// [`Access`] for the access-management routes: while access control is
/// off they answer 409 `AUTH_DISABLED` before reading anything else, so no
/// input is judged by rules that do not apply.
pub(crate) struct Managing(pub(crate) Access);

impl<S> FromRequestParts<S> for Managing
where
    Auth: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Ok(access) = Access::from_request_parts(parts, state).await;
        if access.auth.enabled() {
            Ok(Managing(access))
        } else {
            Err(AuthError::Disabled.into())
        }
    }
}

impl Access {
    /// The request's `x-request-id`, as the audit log names writes by it
    /// (empty when absent).
    pub(crate) fn request_id(&self) -> &str {
        self.request_id
            .as_ref()
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    /// Whether the caller may read `module`.
    pub(crate) async fn read(&self, module: &ModuleName) -> Result<(), ApiError> {
        Ok(self.auth.authorize_read(&self.caller, Some(module)).await?)
    }

    /// The modules the caller may read, for a search (`None`: all of them).
    pub(crate) async fn readable(&self) -> Result<Option<ModuleFilter>, ApiError> {
        let readable = self.auth.readable_modules(&self.caller).await?;
        Ok(readable.map(|rights| -> ModuleFilter {
            Arc::new(move |module: &ModuleName| rights.may_read(module))
        }))
    }

    /// Whether the caller may list modules or run a stateless check.
    pub(crate) async fn list(&self) -> Result<(), ApiError> {
        Ok(self.auth.authorize_read(&self.caller, None).await?)
    }

    /// Whether the caller may compile against `dependencies` (see
    /// [`Auth::authorize_dependencies`]); `records` are a push's, or
    /// [`AccessRecords::NONE`] for a check.
    pub(crate) async fn dependencies(
        &self,
        dependencies: &[DependencyRef],
        records: &AccessRecords,
    ) -> Result<(), ApiError> {
        Ok(self
            .auth
            .authorize_dependencies(&self.caller, dependencies, records)
            .await?)
    }

    /// Decides a registry write (a denial is audited): the records to hand
    /// the registry with it, then to [`Access::settle`] with its answer.
    pub(crate) async fn authorize(&self, write: Write<'_>) -> Result<AccessRecords, ApiError> {
        Ok(self
            .auth
            .authorize_write(&self.caller, write, self.request_id())
            .await?)
    }

    /// A push: authorized as a push to the module and, when it may create
    /// the module, as its creation (the creation's records are stored only
    /// if the push does create it).
    pub(crate) async fn authorize_push(
        &self,
        push: Write<'_>,
        may_create: bool,
    ) -> Result<PushRecords, ApiError> {
        let version = self.authorize(push).await?;
        let module = if may_create {
            self.authorize(Write::CreateModule {
                module: push.module(),
            })
            .await?
        } else {
            AccessRecords::NONE
        };
        Ok(PushRecords { module, version })
    }

    /// Ends an authorized write with the registry's answer: stored, its
    /// records count at once (a new owner grant is seen by the next
    /// check); refused, its audit entry is appended as `failed`. The
    /// registry's answer is the response either way: an audit write that
    /// fails is logged, never put in its place.
    pub(crate) async fn settle<T>(
        &self,
        records: AccessRecords,
        result: Result<T, RegistryError>,
    ) -> Result<T, ApiError> {
        match result {
            Ok(value) => {
                self.auth.records_written(&records);
                Ok(value)
            }
            Err(error) => {
                if let Err(audit_error) = self.auth.record_failure(records).await {
                    tracing::error!(
                        error = %audit_error,
                        request_id = %self.request_id(),
                        "could not record a failed write in the audit log"
                    );
                }
                Err(error.into())
            }
        }
    }

    /// Ends an authorized push with the registry's answer (see
    /// [`Auth::settle_push`]). The registry's answer is the response either
    /// way: an audit write that fails is logged, never put in its place.
    pub(crate) async fn settle_push(
        &self,
        registry: &Registry,
        module: &ModuleName,
        records: PushRecords,
        pushed: Result<PushOutcome, RegistryError>,
    ) -> Result<PushOutcome, ApiError> {
        let end = match &pushed {
            Ok(PushOutcome::Created(_)) => PushEnd::Stored,
            Ok(PushOutcome::Unchanged(_)) => PushEnd::Unchanged,
            Err(_) => PushEnd::Refused {
                module_exists: registry.get_module(module).await.is_ok(),
            },
        };
        let PushRecords { module, version } = records;
        if let Err(audit_error) = self.auth.settle_push(module, version, end).await {
            tracing::error!(
                error = %audit_error,
                request_id = %self.request_id(),
                "could not record a push in the audit log"
            );
        }
        Ok(pushed?)
    }
}

//! `spoke.registry.v1.AccessService`: tokens, grants, whoami and the audit
//! log, over `spoke_auth::Auth`, with the REST routes' semantics. Every
//! rule (who may do what, what is audited) lives in `Auth`.

use spoke_auth::{Auth, AuthError, parse_lifetime};
use spoke_domain::{
    AccessId, AuditAction, AuditQuery, AuditRecord, Cursor, Grant, PageRequest, Principal, Role,
    Scope, TokenRecord,
};
use tonic::{Request, Response, Status};

use crate::context::{caller, request_id};
use crate::convert::timestamp;
use crate::proto;
use crate::proto::access_service_server::AccessService;
use crate::status::auth_status;

/// The `spoke.registry.v1.AccessService` implementation.
pub struct AccessApi {
    auth: Auth,
}

impl AccessApi {
    pub fn new(auth: Auth) -> Self {
        Self { auth }
    }
}

type Reply<T> = Result<Response<T>, Status>;

fn reply<T>(result: Result<T, AuthError>) -> Reply<T> {
    result.map(Response::new).map_err(auth_status)
}

/// An optional filter: the empty string filters nothing.
fn filter<T, E>(text: &str, parse: impl FnOnce(&str) -> Result<T, E>) -> Result<Option<T>, E> {
    (!text.is_empty()).then(|| parse(text)).transpose()
}

#[tonic::async_trait]
impl AccessService for AccessApi {
    async fn create_token(
        &self,
        request: Request<proto::CreateTokenRequest>,
    ) -> Reply<proto::CreateTokenResponse> {
        let (caller, request_id) = (caller(&request), request_id(&request));
        let request = request.into_inner();
        reply(
            async {
                let subject = Principal::parse(&request.subject)?;
                let expires_in = request.expires_in.as_deref().map(parse_lifetime);
                let (record, secret) = self
                    .auth
                    .create_token(&caller, &subject, expires_in.transpose()?, &request_id)
                    .await?;
                // The one answer that carries the secret.
                Ok(proto::CreateTokenResponse {
                    id: record.id.to_string(),
                    token: secret.expose().to_owned(),
                    subject: record.subject.to_string(),
                    expires_at: record.expires_at.map(timestamp),
                })
            }
            .await,
        )
    }

    async fn list_tokens(
        &self,
        request: Request<proto::ListTokensRequest>,
    ) -> Reply<proto::ListTokensResponse> {
        reply(
            async {
                let tokens = self.auth.list_tokens(&caller(&request)).await?;
                Ok(proto::ListTokensResponse {
                    tokens: tokens.iter().map(token).collect(),
                })
            }
            .await,
        )
    }

    async fn revoke_token(
        &self,
        request: Request<proto::RevokeTokenRequest>,
    ) -> Reply<proto::RevokeTokenResponse> {
        reply(
            async {
                let id = AccessId::parse(&request.get_ref().id)?;
                self.auth
                    .revoke_token(&caller(&request), &id, &request_id(&request))
                    .await?;
                Ok(proto::RevokeTokenResponse {})
            }
            .await,
        )
    }

    async fn create_grant(
        &self,
        request: Request<proto::CreateGrantRequest>,
    ) -> Reply<proto::CreateGrantResponse> {
        reply(
            async {
                let body = request.get_ref();
                let subject = Principal::parse(&body.subject)?;
                let scope = Scope::parse(&body.scope)?;
                let role = Role::parse(&body.role)?;
                let created = self
                    .auth
                    .create_grant(
                        &caller(&request),
                        &subject,
                        &scope,
                        role,
                        &request_id(&request),
                    )
                    .await?;
                Ok(proto::CreateGrantResponse {
                    grant: Some(grant(&created)),
                })
            }
            .await,
        )
    }

    async fn list_grants(
        &self,
        request: Request<proto::ListGrantsRequest>,
    ) -> Reply<proto::ListGrantsResponse> {
        reply(
            async {
                let body = request.get_ref();
                let subject = filter(&body.subject, Principal::parse)?;
                let scope = filter(&body.scope, Scope::parse)?;
                let grants = self
                    .auth
                    .list_grants(&caller(&request), subject.as_ref(), scope.as_ref())
                    .await?;
                Ok(proto::ListGrantsResponse {
                    grants: grants.iter().map(grant).collect(),
                })
            }
            .await,
        )
    }

    async fn delete_grant(
        &self,
        request: Request<proto::DeleteGrantRequest>,
    ) -> Reply<proto::DeleteGrantResponse> {
        reply(
            async {
                let id = AccessId::parse(&request.get_ref().id)?;
                self.auth
                    .delete_grant(&caller(&request), &id, &request_id(&request))
                    .await?;
                Ok(proto::DeleteGrantResponse {})
            }
            .await,
        )
    }

    async fn who_am_i(
        &self,
        request: Request<proto::WhoAmIRequest>,
    ) -> Reply<proto::WhoAmIResponse> {
        reply(
            async {
                let whoami = self.auth.whoami(&caller(&request)).await?;
                Ok(proto::WhoAmIResponse {
                    subject: whoami
                        .subject
                        .map_or_else(|| "anonymous".to_owned(), |subject| subject.to_string()),
                    groups: whoami.groups.iter().map(ToString::to_string).collect(),
                    roles: whoami
                        .roles
                        .iter()
                        .map(|(scope, role)| proto::ScopedRole {
                            scope: scope.to_string(),
                            role: role.to_string(),
                        })
                        .collect(),
                })
            }
            .await,
        )
    }

    async fn list_audit(
        &self,
        request: Request<proto::ListAuditRequest>,
    ) -> Reply<proto::ListAuditResponse> {
        let caller = caller(&request);
        let request = request.into_inner();
        reply(
            async {
                let after = filter(&request.page_token, |token| {
                    Cursor::parse(token)?.audit_seq()
                })?;
                let mut query = AuditQuery {
                    after,
                    limit: match request.page_size {
                        0 => PageRequest::DEFAULT_LIMIT,
                        size => size,
                    },
                    subject: Some(request.subject).filter(|subject| !subject.is_empty()),
                    action: filter(&request.action, AuditAction::parse)?,
                };
                let records = self.auth.audit(&caller, &query).await?;
                // A full page is the last one when nothing follows it.
                let last = records
                    .last()
                    .filter(|_| records.len() == query.limit as usize)
                    .map(|record| record.seq);
                let next = match last {
                    Some(seq) => {
                        query.after = Some(seq);
                        query.limit = 1;
                        let more = !self.auth.audit(&caller, &query).await?.is_empty();
                        more.then(|| Cursor::after_audit(seq))
                    }
                    None => None,
                };
                Ok(proto::ListAuditResponse {
                    entries: records.iter().map(audit_entry).collect(),
                    next_page_token: next.map(|cursor| cursor.token()).unwrap_or_default(),
                })
            }
            .await,
        )
    }
}

fn token(record: &TokenRecord) -> proto::Token {
    proto::Token {
        id: record.id.to_string(),
        subject: record.subject.to_string(),
        created_at: Some(timestamp(record.created_at)),
        expires_at: record.expires_at.map(timestamp),
        last_used_at: record.last_used_at.map(timestamp),
    }
}

fn grant(grant: &Grant) -> proto::Grant {
    proto::Grant {
        id: grant.id.to_string(),
        subject: grant.subject.to_string(),
        scope: grant.scope.to_string(),
        role: grant.role.to_string(),
        created_at: Some(timestamp(grant.created_at)),
        created_by: grant.created_by.clone(),
    }
}

fn audit_entry(record: &AuditRecord) -> proto::AuditEntry {
    let entry = &record.entry;
    proto::AuditEntry {
        time: Some(timestamp(entry.time)),
        subject: entry.subject.clone(),
        action: entry.action.to_string(),
        target: entry.target.clone(),
        outcome: entry.outcome.to_string(),
        request_id: entry.request_id.clone(),
    }
}

//! Access control over gRPC: `spoke.registry.v1.AccessService`, answered
//! with the REST API's bodies.

use spoke_grpc::proto;

use super::{Converted, Grpc, missing, rpc, timestamp, token};
use crate::wire::{
    AuditEntryBody, AuditList, CreateGrantRequest, CreateTokenRequest, CreatedTokenBody, GrantBody,
    GrantList, ScopedRoleBody, TokenBody, TokenList, WhoAmIBody,
};
use crate::{AuditQuery, ClientError};

const ACCESS_SERVICE: &str = "spoke.registry.v1.AccessService";

impl Grpc {
    pub(crate) async fn create_token(
        &self,
        request: &CreateTokenRequest,
    ) -> Result<CreatedTokenBody, ClientError> {
        let request = proto::CreateTokenRequest {
            subject: request.subject.clone(),
            expires_in: request.expires_in.clone(),
        };
        let response = rpc!(self.once(access.create_token, request))?;
        let expires_at = optional_timestamp(response.expires_at, "expires_at");
        Ok(CreatedTokenBody {
            expires_at: self.decode_access("CreateToken", expires_at)?,
            id: response.id,
            token: response.token,
            subject: response.subject,
        })
    }

    pub(crate) async fn list_tokens(&self) -> Result<TokenList, ClientError> {
        let response = rpc!(self.read(access.list_tokens, proto::ListTokensRequest {}))?;
        let tokens = response.tokens.into_iter().map(token_body).collect();
        Ok(TokenList {
            tokens: self.decode_access("ListTokens", tokens)?,
        })
    }

    pub(crate) async fn revoke_token(&self, id: &str) -> Result<(), ClientError> {
        let request = proto::RevokeTokenRequest { id: id.to_owned() };
        rpc!(self.once(access.revoke_token, request)).map(drop)
    }

    pub(crate) async fn create_grant(
        &self,
        request: &CreateGrantRequest,
    ) -> Result<GrantBody, ClientError> {
        let request = proto::CreateGrantRequest {
            subject: request.subject.clone(),
            scope: request.scope.clone(),
            role: request.role.clone(),
        };
        let response = rpc!(self.once(access.create_grant, request))?;
        let grant = response.grant.ok_or_else(|| missing("grant"));
        self.decode_access("CreateGrant", grant.and_then(grant_body))
    }

    pub(crate) async fn list_grants(
        &self,
        subject: Option<&str>,
        scope: Option<&str>,
    ) -> Result<GrantList, ClientError> {
        let request = proto::ListGrantsRequest {
            subject: subject.unwrap_or_default().to_owned(),
            scope: scope.unwrap_or_default().to_owned(),
        };
        let response = rpc!(self.read(access.list_grants, request))?;
        let grants = response.grants.into_iter().map(grant_body).collect();
        Ok(GrantList {
            grants: self.decode_access("ListGrants", grants)?,
        })
    }

    pub(crate) async fn delete_grant(&self, id: &str) -> Result<(), ClientError> {
        let request = proto::DeleteGrantRequest { id: id.to_owned() };
        rpc!(self.once(access.delete_grant, request)).map(drop)
    }

    pub(crate) async fn whoami(&self) -> Result<WhoAmIBody, ClientError> {
        let response = rpc!(self.read(access.who_am_i, proto::WhoAmIRequest {}))?;
        Ok(WhoAmIBody {
            subject: response.subject,
            groups: response.groups,
            roles: response
                .roles
                .into_iter()
                .map(|r| ScopedRoleBody {
                    scope: r.scope,
                    role: r.role,
                })
                .collect(),
        })
    }

    pub(crate) async fn audit(&self, query: &AuditQuery) -> Result<AuditList, ClientError> {
        let request = proto::ListAuditRequest {
            page_size: query.limit.unwrap_or(0),
            page_token: query.cursor.clone().unwrap_or_default(),
            subject: query.subject.clone().unwrap_or_default(),
            action: query.action.clone().unwrap_or_default(),
        };
        let response = rpc!(self.read(access.list_audit, request))?;
        let entries = response.entries.into_iter().map(audit_entry).collect();
        Ok(AuditList {
            entries: self.decode_access("ListAudit", entries)?,
            next_cursor: token(response.next_page_token),
        })
    }

    fn decode_access<T>(&self, method: &str, converted: Converted<T>) -> Result<T, ClientError> {
        self.decode_in(ACCESS_SERVICE, method, converted)
    }
}

/// An absent time stays absent (a token without expiry, never used).
fn optional_timestamp(
    time: Option<prost_types::Timestamp>,
    field: &str,
) -> Converted<Option<String>> {
    time.map(|time| timestamp(Some(time), field)).transpose()
}

fn token_body(token: proto::Token) -> Converted<TokenBody> {
    Ok(TokenBody {
        created_at: timestamp(token.created_at, "created_at")?,
        expires_at: optional_timestamp(token.expires_at, "expires_at")?,
        last_used_at: optional_timestamp(token.last_used_at, "last_used_at")?,
        id: token.id,
        subject: token.subject,
    })
}

fn grant_body(grant: proto::Grant) -> Converted<GrantBody> {
    Ok(GrantBody {
        created_at: timestamp(grant.created_at, "created_at")?,
        id: grant.id,
        subject: grant.subject,
        scope: grant.scope,
        role: grant.role,
        created_by: grant.created_by,
    })
}

fn audit_entry(entry: proto::AuditEntry) -> Converted<AuditEntryBody> {
    Ok(AuditEntryBody {
        time: timestamp(entry.time, "time")?,
        subject: entry.subject,
        action: entry.action,
        target: entry.target,
        outcome: entry.outcome,
        request_id: entry.request_id,
    })
}

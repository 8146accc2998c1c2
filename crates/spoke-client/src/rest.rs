//! The REST transport: the JSON API over HTTP (reqwest).

use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_DISPOSITION, ETAG, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::endpoint::Segment::{self, Fixed, Path, Value};
use crate::retry::Retry;
use crate::wire::{
    AuditList, CompatibilityBody, CompatibilityCheckRequest, CompatibilityPolicyBody,
    CompatibilityReportBody, CreateGrantRequest, CreateModuleRequest, CreateTokenRequest,
    CreatedTokenBody, DependenciesBody, DependentsBody, DeprecateRequest, DeprecationBody,
    DiffBody, FileBody, GrantBody, GrantList, GraphBody, LabelBody, LabelList, LockfileBody,
    ModuleBody, ModuleList, PushRequest, SearchBody, SetLabelRequest, SymbolsBody, TokenList,
    ValidateRequest, ValidateResponse, VersionBody, VersionList, WhoAmIBody,
};
use crate::{AuditQuery, ClientError, ClientOptions, Sdk, SearchQuery, endpoint, error, tls};

#[derive(Debug, Clone)]
pub(crate) struct Rest {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
    retry: Retry,
    /// `Bearer <token>`, marked sensitive: its `Debug` shows `Sensitive`,
    /// and HTTP/2 never puts it in a header compression table.
    authorization: Option<HeaderValue>,
}

/// A successful answer: its status, headers and body.
struct Answer {
    status: StatusCode,
    url: Url,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Rest {
    pub(crate) fn new(base_url: &str, options: &ClientOptions) -> Result<Self, ClientError> {
        let base = endpoint::parse_base(base_url)?;
        let mut http = reqwest::Client::builder()
            .user_agent(concat!("spoke-client/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &options.ca_certificates_pem {
            http = http.tls_built_in_root_certs(false);
            for certificate in tls::ca_certificates(pem)? {
                let certificate = reqwest::Certificate::from_der(certificate.as_ref())
                    .map_err(|e| tls::invalid(&e))?;
                http = http.add_root_certificate(certificate);
            }
        }
        let http = http
            .build()
            .map_err(|e| error::transport_error(&base, options.timeout, e.is_timeout(), e))?;
        let authorization = match &options.token {
            Some(token) => {
                // A BearerToken holds only visible ASCII, which a header
                // value always accepts.
                let mut value = HeaderValue::try_from(token.authorization()).map_err(|_| {
                    ClientError::InvalidToken {
                        reason: "it cannot be sent in an HTTP header",
                    }
                })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        Ok(Self {
            http,
            base,
            timeout: options.timeout,
            retry: options.retry(),
            authorization,
        })
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    pub(crate) async fn create_module(
        &self,
        request: &CreateModuleRequest,
    ) -> Result<ModuleBody, ClientError> {
        let url = self.url(&[Fixed("modules")], &[])?;
        decode(&self.send_json(Method::POST, url, request).await?)
    }

    pub(crate) async fn compatibility(
        &self,
        module: &str,
    ) -> Result<CompatibilityBody, ClientError> {
        let url = self.compatibility_url(module)?;
        decode(&self.get(url, None).await?)
    }

    /// A PUT replaces the whole policy, so repeating it is harmless; it is
    /// still sent once, like every write.
    pub(crate) async fn set_compatibility(
        &self,
        module: &str,
        policy: &CompatibilityPolicyBody,
    ) -> Result<CompatibilityBody, ClientError> {
        let url = self.compatibility_url(module)?;
        decode(&self.send_json(Method::PUT, url, policy).await?)
    }

    /// Sent once, like every write.
    pub(crate) async fn deprecate(
        &self,
        module: &str,
        version: Option<&str>,
        message: &str,
    ) -> Result<DeprecationBody, ClientError> {
        let url = self.deprecation_url(module, version)?;
        let body = DeprecateRequest {
            message: message.to_owned(),
        };
        decode(&self.send_json(Method::POST, url, &body).await?)
    }

    pub(crate) async fn undeprecate(
        &self,
        module: &str,
        version: Option<&str>,
    ) -> Result<(), ClientError> {
        let url = self.deprecation_url(module, version)?;
        self.delete(url).await
    }

    /// `/modules/{module}/deprecation`, or a version's.
    fn deprecation_url(&self, module: &str, version: Option<&str>) -> Result<Url, ClientError> {
        match version {
            Some(version) => self.version_url(module, version, Some("deprecation"), &[]),
            None => self.url(
                &[Fixed("modules"), Value(module), Fixed("deprecation")],
                &[],
            ),
        }
    }

    pub(crate) async fn check_compatibility(
        &self,
        module: &str,
        request: &CompatibilityCheckRequest,
    ) -> Result<CompatibilityReportBody, ClientError> {
        let url = self.compatibility_url(module)?;
        decode(&self.send_json(Method::POST, url, request).await?)
    }

    pub(crate) async fn diff(
        &self,
        module: &str,
        from: &str,
        to: &str,
    ) -> Result<DiffBody, ClientError> {
        let url = self.diff_url(module, from, to, &[])?;
        decode(&self.get(url, None).await?)
    }

    pub(crate) async fn diff_text(
        &self,
        module: &str,
        from: &str,
        to: &str,
    ) -> Result<String, ClientError> {
        let url = self.diff_url(module, from, to, &[("format", "text")])?;
        let answer = self.get(url, None).await?;
        String::from_utf8(answer.body).map_err(|e| ClientError::Decode {
            url: answer.url.to_string(),
            reason: format!("the diff summary is not UTF-8: {e}"),
        })
    }

    fn compatibility_url(&self, module: &str) -> Result<Url, ClientError> {
        self.url(
            &[Fixed("modules"), Value(module), Fixed("compatibility")],
            &[],
        )
    }

    fn label_url(&self, module: &str, label: Option<&str>) -> Result<Url, ClientError> {
        let mut segments = vec![Fixed("modules"), Value(module), Fixed("labels")];
        segments.extend(label.map(Value));
        self.url(&segments, &[])
    }

    /// A PUT sets the label to one version, so repeating it only adds a
    /// move to its history; it is still sent once, like every write.
    pub(crate) async fn set_label(
        &self,
        module: &str,
        label: &str,
        version: &str,
    ) -> Result<LabelBody, ClientError> {
        let url = self.label_url(module, Some(label))?;
        let body = SetLabelRequest {
            version: version.to_owned(),
        };
        decode(&self.send_json(Method::PUT, url, &body).await?)
    }

    pub(crate) async fn get_label(
        &self,
        module: &str,
        label: &str,
    ) -> Result<LabelBody, ClientError> {
        let url = self.label_url(module, Some(label))?;
        decode(&self.get(url, None).await?)
    }

    pub(crate) async fn list_labels(&self, module: &str) -> Result<LabelList, ClientError> {
        let url = self.label_url(module, None)?;
        decode(&self.get(url, None).await?)
    }

    pub(crate) async fn delete_label(&self, module: &str, label: &str) -> Result<(), ClientError> {
        let url = self.label_url(module, Some(label))?;
        self.delete(url).await
    }

    fn diff_url(
        &self,
        module: &str,
        from: &str,
        to: &str,
        extra: &[(&str, &str)],
    ) -> Result<Url, ClientError> {
        let mut query = vec![("from", from), ("to", to)];
        query.extend_from_slice(extra);
        self.url(&[Fixed("modules"), Value(module), Fixed("diff")], &query)
    }

    pub(crate) async fn get_module(&self, name: &str) -> Result<ModuleBody, ClientError> {
        let url = self.url(&[Fixed("modules"), Value(name)], &[])?;
        decode(&self.get(url, None).await?)
    }

    pub(crate) async fn list_modules(
        &self,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<ModuleList, ClientError> {
        let limit = limit.map(|l| l.to_string());
        let query = present([("limit", limit.as_deref()), ("cursor", cursor)]);
        let url = self.url(&[Fixed("modules")], &query)?;
        decode(&self.get(url, None).await?)
    }

    pub(crate) async fn push(
        &self,
        module: &str,
        request: &PushRequest,
    ) -> Result<(bool, VersionBody), ClientError> {
        let url = self.url(&[Fixed("modules"), Value(module), Fixed("versions")], &[])?;
        let answer = self.send_json(Method::POST, url, request).await?;
        let created = match answer.status {
            StatusCode::CREATED => true,
            StatusCode::OK => false,
            other => {
                return Err(ClientError::Decode {
                    url: answer.url.to_string(),
                    reason: format!("a push answered {other}; expected 200 or 201"),
                });
            }
        };
        Ok((created, decode(&answer)?))
    }

    pub(crate) async fn get_version(
        &self,
        module: &str,
        version: &str,
    ) -> Result<VersionBody, ClientError> {
        let url = self.version_url(module, version, None, &[])?;
        decode(&self.get(url, None).await?)
    }

    pub(crate) async fn dependencies(
        &self,
        module: &str,
        version: &str,
        transitive: bool,
    ) -> Result<DependenciesBody, ClientError> {
        let query = transitive_query(transitive);
        let url = self.version_url(module, version, Some("dependencies"), query)?;
        decode(&self.get(url, None).await?)
    }

    pub(crate) async fn dependents(
        &self,
        module: &str,
        version: &str,
        transitive: bool,
    ) -> Result<DependentsBody, ClientError> {
        let query = transitive_query(transitive);
        let url = self.version_url(module, version, Some("dependents"), query)?;
        decode(&self.get(url, None).await?)
    }

    pub(crate) async fn lockfile(
        &self,
        module: &str,
        version: &str,
    ) -> Result<LockfileBody, ClientError> {
        let url = self.version_url(module, version, Some("lockfile"), &[])?;
        decode(&self.get(url, None).await?)
    }

    pub(crate) async fn graph(
        &self,
        module: &str,
        version: &str,
    ) -> Result<GraphBody, ClientError> {
        let url = self.version_url(module, version, Some("graph"), &[])?;
        decode(&self.get(url, None).await?)
    }

    pub(crate) async fn graph_dot(
        &self,
        module: &str,
        version: &str,
    ) -> Result<String, ClientError> {
        let url = self.version_url(module, version, Some("graph"), &[("format", "dot")])?;
        let answer = self.get(url, None).await?;
        String::from_utf8(answer.body).map_err(|e| ClientError::Decode {
            url: answer.url.to_string(),
            reason: format!("the DOT text is not UTF-8: {e}"),
        })
    }

    pub(crate) async fn image(&self, module: &str, version: &str) -> Result<Vec<u8>, ClientError> {
        let url = self.version_url(module, version, Some("image"), &[])?;
        Ok(self.get(url, None).await?.body)
    }

    pub(crate) async fn image_json(
        &self,
        module: &str,
        version: &str,
    ) -> Result<serde_json::Value, ClientError> {
        let url = self.version_url(module, version, Some("image"), &[("format", "json")])?;
        decode(&self.get(url, None).await?)
    }

    pub(crate) async fn sdk(
        &self,
        module: &str,
        version: &str,
        generator: &str,
        options: &[String],
    ) -> Result<Sdk, ClientError> {
        let query: Vec<(&str, &str)> = options.iter().map(|o| ("opt", o.as_str())).collect();
        let url = self.url(
            &[
                Fixed("modules"),
                Value(module),
                Fixed("versions"),
                Value(version),
                Fixed("sdk"),
                Value(generator),
            ],
            &query,
        )?;
        let answer = self.get(url, None).await?;
        let header = |name: reqwest::header::HeaderName| {
            let value = answer.headers.get(&name).and_then(|v| v.to_str().ok());
            value.ok_or_else(|| ClientError::Decode {
                url: answer.url.to_string(),
                reason: format!("the response has no {name} header"),
            })
        };
        let etag = header(ETAG)?.trim_matches('"').to_owned();
        let file_name = attachment_file_name(header(CONTENT_DISPOSITION)?).ok_or_else(|| {
            ClientError::Decode {
                url: answer.url.to_string(),
                reason: "the Content-Disposition header names no file".to_owned(),
            }
        })?;
        Ok(Sdk {
            archive: answer.body,
            etag,
            file_name,
        })
    }

    pub(crate) async fn symbols(
        &self,
        module: &str,
        version: &str,
    ) -> Result<SymbolsBody, ClientError> {
        let url = self.version_url(module, version, Some("symbols"), &[])?;
        decode(&self.get(url, None).await?)
    }

    pub(crate) async fn search(&self, query: &SearchQuery) -> Result<SearchBody, ClientError> {
        let limit = query.limit.map(|l| l.to_string());
        let mut pairs = present([
            ("q", Some(query.q.as_str())),
            ("kind", query.kind.as_deref()),
            ("module", query.module.as_deref()),
            ("limit", limit.as_deref()),
            ("cursor", query.cursor.as_deref()),
        ]);
        if query.all_versions {
            pairs.push(("all_versions", "true"));
        }
        let url = self.api_url(&[Fixed("search")], &pairs)?;
        decode(&self.get(url, None).await?)
    }

    pub(crate) async fn validate(
        &self,
        request: &ValidateRequest,
    ) -> Result<ValidateResponse, ClientError> {
        let url = self.api_url(&[Fixed("validate")], &[])?;
        decode(&self.send_json(Method::POST, url, request).await?)
    }

    pub(crate) async fn create_token(
        &self,
        request: &CreateTokenRequest,
    ) -> Result<CreatedTokenBody, ClientError> {
        let url = self.api_url(&[Fixed("tokens")], &[])?;
        decode(&self.send_json(Method::POST, url, request).await?)
    }

    pub(crate) async fn list_tokens(&self) -> Result<TokenList, ClientError> {
        let url = self.api_url(&[Fixed("tokens")], &[])?;
        decode(&self.get(url, None).await?)
    }

    pub(crate) async fn revoke_token(&self, id: &str) -> Result<(), ClientError> {
        let url = self.api_url(&[Fixed("tokens"), Value(id)], &[])?;
        self.delete(url).await
    }

    pub(crate) async fn create_grant(
        &self,
        request: &CreateGrantRequest,
    ) -> Result<GrantBody, ClientError> {
        let url = self.api_url(&[Fixed("grants")], &[])?;
        decode(&self.send_json(Method::POST, url, request).await?)
    }

    pub(crate) async fn list_grants(
        &self,
        subject: Option<&str>,
        scope: Option<&str>,
    ) -> Result<GrantList, ClientError> {
        let query = present([("subject", subject), ("scope", scope)]);
        let url = self.api_url(&[Fixed("grants")], &query)?;
        decode(&self.get(url, None).await?)
    }

    pub(crate) async fn delete_grant(&self, id: &str) -> Result<(), ClientError> {
        let url = self.api_url(&[Fixed("grants"), Value(id)], &[])?;
        self.delete(url).await
    }

    pub(crate) async fn whoami(&self) -> Result<WhoAmIBody, ClientError> {
        let url = self.api_url(&[Fixed("whoami")], &[])?;
        decode(&self.get(url, None).await?)
    }

    pub(crate) async fn audit(&self, query: &AuditQuery) -> Result<AuditList, ClientError> {
        let limit = query.limit.map(|l| l.to_string());
        let query = present([
            ("limit", limit.as_deref()),
            ("cursor", query.cursor.as_deref()),
            ("subject", query.subject.as_deref()),
            ("action", query.action.as_deref()),
        ]);
        let url = self.api_url(&[Fixed("audit")], &query)?;
        decode(&self.get(url, None).await?)
    }

    pub(crate) async fn list_versions(
        &self,
        module: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<VersionList, ClientError> {
        let limit = limit.map(|l| l.to_string());
        let query = present([("limit", limit.as_deref()), ("cursor", cursor)]);
        let url = self.url(
            &[Fixed("modules"), Value(module), Fixed("versions")],
            &query,
        )?;
        decode(&self.get(url, None).await?)
    }

    pub(crate) async fn get_file(
        &self,
        module: &str,
        version: &str,
        path: &str,
    ) -> Result<FileBody, ClientError> {
        let url = self.file_url(module, version, path, &[])?;
        decode(&self.get(url, None).await?)
    }

    pub(crate) async fn get_file_raw(
        &self,
        module: &str,
        version: &str,
        path: &str,
    ) -> Result<Vec<u8>, ClientError> {
        let url = self.file_url(module, version, path, &[("format", "raw")])?;
        let accept = HeaderValue::from_static("text/plain");
        Ok(self.get(url, Some(accept)).await?.body)
    }

    fn file_url(
        &self,
        module: &str,
        version: &str,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Url, ClientError> {
        self.url(
            &[
                Fixed("modules"),
                Value(module),
                Fixed("versions"),
                Value(version),
                Fixed("files"),
                Path(path),
            ],
            query,
        )
    }

    /// `/modules/{module}/versions/{version}` and an optional view below it.
    fn version_url(
        &self,
        module: &str,
        version: &str,
        view: Option<&'static str>,
        query: &[(&str, &str)],
    ) -> Result<Url, ClientError> {
        let mut segments = vec![
            Fixed("modules"),
            Value(module),
            Fixed("versions"),
            Value(version),
        ];
        segments.extend(view.map(Fixed));
        self.url(&segments, query)
    }

    fn url(&self, segments: &[Segment<'_>], query: &[(&str, &str)]) -> Result<Url, ClientError> {
        endpoint::build(&self.base, segments, query)
    }

    /// A URL under `/api/v1`.
    fn api_url(
        &self,
        segments: &[Segment<'_>],
        query: &[(&str, &str)],
    ) -> Result<Url, ClientError> {
        let mut all = vec![Fixed("api"), Fixed("v1")];
        all.extend_from_slice(segments);
        self.url(&all, query)
    }

    /// Every request: the timeout and the token.
    fn request(&self, method: Method, url: &Url) -> reqwest::RequestBuilder {
        let request = self.http.request(method, url.clone()).timeout(self.timeout);
        match &self.authorization {
            Some(authorization) => request.header(AUTHORIZATION, authorization.clone()),
            None => request,
        }
    }

    /// A GET: reads are idempotent, so they are retried.
    async fn get(&self, url: Url, accept: Option<HeaderValue>) -> Result<Answer, ClientError> {
        self.retry
            .run(|| {
                let mut request = self.request(Method::GET, &url);
                if let Some(accept) = &accept {
                    request = request.header(ACCEPT, accept.clone());
                }
                self.execute(request, &url)
            })
            .await
    }

    /// A POST, sent once: a push that timed out may still have been stored.
    async fn send_json<T: Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        body: &T,
    ) -> Result<Answer, ClientError> {
        let request = self.request(method, &url).json(body);
        self.execute(request, &url).await
    }

    /// A DELETE, sent once like every write; the answer has no body.
    async fn delete(&self, url: Url) -> Result<(), ClientError> {
        self.execute(self.request(Method::DELETE, &url), &url)
            .await
            .map(drop)
    }

    /// Sends a request and reads the whole body; an error status becomes
    /// [`ClientError::Api`].
    async fn execute(
        &self,
        request: reqwest::RequestBuilder,
        url: &Url,
    ) -> Result<Answer, ClientError> {
        let transport =
            |e: reqwest::Error| error::transport_error(&self.base, self.timeout, e.is_timeout(), e);
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport)?.to_vec();
        if !status.is_success() {
            return Err(error::api_error(status, &body));
        }
        Ok(Answer {
            status,
            url: url.clone(),
            headers,
            body,
        })
    }
}

fn decode<T: DeserializeOwned>(answer: &Answer) -> Result<T, ClientError> {
    serde_json::from_slice(&answer.body).map_err(|e| ClientError::Decode {
        url: answer.url.to_string(),
        reason: e.to_string(),
    })
}

/// `attachment; filename="NAME"` → `NAME`.
fn attachment_file_name(disposition: &str) -> Option<String> {
    let name = disposition.split(';').find_map(|part| {
        part.trim()
            .strip_prefix("filename=")
            .map(|name| name.trim_matches('"'))
    })?;
    (!name.is_empty()).then(|| name.to_owned())
}

fn transitive_query(transitive: bool) -> &'static [(&'static str, &'static str)] {
    if transitive {
        &[("transitive", "true")]
    } else {
        &[]
    }
}

/// The query pairs whose value is present.
fn present<'a, const N: usize>(
    pairs: [(&'static str, Option<&'a str>); N],
) -> Vec<(&'static str, &'a str)> {
    pairs
        .into_iter()
        .filter_map(|(key, value)| Some((key, value?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_api_urls() {
        let rest = Rest::new("http://localhost:8080/", &ClientOptions::default()).unwrap();
        let url = rest.file_url(
            "user",
            "v1.0.0+b.7",
            "user/v1/user.proto",
            &[("format", "raw")],
        );
        assert_eq!(
            url.unwrap().as_str(),
            "http://localhost:8080/modules/user/versions/v1.0.0%2Bb.7/files/user/v1/user.proto?format=raw"
        );
        assert!(
            rest.file_url("user", "v1.0.0", "../secret.proto", &[])
                .is_err()
        );
        assert!(rest.file_url("user", "", "a.proto", &[]).is_err());
    }

    #[test]
    fn debug_never_shows_the_token() {
        let options = ClientOptions {
            token: Some(crate::BearerToken::new("spk_secret").unwrap()),
            ..ClientOptions::default()
        };
        let rest = Rest::new("http://localhost:8080", &options).unwrap();
        let debug = format!("{rest:?} {options:?}");
        assert!(!debug.contains("spk_secret"), "{debug}");
        assert!(debug.contains("Sensitive"), "{debug}");
    }
}

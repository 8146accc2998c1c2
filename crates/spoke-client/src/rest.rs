//! The REST transport: the JSON API over HTTP (reqwest).

use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::endpoint::Segment::{self, Fixed, Path, Value};
use crate::retry::Retry;
use crate::wire::{
    CompatibilityBody, CompatibilityCheckRequest, CompatibilityPolicyBody, CompatibilityReportBody,
    CreateModuleRequest, DependenciesBody, DependentsBody, DiffBody, FileBody, GraphBody,
    LockfileBody, ModuleBody, ModuleList, PushRequest, SymbolsBody, ValidateRequest,
    ValidateResponse, VersionBody, VersionList,
};
use crate::{ClientError, ClientOptions, endpoint, error, tls};

#[derive(Debug, Clone)]
pub(crate) struct Rest {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
    retry: Retry,
}

/// A successful answer: its status and body.
struct Answer {
    status: StatusCode,
    url: Url,
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
        Ok(Self {
            http,
            base,
            timeout: options.timeout,
            retry: options.retry(),
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
        let query = page_query(limit.as_deref(), cursor);
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

    pub(crate) async fn symbols(
        &self,
        module: &str,
        version: &str,
    ) -> Result<SymbolsBody, ClientError> {
        let url = self.version_url(module, version, Some("symbols"), &[])?;
        decode(&self.get(url, None).await?)
    }

    pub(crate) async fn validate(
        &self,
        request: &ValidateRequest,
    ) -> Result<ValidateResponse, ClientError> {
        let url = self.url(&[Fixed("api"), Fixed("v1"), Fixed("validate")], &[])?;
        decode(&self.send_json(Method::POST, url, request).await?)
    }

    pub(crate) async fn list_versions(
        &self,
        module: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<VersionList, ClientError> {
        let limit = limit.map(|l| l.to_string());
        let query = page_query(limit.as_deref(), cursor);
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

    /// A GET: reads are idempotent, so they are retried.
    async fn get(&self, url: Url, accept: Option<HeaderValue>) -> Result<Answer, ClientError> {
        self.retry
            .run(|| {
                let mut request = self.http.get(url.clone()).timeout(self.timeout);
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
        let request = self
            .http
            .request(method, url.clone())
            .timeout(self.timeout)
            .json(body);
        self.execute(request, &url).await
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
        let body = response.bytes().await.map_err(transport)?.to_vec();
        if !status.is_success() {
            return Err(error::api_error(status, &body));
        }
        Ok(Answer {
            status,
            url: url.clone(),
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

fn transitive_query(transitive: bool) -> &'static [(&'static str, &'static str)] {
    if transitive {
        &[("transitive", "true")]
    } else {
        &[]
    }
}

fn page_query<'a>(limit: Option<&'a str>, cursor: Option<&'a str>) -> Vec<(&'static str, &'a str)> {
    let mut query = Vec::new();
    if let Some(limit) = limit {
        query.push(("limit", limit));
    }
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor));
    }
    query
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
}

//! OpenID Connect bearer JWTs: discovery, the issuer's signing keys and
//! the verification of a token (signature with the algorithm its key pins,
//! `iss`, `aud`, `exp`/`nbf`), with `jsonwebtoken` doing the cryptography
//! and the claim checks.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Url;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use spoke_domain::{Principal, Timestamp};

use crate::{AuthError, AuthFailure, FailureReason, Identity, OidcConfig, Via};

/// Seconds of clock skew allowed on `exp` and `nbf`.
pub(crate) const LEEWAY_SECONDS: u64 = 30;
/// The keys are fetched again after this long even when every `kid` is
/// known, so a key the issuer withdrew stops being trusted.
const KEYS_MAX_AGE: Duration = Duration::from_secs(15 * 60);
/// An unknown `kid` fetches the keys again at most this often, so tokens
/// with made-up key ids cannot flood the issuer; so does a failed fetch.
pub(crate) const REFETCH_INTERVAL: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Discovery documents and key sets are a few KiB.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

const MALFORMED: AuthFailure = AuthFailure::new(
    FailureReason::Malformed,
    "the token is not a well-formed JWT",
);
const ALGORITHM_REFUSED: AuthFailure = AuthFailure::new(
    FailureReason::InvalidSignature,
    "the token's signing algorithm is not accepted: it must be the one its key pins (never none or HMAC)",
);
const UNKNOWN_KEY: AuthFailure = AuthFailure::new(
    FailureReason::InvalidSignature,
    "the token is signed with a key the issuer does not publish",
);
const BAD_SIGNATURE: AuthFailure = AuthFailure::new(
    FailureReason::InvalidSignature,
    "the token's signature does not verify",
);
const EXPIRED: AuthFailure = AuthFailure::new(FailureReason::Expired, "the token has expired");
const WRONG_ISSUER: AuthFailure = AuthFailure::new(
    FailureReason::InvalidClaims,
    "the token was not issued by the configured issuer",
);
const WRONG_AUDIENCE: AuthFailure = AuthFailure::new(
    FailureReason::InvalidClaims,
    "the token is not meant for this server (aud)",
);
const NOT_YET_VALID: AuthFailure = AuthFailure::new(
    FailureReason::InvalidClaims,
    "the token is not valid yet (nbf)",
);
const BAD_CLAIMS: AuthFailure = AuthFailure::new(
    FailureReason::InvalidClaims,
    "the token lacks a claim it needs (sub, exp, iss, and aud when configured) or has one of the wrong type",
);
const BAD_SUBJECT: AuthFailure = AuthFailure::new(
    FailureReason::InvalidClaims,
    "the token's sub is not a valid user name (1 to 256 visible ASCII characters)",
);
const UNAVAILABLE: AuthFailure = AuthFailure::new(
    FailureReason::OidcUnavailable,
    "the OIDC issuer's signing keys are unavailable; try again shortly",
);

/// A verified JWT.
pub(crate) struct VerifiedJwt {
    pub identity: Identity,
    /// `exp`.
    pub expires_at: Timestamp,
}

pub(crate) struct OidcVerifier {
    config: OidcConfig,
    discovery_url: Url,
    http: reqwest::Client,
    /// Everything but the algorithm, which each key pins.
    validation: Validation,
    keys: RwLock<Option<Arc<KeySet>>>,
    /// Held while fetching; inside, until when no fetch may start.
    fetching: tokio::sync::Mutex<Option<Instant>>,
}

struct KeySet {
    keys: Vec<VerifyingKey>,
    fetched_at: Instant,
}

impl KeySet {
    /// The key named `kid`; without a `kid`, the only key there is.
    fn find(&self, kid: Option<&str>) -> Option<&VerifyingKey> {
        match kid {
            Some(kid) => self.keys.iter().find(|key| key.kid.as_deref() == Some(kid)),
            None => match self.keys.as_slice() {
                [only] => Some(only),
                _ => None,
            },
        }
    }
}

#[derive(Clone)]
struct VerifyingKey {
    kid: Option<String>,
    /// The only algorithm a token signed with this key may name.
    algorithm: Algorithm,
    key: DecodingKey,
}

impl VerifyingKey {
    /// A signing key of the JWKS, or `None` for anything else: encryption
    /// keys, symmetric (HMAC) keys, curves and algorithms not supported.
    fn from_jwk(jwk: &Jwk) -> Option<VerifyingKey> {
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            return None;
        }
        let declared = match jwk.common.key_algorithm {
            Some(declared) => Some(Algorithm::try_from(declared).ok()?),
            None => None,
        };
        let algorithm = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => match declared {
                None => Algorithm::RS256,
                Some(
                    alg @ (Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512),
                ) => alg,
                Some(_) => return None,
            },
            AlgorithmParameters::EllipticCurve(params) => {
                let pinned = match params.curve {
                    EllipticCurve::P256 => Algorithm::ES256,
                    EllipticCurve::P384 => Algorithm::ES384,
                    _ => return None,
                };
                if declared.is_some_and(|alg| alg != pinned) {
                    return None;
                }
                pinned
            }
            AlgorithmParameters::OctetKeyPair(params) => {
                if params.curve != EllipticCurve::Ed25519
                    || declared.is_some_and(|alg| alg != Algorithm::EdDSA)
                {
                    return None;
                }
                Algorithm::EdDSA
            }
            // Symmetric keys verify HMAC, which a public key set must never
            // be used for.
            _ => return None,
        };
        Some(VerifyingKey {
            kid: jwk.common.key_id.clone(),
            algorithm,
            key: DecodingKey::from_jwk(jwk).ok()?,
        })
    }
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct RawKeySet {
    keys: Vec<Value>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

impl OidcVerifier {
    pub fn new(config: OidcConfig) -> Result<OidcVerifier, AuthError> {
        let issuer = endpoint(&config.issuer)
            .map_err(|reason| AuthError::Config(format!("SPOKE_OIDC_ISSUER {reason}")))?;
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(AuthError::Config(
                "SPOKE_OIDC_ISSUER must not have a query or a fragment".to_owned(),
            ));
        }
        let discovery_url = endpoint(&format!(
            "{}/.well-known/openid-configuration",
            config.issuer.trim_end_matches('/')
        ))
        .map_err(|reason| AuthError::Config(format!("SPOKE_OIDC_ISSUER {reason}")))?;
        if config.groups_claim.is_empty() {
            return Err(AuthError::Config(
                "SPOKE_OIDC_GROUPS_CLAIM must not be empty".to_owned(),
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // The discovery document and keys are where the issuer says,
            // not wherever a redirect points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| AuthError::Config(format!("the OIDC HTTP client: {error}")))?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&config.issuer]);
        let mut required = vec!["exp", "iss", "sub"];
        match &config.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);

        Ok(OidcVerifier {
            config,
            discovery_url,
            http,
            validation,
            keys: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(None),
        })
    }

    pub async fn verify(&self, token: &str) -> Result<VerifiedJwt, AuthFailure> {
        let header = parse_header(token)?;
        // `none`, HMAC and anything unknown are refused before a key is
        // looked up (and before an unknown kid can cause a fetch).
        let algorithm: Algorithm = header.alg.parse().map_err(|_| ALGORITHM_REFUSED)?;
        if matches!(
            algorithm,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
        ) {
            return Err(ALGORITHM_REFUSED);
        }
        let key = self.key_for(header.kid.as_deref()).await?;
        if key.algorithm != algorithm {
            return Err(ALGORITHM_REFUSED);
        }
        let mut validation = self.validation.clone();
        validation.algorithms = vec![key.algorithm];
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
            .map_err(|error| classify(error.kind()))?
            .claims;
        self.identity(&claims)
    }

    fn identity(&self, claims: &Map<String, Value>) -> Result<VerifiedJwt, AuthFailure> {
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .ok_or(BAD_CLAIMS)?;
        let subject = Principal::user(sub).map_err(|_| BAD_SUBJECT)?;
        let expires_at = claims
            .get("exp")
            .and_then(Value::as_i64)
            .and_then(Timestamp::from_unix_seconds)
            .ok_or(BAD_CLAIMS)?;
        // Entries that are not strings or not valid names are skipped: a
        // group Spoke cannot name cannot have been granted anything.
        let mut groups: Vec<Principal> = match claims.get(&self.config.groups_claim) {
            Some(Value::Array(entries)) => entries
                .iter()
                .filter_map(Value::as_str)
                .filter_map(|name| Principal::group(name).ok())
                .collect(),
            _ => Vec::new(),
        };
        groups.sort();
        groups.dedup();
        Ok(VerifiedJwt {
            identity: Identity {
                subject,
                groups,
                via: Via::Oidc,
            },
            expires_at,
        })
    }

    fn current_keys(&self) -> Option<Arc<KeySet>> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The key a token names. Known keys answer from memory; a stale set
    /// is refreshed by one request while the others go on with it; an
    /// unknown `kid` fetches the set again unless a fetch for an unknown
    /// `kid`, or a failed one, happened less than [`REFETCH_INTERVAL`] ago.
    /// (The first load and the routine refresh do not count: a key rotated
    /// in right after them is still found at once.)
    async fn key_for(&self, kid: Option<&str>) -> Result<VerifyingKey, AuthFailure> {
        let current = self.current_keys();
        if let Some(keys) = &current
            && let Some(key) = keys.find(kid)
        {
            if keys.fetched_at.elapsed() < KEYS_MAX_AGE {
                return Ok(key.clone());
            }
            return match self.fetching.try_lock() {
                Ok(cooldown) => self.refresh(cooldown, kid, current.clone(), false).await,
                Err(_) => Ok(key.clone()),
            };
        }
        let cooldown = self.fetching.lock().await;
        // Whoever held the lock may have fetched the key meanwhile.
        let current = self.current_keys();
        if let Some(key) = current.as_ref().and_then(|keys| keys.find(kid)) {
            return Ok(key.clone());
        }
        let unknown_kid = current.is_some();
        self.refresh(cooldown, kid, current, unknown_kid).await
    }

    async fn refresh(
        &self,
        mut cooldown: tokio::sync::MutexGuard<'_, Option<Instant>>,
        kid: Option<&str>,
        current: Option<Arc<KeySet>>,
        unknown_kid: bool,
    ) -> Result<VerifyingKey, AuthFailure> {
        let from_current = |otherwise: AuthFailure| {
            current
                .as_ref()
                .and_then(|keys| keys.find(kid))
                .cloned()
                .ok_or(otherwise)
        };
        if cooldown.is_some_and(|until| Instant::now() < until) {
            return from_current(if current.is_some() {
                UNKNOWN_KEY
            } else {
                UNAVAILABLE
            });
        }
        match self.fetch_keys().await {
            Ok(keys) => {
                let keys = Arc::new(KeySet {
                    keys,
                    fetched_at: Instant::now(),
                });
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) =
                    Some(Arc::clone(&keys));
                let key = keys.find(kid).cloned();
                // A kid the issuer does not publish, now or just before,
                // fetches nothing more for a while.
                if unknown_kid || key.is_none() {
                    *cooldown = Some(Instant::now() + REFETCH_INTERVAL);
                }
                key.ok_or(UNKNOWN_KEY)
            }
            Err(error) => {
                tracing::warn!(issuer = %self.config.issuer, %error, "the OIDC signing keys could not be fetched");
                *cooldown = Some(Instant::now() + REFETCH_INTERVAL);
                from_current(UNAVAILABLE)
            }
        }
    }

    /// Discovery, then the key set it points to: every usable signing key.
    async fn fetch_keys(&self) -> Result<Vec<VerifyingKey>, String> {
        let discovery: Discovery = self.get_json(self.discovery_url.clone()).await?;
        if discovery.issuer != self.config.issuer {
            return Err(format!(
                "the discovery document names the issuer {:?}, not the configured one",
                discovery.issuer
            ));
        }
        let jwks_uri =
            endpoint(&discovery.jwks_uri).map_err(|reason| format!("its jwks_uri {reason}"))?;
        let set: RawKeySet = self.get_json(jwks_uri).await?;
        // One key of a kind this server does not know does not spoil the
        // others.
        let keys: Vec<VerifyingKey> = set
            .keys
            .into_iter()
            .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
            .filter_map(|jwk| VerifyingKey::from_jwk(&jwk))
            .collect();
        if keys.is_empty() {
            return Err("the issuer publishes no usable signing key".to_owned());
        }
        Ok(keys)
    }

    async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<T, String> {
        let failed = |error: reqwest::Error| format!("GET {url}: {error}");
        let mut response = self.http.get(url.clone()).send().await.map_err(failed)?;
        if !response.status().is_success() {
            return Err(format!("GET {url}: status {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(format!("GET {url}: larger than {MAX_DOCUMENT_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|error| format!("GET {url}: {error}"))
    }
}

/// Whether a token has a JWT's shape: three dot-separated parts.
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

fn parse_header(token: &str) -> Result<Header, AuthFailure> {
    let encoded = token.split('.').next().ok_or(MALFORMED)?;
    let json = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| MALFORMED)?;
    serde_json::from_slice(&json).map_err(|_| MALFORMED)
}

fn classify(kind: &ErrorKind) -> AuthFailure {
    match kind {
        ErrorKind::ExpiredSignature => EXPIRED,
        ErrorKind::InvalidSignature => BAD_SIGNATURE,
        ErrorKind::InvalidIssuer => WRONG_ISSUER,
        ErrorKind::InvalidAudience => WRONG_AUDIENCE,
        ErrorKind::ImmatureSignature => NOT_YET_VALID,
        ErrorKind::MissingRequiredClaim(_)
        | ErrorKind::InvalidClaimFormat(_)
        | ErrorKind::InvalidSubject => BAD_CLAIMS,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::InvalidKeyFormat
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey => ALGORITHM_REFUSED,
        _ => MALFORMED,
    }
}

/// An issuer or key-set URL: HTTPS, or HTTP to a loopback address (a
/// local issuer, as in tests); never with credentials in it.
fn endpoint(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|error| format!("is not a URL: {error}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".to_owned());
    }
    let loopback = url.host_str().is_some_and(|host| {
        host == "localhost"
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(format!(
            "must be an https URL (http only to a loopback address), not {:?}",
            url.scheme()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_https_or_loopback_http() {
        for ok in [
            "https://id.example.com",
            "https://id.example.com/realms/x",
            "http://127.0.0.1:8080",
            "http://localhost:9000/x",
            "http://[::1]:80",
        ] {
            assert!(endpoint(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://id.example.com",
            "ftp://127.0.0.1",
            "https://user:pw@id.example.com",
            "not a url",
            "http://10.0.0.1",
        ] {
            assert!(endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn jwt_shapes() {
        assert!(looks_like_jwt("a.b.c"));
        assert!(!looks_like_jwt("a.b"));
        assert!(!looks_like_jwt("a.b.c.d"));
        assert!(parse_header("!.b.c").is_err());
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","kid":"k1"}"#);
        let parsed = parse_header(&format!("{header}.b.c")).unwrap();
        assert_eq!(
            (parsed.alg.as_str(), parsed.kid.as_deref()),
            ("ES256", Some("k1"))
        );
    }

    fn jwk(json: Value) -> Option<VerifyingKey> {
        VerifyingKey::from_jwk(&serde_json::from_value(json).unwrap())
    }

    #[test]
    fn keys_pin_their_algorithm_and_hmac_keys_are_never_used() {
        let x = URL_SAFE_NO_PAD.encode([1u8; 32]);
        let ec = |extra: Value| {
            let mut key =
                serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": x, "kid": "k"});
            key.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            jwk(key)
        };
        assert_eq!(
            ec(serde_json::json!({})).unwrap().algorithm,
            Algorithm::ES256
        );
        assert!(ec(serde_json::json!({"alg": "ES384"})).is_none());
        assert!(ec(serde_json::json!({"alg": "HS256"})).is_none());
        assert!(ec(serde_json::json!({"use": "enc"})).is_none());
        assert!(jwk(serde_json::json!({"kty": "oct", "k": x, "alg": "HS256"})).is_none());
        let n = URL_SAFE_NO_PAD.encode([7u8; 256]);
        let rsa = jwk(serde_json::json!({"kty": "RSA", "n": n, "e": "AQAB"})).unwrap();
        assert_eq!(rsa.algorithm, Algorithm::RS256);
        let pss =
            jwk(serde_json::json!({"kty": "RSA", "n": n, "e": "AQAB", "alg": "PS256"})).unwrap();
        assert_eq!(pss.algorithm, Algorithm::PS256);
        assert!(
            jwk(serde_json::json!({"kty": "RSA", "n": n, "e": "AQAB", "alg": "ES256"})).is_none()
        );
    }
}

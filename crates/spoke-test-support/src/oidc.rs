//! A local OpenID Connect issuer: discovery and a JWKS over HTTP on
//! loopback, P-256 keys generated per test, tokens signed with them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256};
use serde_json::{Value, json};

pub const AUDIENCE: &str = "spoke";

pub struct Issuer {
    pub url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

struct Shared {
    url: String,
    keys: Mutex<Vec<(String, KeyPair)>>,
    jwks_fetches: AtomicUsize,
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl Issuer {
    /// Serves one key, `k1`.
    pub async fn start() -> Issuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            url: url.clone(),
            keys: Mutex::new(Vec::new()),
            jwks_fetches: AtomicUsize::new(0),
        });
        let router = axum::Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        let issuer = Issuer {
            url,
            shared,
            server,
        };
        issuer.add_key("k1");
        issuer
    }

    pub fn add_key(&self, kid: &str) {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        self.shared.keys.lock().unwrap().push((kid.to_owned(), key));
    }

    /// How often the key set was served.
    pub fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    /// The public key of `kid` as PEM (what an HMAC-confusion attack signs
    /// with).
    pub fn public_key_pem(&self, kid: &str) -> String {
        let keys = self.shared.keys.lock().unwrap();
        keys.iter()
            .find(|(k, _)| k == kid)
            .unwrap()
            .1
            .public_key_pem()
    }

    /// Valid claims for `sub`: this issuer, the audience, five minutes.
    pub fn claims(&self, sub: &str) -> Value {
        json!({
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": sub,
            "iat": now(),
            "exp": now() + 300,
        })
    }

    /// Signs `claims` with `kid`'s key (ES256).
    pub fn sign(&self, kid: &str, claims: &Value) -> String {
        let keys = self.shared.keys.lock().unwrap();
        let key = &keys.iter().find(|(k, _)| k == kid).unwrap().1;
        sign_es256(key, kid, claims)
    }
}

pub fn sign_es256(key: &KeyPair, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    let encoding = EncodingKey::from_ec_pem(key.serialize_pem().as_bytes()).unwrap();
    jsonwebtoken::encode(&header, claims, &encoding).unwrap()
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({
        "issuer": shared.url,
        "jwks_uri": format!("{}/jwks", shared.url),
        "id_token_signing_alg_values_supported": ["ES256"],
    }))
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let keys = shared.keys.lock().unwrap();
    let keys: Vec<Value> = keys
        .iter()
        .map(|(kid, key)| {
            // The uncompressed point: 0x04, x, y.
            let point = key.public_key_raw();
            json!({
                "kty": "EC",
                "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
                "kid": kid,
                "use": "sig",
                "alg": "ES256",
            })
        })
        .collect();
    Json(json!({ "keys": keys }))
}

//! Spoke API tokens: `spoke_<id>_<secret>`. The id (16 lowercase hex
//! digits, 64 random bits) names the stored record; the secret (43
//! characters, base64url of 32 random bytes) is stored only as its SHA-256
//! and compared in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use spoke_domain::{AccessId, Digest};
use subtle::ConstantTimeEq as _;

use crate::{AuthError, Secret};

const PREFIX: &str = "spoke_";
const ID_LEN: usize = 16;
const SECRET_LEN: usize = 43;
/// `spoke_` + id + `_` + secret.
const TOKEN_LEN: usize = PREFIX.len() + ID_LEN + 1 + SECRET_LEN;

/// A token just made: the full text goes to the client once, the hash to
/// the store.
pub(crate) struct IssuedToken {
    pub id: AccessId,
    pub token: Secret,
    pub secret_hash: Digest,
}

/// Makes a new token from the operating system's randomness.
pub(crate) fn issue() -> Result<IssuedToken, AuthError> {
    let id = new_access_id()?;
    let mut secret_bytes = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(secret_bytes.as_mut())?;
    let secret = zeroize::Zeroizing::new(URL_SAFE_NO_PAD.encode(secret_bytes.as_ref()));
    Ok(IssuedToken {
        token: Secret::new(format!("{PREFIX}{id}_{}", secret.as_str())),
        secret_hash: Digest::of(secret.as_bytes()),
        id,
    })
}

/// A random record id: 16 lowercase hex digits (tokens and grants).
pub(crate) fn new_access_id() -> Result<AccessId, AuthError> {
    let mut bytes = [0u8; ID_LEN / 2];
    getrandom::fill(&mut bytes)?;
    Ok(AccessId::parse(&hex::encode(bytes))?)
}

/// Whether a bearer token claims to be a Spoke API token (then it must
/// parse as one; a malformed one is not tried as anything else).
pub(crate) fn looks_like_api_token(token: &str) -> bool {
    token.starts_with(PREFIX)
}

/// A token a client presented, split into the record id and the secret.
#[derive(Debug)]
pub(crate) struct PresentedToken<'a> {
    pub id: AccessId,
    secret: &'a str,
}

impl<'a> PresentedToken<'a> {
    /// `None` unless `token` has exactly the issued shape.
    pub fn parse(token: &'a str) -> Option<PresentedToken<'a>> {
        if token.len() != TOKEN_LEN {
            return None;
        }
        let rest = token.strip_prefix(PREFIX)?;
        let (id, rest) = rest.split_at_checked(ID_LEN)?;
        let secret = rest.strip_prefix('_')?;
        let id_ok = id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let secret_ok = secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !(id_ok && secret_ok) {
            return None;
        }
        Some(PresentedToken {
            id: AccessId::parse(id).ok()?,
            secret,
        })
    }

    /// Whether the secret hashes to `stored`, compared in constant time.
    pub fn matches(&self, stored: &Digest) -> bool {
        Digest::of(self.secret.as_bytes())
            .as_bytes()
            .ct_eq(stored.as_bytes())
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_have_the_documented_shape_and_parse_back() {
        let issued = issue().unwrap();
        let text = issued.token.expose();
        assert_eq!(text.len(), 66, "{}", text.len());
        assert!(text.starts_with("spoke_"));
        assert_eq!(issued.id.as_str().len(), 16);
        assert!(issued.id.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!issued.id.as_str().bytes().any(|b| b.is_ascii_uppercase()));

        let presented = PresentedToken::parse(text).unwrap();
        assert_eq!(presented.id, issued.id);
        assert!(presented.matches(&issued.secret_hash));
        // The hash is of the secret part alone.
        assert_eq!(issued.secret_hash, Digest::of(&text.as_bytes()[23..]));
    }

    #[test]
    fn tokens_and_ids_are_random() {
        let a = issue().unwrap();
        let b = issue().unwrap();
        assert_ne!(a.id, b.id);
        assert_ne!(a.token, b.token);
        assert_ne!(new_access_id().unwrap(), new_access_id().unwrap());
    }

    #[test]
    fn a_wrong_secret_does_not_match() {
        let issued = issue().unwrap();
        let mut text = issued.token.expose().to_owned();
        let last = text.pop().unwrap();
        text.push(if last == 'A' { 'B' } else { 'A' });
        let presented = PresentedToken::parse(&text).unwrap();
        assert_eq!(presented.id, issued.id);
        assert!(!presented.matches(&issued.secret_hash));
    }

    #[test]
    fn malformed_tokens_do_not_parse() {
        let secret = "A".repeat(43);
        let good = format!("spoke_0123456789abcdef_{secret}");
        assert!(PresentedToken::parse(&good).is_some());
        for bad in [
            String::new(),
            "spoke_".to_owned(),
            format!("spoke_0123456789ABCDEF_{secret}"),
            format!("spoke_0123456789abcdeg_{secret}"),
            format!("spoke_0123456789abcdef-{secret}"),
            format!("spoke_0123456789abcdef_{secret}A"),
            format!("spoke_0123456789abcdef_{}", "A".repeat(42)),
            format!("spoke_0123456789abcdef_{}+", "A".repeat(42)),
            format!("Spoke_0123456789abcdef_{secret}"),
            format!("spoke_0123456789abcde_{secret}A"),
            // Multi-byte characters of the right byte length.
            format!("spoke_0123456789abcdef_{}é", "A".repeat(41)),
        ] {
            assert!(PresentedToken::parse(&bad).is_none(), "{bad}");
        }
        assert!(looks_like_api_token(&good));
        assert!(!looks_like_api_token("eyJhbGciOi.x.y"));
    }
}

//! The `Authorization: Bearer <token>` header (RFC 6750 section 2.1), or
//! the token alone, as Cargo's credential providers send it to a registry.

use crate::{AuthFailure, FailureReason};

/// The longest header accepted, in bytes: far above any real token (a JWT
/// with many groups is a few KiB), low enough that hashing it is cheap.
pub(crate) const MAX_HEADER_LEN: usize = 8 * 1024;

const NOT_BEARER: AuthFailure = AuthFailure::new(
    FailureReason::Malformed,
    "the Authorization header must be \"Bearer <token>\" or the token alone",
);
const TOO_LONG: AuthFailure = AuthFailure::new(
    FailureReason::Malformed,
    "the Authorization header is longer than 8192 bytes",
);

/// The token of an `Authorization` header's value: the scheme `Bearer` in
/// any case, exactly one space, then a `b64token` (letters, digits,
/// `-._~+/`, then any `=` padding). Spaces and tabs around the whole value
/// are not part of it (RFC 9110's field-value). A lone `b64token` without
/// a scheme is the token itself: Cargo sends a registry's token that way
/// (`cargo:token`). Anything else is refused.
pub(crate) fn bearer_token(header: &[u8]) -> Result<&str, AuthFailure> {
    if header.len() > MAX_HEADER_LEN {
        return Err(TOO_LONG);
    }
    let value = std::str::from_utf8(header)
        .map_err(|_| NOT_BEARER)?
        .trim_matches([' ', '\t']);
    let Some((scheme, token)) = value.split_once(' ') else {
        // "Bearer" alone is a scheme without its token, not a token.
        return if is_b64token(value) && !value.eq_ignore_ascii_case("bearer") {
            Ok(value)
        } else {
            Err(NOT_BEARER)
        };
    };
    if !scheme.eq_ignore_ascii_case("bearer") || !is_b64token(token) {
        return Err(NOT_BEARER);
    }
    Ok(token)
}

fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_rfc_6750_bearer_credentials() {
        for (header, token) in [
            ("Bearer abc", "abc"),
            ("bearer abc", "abc"),
            ("BEARER abc", "abc"),
            ("Bearer a.b.c", "a.b.c"),
            ("Bearer a-b_c~d+e/f==", "a-b_c~d+e/f=="),
            (" Bearer abc\t", "abc"),
            (
                "Bearer spoke_0123456789abcdef_abc-_",
                "spoke_0123456789abcdef_abc-_",
            ),
            // Cargo's `cargo:token` credential provider: the token alone.
            (
                "spoke_0123456789abcdef_abc-_",
                "spoke_0123456789abcdef_abc-_",
            ),
            (" a.b.c ", "a.b.c"),
        ] {
            assert_eq!(bearer_token(header.as_bytes()), Ok(token), "{header:?}");
        }
    }

    #[test]
    fn refuses_anything_else_as_malformed() {
        for header in [
            &b""[..],
            b"Bearer",
            b"bearer",
            b"Bearer ",
            b"ab=c",
            b"===",
            b"abc\x00",
            b"Bearer  abc",
            b"Bearer\tabc",
            b"Bearer abc def",
            b"Bearer ab=c",
            b"Bearer ===",
            b"Basic dXNlcjpwYXNz",
            b"Token abc",
            b"Bearer ab\xffc",
            b"Bearer ab\x00c",
            b"Bearer abc\r\n",
            "Bearer abcé".as_bytes(),
        ] {
            let failure = bearer_token(header).unwrap_err();
            assert_eq!(failure.reason(), "malformed", "{header:?}");
        }
    }

    #[test]
    fn refuses_oversized_headers_before_reading_them() {
        let header = format!("Bearer {}", "a".repeat(MAX_HEADER_LEN));
        assert_eq!(bearer_token(header.as_bytes()), Err(TOO_LONG));
        let fits = format!("Bearer {}", "a".repeat(MAX_HEADER_LEN - 7));
        assert!(bearer_token(fits.as_bytes()).is_ok());
    }
}

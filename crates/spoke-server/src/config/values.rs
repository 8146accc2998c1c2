//! Parsers for the value forms configuration accepts. Each returns `None`
//! (or a reason) on malformed input; the caller names the variable.

use std::net::IpAddr;
use std::time::Duration;

pub(super) const DURATION_FORM: &str = "a duration such as 15s, 500ms or 2m";
pub(super) const POSITIVE_DURATION_FORM: &str =
    "a duration greater than zero such as 15s, 500ms or 2m";
pub(super) const SIZE_FORM: &str =
    "a size in bytes such as 1048576, 512KiB, 64MiB or 1GB (units B, KB, MB, GB, KiB, MiB, GiB)";
pub(super) const BOOL_FORM: &str = "true or false";
pub(super) const PORT_FORM: &str = "a port number from 0 to 65535";
pub(super) const FILE_FORM: &str = "a file path";
pub(super) const HOST_FORM: &str = "an IP address such as 0.0.0.0, 127.0.0.1 or ::";

pub(super) fn duration(raw: &str) -> Option<Duration> {
    // humantime accepts "15s", "500ms", "2m", "1h 30m"; a bare number has no
    // unit and is rejected rather than guessed.
    humantime::parse_duration(raw).ok()
}

pub(super) fn positive_duration(raw: &str) -> Option<Duration> {
    duration(raw).filter(|d| !d.is_zero())
}

pub(super) fn boolean(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

pub(super) fn port(raw: &str) -> Option<u16> {
    plain_digits(raw)?.parse().ok()
}

pub(super) fn host(raw: &str) -> Option<IpAddr> {
    raw.parse().ok()
}

/// An unsigned integer of plain decimal digits (no sign, no spaces).
pub(super) fn unsigned(raw: &str) -> Option<u64> {
    plain_digits(raw)?.parse().ok()
}

fn plain_digits(raw: &str) -> Option<&str> {
    (!raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit())).then_some(raw)
}

/// Bytes from `1048576`, `64MiB`, `64 MiB`, `10MB`. Binary units (KiB, MiB,
/// GiB) are powers of 1024; decimal ones (KB, MB, GB) powers of 1000.
pub(super) fn size(raw: &str) -> Option<u64> {
    let digits_end = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (number, unit) = raw.split_at(digits_end);
    let number: u64 = plain_digits(number)?.parse().ok()?;
    let multiplier: u64 = match unit
        .strip_prefix(' ')
        .unwrap_or(unit)
        .to_ascii_lowercase()
        .as_str()
    {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(multiplier)
}

/// An S3 bucket name: 3–63 lowercase letters, digits, `.` and `-`, starting
/// and ending with a letter or digit.
pub(super) fn bucket(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// `scheme://something` for one of the given schemes.
pub(super) fn url_with_scheme(raw: &str, schemes: &[&str]) -> bool {
    schemes.iter().any(|scheme| {
        raw.strip_prefix(scheme)
            .and_then(|rest| rest.strip_prefix("://"))
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
    })
}

/// `SPOKE_PUBLIC_URL`: an `http`/`https` URL with a host (and a port, a
/// path), nothing else; without its trailing `/`.
pub(super) fn public_url(raw: &str) -> Option<Option<String>> {
    // Credentials, a query or a fragment have no place in a base URL.
    if raw.contains(['@', '?', '#']) {
        return None;
    }
    let uri: axum::http::Uri = raw.parse().ok()?;
    let authority = uri.authority()?;
    // Anything after the host is a `:port`, which must be one.
    let port_ok =
        authority.as_str().len() == authority.host().len() || authority.port_u16().is_some();
    let ok =
        matches!(uri.scheme_str()?, "http" | "https") && valid_host(authority.host()) && port_ok;
    ok.then(|| Some(raw.trim_end_matches('/').to_owned()))
}

/// A host name, IPv4 address or bracketed IPv6 address, with a port.
pub(super) fn host_port(raw: &str) -> Option<(String, u16)> {
    let (host, port) = raw.rsplit_once(':')?;
    let port = self::port(port)?;
    valid_host(host).then(|| (host.to_owned(), port))
}

pub(super) fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls() {
        for (raw, normal) in [
            ("https://spoke.example.com", "https://spoke.example.com"),
            ("https://spoke.example.com/", "https://spoke.example.com"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://[::1]:8080/", "http://[::1]:8080"),
            ("https://example.com/spoke/", "https://example.com/spoke"),
        ] {
            assert_eq!(public_url(raw), Some(Some(normal.to_owned())), "{raw:?}");
        }
        for bad in [
            "spoke.example.com",
            "ftp://spoke.example.com",
            "https://",
            "https:///path",
            "https://user:secret@spoke.example.com",
            "https://spoke.example.com/?a=b",
            "https://spoke.example.com/#top",
            "https://spoke example.com",
            "https://spoke.example.com:",
            "https://spoke.example.com:99999",
            "https://[::1",
        ] {
            assert_eq!(public_url(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(size("1048576"), Some(1_048_576));
        assert_eq!(size("64MiB"), Some(64 << 20));
        assert_eq!(size("64 MiB"), Some(64 << 20));
        assert_eq!(size("64mib"), Some(64 << 20));
        assert_eq!(size("10MB"), Some(10_000_000));
        assert_eq!(size("1GiB"), Some(1 << 30));
        assert_eq!(size("2KB"), Some(2_000));
        assert_eq!(size("7B"), Some(7));
        for bad in [
            "",
            "MiB",
            "-1",
            "1.5MiB",
            "64 XB",
            "64  MiB",
            " 64",
            "99999999999999999999GiB",
        ] {
            assert_eq!(size(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration("15s"), Some(Duration::from_secs(15)));
        assert_eq!(duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(duration("0s"), Some(Duration::ZERO));
        assert_eq!(positive_duration("0s"), None);
        assert_eq!(duration("15"), None);
        assert_eq!(duration("fast"), None);
    }

    #[test]
    fn hosts_and_ports() {
        assert_eq!(
            host_port("localhost:4317"),
            Some(("localhost".into(), 4317))
        );
        assert_eq!(host_port("[::1]:4317"), Some(("[::1]".into(), 4317)));
        assert_eq!(host_port("localhost"), None);
        assert_eq!(host_port("a b:1"), None);
        assert_eq!(port("65535"), Some(65535));
        assert_eq!(port("65536"), None);
        assert_eq!(port("+1"), None);
    }

    #[test]
    fn buckets() {
        assert!(bucket("spoke-blobs.1"));
        assert!(!bucket("ab"));
        assert!(!bucket("Upper"));
        assert!(!bucket("-dash"));
    }
}

//! Turning a base URL and API path segments into request URLs.

use reqwest::Url;

use crate::ClientError;

/// Checks a registry URL and returns it without a trailing `/`, so that API
/// paths can be appended. A path prefix (`https://host/spoke`) is kept.
pub(crate) fn parse_base(text: &str) -> Result<String, ClientError> {
    let invalid = |reason: &str| ClientError::InvalidUrl {
        url: text.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(text.trim()).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("expected an http:// or https:// URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not have a query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// One path segment of an API URL, taken literally: every byte outside the
/// RFC 3986 unreserved set is percent-encoded, so `/`, `+`, `?`, `#` and `%`
/// inside a segment never change the URL's structure.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Segment<'a> {
    /// A fixed part of the route, e.g. `modules`.
    Fixed(&'static str),
    /// A caller's value: one segment.
    Value(&'a str),
    /// A caller's `/`-separated file path: several segments.
    Path(&'a str),
}

/// Builds `base` + the encoded segments + the query.
pub(crate) fn build(
    base: &str,
    segments: &[Segment<'_>],
    query: &[(&str, &str)],
) -> Result<Url, ClientError> {
    let mut url = String::from(base);
    for segment in segments {
        match *segment {
            Segment::Fixed(text) => push_segment(&mut url, text)?,
            Segment::Value(text) => push_segment(&mut url, text)?,
            Segment::Path(path) => {
                for part in path.split('/') {
                    push_segment(&mut url, part)?;
                }
            }
        }
    }
    for (i, (key, value)) in query.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        encode_into(&mut url, key);
        url.push('=');
        encode_into(&mut url, value);
    }
    Url::parse(&url).map_err(|e| ClientError::InvalidUrl {
        url,
        reason: e.to_string(),
    })
}

fn push_segment(url: &mut String, segment: &str) -> Result<(), ClientError> {
    // URL parsers resolve `.`/`..` (also when written `%2e`) and an empty
    // segment changes the route, so none of them can be sent as a value.
    if segment.is_empty() || segment == "." || segment == ".." {
        return Err(ClientError::InvalidUrl {
            url: format!("{url}/{segment}"),
            reason: format!("{segment:?} cannot be used as a path segment"),
        });
    }
    url.push('/');
    encode_into(url, segment);
    Ok(())
}

fn encode_into(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Segment::{Fixed, Path, Value};
    use super::*;

    #[test]
    fn validates_base_urls() {
        assert_eq!(
            parse_base("http://localhost:8080").unwrap(),
            "http://localhost:8080"
        );
        assert_eq!(
            parse_base("http://localhost:8080/").unwrap(),
            "http://localhost:8080"
        );
        assert_eq!(
            parse_base(" https://registry.example/spoke/ ").unwrap(),
            "https://registry.example/spoke"
        );
        for bad in [
            "",
            "localhost:8080",
            "ftp://host",
            "http://",
            "http://host/?x=1",
            "http://host/#frag",
            "not a url",
        ] {
            assert!(
                matches!(parse_base(bad), Err(ClientError::InvalidUrl { .. })),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn encodes_segments() {
        let url = build(
            "http://h:1/prefix",
            &[
                Fixed("modules"),
                Value("common"),
                Fixed("versions"),
                Value("1.0.0-rc.1+b7"),
                Fixed("files"),
                Path("google/api/a b%#?.proto"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "http://h:1/prefix/modules/common/versions/1.0.0-rc.1%2Bb7/files/google/api/a%20b%25%23%3F.proto"
        );
        let url = build("http://h", &[Value("caf\u{e9}/x")], &[]).unwrap();
        assert_eq!(url.as_str(), "http://h/caf%C3%A9%2Fx");
    }

    #[test]
    fn encodes_queries() {
        let url = build(
            "http://h",
            &[Fixed("modules")],
            &[("limit", "10"), ("cursor", "a+b/c=")],
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "http://h/modules?limit=10&cursor=a%2Bb%2Fc%3D"
        );
        assert_eq!(url.query_pairs().nth(1).unwrap().1, "a+b/c=");
    }

    #[test]
    fn refuses_segments_that_would_change_the_route() {
        for bad in ["", ".", ".."] {
            assert!(build("http://h", &[Value(bad)], &[]).is_err(), "{bad:?}");
        }
        for bad in [
            "../etc/passwd.proto",
            "a//b.proto",
            "a/./b.proto",
            "/abs.proto",
            "dir/",
        ] {
            assert!(build("http://h", &[Path(bad)], &[]).is_err(), "{bad:?}");
        }
    }
}

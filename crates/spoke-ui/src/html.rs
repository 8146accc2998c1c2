//! HTML building: every piece of text reaches a page through [`Esc`] (or a
//! URL through [`seg`]), so names, comments and descriptions a pusher
//! wrote are shown, never run. Pages are plain strings written with
//! `write!`; `Html` is the response.

use std::fmt::{self, Write as _};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Text escaped for HTML element content and quoted attribute values.
pub(crate) struct Esc<'a>(pub(crate) &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..at])?;
            f.write_str(match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[at + 1..];
        }
        f.write_str(rest)
    }
}

/// What stays unencoded in one path segment or query value.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One URL path segment or query value, percent-encoded (and so also safe
/// in an attribute).
pub(crate) fn seg(text: &str) -> impl fmt::Display + '_ {
    utf8_percent_encode(text, SEGMENT)
}

/// A file path in a URL: each segment encoded, the slashes kept.
pub(crate) fn path_url(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for (i, part) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let _ = write!(out, "{}", seg(part));
    }
    out
}

/// The stable URLs of the UI's pages.
pub(crate) mod url {
    use super::{path_url, seg};

    pub(crate) fn module(module: &str) -> String {
        format!("/ui/m/{}", seg(module))
    }

    pub(crate) fn version(module: &str, version: &str) -> String {
        format!("/ui/m/{}/v/{}", seg(module), seg(version))
    }

    pub(crate) fn file(module: &str, version: &str, path: &str) -> String {
        format!("{}/file/{}", self::version(module, version), path_url(path))
    }

    /// A line of a file (`#L12`).
    pub(crate) fn line(module: &str, version: &str, path: &str, line: u32) -> String {
        format!("{}#L{line}", file(module, version, path))
    }

    /// The package's reference docs; `~` stands for "no package", which no
    /// protobuf package can be named.
    pub(crate) fn docs(module: &str, version: &str, package: &str) -> String {
        let package = if package.is_empty() { "~" } else { package };
        format!("{}/docs/{}", self::version(module, version), seg(package))
    }

    /// An element's entry in its package's docs.
    pub(crate) fn element(module: &str, version: &str, package: &str, full_name: &str) -> String {
        format!("{}#{}", docs(module, version, package), seg(full_name))
    }

    /// Any element by full name, redirected to its docs entry.
    pub(crate) fn symbol(module: &str, version: &str, full_name: &str) -> String {
        format!(
            "{}/symbol/{}",
            self::version(module, version),
            seg(full_name)
        )
    }

    pub(crate) fn diff(module: &str, from: &str, to: &str) -> String {
        format!(
            "/ui/m/{}/diff?from={}&to={}",
            seg(module),
            seg(from),
            seg(to)
        )
    }
}

/// Who is browsing, as the page header shows it.
pub(crate) struct Chrome<'a> {
    /// Access control is on (a sign-in link or the signed-in name).
    pub(crate) auth_enabled: bool,
    /// The signed-in principal, when there is one.
    pub(crate) signed_in: Option<&'a str>,
    /// The CSRF token of the sign-out form.
    pub(crate) csrf: &'a str,
}

/// One page: `title` in the tab and the heading, `crumbs` (label, URL) in
/// the breadcrumb navigation, `body` already HTML.
pub(crate) fn page(
    status: StatusCode,
    title: &str,
    crumbs: &[(&str, String)],
    chrome: &Chrome<'_>,
    body: &str,
) -> Response {
    let mut out = String::with_capacity(body.len() + 2048);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>{} · Spoke</title>\
         <link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" href=\"/ui/assets/style.css\">\
         <script src=\"/ui/assets/app.js\" defer></script></head><body>\
         <a class=\"skip\" href=\"#main\">Skip to content</a>\
         <header class=\"top\"><a class=\"brand\" href=\"/ui/\">Spoke</a>\
         <form class=\"search\" role=\"search\" action=\"/ui/search\" method=\"get\">\
         <label for=\"top-q\" class=\"visually-hidden\">Search schemas</label>\
         <input id=\"top-q\" name=\"q\" type=\"search\" placeholder=\"Search messages, fields, services…\">\
         <button type=\"submit\">Search</button></form>",
        Esc(title)
    );
    if chrome.auth_enabled {
        match chrome.signed_in {
            Some(who) => {
                let _ = write!(
                    out,
                    "<form class=\"session\" action=\"/ui/sign-out\" method=\"post\">{}\
                     <span>Signed in as {}</span> <button type=\"submit\">Sign out</button></form>",
                    csrf_field(chrome.csrf),
                    Esc(who)
                );
            }
            None => out.push_str("<a class=\"session\" href=\"/ui/sign-in\">Sign in</a>"),
        }
    }
    out.push_str("</header>");
    if !crumbs.is_empty() {
        out.push_str("<nav aria-label=\"Breadcrumb\" class=\"crumbs\"><ol>");
        for (label, href) in crumbs {
            let _ = write!(out, "<li><a href=\"{}\">{}</a></li>", Esc(href), Esc(label));
        }
        let _ = write!(
            out,
            "<li aria-current=\"page\">{}</li></ol></nav>",
            Esc(title)
        );
    }
    let _ = write!(
        out,
        "<main id=\"main\" tabindex=\"-1\"><h1>{}</h1>{body}</main>\
         <footer><p>Spoke schema registry · <a href=\"/openapi.json\">API</a></p></footer>\
         </body></html>",
        Esc(title)
    );
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            // Pages show mutable state (latest, labels, marks).
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
                ),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        out,
    )
        .into_response()
}

/// The hidden field that carries a form's CSRF token (see `session.rs`).
pub(crate) fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        crate::session::CSRF_FIELD,
        Esc(token)
    )
}

/// A timestamp as a `<time>` element: the date for people, the instant in
/// the attribute.
pub(crate) fn time(out: &mut String, rfc3339: &str) {
    let date = rfc3339.get(..10).unwrap_or(rfc3339);
    let _ = write!(
        out,
        "<time datetime=\"{}\" title=\"{}\">{}</time>",
        Esc(rfc3339),
        Esc(rfc3339),
        Esc(date)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            Esc("<script>alert('x') & \"y\"</script>").to_string(),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }

    #[test]
    fn encodes_url_segments_but_keeps_path_slashes() {
        assert_eq!(seg("a b/\"c\"").to_string(), "a%20b%2F%22c%22");
        assert_eq!(path_url("acme/v1/a b.proto"), "acme/v1/a%20b.proto");
        assert_eq!(url::docs("m", "1.0.0", ""), "/ui/m/m/v/1.0.0/docs/~");
        assert_eq!(url::version("m", "1.0.0+b"), "/ui/m/m/v/1.0.0%2Bb");
    }
}

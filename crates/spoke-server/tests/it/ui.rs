//! The web UI over real sockets: every page's status and content on a
//! seeded registry, escaping of hostile names, comments and READMEs, bad
//! input, and signing in with access control on. The browser walk is
//! `ui_browser.rs`.

use std::net::SocketAddr;

use serde_json::{Value, json};
use spoke_server::config::Secret;
use spoke_test_support::server::{HttpResponse, request, start, test_settings};

/// The acceptance's `common` module: `Money`, commented.
pub(crate) const MONEY: &str = "syntax = \"proto3\";\npackage acme.common.v1;\n\n// An amount of money in one currency.\nmessage Money {\n  // ISO 4217 code, e.g. EUR.\n  string currency_code = 1;\n  int64 units = 2;\n}\n";

/// `user` v1: a `User` with a `Money balance`, and a service.
pub(crate) const USER_V1: &str = "syntax = \"proto3\";\npackage acme.user.v1;\n\nimport \"acme/common/v1/money.proto\";\n\n// A customer account.\nmessage User {\n  string id = 1;\n  // Contact address.\n  string email = 2;\n  acme.common.v1.Money balance = 3;\n}\n\nmessage GetUserRequest { string id = 1; }\n\n// Reads accounts.\nservice UserService {\n  // One account by id.\n  rpc GetUser(GetUserRequest) returns (User);\n}\n";

/// `user` v2: `email` deleted.
pub(crate) const USER_V2: &str = "syntax = \"proto3\";\npackage acme.user.v1;\n\nimport \"acme/common/v1/money.proto\";\n\n// A customer account.\nmessage User {\n  string id = 1;\n  acme.common.v1.Money balance = 3;\n}\n\nmessage GetUserRequest { string id = 1; }\n\n// Reads accounts.\nservice UserService {\n  // One account by id.\n  rpc GetUser(GetUserRequest) returns (User);\n}\n";

/// `POST /modules/{module}/versions` with one file.
pub(crate) async fn push(
    addr: SocketAddr,
    token: Option<&str>,
    module: &str,
    body: Value,
) -> HttpResponse {
    let authorization = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(authorization) = &authorization {
        headers.push(("authorization", authorization));
    }
    let path = format!("/modules/{module}/versions");
    let response = Box::pin(request(
        addr,
        "POST",
        &path,
        &headers,
        body.to_string().as_bytes(),
    ))
    .await;
    assert!(
        response.status == 201 || response.status == 200,
        "{}",
        response.text()
    );
    response
}

/// The acceptance's registry: `common@1.0.0` and `user@1.0.0`,
/// `user@2.0.0` (without `email`).
pub(crate) async fn seed(addr: SocketAddr, token: Option<&str>) {
    push(
        addr,
        token,
        "common",
        json!({
            "version": "1.0.0",
            "create_module": true,
            "description": "Shared value types",
            "files": [{"path": "acme/common/v1/money.proto", "content": MONEY}],
            "documents": [{"path": "README.md", "content": "# Common\n\nTypes every service shares, like **Money**.\n"}],
        }),
    )
    .await;
    for (version, content) in [("1.0.0", USER_V1), ("2.0.0", USER_V2)] {
        push(
            addr,
            token,
            "user",
            json!({
                "version": version,
                "create_module": true,
                "description": "Customer accounts",
                "dependencies": ["common@1.0.0"],
                "files": [{"path": "acme/user/v1/user.proto", "content": content}],
            }),
        )
        .await;
    }
}

async fn page(addr: SocketAddr, path: &str) -> HttpResponse {
    Box::pin(request(addr, "GET", path, &[("accept", "text/html")], b"")).await
}

fn assert_page(response: &HttpResponse, status: u16) -> String {
    let text = response.text();
    assert_eq!(response.status, status, "{text}");
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(text.starts_with("<!DOCTYPE html>"), "{text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_shows_the_seeded_registry() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(test_settings(dir.path())).await;
    let addr = server.api_addr();
    seed(addr, None).await;

    // GET / sends browsers to the UI; API clients keep their JSON 404.
    let home = page(addr, "/").await;
    assert_eq!(home.status, 303, "{}", home.text());
    assert_eq!(home.header("location"), Some("/ui/"));
    let api = request(addr, "GET", "/", &[("accept", "application/json")], b"").await;
    assert_eq!(api.status, 404);
    assert_eq!(api.json()["code"], "NOT_FOUND");

    let modules = assert_page(&page(addr, "/ui/").await, 200);
    assert!(
        modules.contains("<a href=\"/ui/m/common\">common</a>"),
        "{modules}"
    );
    assert!(
        modules.contains("<a href=\"/ui/m/user\">user</a>"),
        "{modules}"
    );
    assert!(modules.contains("Customer accounts"), "{modules}");
    let filtered = assert_page(&page(addr, "/ui/?filter=shared").await, 200);
    assert!(filtered.contains("/ui/m/common\""));
    assert!(!filtered.contains("/ui/m/user\""), "{filtered}");
    assert!(
        filtered.contains(
            "<label>Filter modules<input name=\"filter\" type=\"search\" value=\"shared\""
        ),
        "{filtered}"
    );
    let none = assert_page(&page(addr, "/ui/?filter=nothing-like-it").await, 200);
    assert!(
        none.contains("No module matches <q>nothing-like-it</q>."),
        "{none}"
    );

    let user = assert_page(&page(addr, "/ui/m/user").await, 200);
    assert!(
        user.contains(
            "<a href=\"/ui/m/user/v/2.0.0\">2.0.0</a> <span class=\"badge\">latest</span>"
        ),
        "{user}"
    );
    assert!(
        user.contains("<a href=\"/ui/m/user/v/1.0.0\">1.0.0</a>"),
        "{user}"
    );
    assert!(user.contains("<code>NONE</code>"), "{user}");
    assert!(user.contains("action=\"/ui/m/user/diff\""), "{user}");
    let common = assert_page(&page(addr, "/ui/m/common").await, 200);
    assert!(common.contains("<h2>Common</h2>"), "{common}");
    assert!(common.contains("<strong>Money</strong>"), "{common}");
    assert!(
        common.contains("<a href=\"/ui/m/user/v/1.0.0\">user@1.0.0</a>"),
        "{common}"
    );

    let version = assert_page(&page(addr, "/ui/m/user/v/1.0.0").await, 200);
    assert!(
        version.contains("<a href=\"/ui/m/common/v/1.0.0\">common@1.0.0</a>"),
        "{version}"
    );
    assert!(
        version.contains("<title id=\"graph-title\">user@1.0.0 depends on common@1.0.0</title>"),
        "{version}"
    );
    assert!(
        version.contains("href=\"/ui/m/user/v/1.0.0/file/acme/user/v1/user.proto\""),
        "{version}"
    );
    assert!(
        version.contains("href=\"/ui/m/user/v/1.0.0/docs/acme.user.v1\""),
        "{version}"
    );
    assert!(
        version.contains("/ui/m/user/v/1.0.0/image.binpb"),
        "{version}"
    );
    // latest resolves to the exact version.
    let latest = assert_page(&page(addr, "/ui/m/user/v/latest").await, 200);
    assert!(
        latest.contains("<title>user@2.0.0 · Spoke</title>"),
        "{latest}"
    );
    let common_version = assert_page(&page(addr, "/ui/m/common/v/1.0.0").await, 200);
    assert!(
        common_version.contains("<a href=\"/ui/m/user/v/1.0.0\">user@1.0.0</a>"),
        "{common_version}"
    );

    let file = assert_page(
        &page(addr, "/ui/m/user/v/1.0.0/file/acme/user/v1/user.proto").await,
        200,
    );
    assert!(file.contains("<span class=\"line\" id=\"L11\">"), "{file}");
    assert!(
        file.contains("<a class=\"t\" href=\"/ui/m/common/v/1.0.0/file/acme/common/v1/money.proto#L5\" title=\"acme.common.v1.Money in common@1.0.0\">acme.common.v1.Money</a>"),
        "{file}"
    );
    assert!(
        file.contains(
            "<a class=\"s\" href=\"/ui/m/common/v/1.0.0/file/acme/common/v1/money.proto\""
        ),
        "{file}"
    );
    assert!(file.contains("<span class=\"k\">message</span>"), "{file}");

    let docs = assert_page(
        &page(addr, "/ui/m/common/v/1.0.0/docs/acme.common.v1").await,
        200,
    );
    assert!(docs.contains("id=\"acme.common.v1.Money\""), "{docs}");
    assert!(
        docs.contains("An amount of money in one currency."),
        "{docs}"
    );
    assert!(
        docs.contains(
            "declared in <a href=\"/ui/m/common/v/1.0.0/file/acme/common/v1/money.proto#L5\">"
        ),
        "{docs}"
    );
    let user_docs = assert_page(
        &page(addr, "/ui/m/user/v/1.0.0/docs/acme.user.v1").await,
        200,
    );
    assert!(
        user_docs.contains("<code><a href=\"/ui/m/common/v/1.0.0/docs/acme.common.v1#acme.common.v1.Money\">acme.common.v1.Money</a> balance = 3</code>"),
        "{user_docs}"
    );
    assert!(user_docs.contains("One account by id."), "{user_docs}");

    // Search: the message, and by type the field that holds it.
    let search = assert_page(&page(addr, "/ui/search?q=Money").await, 200);
    assert!(
        search.contains("<a href=\"/ui/m/common/v/1.0.0/symbol/acme.common.v1.Money\"><code>acme.common.v1.Money</code></a>"),
        "{search}"
    );
    assert!(search.contains("acme.user.v1.User.balance"), "{search}");
    assert!(
        search.contains("<a href=\"/ui/m/common/v/1.0.0/file/acme/common/v1/money.proto#L5\">acme/common/v1/money.proto:5</a>"),
        "{search}"
    );
    let by_type = assert_page(
        &page(addr, "/ui/search?q=type%3Aacme.common.v1.Money&kind=field").await,
        200,
    );
    assert!(by_type.contains("acme.user.v1.User.balance"), "{by_type}");
    assert!(
        by_type.contains("<option value=\"field\" selected>"),
        "{by_type}"
    );
    let form = assert_page(&page(addr, "/ui/search").await, 200);
    assert!(
        form.contains("aria-label=\"Search with filters\""),
        "{form}"
    );

    // Any element by full name leads to its docs entry.
    let symbol = page(addr, "/ui/m/user/v/latest/symbol/acme.user.v1.User.balance").await;
    assert_eq!(symbol.status, 303, "{}", symbol.text());
    assert_eq!(
        symbol.header("location"),
        Some("/ui/m/user/v/2.0.0/docs/acme.user.v1#acme.user.v1.User.balance")
    );
    let package = page(addr, "/ui/m/common/v/1.0.0/symbol/acme.common.v1").await;
    assert_eq!(
        package.header("location"),
        Some("/ui/m/common/v/1.0.0/docs/acme.common.v1")
    );

    let diff = assert_page(
        &page(addr, "/ui/m/user/diff?from=1.0.0&to=2.0.0").await,
        200,
    );
    assert!(diff.contains("1 breaking"), "{diff}");
    assert!(
        diff.contains("field <code>acme.user.v1.User.email</code>"),
        "{diff}"
    );
    assert!(diff.contains("breaking: FILE"), "{diff}");
    assert!(diff.contains("FIELD_NO_DELETE"), "{diff}");

    let raw = request(
        addr,
        "GET",
        "/ui/m/user/v/1.0.0/raw/acme/user/v1/user.proto",
        &[],
        b"",
    )
    .await;
    assert_eq!(raw.status, 200);
    assert_eq!(raw.text(), USER_V1);
    let image = request(addr, "GET", "/ui/m/user/v/1.0.0/image.binpb", &[], b"").await;
    assert_eq!(image.status, 200);
    assert_eq!(image.header("content-type"), Some("application/x-protobuf"));
    assert!(!image.body.is_empty());
    let lockfile = request(addr, "GET", "/ui/m/user/v/1.0.0/lockfile.json", &[], b"").await;
    assert_eq!(lockfile.status, 200);
    assert_eq!(
        lockfile.json()["dependencies"][0]["module_name"],
        "common",
        "{}",
        lockfile.text()
    );

    let style = request(addr, "GET", "/ui/assets/style.css", &[], b"").await;
    assert_eq!(style.status, 200);
    assert!(style.text().contains("prefers-color-scheme: dark"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_module_filter_covers_every_module_not_just_the_first_page() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(test_settings(dir.path())).await;
    let addr = server.api_addr();
    // 105 modules named before `common` and `user`: the list's first page
    // (100 modules) holds none of the seeded ones.
    for i in 0..105 {
        let body = json!({"name": format!("bulk-{i:03}"), "description": format!("Filler {i}")});
        let created = Box::pin(request(
            addr,
            "POST",
            "/modules",
            &[("content-type", "application/json")],
            body.to_string().as_bytes(),
        ))
        .await;
        assert_eq!(created.status, 201, "{}", created.text());
    }
    seed(addr, None).await;
    let first = assert_page(&page(addr, "/ui/").await, 200);
    assert!(!first.contains("/ui/m/user\""), "{first}");
    assert!(first.contains("Next page"), "{first}");

    // By description (any case) and by name, from the whole registry.
    let accounts = assert_page(&page(addr, "/ui/?filter=ACCOUNTS").await, 200);
    assert!(
        accounts.contains("<a href=\"/ui/m/user\">user</a>"),
        "{accounts}"
    );
    assert!(!accounts.contains("/ui/m/bulk-"), "{accounts}");
    assert!(!accounts.contains("Next page"), "{accounts}");
    let late = assert_page(&page(addr, "/ui/?filter=bulk-10").await, 200);
    for i in 100..105 {
        assert!(late.contains(&format!("/ui/m/bulk-{i}\"")), "{i}: {late}");
    }
    assert!(!late.contains("/ui/m/bulk-099\""), "{late}");

    // A full page of matches links on to the rest, filter kept.
    let bulk = assert_page(&page(addr, "/ui/?filter=filler").await, 200);
    assert!(bulk.contains("/ui/m/bulk-099\""), "{bulk}");
    assert!(!bulk.contains("/ui/m/bulk-100\""), "{bulk}");
    let next = bulk
        .split("<p class=\"pager\"><a href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no next page in {bulk}"))
        .replace("&amp;", "&");
    assert!(next.ends_with("&filter=filler"), "{next}");
    let rest = assert_page(&page(addr, &next).await, 200);
    for i in 100..105 {
        assert!(rest.contains(&format!("/ui/m/bulk-{i}\"")), "{i}: {rest}");
    }
    assert!(!rest.contains("/ui/m/user\""), "{rest}");
    assert!(!rest.contains("Next page"), "{rest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_precise_4xx_page() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(test_settings(dir.path())).await;
    let addr = server.api_addr();
    seed(addr, None).await;
    for (path, status, words) in [
        ("/ui/m/Not%20A%20Name", 400, "module name"),
        ("/ui/m/nope", 404, "nope"),
        ("/ui/m/user/v/9.9.9", 404, "9.9.9"),
        (
            "/ui/m/user/v/1.0.0/file/acme/none.proto",
            404,
            "acme/none.proto",
        ),
        ("/ui/m/user/v/1.0.0/docs/acme.none", 404, "acme.none"),
        (
            "/ui/m/user/v/1.0.0/symbol/acme.user.v1.Nobody",
            404,
            "acme.user.v1.Nobody",
        ),
        ("/ui/m/user/v/bad%20version", 400, "version"),
        ("/ui/search?q=Money&kind=method", 400, "method"),
        ("/ui/search?q=type%3A1bad", 400, "type name"),
        ("/ui/search?q=Money&module=Bad%20Module", 400, "module name"),
        ("/ui/m/user/diff?from=1.0.0", 400, "two versions"),
        ("/ui/m/user/diff?from=1.0.0&to=7.0.0", 404, "7.0.0"),
        ("/ui/?cursor=%21%21", 400, "cursor"),
        ("/ui/nothing/here", 404, "no page here"),
        ("/ui/sign-in", 409, "access control is off"),
    ] {
        let response = page(addr, path).await;
        let text = assert_page(&response, status);
        assert!(text.contains("role=\"alert\""), "{path}: {text}");
        assert!(text.contains(words), "{path}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_pushers_write_is_escaped_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(test_settings(dir.path())).await;
    let addr = server.api_addr();
    let hostile = "<script>alert(1)</script>";
    push(
        addr,
        None,
        "evil",
        json!({
            "version": "1.0.0",
            "create_module": true,
            "description": format!("desc {hostile} \"quoted\""),
            "files": [{
                "path": "evil/v1/evil.proto",
                "content": format!("syntax = \"proto3\";\npackage evil.v1;\n// {hostile} <img src=x onerror=alert(2)>\nmessage Evil {{\n  // \"><svg onload=alert(3)>\n  string name = 1; // </code>{hostile}\n}}\n"),
            }],
            "documents": [{"path": "README.md", "content": format!("{hostile}\n\n[click](javascript:alert(4))\n\n<iframe src=x></iframe>")}],
        }),
    )
    .await;
    for path in [
        "/ui/",
        "/ui/m/evil",
        "/ui/m/evil/v/1.0.0",
        "/ui/m/evil/v/1.0.0/docs/evil.v1",
        "/ui/m/evil/v/1.0.0/file/evil/v1/evil.proto",
    ] {
        let text = assert_page(&page(addr, path).await, 200);
        for raw in [
            "<script>alert",
            "<img src=x",
            "<svg onload",
            "<iframe",
            "javascript:",
        ] {
            assert!(!text.contains(raw), "{path} contains {raw}: {text}");
        }
    }
    let module = page(addr, "/ui/m/evil").await.text();
    assert!(
        module.contains("desc &lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot;"),
        "{module}"
    );
    let docs = page(addr, "/ui/m/evil/v/1.0.0/docs/evil.v1").await.text();
    assert!(
        docs.contains("&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(2)&gt;"),
        "{docs}"
    );
    let search = page(addr, "/ui/search?q=%3Cscript%3Ealert(5)%3C%2Fscript%3E")
        .await
        .text();
    assert!(!search.contains("<script>alert(5)"), "{search}");
    assert!(search.contains("&lt;script&gt;alert(5)"), "{search}");
    // A query parameter is echoed escaped too.
    let filtered = page(addr, "/ui/?filter=%22%3E%3Cscript%3E").await.text();
    assert!(
        filtered.contains("value=\"&quot;&gt;&lt;script&gt;\""),
        "{filtered}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_access_control_on_a_browser_signs_in_with_a_token() {
    const BOOTSTRAP: &str = "bootstrap-token-for-the-ui-tests-0123456789";
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.auth.enabled = true;
    settings.auth.anonymous_read = false;
    settings.auth.bootstrap_token = Some(Secret::new(BOOTSTRAP));
    let server = start(settings).await;
    let addr = server.api_addr();
    seed(addr, Some(BOOTSTRAP)).await;

    let refused = page(addr, "/ui/m/user").await;
    let text = assert_page(&refused, 401);
    assert!(text.contains("href=\"/ui/sign-in\""), "{text}");
    assert!(!text.contains("Customer accounts"), "{text}");

    let form_page = page(addr, "/ui/sign-in?next=/ui/m/user").await;
    let form = assert_page(&form_page, 200);
    assert!(
        form.contains("<label>API token<input name=\"token\" type=\"password\""),
        "{form}"
    );
    assert!(
        form.contains("name=\"next\" value=\"/ui/m/user\""),
        "{form}"
    );

    // The form carries the browser's CSRF token, derived from the nonce
    // cookie it sets.
    let nonce = form_page.header("set-cookie").unwrap().to_owned();
    assert!(nonce.starts_with("spoke_csrf="), "{nonce}");
    assert_cookie_flags(&nonce, false);
    let nonce = nonce.split(';').next().unwrap().to_owned();
    let csrf = csrf_of(&form);
    let again = Box::pin(request(
        addr,
        "GET",
        "/ui/sign-in",
        &[("accept", "text/html"), ("cookie", &nonce)],
        b"",
    ))
    .await;
    assert_eq!(
        csrf_of(&assert_page(&again, 200)),
        csrf,
        "one token per nonce"
    );
    assert!(again.header("set-cookie").is_none(), "the nonce is kept");

    let post = |cookie: String, body: String| post_form(addr, "/ui/sign-in", cookie, body);
    let wrong = post(
        nonce.clone(),
        format!("csrf={csrf}&token=not-the-token-0123456789"),
    )
    .await;
    let text = assert_page(&wrong, 401);
    assert!(text.contains("The token was refused"), "{text}");
    assert!(!text.contains("not-the-token"), "{text}");
    assert!(wrong.header("set-cookie").is_none());
    let empty = post(nonce.clone(), format!("csrf={csrf}&token=")).await;
    assert_page(&empty, 400);
    let malformed = post(nonce.clone(), format!("csrf={csrf}&nothing=1")).await;
    assert_page(&malformed, 400);

    // Without the token, with another browser's, or from a browser without
    // the nonce: 403, and the token given is not even tried.
    let signing_in = format!("token={BOOTSTRAP}&next=%2Fui%2Fm%2Fuser");
    for (cookie, body, code) in [
        (nonce.clone(), signing_in.clone(), "CSRF_TOKEN_MISSING"),
        (
            nonce.clone(),
            format!("csrf=&{signing_in}"),
            "CSRF_TOKEN_MISSING",
        ),
        (
            "spoke_csrf=00ff".to_owned(),
            format!("csrf={csrf}&{signing_in}"),
            "CSRF_TOKEN_INVALID",
        ),
        (
            "other=1".to_owned(),
            format!("csrf={csrf}&{signing_in}"),
            "CSRF_TOKEN_INVALID",
        ),
    ] {
        let refused = post(cookie, body).await;
        let text = assert_page(&refused, 403);
        assert!(text.contains(code), "{code}: {text}");
        assert!(text.contains("Reload the page"), "{text}");
        assert!(refused.header("set-cookie").is_none(), "{text}");
    }
    // Sent from another site (or an opaque origin, or this host under
    // another scheme), even with this browser's nonce and token: 403
    // before the token is tried.
    for origin in [
        "http://evil.example",
        "null",
        "https://test",
        "http://test:81",
    ] {
        let refused = post_form_from(
            addr,
            "/ui/sign-in",
            Some(origin),
            nonce.clone(),
            format!("csrf={csrf}&{signing_in}"),
        )
        .await;
        let text = assert_page(&refused, 403);
        assert!(text.contains("CROSS_ORIGIN_FORM"), "{origin}: {text}");
        assert!(refused.header("set-cookie").is_none(), "{text}");
    }
    // A JSON body carries no form token.
    let json = Box::pin(request(
        addr,
        "POST",
        "/ui/sign-in",
        &[("content-type", "application/json"), ("cookie", &nonce)],
        format!("{{\"csrf\":\"{csrf}\",\"token\":\"{BOOTSTRAP}\"}}").as_bytes(),
    ))
    .await;
    assert!(assert_page(&json, 403).contains("CSRF_TOKEN_MISSING"));

    // From this server's own origin (any case), it signs in.
    let signed_in = post_form_from(
        addr,
        "/ui/sign-in",
        Some("HTTP://Test"),
        nonce.clone(),
        format!("csrf={csrf}&{signing_in}"),
    )
    .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text());
    assert_eq!(signed_in.header("location"), Some("/ui/m/user"));
    let cookies: Vec<&str> = signed_in
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, value)| value.as_str())
        .collect();
    let cookie = cookies
        .iter()
        .find(|c| c.starts_with("spoke_session="))
        .unwrap()
        .to_string();
    assert_cookie_flags(&cookie, false);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("spoke_csrf=;") && c.contains("Max-Age=0")),
        "the nonce is dropped once signed in: {cookies:?}"
    );
    assert!(
        !cookie.contains(BOOTSTRAP),
        "the cookie holds the token hex-encoded: {cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();

    let module = Box::pin(request(
        addr,
        "GET",
        "/ui/m/user",
        &[("accept", "text/html"), ("cookie", &session)],
        b"",
    ))
    .await;
    let text = assert_page(&module, 200);
    assert!(text.contains("Customer accounts"), "{text}");
    assert!(text.contains("Signed in as"), "{text}");
    assert!(!text.contains(BOOTSTRAP), "{text}");

    // Signed in, the forms are bound to the session: its sign-out form's
    // token is not the nonce's, and only it signs out.
    let session_csrf = csrf_of(&text);
    assert_ne!(session_csrf, csrf);
    let sign_out = |cookie: String, body: String| post_form(addr, "/ui/sign-out", cookie, body);
    let no_body = Box::pin(request(
        addr,
        "POST",
        "/ui/sign-out",
        &[("cookie", &session)],
        b"",
    ))
    .await;
    assert!(assert_page(&no_body, 403).contains("CSRF_TOKEN_MISSING"));
    assert!(no_body.header("set-cookie").is_none());
    for stale in [csrf.as_str(), "0000"] {
        let refused = sign_out(session.clone(), format!("csrf={stale}")).await;
        let text = assert_page(&refused, 403);
        assert!(text.contains("CSRF_TOKEN_INVALID"), "{text}");
        assert!(!text.contains("Sign in</a> with a token"), "{text}");
        assert!(refused.header("set-cookie").is_none());
    }
    let out = sign_out(session.clone(), format!("csrf={session_csrf}")).await;
    assert_eq!(out.status, 303, "{}", out.text());
    let cleared = out.header("set-cookie").unwrap();
    assert!(
        cleared.starts_with("spoke_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
}

/// A form POSTed with a browser's cookies.
async fn post_form(addr: SocketAddr, path: &str, cookie: String, body: String) -> HttpResponse {
    post_form_from(addr, path, None, cookie, body).await
}

/// [`post_form`] with the `Origin` header a browser sends (the test
/// client's `Host` is `test`, so this server's origin is `http://test`).
async fn post_form_from(
    addr: SocketAddr,
    path: &str,
    origin: Option<&str>,
    cookie: String,
    body: String,
) -> HttpResponse {
    let mut headers = vec![
        ("content-type", "application/x-www-form-urlencoded"),
        ("cookie", cookie.as_str()),
    ];
    headers.extend(origin.map(|origin| ("origin", origin)));
    Box::pin(request(addr, "POST", path, &headers, body.as_bytes())).await
}

/// The CSRF token in a page's (first) form.
fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no CSRF field in {page}"));
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    let token = &rest[..rest.find('"').unwrap()];
    assert_eq!(token.len(), 64, "{token}");
    token.to_owned()
}

/// A UI cookie's attributes: scoped to the UI, out of scripts' reach, never
/// sent by another site's request, and `Secure` exactly over TLS.
fn assert_cookie_flags(cookie: &str, secure: bool) {
    for flag in ["Path=/ui", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.split("; ").any(|f| f == flag), "{flag}: {cookie}");
    }
    assert_eq!(
        cookie.split("; ").any(|f| f == "Secure"),
        secure,
        "{cookie}"
    );
}

/// Settings for a server with access control on whose peers in `trusted`
/// are trusted proxies.
fn guarded(root: &std::path::Path, trusted: &str) -> spoke_server::Settings {
    let mut settings = test_settings(root);
    settings.auth.enabled = true;
    settings.auth.bootstrap_token = Some(Secret::new("bootstrap-token-for-the-ui-cookie-tests"));
    settings.trusted_proxies = vec![trusted.parse().unwrap()];
    settings
}

/// The nonce cookie the sign-in form sets, asked with `headers`.
async fn nonce_cookie(addr: SocketAddr, headers: &[(&str, &str)]) -> String {
    let form = Box::pin(request(addr, "GET", "/ui/sign-in", headers, b"")).await;
    assert_page(&form, 200);
    form.header("set-cookie").unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_behind_a_trusted_proxy_that_says_https() {
    // The test's requests come from 127.0.0.1: a trusted proxy for the first
    // server, anyone for the second, whose claim is not believed.
    for (trusted, believed) in [("127.0.0.1/32", true), ("10.0.0.0/8", false)] {
        let dir = tempfile::tempdir().unwrap();
        let server = start(guarded(dir.path(), trusted)).await;
        let addr = server.api_addr();
        for (proto, secure) in [
            (Some("https"), believed),
            (Some("http"), false),
            (None, false),
        ] {
            let mut headers = vec![("accept", "text/html")];
            headers.extend(proto.map(|p| ("x-forwarded-proto", p)));
            let cookie = nonce_cookie(addr, &headers).await;
            assert_cookie_flags(&cookie, secure);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_over_the_servers_own_tls() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_file, key_file) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert_file, certified.cert.pem()).unwrap();
    std::fs::write(&key_file, certified.signing_key.serialize_pem()).unwrap();
    let mut settings = guarded(&dir.path().join("store"), "10.0.0.0/8");
    settings.tls = Some(spoke_server::config::TlsSettings {
        cert_file,
        key_file,
        client_ca_file: None,
    });
    let server = start(settings).await;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(server.api_addr())
        .await
        .unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(client))
        .connect(
            rustls_pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    let ask = spoke_test_support::server::request_bytes(
        "GET",
        "/ui/sign-in",
        &[("accept", "text/html")],
        b"",
        true,
    );
    tls.write_all(&ask).await.unwrap();
    let mut answer = Vec::new();
    // The server may close without close_notify; what was read counts.
    let _ = tls.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let cookie = answer
        .lines()
        .find_map(|line| line.strip_prefix("set-cookie: "))
        .unwrap_or_else(|| panic!("no cookie in {answer}"));
    assert!(cookie.starts_with("spoke_csrf="), "{cookie}");
    assert_cookie_flags(cookie, true);
}

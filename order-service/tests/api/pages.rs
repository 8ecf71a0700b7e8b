//! The pages (API.md, "Pages"): served from the binary, with a Content-Security-Policy that
//! allows no inline script and no other origin but the notifier's, revalidated by ETag.

use order_service::routes::pages::{EmbeddedFile, NOTIFIER_URL_PLACEHOLDER, embedded_files};
use reqwest::{Method, StatusCode, header};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

const NOTIFIER: &str = "wss://notifier.example:9443";
const ORDER_ID: &str = "5b2fa9c1-0d2e-4f3a-9b8c-7d6e5f4a3b2c";

/// A page's status, headers and body as text.
struct Page {
    status: StatusCode,
    headers: header::HeaderMap,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }
}

async fn fetch(app: &TestApp, method: Method, path: &str, if_none_match: Option<&str>) -> Page {
    // No redirects followed, so a test sees the 308 itself.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client.request(method, app.url(path));
    if let Some(tag) = if_none_match {
        request = request.header(header::IF_NONE_MATCH, tag);
    }
    let response = request.send().await.expect("request sent");
    Page {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.expect("body read"),
    }
}

async fn get(app: &TestApp, path: &str) -> Page {
    fetch(app, Method::GET, path, None).await
}

async fn app_with_notifier() -> TestApp {
    spawn_app_with(|config| config.notifier_public_url = NOTIFIER.to_owned()).await
}

fn page_paths() -> [String; 3] {
    [
        "/kitchen/".to_owned(),
        "/order/luigis/".to_owned(),
        format!("/order/luigis/{ORDER_ID}/"),
    ]
}

#[tokio::test]
async fn the_pages_are_html_that_allow_no_inline_script_and_no_origin_but_the_notifier() {
    let app = app_with_notifier().await;
    for path in page_paths() {
        let page = get(&app, &path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
        let csp = page.header("content-security-policy");
        let directive = |name: &str| {
            csp.split(';')
                .map(str::trim)
                .find(|d| d.starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("{path}: no {name} in {csp}"))
                .to_owned()
        };
        assert_eq!(directive("default-src"), "default-src 'none'", "{path}");
        assert_eq!(directive("script-src"), "script-src 'self'", "{path}");
        assert_eq!(directive("style-src"), "style-src 'self'", "{path}");
        assert_eq!(
            directive("connect-src"),
            format!("connect-src 'self' {NOTIFIER}"),
            "{path}"
        );
        assert_eq!(directive("frame-ancestors"), "frame-ancestors 'none'");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(page.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(page.header("referrer-policy"), "no-referrer", "{path}");
        assert_eq!(page.header("cache-control"), "no-cache", "{path}");
        assert!(page.header("etag").starts_with('"'), "a strong ETag");
        assert!(
            page.body.contains(&format!(
                r#"<meta name="notifier-url" content="{NOTIFIER}">"#
            )),
            "{path}: the configured notifier in the page:\n{}",
            page.body
        );
        assert!(!page.body.contains(NOTIFIER_URL_PLACEHOLDER), "{path}");
    }
}

#[tokio::test]
async fn a_page_is_revalidated_by_its_etag_and_head_works() {
    let app = spawn_app().await;
    for path in page_paths()
        .into_iter()
        .chain(["/static/common/base.css".to_owned()])
    {
        let first = get(&app, &path).await;
        assert_eq!(first.status, 200, "{path}");
        let etag = first.header("etag").to_owned();
        let again = fetch(&app, Method::GET, &path, Some(&etag)).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag"), etag);
        assert_eq!(again.header("cache-control"), "no-cache");
        let stale = fetch(&app, Method::GET, &path, Some("\"0000000000000000\"")).await;
        assert_eq!(stale.status, 200, "another tag gets the file: {path}");
        assert_eq!(stale.body, first.body);

        let head = fetch(&app, Method::HEAD, &path, None).await;
        assert_eq!(head.status, 200, "{path}");
        assert!(head.body.is_empty());
        assert_eq!(head.header("etag"), etag);
        assert_eq!(head.header("content-type"), first.header("content-type"));
    }
}

#[tokio::test]
async fn a_new_notifier_address_is_a_new_page() {
    let one = spawn_app().await;
    let two = app_with_notifier().await;
    let (one, two) = (get(&one, "/kitchen/").await, get(&two, "/kitchen/").await);
    assert_ne!(
        one.header("etag"),
        two.header("etag"),
        "a screen that cached the page for the old notifier must not keep it"
    );
}

#[tokio::test]
async fn assets_are_served_with_their_content_types() {
    let app = spawn_app().await;
    for (path, content_type) in [
        ("/static/common/base.css", "text/css; charset=utf-8"),
        ("/static/order/format.js", "text/javascript; charset=utf-8"),
        ("/static/order/menu.html", "text/html; charset=utf-8"),
    ] {
        let asset = get(&app, path).await;
        assert_eq!(asset.status, 200, "{path}");
        assert_eq!(asset.header("content-type"), content_type, "{path}");
        assert_eq!(asset.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(asset.header("cache-control"), "no-cache", "{path}");
        assert!(asset.headers.contains_key("etag"), "{path}");
        let embedded = embedded(&path["/static/".len()..]);
        if !path.ends_with(".html") {
            assert_eq!(asset.body.as_bytes(), embedded.bytes, "{path}");
            assert_eq!(asset.header("etag"), embedded.etag, "{path}");
        }
    }
    let script = get(&app, "/static/order/format.js").await;
    assert!(
        !script.headers.contains_key("content-security-policy"),
        "the policy is the page's"
    );
}

#[tokio::test]
async fn unknown_assets_and_impossible_addresses_are_the_json_404() {
    let app = spawn_app().await;
    for path in [
        "/static/no/such/file.js",
        "/static/test/customer-format.test.js",
        "/static/%2e%2e/Cargo.toml",
        "/static/..%2fCargo.toml",
        "/static/",
        "/order/Not_A_Slug/",
        "/order/not--a-slug/",
        &format!("/order/{}/", "a".repeat(101)),
        "/order/luigis/not-an-order-id/",
        "/order/Not_A_Slug/5b2fa9c1-0d2e-4f3a-9b8c-7d6e5f4a3b2c/",
        "/kitchen/index.html",
    ] {
        let reply = app.get(path, None).await;
        assert_eq!(reply.status, 404, "{path}");
        reply.expect_error(404);
    }
}

#[tokio::test]
async fn addresses_without_the_final_slash_redirect_to_the_page() {
    let app = spawn_app().await;
    for (from, to) in [
        ("/kitchen", "/kitchen/".to_owned()),
        ("/order/luigis", "/order/luigis/".to_owned()),
        ("/order/luigis?table=5", "/order/luigis/?table=5".to_owned()),
        (
            &format!("/order/luigis/{ORDER_ID}"),
            format!("/order/luigis/{ORDER_ID}/"),
        ),
    ] {
        let reply = get(&app, from).await;
        assert_eq!(reply.status, StatusCode::PERMANENT_REDIRECT, "{from}");
        assert_eq!(reply.header("location"), to, "{from}");
    }
    app.get("/order/Not_A_Slug", None).await.expect_error(404);
    app.get("/order/luigis/nope", None).await.expect_error(404);
}

#[tokio::test]
async fn web_dir_serves_the_files_on_disk_with_the_same_headers() {
    let dir = std::env::temp_dir().join(format!("web-dir-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("kitchen")).unwrap();
    std::fs::create_dir_all(dir.join("test")).unwrap();
    let page = |text: &str| {
        format!(r#"<meta name="notifier-url" content="{NOTIFIER_URL_PLACEHOLDER}"><p>{text}</p>"#)
    };
    std::fs::write(dir.join("kitchen/index.html"), page("one")).unwrap();
    std::fs::write(dir.join("kitchen/app.js"), "export const edited = 1;").unwrap();
    std::fs::write(dir.join("test/secret.test.js"), "// a test").unwrap();
    let app = spawn_app_with(|config| {
        config.notifier_public_url = NOTIFIER.to_owned();
        config.web_dir = Some(dir.clone());
    })
    .await;

    let first = get(&app, "/kitchen/").await;
    assert_eq!(first.status, 200);
    assert!(first.body.contains("<p>one</p>"), "{}", first.body);
    assert!(first.body.contains(NOTIFIER), "{}", first.body);
    assert!(first.header("content-security-policy").contains(NOTIFIER));
    assert_eq!(first.header("cache-control"), "no-cache");
    std::fs::write(dir.join("kitchen/index.html"), page("two")).unwrap();
    let edited = fetch(&app, Method::GET, "/kitchen/", Some(first.header("etag"))).await;
    assert_eq!(edited.status, 200, "an edit shows without a rebuild");
    assert!(edited.body.contains("<p>two</p>"));
    assert_ne!(edited.header("etag"), first.header("etag"));

    let script = get(&app, "/static/kitchen/app.js").await;
    assert_eq!(script.body, "export const edited = 1;");
    assert_eq!(
        script.header("content-type"),
        "text/javascript; charset=utf-8"
    );
    app.get("/static/test/secret.test.js", None)
        .await
        .expect_error(404);
    app.get("/static/%2e%2e/%2e%2e/etc/passwd", None)
        .await
        .expect_error(404);
    let _ = std::fs::remove_dir_all(&dir);
}

fn embedded(path: &str) -> &'static EmbeddedFile {
    embedded_files()
        .iter()
        .find(|file| file.path == path)
        .unwrap_or_else(|| panic!("{path} is not embedded"))
}

/// The start tags of an HTML text, each as its lower-cased name and its attribute names
/// (comments skipped; quoted attribute values may hold `>`).
fn start_tags(html: &str) -> Vec<(String, Vec<String>)> {
    let mut tags = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        if let Some(comment) = rest.strip_prefix("!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        if !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        let mut quote = None;
        let end = rest
            .char_indices()
            .find(|&(_, c)| match quote {
                Some(q) if c == q => {
                    quote = None;
                    false
                }
                Some(_) => false,
                None if c == '"' || c == '\'' => {
                    quote = Some(c);
                    false
                }
                None => c == '>',
            })
            .map_or(rest.len(), |(i, _)| i);
        let tag = &rest[..end];
        rest = &rest[end..];
        let mut words = attribute_names(tag).into_iter();
        let name = words.next().unwrap_or_default();
        tags.push((name, words.collect()));
    }
    tags
}

/// The tag's name then its attributes' names, lower-cased, leaving out quoted values.
fn attribute_names(tag: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut chars = tag.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() || c == '/' {
            chars.next();
        } else if c == '=' {
            chars.next();
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            match chars.peek().copied() {
                Some(q @ ('"' | '\'')) => {
                    chars.next();
                    for c in chars.by_ref() {
                        if c == q {
                            break;
                        }
                    }
                }
                _ => {
                    while chars.peek().is_some_and(|c| !c.is_whitespace()) {
                        chars.next();
                    }
                }
            }
        } else {
            let mut name = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '=' || c == '/' {
                    break;
                }
                name.push(c.to_ascii_lowercase());
                chars.next();
            }
            names.push(name);
        }
    }
    names
}

#[test]
fn the_tag_reader_sees_what_a_browser_would_run() {
    let tags = start_tags(
        r#"<!-- <script>no</script> --><SCRIPT>x</SCRIPT><a title="a > b" OnClick="x()">
           <script type=module src=/a.js></script><p style='x'>"#,
    );
    let names: Vec<&str> = tags.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["script", "a", "script", "p"]);
    assert_eq!(tags[1].1, ["title", "onclick"]);
    assert_eq!(tags[2].1, ["type", "src"]);
    assert_eq!(tags[3].1, ["style"]);
}

#[test]
fn no_page_carries_an_inline_script_handler_or_style() {
    let pages: Vec<&EmbeddedFile> = embedded_files()
        .iter()
        .filter(|file| file.path.ends_with(".html"))
        .collect();
    assert!(
        pages.len() >= 3,
        "the kitchen, menu and status pages at least"
    );
    for page in pages {
        let html = std::str::from_utf8(page.bytes).expect("UTF-8");
        for (tag, attributes) in start_tags(html) {
            let path = page.path;
            assert!(
                tag != "script" || attributes.iter().any(|a| a == "src"),
                "{path}: a <script> without src (the CSP would block it)"
            );
            assert!(tag != "style", "{path}: a <style> element");
            for attribute in &attributes {
                assert!(
                    !attribute.starts_with("on"),
                    "{path}: inline handler {attribute} on <{tag}>"
                );
                assert_ne!(attribute, "style", "{path}: a style attribute on <{tag}>");
            }
        }
    }
}

#[test]
fn the_kitchen_page_stays_small() {
    // Issue requirement: a kitchen tablet loads it fast even on a weak link.
    const LIMIT: usize = 150 * 1024;
    let kitchen: usize = embedded_files()
        .iter()
        .filter(|file| {
            ["kitchen/", "lib/", "common/"]
                .iter()
                .any(|folder| file.path.starts_with(folder))
        })
        .map(|file| file.bytes.len())
        .sum();
    assert!(kitchen > 0, "the kitchen page is embedded");
    assert!(
        kitchen < LIMIT,
        "the kitchen page's assets are {kitchen} bytes, over {LIMIT}"
    );
}

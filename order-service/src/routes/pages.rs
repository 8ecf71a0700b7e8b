//! The pages (API.md, "Pages"): the kitchen display and the customer's menu and order status,
//! static files built into the binary by `build.rs` from `order-service/web/`.
//!
//! Every page and asset is sent with a strong `ETag` and `Cache-Control: no-cache`: a screen
//! revalidates on each load, gets a 304 while nothing changed, and a new release the moment it
//! is deployed. HTML adds a Content-Security-Policy that allows scripts, styles and connections
//! from this origin only, plus the notifier's WebSocket: the pages carry no inline script, so
//! an injected one would not run.
//!
//! Not in the OpenAPI document: these are pages for browsers, not API routes.

use std::{collections::HashMap, path::PathBuf};

use anyhow::Context;
use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, Response, StatusCode, Uri, header},
    response::IntoResponse,
    routing::get,
};
use shared_types::{ErrorBody, Slug};
use uuid::Uuid;

use crate::{
    config::websocket_origin,
    error::error_response,
    extract::{PathParam, PathSlug},
    state::AppState,
    web_files,
};

/// One file of `web/` as `build.rs` embedded it.
pub struct EmbeddedFile {
    /// Relative to `web/`, with `/`: `kitchen/index.html`.
    pub path: &'static str,
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    /// Of `bytes` as built; an HTML page's ETag is computed again once its placeholder is
    /// replaced.
    pub etag: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// Every file under `web/` but `web/test/`, as built into this binary.
pub fn embedded_files() -> &'static [EmbeddedFile] {
    EMBEDDED
}

/// Written in the HTML files where the notifier's address goes, e.g.
/// `<meta name="notifier-url" content="{{NOTIFIER_PUBLIC_URL}}">`.
pub const NOTIFIER_URL_PLACEHOLDER: &str = "{{NOTIFIER_PUBLIC_URL}}";

const KITCHEN_PAGE: &str = "kitchen/index.html";
const MENU_PAGE: &str = "order/menu.html";
const STATUS_PAGE: &str = "order/status.html";

/// A file ready to send. Cheap to clone (the bytes are shared).
#[derive(Clone)]
struct Asset {
    body: Bytes,
    content_type: &'static str,
    etag: HeaderValue,
    html: bool,
}

/// The pages and their assets, with the notifier's address already in the HTML.
pub struct Pages {
    embedded: HashMap<&'static str, Asset>,
    /// `WEB_DIR` (development only): read files from here on every request instead.
    web_dir: Option<PathBuf>,
    notifier_url_attribute: String,
    csp: HeaderValue,
}

impl Pages {
    /// Prepares the embedded files once: the placeholder replaced in every HTML file, and its
    /// ETag computed over the result, so each request only copies a handle.
    pub fn new(notifier_public_url: &str, web_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let origin = websocket_origin(notifier_public_url)
            .context("NOTIFIER_PUBLIC_URL is not a ws:// or wss:// URL")?;
        let csp = HeaderValue::from_str(&content_security_policy(&origin))
            .context("the Content-Security-Policy is not a valid header value")?;
        let notifier_url_attribute = escape_attribute(notifier_public_url);
        let mut embedded = HashMap::with_capacity(EMBEDDED.len());
        for file in EMBEDDED {
            let path = std::path::Path::new(file.path);
            let asset = if web_files::is_html(path) {
                html_asset(file.bytes, file.content_type, &notifier_url_attribute)?
            } else {
                Asset {
                    body: Bytes::from_static(file.bytes),
                    content_type: file.content_type,
                    etag: HeaderValue::from_static(file.etag),
                    html: false,
                }
            };
            embedded.insert(file.path, asset);
        }
        if let Some(dir) = &web_dir {
            tracing::warn!(
                dir = %dir.display(),
                "WEB_DIR is set: serving the pages from disk, not from the binary (development only)"
            );
        }
        Ok(Self {
            embedded,
            web_dir,
            notifier_url_attribute,
            csp,
        })
    }

    /// The file at `path` (relative to `web/`), if there is one to serve.
    async fn asset(&self, path: &str) -> Option<Asset> {
        match &self.web_dir {
            None => self.embedded.get(path).cloned(),
            Some(dir) => self.read_from_disk(dir, path).await,
        }
    }

    async fn read_from_disk(&self, dir: &std::path::Path, path: &str) -> Option<Asset> {
        let relative = servable_path(path)?;
        let file = dir.join(relative);
        let bytes = match tokio::fs::read(&file).await {
            Ok(bytes) => bytes,
            Err(error) => {
                if error.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(file = %file.display(), %error, "cannot read a page file");
                }
                return None;
            }
        };
        let content_type = web_files::content_type(&file);
        if web_files::is_html(&file) {
            return html_asset(&bytes, content_type, &self.notifier_url_attribute).ok();
        }
        let etag = HeaderValue::from_str(&web_files::strong_etag(&bytes)).ok()?;
        Some(Asset {
            body: Bytes::from(bytes),
            content_type,
            etag,
            html: false,
        })
    }

    /// The answer to a GET (or HEAD) of the file at `path`: 200, 304 if the client's copy is
    /// current, or the API's JSON 404.
    async fn respond(&self, path: &str, request: &HeaderMap) -> Response<Body> {
        let Some(asset) = self.asset(path).await else {
            return not_found();
        };
        let fresh = request
            .get(header::IF_NONE_MATCH)
            .is_some_and(|tags| matches_etag(tags, &asset.etag));
        let mut response = if fresh {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let mut response = Response::new(Body::from(asset.body));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            );
            response
        };
        let headers = response.headers_mut();
        headers.insert(header::ETAG, asset.etag);
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        if asset.html {
            headers.insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
        }
        response
    }
}

/// An HTML file with the notifier's address in place of the placeholder, and the ETag of that.
fn html_asset(
    bytes: &[u8],
    content_type: &'static str,
    notifier_url_attribute: &str,
) -> anyhow::Result<Asset> {
    let text = std::str::from_utf8(bytes).context("an HTML file under web/ is not UTF-8")?;
    let text = text.replace(NOTIFIER_URL_PLACEHOLDER, notifier_url_attribute);
    let etag = HeaderValue::from_str(&web_files::strong_etag(text.as_bytes()))?;
    Ok(Asset {
        body: Bytes::from(text),
        content_type,
        etag,
        html: true,
    })
}

/// What the pages may load: their own scripts, styles and images, the API on this origin and
/// the notifier's WebSocket; no inline script or style, no frames, no plugins.
fn content_security_policy(notifier_origin: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self' {notifier_origin}; media-src 'self' data:; manifest-src 'self'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// `text` safe inside a quoted HTML attribute.
fn escape_attribute(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// `If-None-Match` against our ETag: a list of tags or `*`; the comparison is weak (RFC 9110
/// 13.1.2), so a `W/` a proxy added still matches.
fn matches_etag(if_none_match: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(tags) = if_none_match.to_str() else {
        return false;
    };
    let ours = etag.as_bytes();
    tags.split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).as_bytes() == ours)
}

/// A request path under `web/` that may be read from disk: plain names only (no `..`, no
/// empty or hidden segment, no backslash), and never the tests folder. The embedded table has
/// the same rule built in, as `build.rs` skips those files.
fn servable_path(path: &str) -> Option<PathBuf> {
    let segments: Vec<&str> = path.split('/').collect();
    let plain = segments.iter().all(|segment| {
        !segment.is_empty() && !segment.starts_with('.') && !segment.contains(['\\', '\0', ':'])
    });
    let is_test = segments.first() == Some(&web_files::TEST_FOLDER);
    (plain && !is_test).then(|| segments.iter().collect())
}

fn not_found() -> Response<Body> {
    error_response(StatusCode::NOT_FOUND, ErrorBody::new("Not found."))
}

/// A permanent redirect to `path` keeping the query (a table number in a QR code's link, say).
fn redirect(path: String, uri: &Uri) -> Response<Body> {
    let location = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    match HeaderValue::from_str(&location) {
        Ok(location) => (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response(),
        Err(_) => not_found(),
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/kitchen",
            get(|uri: Uri| async move { redirect("/kitchen/".to_owned(), &uri) }),
        )
        .route("/kitchen/", get(kitchen_page))
        .route("/order/{slug}", get(menu_redirect))
        .route("/order/{slug}/", get(menu_page))
        .route("/order/{slug}/{order_id}", get(status_redirect))
        .route("/order/{slug}/{order_id}/", get(status_page))
        .route("/static/{*path}", get(static_file))
}

async fn kitchen_page(State(state): State<AppState>, headers: HeaderMap) -> Response<Body> {
    state.pages.respond(KITCHEN_PAGE, &headers).await
}

/// The page reads the slug from its own address; a slug that cannot be one is the API's 404.
async fn menu_page(
    State(state): State<AppState>,
    PathSlug(_): PathSlug,
    headers: HeaderMap,
) -> Response<Body> {
    state.pages.respond(MENU_PAGE, &headers).await
}

async fn menu_redirect(PathSlug(slug): PathSlug, uri: Uri) -> Response<Body> {
    redirect(format!("/order/{}/", slug.as_str()), &uri)
}

async fn status_page(
    State(state): State<AppState>,
    PathParam((_, _)): PathParam<(Slug, Uuid)>,
    headers: HeaderMap,
) -> Response<Body> {
    state.pages.respond(STATUS_PAGE, &headers).await
}

async fn status_redirect(
    PathParam((slug, order_id)): PathParam<(Slug, Uuid)>,
    uri: Uri,
) -> Response<Body> {
    redirect(format!("/order/{}/{order_id}/", slug.as_str()), &uri)
}

async fn static_file(
    State(state): State<AppState>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response<Body> {
    state.pages.respond(&path, &headers).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notifier_url_is_escaped_for_an_attribute() {
        assert_eq!(
            escape_attribute(r#"wss://a.example/x?a=1&b="<'>"#),
            "wss://a.example/x?a=1&amp;b=&quot;&lt;&#39;&gt;"
        );
    }

    #[test]
    fn if_none_match_takes_lists_stars_and_weak_tags() {
        let etag = HeaderValue::from_static("\"0123abcd\"");
        for matching in ["\"0123abcd\"", "\"x\", \"0123abcd\"", "*", "W/\"0123abcd\""] {
            assert!(
                matches_etag(&HeaderValue::from_static(matching), &etag),
                "{matching}"
            );
        }
        for other in ["\"0123abce\"", "0123abcd", ""] {
            assert!(
                !matches_etag(&HeaderValue::from_static(other), &etag),
                "{other}"
            );
        }
    }

    #[test]
    fn only_plain_paths_outside_the_tests_are_read_from_disk() {
        assert_eq!(
            servable_path("kitchen/app.js"),
            Some(PathBuf::from("kitchen/app.js"))
        );
        for refused in [
            "../Cargo.toml",
            "kitchen/../../x",
            "test/customer-basket.test.js",
            "kitchen//app.js",
            "/etc/passwd",
            ".git/config",
            "kitchen\\..\\x",
            "C:/x",
        ] {
            assert_eq!(servable_path(refused), None, "{refused}");
        }
    }

    #[test]
    fn the_html_etag_is_of_the_page_as_sent() {
        let page = b"<meta name=\"notifier-url\" content=\"{{NOTIFIER_PUBLIC_URL}}\">";
        let one = html_asset(page, "text/html; charset=utf-8", "ws://a:1").unwrap();
        let two = html_asset(page, "text/html; charset=utf-8", "ws://b:1").unwrap();
        assert_eq!(
            one.body,
            "<meta name=\"notifier-url\" content=\"ws://a:1\">"
        );
        assert_ne!(one.etag, two.etag, "another notifier, another page");
    }
}

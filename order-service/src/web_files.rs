//! Rules about the files under `web/` that the build script and the service share (the build
//! script includes this file with `#[path]`), so an embedded file and one served from disk with
//! `WEB_DIR` get the same content type and the same kind of ETag.

use std::path::Path;

/// The folder under `web/` that holds the pages' Node tests: never served, never embedded.
pub const TEST_FOLDER: &str = "test";

/// The content type of a file under `web/`, by its extension.
pub fn content_type(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

pub fn is_html(path: &Path) -> bool {
    content_type(path).starts_with("text/html")
}

/// A strong ETag (quoted, as the header carries it) from the bytes: 64-bit FNV-1a. Not a
/// cryptographic hash, and need not be one: it only tells one release of a file from another.
pub fn strong_etag(bytes: &[u8]) -> String {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = bytes.iter().fold(OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(PRIME)
    });
    format!("\"{hash:016x}\"")
}

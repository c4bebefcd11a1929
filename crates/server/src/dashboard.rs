//! The analyst's dashboard: the files `npm run build` writes to `web/dist`, inside the binary,
//! served at `/`. Asset names carry a content hash, so they are cached for good; `index.html`
//! is revalidated on every load.

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;
use tower_http::compression::CompressionLayer;

/// The built dashboard.
#[derive(RustEmbed)]
#[folder = "../../web/dist"]
struct Dashboard;

/// Routes for `/` and the dashboard's files.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/licenses.md", get(|| async { file("licenses.md", Caching::Revalidate) }))
        .route("/assets/{*path}", get(asset))
        .layer(CompressionLayer::new())
}

/// What the dashboard's pages may load and connect to.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// How long a browser may keep a file.
#[derive(Clone, Copy)]
enum Caching {
    /// Ask the server each time (the page that names the current assets).
    Revalidate,
    /// Keep for a year: the name changes when the content does.
    Immutable,
}

async fn index() -> Response {
    file("index.html", Caching::Revalidate)
}

async fn asset(Path(path): Path<String>) -> Response {
    file(&format!("assets/{path}"), Caching::Immutable)
}

fn file(path: &str, caching: Caching) -> Response {
    let Some(found) = Dashboard::get(path) else {
        return (StatusCode::NOT_FOUND, "no such file in the dashboard").into_response();
    };
    let mime = found.metadata.mimetype();
    let content_type = if mime.starts_with("text/") || mime.ends_with("javascript") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    let cache = match caching {
        Caching::Revalidate => "no-cache",
        Caching::Immutable => "public, max-age=31536000, immutable",
    };
    let mut response = Body::from(found.data).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Only the dashboard's own files and this server's API: an injected script could neither
    // load nor send the API key anywhere else.
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_assets_that_are_embedded() {
        let index = Dashboard::get("index.html").expect("web/dist/index.html is embedded");
        let text = std::str::from_utf8(&index.data).expect("utf-8");
        let assets: Vec<&str> = text.split('"').filter(|part| part.starts_with("/assets/")).collect();
        assert!(assets.len() >= 2, "index.html names its script and style: {text}");
        for asset in assets {
            assert!(Dashboard::get(&asset[1..]).is_some(), "{asset} is embedded");
        }
        assert!(Dashboard::get("licenses.md").is_some(), "the libraries' licenses ship with the code");
    }

    #[test]
    fn assets_are_cached_and_typed() {
        let response = file("index.html", Caching::Revalidate);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
        assert!(
            response.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap_or_default()
                .contains("connect-src 'self'")
        );
        assert_eq!(file("assets/nothing.js", Caching::Immutable).status(), StatusCode::NOT_FOUND);
    }
}

//! With authentication off, the API answers only requests addressed to this machine by a
//! loopback name, and only from pages served by one: otherwise any web page a user opens could
//! call it (cross-site requests, DNS rebinding). With authentication on, a request needs the
//! key, which browsers never attach by themselves.

use super::Gate;
use crate::api_error::api_error;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use kindred_graphql::ErrorCode;
use std::sync::Arc;

/// Whether `authority` (`host[:port]`) names this machine by loopback.
fn is_loopback(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|address| address.is_loopback())
}

/// Why the request is refused, if it is.
pub fn refusal(headers: &HeaderMap) -> Option<&'static str> {
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or_default();
    if !is_loopback(host) {
        return Some(
            "with authentication off, the API answers only requests to localhost, 127.0.0.1 or [::1]",
        );
    }
    // Browsers say where a request comes from even where they send no Origin (a GET made by an
    // image or a link on another site).
    let fetched_from = headers.get("sec-fetch-site").and_then(|value| value.to_str().ok());
    if fetched_from.is_some_and(|site| site.eq_ignore_ascii_case("cross-site")) {
        return Some("with authentication off, the API answers only pages served from this machine");
    }
    let origin = headers.get(header::ORIGIN).and_then(|value| value.to_str().ok());
    if let Some(origin) = origin {
        let authority = origin.split_once("://").map_or("", |(_, rest)| rest);
        if !is_loopback(authority) {
            return Some("with authentication off, the API answers only pages served from this machine");
        }
    }
    None
}

/// Middleware: refuses (403) what [`refusal`] refuses, when authentication is off.
pub async fn same_machine(State(gate): State<Arc<Gate>>, request: Request, next: Next) -> Response {
    if !gate.enabled()
        && let Some(why) = refusal(request.headers())
    {
        return api_error(ErrorCode::Forbidden, why);
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(host: &str, origin: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap_or(HeaderValue::from_static("")));
        if let Some(origin) = origin {
            headers.insert(
                header::ORIGIN,
                HeaderValue::from_str(origin).unwrap_or(HeaderValue::from_static("")),
            );
        }
        headers
    }

    #[test]
    fn only_loopback_hosts_and_origins_pass() {
        for host in ["127.0.0.1:8080", "localhost:8080", "[::1]:8080", "LOCALHOST", "127.0.0.2"] {
            assert_eq!(refusal(&headers(host, None)), None, "{host}");
        }
        assert_eq!(refusal(&headers("127.0.0.1:8080", Some("http://127.0.0.1:8080"))), None);
        assert!(refusal(&headers("evil.example:8080", None)).is_some(), "DNS rebinding");
        assert!(refusal(&headers("127.0.0.1:8080", Some("https://evil.example"))).is_some(), "cross-site");
        assert!(refusal(&headers("127.0.0.1:8080", Some("null"))).is_some());
        // A GET from another site's image or link carries no Origin, but says where it comes from.
        let mut linked = headers("127.0.0.1:8080", None);
        linked.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(refusal(&linked).is_some());
        linked.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert_eq!(refusal(&linked), None);
    }
}

//! GraphQL over HTTP, to the letter of the spec (and its audit, `graphql-http`'s
//! `serverAudits`): requests are read here rather than by a generic extractor, so every
//! refusal is a GraphQL-shaped error with a code, and responses use the media type the client
//! accepts with the status the spec asks for.
//!
//! - POST with `Content-Type: application/json` (UTF-8) carries `{query, operationName,
//!   variables, extensions}`; GET carries them in the query string, for queries only.
//! - `Accept: application/graphql-response+json` gets that type, and a request error (a
//!   document that does not parse or validate, variables that do not coerce, limits) gets 400
//!   without `data`; `application/json`, `*/*` or no Accept get `application/json` and 200.
//! - Errors are bounded: at most [`MAX_ERRORS`], each message at most [`MAX_MESSAGE_CHARS`].

use crate::api_error::api_error;
use async_graphql::{ServerError, Value};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kindred_graphql::ErrorCode;

/// The most errors one response carries; the rest are counted in a last one.
pub const MAX_ERRORS: usize = 50;
/// The longest error message sent; longer ones are cut (they would echo the input).
pub const MAX_MESSAGE_CHARS: usize = 500;

/// The media type of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/graphql-response+json`: request errors are 400.
    GraphqlResponse,
    /// `application/json`: every well-formed GraphQL request is answered 200.
    Json,
}

impl MediaType {
    /// The `Content-Type` of a response in this type.
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            MediaType::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        })
    }
}

/// The media type to answer in, from `Accept`: the first of the two JSON types the client
/// lists, `application/json` for `*/*`, no `Accept` or neither.
pub fn negotiate(headers: &HeaderMap) -> MediaType {
    let accept = headers.get_all(header::ACCEPT).iter().filter_map(|value| value.to_str().ok());
    for range in accept.flat_map(|value| value.split(',')) {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let refused = parts.any(|param| param.trim().replace(' ', "") == "q=0");
        match media.as_str() {
            _ if refused => {}
            "application/graphql-response+json" => return MediaType::GraphqlResponse,
            "application/json" | "application/*" | "*/*" => return MediaType::Json,
            _ => {}
        }
    }
    MediaType::Json
}

/// A request refused before GraphQL runs: its code (which gives its status) and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `extensions.code`.
    pub code: ErrorCode,
    /// What is wrong, without echoing the input.
    pub message: String,
}

impl Refusal {
    fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        api_error(self.code, &self.message)
    }
}

/// Reads a POST body: JSON of one request, sent as `application/json` in UTF-8.
pub fn read_post(headers: &HeaderMap, body: &[u8]) -> Result<async_graphql::Request, Refusal> {
    let unsupported = |message: String| Refusal { code: ErrorCode::UnsupportedMediaType, message };
    let Some(content_type) = headers.get(header::CONTENT_TYPE) else {
        return Err(unsupported("a POST needs Content-Type: application/json".to_owned()));
    };
    let content_type = content_type.to_str().unwrap_or_default().to_ascii_lowercase();
    let mut parts = content_type.split(';');
    if parts.next().unwrap_or_default().trim() != "application/json" {
        return Err(unsupported(format!(
            "Content-Type {} is not accepted: send application/json",
            short(&content_type, 60)
        )));
    }
    for param in parts {
        if let Some((name, value)) = param.split_once('=')
            && name.trim() == "charset"
            && !value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        {
            return Err(unsupported("the body must be UTF-8 (charset=utf-8)".to_owned()));
        }
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Refusal::bad_request(
            ErrorCode::BadRequest,
            "the body is empty: send {\"query\": \"...\"}",
        ));
    }
    let json: serde_json::Value = serde_json::from_slice(body).map_err(|error| {
        Refusal::bad_request(ErrorCode::InvalidJson, format!("the body is not valid JSON: {error}"))
    })?;
    request_from_json(json)
}

/// Reads a GET's query string; `None` when it names no query (the GraphiQL page is meant).
pub fn read_get(query_string: Option<&str>) -> Result<Option<async_graphql::Request>, Refusal> {
    let pairs: Vec<(String, String)> = match query_string {
        Some(text) => serde_urlencoded::from_str(text).map_err(|_| {
            Refusal::bad_request(ErrorCode::BadRequest, "the query string is not URL-encoded")
        })?,
        None => Vec::new(),
    };
    if !pairs.iter().any(|(name, _)| name == "query") {
        return Ok(None);
    }
    let mut object = serde_json::Map::new();
    for (name, value) in pairs {
        let value = match name.as_str() {
            "variables" | "extensions" => serde_json::from_str(&value).map_err(|error| {
                Refusal::bad_request(ErrorCode::InvalidJson, format!("{name} is not valid JSON: {error}"))
            })?,
            _ => serde_json::Value::String(value),
        };
        if object.insert(name.clone(), value).is_some() {
            return Err(Refusal::bad_request(ErrorCode::BadRequest, format!("{name} is given twice")));
        }
    }
    request_from_json(serde_json::Value::Object(object)).map(Some)
}

/// One request from its JSON: `query` a string, `operationName` a string or null,
/// `variables` and `extensions` objects or null; nothing else.
fn request_from_json(json: serde_json::Value) -> Result<async_graphql::Request, Refusal> {
    let object = match json {
        serde_json::Value::Object(object) => object,
        serde_json::Value::Array(_) => {
            return Err(Refusal::bad_request(
                ErrorCode::BatchNotSupported,
                "batched requests are not supported: send one {\"query\": \"...\"} per request",
            ));
        }
        _ => {
            return Err(Refusal::bad_request(
                ErrorCode::BadRequest,
                "the body must be a JSON object with a query",
            ));
        }
    };
    let mut request: Option<async_graphql::Request> = None;
    let (mut operation, mut variables, mut extensions) = (None, None, None);
    for (name, value) in object {
        let wrong =
            |what: &str| Refusal::bad_request(ErrorCode::BadRequest, format!("{name} must be {what}"));
        match name.as_str() {
            "query" => match value {
                serde_json::Value::String(query) => request = Some(async_graphql::Request::new(query)),
                _ => return Err(wrong("a string")),
            },
            "operationName" => match value {
                serde_json::Value::String(name) => operation = Some(name),
                serde_json::Value::Null => {}
                _ => return Err(wrong("a string or null")),
            },
            "variables" => match value {
                value @ serde_json::Value::Object(_) => variables = Some(value),
                serde_json::Value::Null => {}
                _ => return Err(wrong("an object or null")),
            },
            "extensions" => match value {
                serde_json::Value::Object(map) => extensions = Some(map),
                serde_json::Value::Null => {}
                _ => return Err(wrong("an object or null")),
            },
            _ => {
                return Err(Refusal::bad_request(
                    ErrorCode::BadRequest,
                    format!(
                        "unknown parameter {}: a request has query, operationName, variables and extensions",
                        short(&name, 40)
                    ),
                ));
            }
        }
    }
    let mut request =
        request.ok_or_else(|| Refusal::bad_request(ErrorCode::BadRequest, "the request has no query"))?;
    if let Some(name) = operation {
        request = request.operation_name(name);
    }
    if let Some(variables) = variables {
        request = request.variables(async_graphql::Variables::from_json(variables));
    }
    if let Some(extensions) = extensions {
        for (name, value) in extensions {
            if let Ok(value) = Value::from_json(value) {
                request.extensions.insert(name, value);
            }
        }
    }
    Ok(request)
}

/// Parses the document; a syntax error is a request error (`GRAPHQL_PARSE_FAILED`).
pub fn parse(request: &mut async_graphql::Request) -> Result<(), ServerError> {
    request.parsed_query().map(|_| ()).map_err(|error| with_code(error, ErrorCode::GraphqlParseFailed))
}

/// Whether the operation the request selects is a query (what a GET may run).
pub fn is_query(request: &mut async_graphql::Request) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else { return false };
    let kind = match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => Some(operation.node.ty),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            operations.get(name.as_str()).map(|operation| operation.node.ty)
        }
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next().map(|operation| operation.node.ty)
        }
        (DocumentOperations::Multiple(_), None) => None,
    };
    kind.is_none_or(|kind| kind == OperationType::Query)
}

/// A GET that asks for a mutation or a subscription.
pub fn get_not_allowed() -> Response {
    let mut response = api_error(
        ErrorCode::MethodNotAllowed,
        "a GET may run only queries: send mutations as POST, subscriptions over /graphql/ws",
    );
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    response
}

fn with_code(error: ServerError, code: ErrorCode) -> ServerError {
    let mut error = error;
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code.as_str());
    }
    error
}

/// The code of an error GraphQL made before running anything (depth, complexity, validation).
fn request_error_code(message: &str) -> ErrorCode {
    match message {
        "Query is too complex." => ErrorCode::QueryTooComplex,
        "Query is nested too deep." => ErrorCode::QueryTooDeep,
        _ => ErrorCode::GraphqlValidationFailed,
    }
}

/// `text` cut to at most `max` characters, saying so.
fn short(text: &str, max: usize) -> String {
    kindred_domain::prefix(text, max).into_owned()
}

/// Bounds the errors: each message cut, at most [`MAX_ERRORS`].
fn bounded(errors: Vec<ServerError>) -> Vec<ServerError> {
    let total = errors.len();
    let mut kept: Vec<ServerError> = errors
        .into_iter()
        .take(MAX_ERRORS)
        .map(|mut error| {
            error.message = short(&error.message, MAX_MESSAGE_CHARS);
            error
        })
        .collect();
    if total > MAX_ERRORS {
        let more = ServerError::new(format!("{} more errors not shown", total - MAX_ERRORS), None);
        kept.push(with_code(more, ErrorCode::TooManyErrors));
    }
    kept
}

/// An executed (or refused) GraphQL response, its errors bounded and coded, ready to send.
///
/// A request error (errors and no data, none of them at a field: the document did not parse or
/// validate, variables did not coerce, a limit was passed) is answered without `data`: 400 in
/// `application/graphql-response+json`, 200 in `application/json`.
pub struct Answer {
    response: async_graphql::Response,
    request_error: bool,
}

impl Answer {
    /// Bounds `response`'s errors and gives each a code.
    pub fn new(mut response: async_graphql::Response) -> Self {
        let request_error = !response.errors.is_empty()
            && response.data == Value::Null
            && response.errors.iter().all(|error| error.path.is_empty());
        response.errors = bounded(std::mem::take(&mut response.errors))
            .into_iter()
            .map(|error| {
                let code =
                    if request_error { request_error_code(&error.message) } else { ErrorCode::Internal };
                with_code(error, code)
            })
            .collect();
        Self { response, request_error }
    }

    /// The errors' codes.
    pub fn codes(&self) -> impl Iterator<Item = Option<&str>> {
        self.response.errors.iter().map(|error| match error.extensions.as_ref().and_then(|e| e.get("code")) {
            Some(Value::String(code)) => Some(code.as_str()),
            _ => None,
        })
    }

    /// The HTTP response in `media`.
    pub fn into_http(self, media: MediaType) -> Response {
        let Self { response, request_error } = self;
        let mut body = serde_json::Map::new();
        if !request_error {
            body.insert("data".to_owned(), serde_json::to_value(&response.data).unwrap_or_default());
        }
        if !response.errors.is_empty() {
            body.insert("errors".to_owned(), serde_json::to_value(&response.errors).unwrap_or_default());
        }
        if !response.extensions.is_empty() {
            body.insert(
                "extensions".to_owned(),
                serde_json::to_value(&response.extensions).unwrap_or_default(),
            );
        }
        let busy = response.errors.iter().any(|error| {
            matches!(error.extensions.as_ref().and_then(|e| e.get("code")), Some(Value::String(code)) if code == ErrorCode::Busy.as_str())
        });
        let status = match (request_error, media) {
            (true, MediaType::GraphqlResponse) => StatusCode::BAD_REQUEST,
            // Heavy work refused for now: an HTTP client's retry logic knows 429.
            _ if busy => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::OK,
        };
        let mut answer = (status, serde_json::to_vec(&body).unwrap_or_default()).into_response();
        answer.headers_mut().insert(header::CONTENT_TYPE, media.content_type());
        if busy {
            answer.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (name.clone(), HeaderValue::from_str(value).unwrap())).collect()
    }

    #[test]
    fn the_media_type_follows_accept() {
        assert_eq!(negotiate(&HeaderMap::new()), MediaType::Json);
        assert_eq!(negotiate(&headers(&[(header::ACCEPT, "*/*")])), MediaType::Json);
        assert_eq!(negotiate(&headers(&[(header::ACCEPT, "application/json")])), MediaType::Json);
        let both = "application/graphql-response+json, application/json;q=0.9";
        assert_eq!(negotiate(&headers(&[(header::ACCEPT, both)])), MediaType::GraphqlResponse);
        assert_eq!(negotiate(&headers(&[(header::ACCEPT, "text/html")])), MediaType::Json);
        let refused = "application/graphql-response+json;q=0, application/json";
        assert_eq!(negotiate(&headers(&[(header::ACCEPT, refused)])), MediaType::Json);
    }

    fn json() -> HeaderMap {
        headers(&[(header::CONTENT_TYPE, "application/json")])
    }

    #[test]
    fn malformed_posts_are_refused_with_a_code() {
        let code =
            |headers: &HeaderMap, body: &str| read_post(headers, body.as_bytes()).unwrap_err().code.as_str();
        assert_eq!(code(&HeaderMap::new(), "{\"query\":\"{a}\"}"), "UNSUPPORTED_MEDIA_TYPE");
        let form = headers(&[(header::CONTENT_TYPE, "application/x-www-form-urlencoded")]);
        assert_eq!(code(&form, "query=%7Ba%7D"), "UNSUPPORTED_MEDIA_TYPE");
        let latin = headers(&[(header::CONTENT_TYPE, "application/json; charset=latin1")]);
        assert_eq!(code(&latin, "{\"query\":\"{a}\"}"), "UNSUPPORTED_MEDIA_TYPE");
        assert_eq!(code(&json(), ""), "BAD_REQUEST");
        assert_eq!(code(&json(), "{ \"not a JSON"), "INVALID_JSON");
        assert_eq!(code(&json(), "[{\"query\":\"{a}\"}]"), "BATCH_NOT_SUPPORTED");
        assert_eq!(code(&json(), "{\"qeury\":\"{a}\"}"), "BAD_REQUEST");
        for bad in ["{\"query\":{}}", "{\"query\":0}", "{\"query\":false}", "{\"query\":[\"a\"]}"] {
            assert_eq!(code(&json(), bad), "BAD_REQUEST", "{bad}");
        }
        assert_eq!(code(&json(), "{\"query\":\"{a}\",\"variables\":[1]}"), "BAD_REQUEST");
        let charset = headers(&[(header::CONTENT_TYPE, "application/json; charset=UTF-8")]);
        assert!(read_post(&charset, b"{\"query\":\"{a}\",\"variables\":null}").is_ok());
    }

    #[test]
    fn a_refusal_never_echoes_a_long_value() {
        let name = "x".repeat(900_000);
        let refusal = read_post(&json(), format!("{{\"{name}\":1}}").as_bytes()).unwrap_err();
        assert!(refusal.message.len() < 200, "{}", refusal.message.len());
        assert_eq!(short("abcdef", 3), "abc…");
        assert_eq!(short("abc", 3), "abc");
    }

    #[test]
    fn gets_carry_queries_in_the_query_string() {
        assert!(read_get(None).unwrap().is_none(), "no query: the GraphiQL page");
        let mut request =
            read_get(Some("query=%7B%20__typename%20%7D&variables=%7B%22a%22%3A1%7D")).unwrap().unwrap();
        assert_eq!(request.query, "{ __typename }");
        assert!(is_query(&mut request));
        let mut mutation = read_get(Some("query=mutation%20%7B%20a%20%7D")).unwrap().unwrap();
        assert!(!is_query(&mut mutation));
        assert_eq!(read_get(Some("query=a&variables=%7B")).unwrap_err().code, ErrorCode::InvalidJson);
    }

    #[test]
    fn request_errors_have_no_data_and_are_400_in_the_graphql_type() {
        let response =
            async_graphql::Response::from_errors(vec![ServerError::new("Query is too complex.", None)]);
        let answer = Answer::new(response).into_http(MediaType::GraphqlResponse);
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
        let response = async_graphql::Response::from_errors(vec![ServerError::new("Unknown field", None)]);
        assert_eq!(Answer::new(response).into_http(MediaType::Json).status(), StatusCode::OK);
    }

    #[test]
    fn errors_are_bounded() {
        let errors: Vec<ServerError> = (0..80).map(|_| ServerError::new("e".repeat(5_000), None)).collect();
        let kept = bounded(errors);
        assert_eq!(kept.len(), MAX_ERRORS + 1);
        assert!(kept[0].message.chars().count() < MAX_MESSAGE_CHARS + 40);
        assert_eq!(kept[MAX_ERRORS].message, "30 more errors not shown");
    }
}

#[cfg(test)]
mod property_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn any_body_is_a_request_or_a_bounded_refusal(body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let headers: HeaderMap = [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))].into_iter().collect();
            if let Err(refusal) = read_post(&headers, &body) {
                prop_assert!((400..500).contains(&refusal.code.refusal_status()));
                prop_assert!(refusal.message.len() < 400);
            }
        }

        #[test]
        fn any_json_request_is_read_or_refused(
            query in proptest::option::of("\\PC{0,40}"), name in proptest::option::of("[a-zA-Z]{0,10}"),
            variables in proptest::option::of(proptest::collection::hash_map("[a-z]{1,5}", "\\PC{0,10}", 0..4)),
            extra in proptest::option::of("[a-z]{1,8}"),
        ) {
            let mut object = serde_json::Map::new();
            if let Some(query) = query { object.insert("query".into(), query.into()); }
            if let Some(name) = name { object.insert("operationName".into(), name.into()); }
            if let Some(variables) = variables { object.insert("variables".into(), serde_json::json!(variables)); }
            if let Some(extra) = extra { object.insert(extra, serde_json::Value::Null); }
            let body = serde_json::to_vec(&object).unwrap();
            let headers: HeaderMap = [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))].into_iter().collect();
            match read_post(&headers, &body) {
                Ok(mut request) => { let _ = parse(&mut request); let _ = is_query(&mut request); }
                Err(refusal) => prop_assert_eq!(refusal.code.refusal_status(), 400),
            }
        }
    }
}

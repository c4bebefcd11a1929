//! The gate in front of the API: who is calling (the bearer key, or everyone when
//! authentication is off) and whether they are over their rate limit. A missing or wrong key
//! gets 401, a caller over the limit 429 with `Retry-After`; both answer in GraphQL's error
//! shape so clients read them like any other error.

use super::ring::{KeyRejected, KeyRing};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use kindred_graphql::ErrorCode;
use kindred_graphql::access::Caller;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Failed key attempts allowed per client address and second (and at once): each costs an
/// Argon2 check, so guessing is slow and cannot tie up the server. Past the limit the address
/// gets 429 for keys not yet accepted until its budget refills.
const FAILED_ATTEMPTS_PER_SECOND: u32 = 5;
const FAILED_ATTEMPTS_BURST: u32 = 20;

/// How the gate is set up.
#[derive(Debug, Clone, Copy)]
pub struct GateSettings {
    /// Whether a key is required.
    pub enabled: bool,
    /// Requests per second each key (or, without authentication, each client address) may
    /// make; none: no limit.
    pub per_second: Option<NonZeroU32>,
    /// Requests a caller may make at once above the rate.
    pub burst: NonZeroU32,
}

/// The gate's state, shared by every request.
pub struct Gate {
    settings: GateSettings,
    ring: KeyRing,
    requests: Option<DefaultKeyedRateLimiter<String>>,
    failed_attempts: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses over their failed-attempt budget, and until when.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

impl Gate {
    /// A gate over the keys in `ring`.
    pub fn new(settings: GateSettings, ring: KeyRing) -> Arc<Self> {
        let requests = settings
            .per_second
            .map(|rate| RateLimiter::keyed(Quota::per_second(rate).allow_burst(settings.burst)));
        let rate = NonZeroU32::new(FAILED_ATTEMPTS_PER_SECOND).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(FAILED_ATTEMPTS_BURST).unwrap_or(NonZeroU32::MIN);
        let gate = Arc::new(Self {
            settings,
            ring,
            requests,
            failed_attempts: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            blocked: Mutex::new(HashMap::new()),
        });
        // Forget callers that have been quiet, so the limiters' memory stays small.
        let weak = Arc::downgrade(&gate);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                let Some(gate) = weak.upgrade() else { return };
                if let Some(requests) = &gate.requests {
                    requests.retain_recent();
                }
                gate.failed_attempts.retain_recent();
                if let Ok(mut blocked) = gate.blocked.lock() {
                    let now = Instant::now();
                    blocked.retain(|_, until| *until > now);
                }
            }
        });
        gate
    }

    /// Whether a key is required.
    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    /// The caller a presented key (or, with authentication off, anyone) is.
    pub async fn caller_for(&self, key: Option<&str>) -> Result<Caller, Refusal> {
        if !self.settings.enabled {
            return Ok(Caller::open());
        }
        let key = key.ok_or(Refusal::NoKey)?;
        self.ring.caller(key).await.map_err(Refusal::from)
    }

    /// How long `address` must wait before trying a key not yet accepted, if it must.
    fn blocked_for(&self, address: IpAddr) -> Option<Duration> {
        let blocked = self.blocked.lock().ok()?;
        let until = *blocked.get(&address)?;
        until.checked_duration_since(Instant::now())
    }

    /// Counts a failed attempt from `address`; past the budget, blocks it for a while.
    fn failed_from(&self, address: IpAddr) {
        if let Err(not_until) = self.failed_attempts.check_key(&address) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            if let Ok(mut blocked) = self.blocked.lock() {
                blocked.insert(address, Instant::now() + wait.max(Duration::from_millis(200)));
            }
        }
    }

    /// The caller for `key` from `address`, with the same failed-attempt budget as HTTP
    /// requests (for WebSocket connections, which present their key after the upgrade).
    pub async fn caller_from(&self, key: Option<&str>, address: Option<IpAddr>) -> Result<Caller, Refusal> {
        if self.settings.enabled
            && let (Some(key), Some(address)) = (key, address)
            && !self.ring.recently_accepted(key)
            && let Some(wait) = self.blocked_for(address)
        {
            return Err(Refusal::Guessing(wait));
        }
        let result = self.caller_for(key).await;
        if let (Err(Refusal::BadKey), Some(address)) = (&result, address) {
            self.failed_from(address);
        }
        result
    }

    /// Checks the rate limit of `bucket`.
    fn over_limit(&self, bucket: &str) -> Option<Duration> {
        let requests = self.requests.as_ref()?;
        let bucket = bucket.to_owned();
        requests
            .check_key(&bucket)
            .err()
            .map(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// Why a request was turned away.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// No key was sent.
    #[error("an API key is required: send it as `Authorization: Bearer <key>`")]
    NoKey,
    /// The key is unknown, wrong or revoked.
    #[error("the API key is not valid")]
    BadKey,
    /// Too many attempts with keys that were not accepted.
    #[error("too many attempts with API keys that are not valid; retry in {} ms", .0.as_millis().max(1))]
    Guessing(Duration),
    /// Over the rate limit.
    #[error("rate limit reached; retry in {} ms", .0.as_millis().max(1))]
    RateLimited(Duration),
    /// The keys could not be read.
    #[error("cannot check API keys now")]
    Unavailable,
}

impl From<KeyRejected> for Refusal {
    fn from(rejected: KeyRejected) -> Self {
        match rejected {
            KeyRejected::Invalid => Refusal::BadKey,
            KeyRejected::Store(error) => {
                tracing::error!(%error, "cannot read API keys");
                Refusal::Unavailable
            }
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let code = match self {
            Refusal::NoKey | Refusal::BadKey => ErrorCode::Unauthenticated,
            Refusal::Guessing(_) | Refusal::RateLimited(_) => ErrorCode::RateLimited,
            Refusal::Unavailable => ErrorCode::Unavailable,
        };
        let mut response = crate::api_error::api_error(code, &self.to_string());
        let headers = response.headers_mut();
        match self {
            Refusal::NoKey | Refusal::BadKey => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Refusal::Guessing(wait) | Refusal::RateLimited(wait) => {
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            }
            Refusal::Unavailable => {}
        }
        response
    }
}

/// The key in `Authorization: Bearer <key>`, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| key.trim()).filter(|key| !key.is_empty())
}

/// Middleware: finds the caller, applies the rate limit, and puts the [`Caller`] in the
/// request's extensions for the handlers.
pub async fn authenticate(State(gate): State<Arc<Gate>>, mut request: Request, next: Next) -> Response {
    let address =
        request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(address)| address.ip());
    let key = bearer(request.headers()).map(str::to_owned);
    let caller = match gate.caller_from(key.as_deref(), address).await {
        Ok(caller) => caller,
        Err(refusal) => return refusal.into_response(),
    };
    let bucket = match (&caller.key_name, address) {
        (Some(name), _) => format!("key:{name}"),
        (None, Some(address)) => format!("address:{address}"),
        (None, None) => "everyone".to_owned(),
    };
    if let Some(wait) = gate.over_limit(&bucket) {
        return Refusal::RateLimited(wait).into_response();
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn bearer_keys_are_read_from_the_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer kdr_abc_def"));
        assert_eq!(bearer(&headers), Some("kdr_abc_def"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer   kdr_x "));
        assert_eq!(bearer(&headers), Some("kdr_x"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic dXNlcg=="));
        assert_eq!(bearer(&headers), None);
    }

    #[test]
    fn refusals_have_their_status_and_headers() {
        let response = Refusal::NoKey.into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let response = Refusal::RateLimited(Duration::from_millis(1500)).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    }
}

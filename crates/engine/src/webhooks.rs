//! Sending webhooks. Each webhook has its own sender task, so a slow or dead receiver delays
//! only its own deliveries. Servers sharing one database share the outbox: each batch is
//! claimed by one server, so every event is posted once (again only if that server died
//! before recording the answer). A sender posts its due deliveries in batches, signed with
//! HMAC-SHA256; a failed batch is retried with exponential backoff until the last attempt,
//! then marked failed, visible in the API.

use chrono::Utc;
use hmac::{Hmac, Mac};
use kindred_store::entity::webhook;
use kindred_store::{DeliveryStatus, Store};
use sha2::Sha256;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;
use tokio::task::JoinHandle;

/// The header carrying `sha256=<hex HMAC of "<timestamp>.<body>">`.
pub const SIGNATURE_HEADER: &str = "x-kindred-signature";
/// The header carrying the Unix time the request was signed at.
pub const TIMESTAMP_HEADER: &str = "x-kindred-timestamp";

/// How webhooks are sent.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Attempts per delivery before it is marked failed.
    pub max_attempts: i32,
    /// Wait before the first retry; doubled at each further one.
    pub first_retry: Duration,
    /// Longest wait between retries.
    pub max_retry: Duration,
    /// Most events in one request.
    pub batch: u64,
    /// Longest a receiver may take to answer.
    pub timeout: Duration,
    /// How often an idle sender looks for due deliveries (and the dispatcher for new webhooks).
    pub poll: Duration,
    /// Certificates trusted for `https` receivers besides the system's roots (a private CA).
    pub trusted_roots: Vec<reqwest::Certificate>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            first_retry: Duration::from_secs(2),
            max_retry: Duration::from_secs(15 * 60),
            batch: 100,
            timeout: Duration::from_secs(10),
            poll: Duration::from_millis(250),
            trusted_roots: Vec::new(),
        }
    }
}

/// Checks a receiver's address: an absolute `https` or `http` URL with a host.
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|error| format!("is not a URL: {error}"))?;
    match parsed.scheme() {
        // The URL parser refuses an http or https URL without a host.
        "https" | "http" => Ok(()),
        scheme => Err(format!("must be an https or http URL, not {scheme}")),
    }
}

/// The client webhooks are sent with: TLS through rustls, trusting the system's root
/// certificates and `settings.trusted_roots`.
fn client(settings: &WebhookSettings) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(settings.timeout)
        .tls_certs_merge(settings.trusted_roots.iter().cloned())
        .build()
}

/// A new random secret: 32 bytes as hex.
pub fn random_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().fold(String::with_capacity(64), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

/// The signature of `body` sent at `timestamp` under `secret`, as the header carries it.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    // HMAC accepts a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let mut hex = String::from("sha256=");
    for byte in mac.finalize().into_bytes() {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// The wait before retry number `attempt` (1 for the first retry).
pub fn backoff(settings: &WebhookSettings, attempt: i32) -> Duration {
    let doublings = attempt.saturating_sub(1).clamp(0, 30) as u32;
    settings.first_retry.saturating_mul(1 << doublings).min(settings.max_retry)
}

/// Keeps one sender per webhook: starts them for new webhooks, stops them for removed ones.
pub(crate) async fn dispatcher(store: Store, settings: WebhookSettings) {
    let client = match client(&settings) {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "cannot build the webhook client: webhooks are not sent");
            return;
        }
    };
    let mut senders: HashMap<i64, JoinHandle<()>> = HashMap::new();
    loop {
        match store.webhooks(None).await {
            Ok(hooks) => {
                senders.retain(|id, sender| {
                    let keep = hooks.iter().any(|hook| hook.id == *id) && !sender.is_finished();
                    if !keep {
                        sender.abort();
                    }
                    keep
                });
                for hook in hooks {
                    senders.entry(hook.id).or_insert_with(|| {
                        tokio::spawn(sender(store.clone(), client.clone(), hook, settings.clone()))
                    });
                }
            }
            Err(error) => tracing::warn!(%error, "cannot read webhooks"),
        }
        tokio::time::sleep(settings.poll * 4).await;
    }
}

/// Sends one webhook's deliveries, batch after batch, forever.
async fn sender(store: Store, client: reqwest::Client, hook: webhook::Model, settings: WebhookSettings) {
    loop {
        if !send_due(&store, &client, &hook, &settings).await {
            tokio::time::sleep(settings.poll).await;
        }
    }
}

/// Sends one batch of `hook`'s due deliveries; returns whether there was anything to do (so
/// the sender looks again at once) or not (it waits). Events of customers who refused
/// marketing since they were queued are withheld, not sent; a batch left with nothing to
/// send posts nothing.
async fn send_due(
    store: &Store,
    client: &reqwest::Client,
    hook: &webhook::Model,
    settings: &WebhookSettings,
) -> bool {
    // Claimed for longer than a request may take: another server sends them only if this one
    // died before recording how it went.
    let now = Utc::now();
    let claimed_until =
        now + chrono::Duration::from_std(settings.timeout * 3).unwrap_or(chrono::Duration::minutes(1));
    let due = match store.due_deliveries(hook.id, now, claimed_until, settings.batch).await {
        Ok(due) => due,
        Err(error) => {
            tracing::warn!(%error, webhook = hook.id, "cannot read due deliveries");
            return false;
        }
    };
    if due.is_empty() {
        return false;
    }
    if !due.withheld.is_empty() {
        if let Err(error) = store.mark_withheld(&due.withheld).await {
            // Not sent either way; marked on the next pass.
            tracing::warn!(%error, webhook = hook.id, "cannot record withheld webhook events");
            return false;
        }
        crate::metrics::webhook_delivery(DeliveryStatus::Withheld.as_str(), due.withheld.len() as u64);
        tracing::debug!(
            webhook = hook.id,
            events = due.withheld.len(),
            "webhook events withheld: consent withdrawn"
        );
    }
    if due.send.is_empty() {
        return true;
    }
    let ids: Vec<i64> = due.send.iter().map(|delivery| delivery.id).collect();
    let events: Vec<serde_json::Value> =
        due.send.iter().filter_map(|delivery| serde_json::from_str(&delivery.payload).ok()).collect();
    let body = serde_json::json!({ "webhookId": hook.id.to_string(), "events": events }).to_string();
    let outcome = post(client, hook, body).await;
    let written = match outcome {
        Ok(()) => {
            crate::metrics::webhook_delivery(DeliveryStatus::Delivered.as_str(), ids.len() as u64);
            store.mark_delivered(&ids, Utc::now()).await
        }
        Err(error) => {
            let attempt = due.send.iter().map(|delivery| delivery.attempts).max().unwrap_or(0) + 1;
            let retry_at = (attempt < settings.max_attempts).then(|| {
                let wait = backoff(settings, attempt);
                Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX)
            });
            tracing::warn!(webhook = hook.id, url = %hook.url, attempt, %error, gives_up = retry_at.is_none(), "webhook delivery failed");
            // "retrying" is an attempt's outcome, not a stored state.
            let status = if retry_at.is_some() { "retrying" } else { DeliveryStatus::Failed.as_str() };
            crate::metrics::webhook_delivery(status, ids.len() as u64);
            store.mark_attempt_failed(&ids, &error, retry_at).await
        }
    };
    if let Err(error) = written {
        tracing::warn!(%error, webhook = hook.id, "cannot record a webhook delivery");
        return false;
    }
    true
}

/// Posts one signed batch; any answer but 2xx is an error.
async fn post(client: &reqwest::Client, hook: &webhook::Model, body: String) -> Result<(), String> {
    let timestamp = Utc::now().timestamp();
    let response = client
        .post(&hook.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, signature(&hook.secret, timestamp, &body))
        .body(body)
        .send()
        .await
        .map_err(|error| format!("cannot reach the receiver: {error}"))?;
    let status = response.status();
    if status.is_success() { Ok(()) } else { Err(format!("the receiver answered {status}")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_a_known_hmac() {
        // HMAC-SHA256 of "1700000000.{}" under "secret", computed independently with Python's hmac.
        assert_eq!(
            signature("secret", 1_700_000_000, "{}"),
            "sha256=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
        );
    }

    #[test]
    fn receivers_are_https_or_http_urls() {
        assert!(check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(check_url("https://example.com/hook").is_ok());
        assert!(check_url("https://").unwrap_err().contains("not a URL"));
        assert!(check_url("ftp://example.com").unwrap_err().contains("ftp"));
        assert!(check_url("not a url").unwrap_err().contains("not a URL"));
        let secret = random_secret();
        assert_eq!(secret.len(), 64);
        assert_ne!(secret, random_secret());
    }

    #[test]
    fn retries_double_up_to_the_cap() {
        let settings = WebhookSettings {
            first_retry: Duration::from_secs(2),
            max_retry: Duration::from_secs(60),
            ..Default::default()
        };
        let waits: Vec<u64> = (1..=7).map(|attempt| backoff(&settings, attempt).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(&settings, 1_000).as_secs(), 60);
    }
}

//! Checks presented keys against the store, with a short-lived cache so that Argon2 runs once
//! per key and not once per request; revocation takes effect within [`RECHECK`].

use kindred_graphql::access::Caller;
use kindred_graphql::keys::{prefix_of, verify};
use kindred_store::{Store, StoreError};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Argon2 checks that may run at once: each takes ~19 MiB and a core for tens of
/// milliseconds, so a flood of attempts queues here instead of exhausting memory and threads.
const CONCURRENT_CHECKS: usize = 2;

/// How long a checked key is trusted before its row is read again (revocation, role).
pub const RECHECK: Duration = Duration::from_secs(5);

/// Why a key was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum KeyRejected {
    /// Unknown, malformed, wrong or revoked: the caller is not told which.
    #[error("the API key is not valid")]
    Invalid,
    /// The store could not be read.
    #[error("cannot check the API key: {0}")]
    Store(#[from] StoreError),
}

/// The hash of a key nobody has, checked against when a prefix is unknown.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| kindred_graphql::keys::generate().map(|made| made.hash).unwrap_or_default())
}

struct Checked {
    key_id: i64,
    caller: Caller,
    at: Instant,
}

/// The keys the server accepts.
pub struct KeyRing {
    store: Store,
    checked: Mutex<HashMap<[u8; 32], Checked>>,
    hashing: tokio::sync::Semaphore,
}

impl KeyRing {
    /// Keys from `store`.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            checked: Mutex::new(HashMap::new()),
            hashing: tokio::sync::Semaphore::new(CONCURRENT_CHECKS),
        }
    }

    fn cached(&self, digest: &[u8; 32]) -> Option<(i64, Caller, bool)> {
        let checked = self.checked.lock().ok()?;
        let entry = checked.get(digest)?;
        Some((entry.key_id, entry.caller.clone(), entry.at.elapsed() < RECHECK))
    }

    /// Whether `key` was accepted recently (no Argon2 needed to accept it again).
    pub fn recently_accepted(&self, key: &str) -> bool {
        self.cached(&Sha256::digest(key.as_bytes()).into()).is_some_and(|(_, _, fresh)| fresh)
    }

    /// Whether `key` matches `hash`: Argon2 on the blocking pool, a few at a time.
    async fn check(&self, key: &str, hash: &str) -> bool {
        let Ok(_turn) = self.hashing.acquire().await else { return false };
        let (presented, hash) = (key.to_owned(), hash.to_owned());
        tokio::task::spawn_blocking(move || verify(&presented, &hash)).await.unwrap_or(false)
    }

    /// The caller `key` belongs to.
    pub async fn caller(&self, key: &str) -> Result<Caller, KeyRejected> {
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let cached = self.cached(&digest);
        if let Some((_, caller, true)) = &cached {
            return Ok(caller.clone());
        }
        let prefix = prefix_of(key).ok_or(KeyRejected::Invalid)?;
        let Some(row) = self.store.api_key_by_prefix(prefix).await? else {
            // As slow as checking a real key, so timing does not tell which prefixes exist.
            self.check(key, dummy_hash()).await;
            return Err(KeyRejected::Invalid);
        };
        if row.revoked_at.is_some() {
            if let Ok(mut checked) = self.checked.lock() {
                checked.remove(&digest);
            }
            return Err(KeyRejected::Invalid);
        }
        // This very key was verified before: its digest proves it; only the row is re-read.
        let verified_before = cached.is_some_and(|(key_id, _, _)| key_id == row.id);
        if !verified_before && !self.check(key, &row.hash).await {
            return Err(KeyRejected::Invalid);
        }
        let caller = Caller { key_name: Some(row.name.clone()), role: row.role };
        if let Err(error) = self.store.touch_api_key(row.id, chrono::Utc::now()).await {
            tracing::warn!(%error, "cannot record when a key was last used");
        }
        if let Ok(mut checked) = self.checked.lock() {
            checked.insert(digest, Checked { key_id: row.id, caller: caller.clone(), at: Instant::now() });
        }
        Ok(caller)
    }
}

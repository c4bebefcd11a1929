//! A plugin's recent failures, as operators see them in `plugins`: how many calls failed
//! since the server loaded it, and the last failure with its time.

use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex, PoisonError};

/// What the failure log holds at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Failures {
    /// Calls that failed (an error, a panic, a call on a disabled instance, a refused output).
    pub count: u64,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// When it happened.
    pub last_at: Option<DateTime<Utc>>,
}

/// The failures of one plugin, shared by every instance of its library.
#[derive(Debug, Clone, Default)]
pub struct FailureLog(Arc<Mutex<Failures>>);

impl FailureLog {
    /// Records a failure now.
    pub fn record(&self, error: &str) {
        let mut failures = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        failures.count += 1;
        failures.last_error = Some(error.to_owned());
        failures.last_at = Some(Utc::now());
    }

    /// The failures so far.
    pub fn snapshot(&self) -> Failures {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_count_and_keep_the_last() {
        let log = FailureLog::default();
        assert_eq!(log.snapshot(), Failures::default());
        let shared = log.clone();
        log.record("first");
        shared.record("second");
        let seen = log.snapshot();
        assert_eq!((seen.count, seen.last_error.as_deref()), (2, Some("second")));
        assert!(seen.last_at.is_some());
    }
}

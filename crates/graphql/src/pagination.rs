//! Page sizes and cursors.

use crate::error::ApiError;
use chrono::DateTime;
use kindred_domain::{Reason, ValidationError};
use kindred_store::InteractionCursor;

/// Items in a page when `first` is not given.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// The most items a page may hold.
pub const MAX_PAGE_SIZE: u64 = 100;

/// Checks `first` against the page size limit.
pub(crate) fn page_size(first: Option<i32>) -> Result<u64, ApiError> {
    match first {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if n >= 1 && n as u64 <= MAX_PAGE_SIZE => Ok(n as u64),
        Some(n) => {
            let reason = Reason::OutOfRange { min: "1".into(), max: MAX_PAGE_SIZE.to_string() };
            Err(ValidationError::new("first", n, reason).into())
        }
    }
}

fn bad_cursor(raw: &str) -> ApiError {
    let allowed = "a cursor returned by this API";
    ValidationError::new("after", raw, Reason::BadCharacters { allowed }).into()
}

/// Cursor of an item ordered by id.
pub(crate) fn id_cursor(id: i64) -> String {
    format!("i{id}")
}

/// Reads a cursor made by [`id_cursor`].
pub(crate) fn parse_id_cursor(raw: Option<&str>) -> Result<Option<i64>, ApiError> {
    raw.map(|raw| raw.strip_prefix('i').and_then(|id| id.parse().ok()).ok_or_else(|| bad_cursor(raw)))
        .transpose()
}

/// Cursor of an interaction, ordered by time then id.
pub(crate) fn interaction_cursor(cursor: InteractionCursor) -> String {
    format!("t{}.{}", cursor.occurred_at.timestamp_micros(), cursor.id)
}

/// Reads a cursor made by [`interaction_cursor`].
pub(crate) fn parse_interaction_cursor(raw: Option<&str>) -> Result<Option<InteractionCursor>, ApiError> {
    raw.map(|raw| {
        let (micros, id) =
            raw.strip_prefix('t').and_then(|rest| rest.split_once('.')).ok_or_else(|| bad_cursor(raw))?;
        let occurred_at =
            micros.parse().ok().and_then(DateTime::from_timestamp_micros).ok_or_else(|| bad_cursor(raw))?;
        let id = id.parse().map_err(|_| bad_cursor(raw))?;
        Ok(InteractionCursor { occurred_at, id })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_are_limited() {
        assert_eq!(page_size(None).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(Some(100)).unwrap(), 100);
        assert!(page_size(Some(0)).is_err());
        assert!(page_size(Some(101)).is_err());
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        assert_eq!(parse_id_cursor(Some(&id_cursor(42))).unwrap(), Some(42));
        assert!(parse_id_cursor(Some("42")).is_err());
        let cursor = InteractionCursor {
            occurred_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            id: 7,
        };
        assert_eq!(parse_interaction_cursor(Some(&interaction_cursor(cursor))).unwrap(), Some(cursor));
        assert!(parse_interaction_cursor(Some("t1")).is_err());
    }
}

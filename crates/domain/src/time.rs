//! Parsing of dates and timestamps as import files and the API give them.

use crate::error::{Reason, ValidationError};
use chrono::{DateTime, NaiveDate, Utc};

/// Parses `YYYY-MM-DD`, its ISO 8601 basic form `YYYYMMDD` (as many registers and older
/// systems write dates), or an RFC 3339 timestamp (its date part is kept) for `field`.
pub fn parse_date(field: &'static str, raw: &str) -> Result<NaiveDate, ValidationError> {
    let value = raw.trim();
    let basic = value.len() == 8 && value.bytes().all(|byte| byte.is_ascii_digit());
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .or_else(|error| if basic { NaiveDate::parse_from_str(value, "%Y%m%d") } else { Err(error) })
        .or_else(|_| DateTime::parse_from_rfc3339(value).map(|t| t.date_naive()))
        .map_err(|_| ValidationError::new(field, raw, Reason::BadDate))
}

/// Parses an RFC 3339 timestamp, or `YYYY-MM-DD` as midnight UTC, for `field`.
pub fn parse_timestamp(field: &'static str, raw: &str) -> Result<DateTime<Utc>, ValidationError> {
    let value = raw.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Ok(time.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|time| time.and_utc())
        .ok_or_else(|| ValidationError::new(field, raw, Reason::BadDate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_accept_both_formats() {
        let date = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(parse_date("birth_date", "2024-02-29").unwrap(), date);
        assert_eq!(parse_date("birth_date", "2024-02-29T23:00:00+00:00").unwrap(), date);
        assert_eq!(parse_date("birth_date", "20240229").unwrap(), date, "ISO 8601 basic");
        assert_eq!(parse_date("birth_date", "20230229").unwrap_err().reason, Reason::BadDate, "no such day");
        assert_eq!(parse_date("birth_date", "2024229").unwrap_err().reason, Reason::BadDate);
        let error = parse_date("birth_date", "29/02/2024").unwrap_err();
        assert_eq!((error.field, error.reason), ("birth_date", Reason::BadDate));
    }

    #[test]
    fn timestamps_are_normalised_to_utc() {
        let time = parse_timestamp("occurred_at", "2024-05-01T10:00:00+02:00").unwrap();
        assert_eq!(time.to_rfc3339(), "2024-05-01T08:00:00+00:00");
        let midnight = parse_timestamp("occurred_at", "2024-05-01").unwrap();
        assert_eq!(midnight.to_rfc3339(), "2024-05-01T00:00:00+00:00");
        assert!(parse_timestamp("occurred_at", "yesterday").is_err());
    }
}

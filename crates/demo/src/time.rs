//! Fast, infallible formatting of dates and UTC timestamps.

use kindred_calendar::civil_from_days;
use std::fmt::Write;

/// Appends `days` since 1970-01-01 as `YYYY-MM-DD`.
pub(crate) fn write_date(out: &mut String, days: i64) {
    let (year, month, day) = civil_from_days(days);
    let _ = write!(out, "{year:04}-{month:02}-{day:02}");
}

/// Appends Unix time `seconds` as RFC 3339 UTC, e.g. `2025-03-01T12:34:56Z`.
pub(crate) fn write_timestamp(out: &mut String, seconds: i64) {
    write_date(out, seconds.div_euclid(86_400));
    let second_of_day = seconds.rem_euclid(86_400);
    let (hour, minute, second) = (second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60);
    let _ = write!(out, "T{hour:02}:{minute:02}:{second:02}Z");
}

/// Unix time `seconds` as an RFC 3339 UTC string.
#[cfg(test)]
pub(crate) fn timestamp(seconds: i64) -> String {
    let mut out = String::new();
    write_timestamp(&mut out, seconds);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, NaiveDate};

    #[test]
    fn dates_match_chrono() {
        for days in (-30_000..60_000).step_by(7) {
            let mut ours = String::new();
            write_date(&mut ours, days);
            let theirs = NaiveDate::from_epoch_days(days as i32).unwrap().format("%Y-%m-%d").to_string();
            assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn timestamps_match_chrono() {
        for seconds in (0..4_000_000_000_i64).step_by(9_999_991) {
            let theirs =
                DateTime::from_timestamp(seconds, 0).unwrap().format("%Y-%m-%dT%H:%M:%SZ").to_string();
            assert_eq!(timestamp(seconds), theirs);
        }
        assert_eq!(timestamp(1_740_832_496), "2025-03-01T12:34:56Z");
    }
}

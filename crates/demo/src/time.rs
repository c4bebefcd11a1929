//! Fast, infallible formatting of dates and UTC timestamps.

use std::fmt::Write;

/// Year, month and day of `days` since 1970-01-01 (proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Howard Hinnant's `civil_from_days`.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

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

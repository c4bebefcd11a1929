//! Civil-date arithmetic on day numbers: days since 1970-01-01 in the proleptic Gregorian
//! calendar, the unit of Arrow's `Date32`.
//!
//! Howard Hinnant's two conversions, exact for every day an `i32` holds. Written here rather
//! than taken from chrono because the plugin SDK carries no date crate into every plugin, and
//! the hot paths that use them (millions of stored dates parsed or written per refit or demo)
//! need neither validation nor allocation: twenty lines, checked against chrono in the tests.

/// Days from 1970-01-01 to `year-month-day`. `month` is 1-12 and `day` 1-31; an impossible date
/// (February 30) gives the day it would be, so callers that parse text check the round trip.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Year, month (1-12) and day (1-31) of day number `days`.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 } as u32;
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, NaiveDate};

    #[test]
    fn both_ways_agree_with_chrono() {
        for days in (-800_000_i64..800_000).step_by(13) {
            let date = NaiveDate::from_epoch_days(days as i32).expect("in range");
            let civil = (i64::from(date.year()), date.month(), date.day());
            assert_eq!(civil_from_days(days), civil, "day {days}");
            assert_eq!(days_from_civil(civil.0, civil.1, civil.2), days, "{date}");
        }
    }

    #[test]
    fn known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}

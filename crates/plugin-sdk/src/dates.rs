//! Calendar arithmetic on the day numbers Arrow's `Date32` holds (days since 1970-01-01), so
//! strategies need no date crate for ages and anniversaries.

/// Year, month (1-12) and day (1-31) of day number `days` (proleptic Gregorian calendar).
pub fn civil_from_days(days: i32) -> (i64, u32, u32) {
    kindred_calendar::civil_from_days(i64::from(days))
}

/// Whole years from day `born` to day `today`: a birthday counts on the day itself. `None`
/// when `born` is after `today`.
pub fn age_in_years(born: i32, today: i32) -> Option<u32> {
    let (born_year, born_month, born_day) = civil_from_days(born);
    let (year, month, day) = civil_from_days(today);
    let mut age = year - born_year;
    if (month, day) < (born_month, born_day) {
        age -= 1;
    }
    u32::try_from(age).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_and_ages() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        // 2000-03-01 is day 11017; 2026-03-01 is day 20513; 2026-02-28 is day 20512.
        assert_eq!(age_in_years(11_017, 20_513), Some(26));
        assert_eq!(age_in_years(11_017, 20_512), Some(25));
        assert_eq!(age_in_years(20_513, 11_017), None);
    }
}

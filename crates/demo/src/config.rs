//! What to generate, and the time window it covers.

use crate::DemoError;
use chrono::{Months, NaiveDate};

/// Settings for one demo data set; the same settings always give the same files.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoConfig {
    /// Number of customers.
    pub customers: usize,
    /// Seed for every random choice.
    pub seed: u64,
    /// Last day of history; nothing happens after it.
    pub as_of: NaiveDate,
    /// Years of interaction history before `as_of`.
    pub years: u32,
    /// Mean size of the planted communities.
    pub community_size: usize,
    /// Share of customers that arrive a second time, from another system, with noise (a
    /// tenth of those a third time); 0 for none. The truth goes to `duplicates.csv`.
    pub duplicates: f64,
}

/// The default last day of history.
const DEFAULT_AS_OF: NaiveDate = match NaiveDate::from_ymd_opt(2026, 11, 1) {
    Some(date) => date,
    None => NaiveDate::MIN,
};

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            customers: 10_000,
            seed: 42,
            as_of: DEFAULT_AS_OF,
            years: 3,
            community_size: 40,
            duplicates: 0.0,
        }
    }
}

const SECONDS_PER_DAY: i64 = 86_400;

/// The history window in Unix seconds, both ends inclusive.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// First second of history (midnight UTC, `years` before `as_of`).
    pub start: i64,
    /// Last second of history (the end of `as_of`).
    pub end: i64,
    /// `as_of` as days since 1970-01-01.
    pub as_of_day: i64,
}

impl Window {
    /// Length of the window in days.
    pub fn days(&self) -> f64 {
        (self.end + 1 - self.start) as f64 / SECONDS_PER_DAY as f64
    }

    /// The Unix time `day` days (fractional) plus `second_of_day` after the start, kept in the window.
    pub fn at(&self, day: f64, second_of_day: i64) -> i64 {
        let whole = day.floor() as i64;
        (self.start + whole * SECONDS_PER_DAY + second_of_day).clamp(self.start, self.end)
    }
}

impl DemoConfig {
    /// Checks the settings and works out the history window.
    pub(crate) fn window(&self) -> Result<Window, DemoError> {
        let invalid = |reason: &str| Err(DemoError::InvalidConfig(reason.to_owned()));
        if self.customers > u32::MAX as usize - 1 {
            return invalid("customers must be below 4,294,967,295");
        }
        if !(1..=50).contains(&self.years) {
            return invalid("years must be between 1 and 50");
        }
        if !(0.0..=1.0).contains(&self.duplicates) {
            return invalid("duplicates must be between 0 and 1");
        }
        if self.community_size < 2 {
            return invalid("community_size must be at least 2");
        }
        if !(1990..=9000).contains(&chrono::Datelike::year(&self.as_of)) {
            return invalid("as_of must be between the years 1990 and 9000");
        }
        let Some(start) = self.as_of.checked_sub_months(Months::new(12 * self.years)) else {
            return invalid("as_of minus years is out of range");
        };
        let as_of_day = i64::from(self.as_of.to_epoch_days());
        Ok(Window {
            start: i64::from(start.to_epoch_days()) * SECONDS_PER_DAY,
            end: (as_of_day + 1) * SECONDS_PER_DAY - 1,
            as_of_day,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_window_covers_three_years_to_the_end_of_as_of() {
        let window = DemoConfig::default().window().unwrap();
        assert_eq!(crate::time::timestamp(window.start), "2023-11-01T00:00:00Z");
        assert_eq!(crate::time::timestamp(window.end), "2026-11-01T23:59:59Z");
        assert!((window.days() - 1097.0).abs() < 1e-9);
        assert_eq!(window.at(-3.0, 0), window.start);
        assert_eq!(window.at(5000.0, 0), window.end);
    }

    #[test]
    fn bad_settings_are_refused() {
        let bad = [
            DemoConfig { years: 0, ..Default::default() },
            DemoConfig { community_size: 1, ..Default::default() },
            DemoConfig { as_of: NaiveDate::from_ymd_opt(1900, 1, 1).unwrap(), ..Default::default() },
        ];
        for config in bad {
            assert!(matches!(config.window(), Err(DemoError::InvalidConfig(_))), "{config:?}");
        }
    }
}

//! Times in rules: fixed dates and times, or moments relative to the as-of moment.

use super::{MICROS_PER_DAY, RuleError, refuse};
use kindred_calendar::days_from_civil;
use serde_json::Value;

/// A moment in a rule: fixed, or relative to the as-of moment of each evaluation.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Moment {
    /// Microseconds since the Unix epoch.
    Fixed(i64),
    /// The as-of moment plus this many microseconds.
    Relative(i64),
}

impl Moment {
    pub(crate) fn at(self, as_of_micros: i64) -> i64 {
        match self {
            Moment::Fixed(micros) => micros,
            Moment::Relative(offset) => as_of_micros.saturating_add(offset),
        }
    }

    pub(crate) fn parse(value: &Value, path: &str) -> Result<Self, RuleError> {
        let Some(text) = value.as_str() else {
            return refuse(path, "expected a date (YYYY-MM-DD), an RFC 3339 time, or now-30d");
        };
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("now") {
            if rest.is_empty() {
                return Ok(Moment::Relative(0));
            }
            let (sign, amount) = match rest.split_at(1) {
                ("-", amount) => (-1, amount),
                ("+", amount) => (1, amount),
                _ => return refuse(path, format!("{text:?}: write now, now-30d or now+2w")),
            };
            let (number, unit) = amount.split_at(amount.len().saturating_sub(1));
            let count: i64 = number.parse().map_err(|_| RuleError {
                path: path.to_owned(),
                reason: format!("{text:?}: expected a whole number before the unit"),
            })?;
            let unit_micros = match unit {
                "h" => MICROS_PER_DAY / 24,
                "d" => MICROS_PER_DAY,
                "w" => 7 * MICROS_PER_DAY,
                "y" => 365 * MICROS_PER_DAY + MICROS_PER_DAY / 4,
                _ => return refuse(path, format!("{text:?}: the unit must be h, d, w or y")),
            };
            return Ok(Moment::Relative(sign * count.saturating_mul(unit_micros)));
        }
        parse_time(text).map(Moment::Fixed).ok_or_else(|| RuleError {
            path: path.to_owned(),
            reason: format!("{text:?} is not a date (YYYY-MM-DD), an RFC 3339 time, or now-30d"),
        })
    }
}

/// Microseconds since the Unix epoch of `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time
/// (`YYYY-MM-DDTHH:MM:SS[.f](Z|±HH:MM)`); `None` for anything else, including impossible dates.
pub fn parse_time(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year: i64 = text.get(0..4)?.parse().ok()?;
    let month: u32 = text.get(5..7)?.parse().ok()?;
    let day: u32 = text.get(8..10)?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    if crate::dates::civil_from_days(i32::try_from(days).ok()?) != (year, month, day) {
        return None; // 2025-02-30 and the like
    }
    let mut micros = days * MICROS_PER_DAY;
    if bytes.len() == 10 {
        return Some(micros);
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') || bytes.len() < 19 {
        return None;
    }
    let hour: i64 = text.get(11..13)?.parse().ok()?;
    let minute: i64 = text.get(14..16)?.parse().ok()?;
    let second: i64 = text.get(17..19)?.parse().ok()?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    micros += ((hour * 60 + minute) * 60 + second) * 1_000_000;
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        let scaled: String = fraction[..digits].chars().chain(std::iter::repeat('0')).take(6).collect();
        micros += scaled.parse::<i64>().ok()?;
        rest = &fraction[digits..];
    }
    match rest {
        "Z" | "z" => Some(micros),
        offset if offset.len() == 6 && (offset.starts_with('+') || offset.starts_with('-')) => {
            let hours: i64 = offset.get(1..3)?.parse().ok()?;
            let minutes: i64 = offset.get(4..6)?.parse().ok()?;
            let shift = (hours * 60 + minutes) * 60_000_000;
            Some(if offset.starts_with('+') { micros - shift } else { micros + shift })
        }
        _ => None,
    }
}

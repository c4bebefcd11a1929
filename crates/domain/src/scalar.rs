//! Parsing of numbers and booleans from text, as import files give them.

use crate::error::{Reason, ValidationError};

/// Parses a finite decimal number for `field`.
pub fn parse_number(field: &'static str, raw: &str) -> Result<f64, ValidationError> {
    let value: f64 = raw.trim().parse().map_err(|_| ValidationError::new(field, raw, Reason::NotANumber))?;
    if !value.is_finite() {
        return Err(ValidationError::new(field, raw, Reason::NotFinite));
    }
    Ok(value)
}

/// Parses `true`/`false` (also `1`/`0`, `yes`/`no`, any case) for `field`.
pub fn parse_bool(field: &'static str, raw: &str) -> Result<bool, ValidationError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" => Ok(true),
        "false" | "0" | "no" | "n" => Ok(false),
        _ => Err(ValidationError::new(field, raw, Reason::NotABoolean)),
    }
}

/// Checks that `value` is finite and within `min..=max` for `field`.
pub fn check_range(field: &'static str, value: f64, min: f64, max: f64) -> Result<f64, ValidationError> {
    if !value.is_finite() {
        return Err(ValidationError::new(field, value, Reason::NotFinite));
    }
    if value < min || value > max {
        let reason = Reason::OutOfRange { min: min.to_string(), max: max.to_string() };
        return Err(ValidationError::new(field, value, reason));
    }
    Ok(value)
}

/// Checks that `value` is finite and not negative for `field`.
pub fn check_non_negative(field: &'static str, value: f64) -> Result<f64, ValidationError> {
    if !value.is_finite() {
        return Err(ValidationError::new(field, value, Reason::NotFinite));
    }
    if value < 0.0 {
        return Err(ValidationError::new(field, value, Reason::Negative));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_booleans() {
        assert_eq!(parse_number("amount", " 12.5 ").unwrap(), 12.5);
        assert_eq!(parse_number("amount", "x").unwrap_err().reason, Reason::NotANumber);
        assert_eq!(parse_number("amount", "inf").unwrap_err().reason, Reason::NotFinite);
        assert!(parse_bool("consent_marketing", "Yes").unwrap());
        assert!(!parse_bool("consent_marketing", "0").unwrap());
        assert_eq!(parse_bool("consent_marketing", "maybe").unwrap_err().reason, Reason::NotABoolean);
    }

    #[test]
    fn ranges() {
        assert!(check_range("weight", 1.0, 0.0, 1.0).is_ok());
        let error = check_range("weight", 1.5, 0.0, 1.0).unwrap_err();
        assert_eq!(error.to_string(), "weight: \"1.5\" must be between 0 and 1");
        assert_eq!(check_non_negative("amount", -1.0).unwrap_err().reason, Reason::Negative);
    }
}

//! Phone numbers, normalised to E.164 so that one number matches however it was typed.

use crate::error::{Reason, ValidationError};
use serde::{Deserialize, Serialize};

/// The region numbers without a `+country` prefix are read in: an ISO 3166-1 alpha-2 code
/// that the numbering plan knows (`DE`, `GB`, `US`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneRegion(phonenumber::country::Id);

impl PhoneRegion {
    /// Parses a region code (any case) for `field`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
        raw.trim().to_ascii_uppercase().parse().map(Self).map_err(|_| {
            let allowed = "an ISO 3166-1 alpha-2 code of a numbering plan (DE, GB, US...)";
            ValidationError::new(field, raw, Reason::BadCharacters { allowed })
        })
    }
}

/// How many compiled patterns of the numbering plans are kept. The plan library keeps 100,
/// fewer than the patterns of the thirty-odd countries a customer file mixes: numbers from
/// many countries then evict each other's patterns and every number recompiles some (an
/// import of 30,000 customers took 13.9 s with phones against 2.5 s without). Every
/// pattern of every country is a few thousand; this bounds the memory of those in use.
const PLAN_PATTERNS_KEPT: usize = 4096;

/// Widens the plan library's pattern cache once (see [`PLAN_PATTERNS_KEPT`]).
fn keep_plan_patterns() {
    static WIDENED: std::sync::Once = std::sync::Once::new();
    WIDENED.call_once(|| {
        let cache = phonenumber::metadata::DATABASE.cache();
        let mut cache = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // `RegexCache` is an LRU cache underneath; only its capacity changes.
        cache.set_capacity(PLAN_PATTERNS_KEPT);
    });
}

/// A valid phone number in E.164 form (`+4930123456`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Phone(String);

impl Phone {
    /// Parses a number for `field`: international (`+44 20 7946 0958`) or, with `region`,
    /// national (`030 1234567` in `DE`) or with that region's international prefix (`0044...`). A number the plan says cannot exist is
    /// refused.
    pub fn parse(
        field: &'static str,
        raw: &str,
        region: Option<PhoneRegion>,
    ) -> Result<Self, ValidationError> {
        let invalid = || ValidationError::new(field, raw, Reason::InvalidPhone);
        let trimmed = raw.trim();
        // The library accepts letters as keypad digits; a CRM's phone field holding letters
        // is a mistake, not a vanity number.
        if trimmed.is_empty() || trimmed.chars().any(|c| c.is_alphabetic()) || trimmed.len() > 40 {
            return Err(invalid());
        }
        keep_plan_patterns();
        let number = phonenumber::parse(region.map(|region| region.0), trimmed).map_err(|_| invalid())?;
        if !phonenumber::is_valid(&number) {
            return Err(invalid());
        }
        Ok(Self(number.format().mode(phonenumber::Mode::E164).to_string()))
    }

    /// The number in E.164.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(code: &str) -> Option<PhoneRegion> {
        Some(PhoneRegion::parse("region", code).unwrap())
    }

    #[test]
    fn one_number_however_it_is_typed() {
        let written = ["+49 30 1234567", "+49-30-123 4567", "+4930 1234567"];
        for raw in written {
            assert_eq!(Phone::parse("phone", raw, None).unwrap().as_str(), "+49301234567", "{raw}");
        }
        assert_eq!(Phone::parse("phone", "030 1234567", region("de")).unwrap().as_str(), "+49301234567");
        // The region's own international prefix (00 in Germany) counts as `+`.
        assert_eq!(Phone::parse("phone", "0049 30 1234567", region("DE")).unwrap().as_str(), "+49301234567");
        assert_eq!(Phone::parse("phone", "(201) 555-0123", region("US")).unwrap().as_str(), "+12015550123");
    }

    #[test]
    fn numbers_that_cannot_exist_are_refused() {
        for raw in ["", "12", "030 1234567", "+49 0", "call me", "+1 800 FLOWERS"] {
            let error = Phone::parse("phone", raw, None).unwrap_err();
            assert_eq!((error.field, error.reason.clone()), ("phone", Reason::InvalidPhone), "{raw}");
        }
        assert!(PhoneRegion::parse("identity.default_phone_region", "XX").is_err());
    }
}

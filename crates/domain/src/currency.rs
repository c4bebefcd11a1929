//! ISO 4217 currency codes.

use crate::error::{Reason, ValidationError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The active ISO 4217 alphabetic codes, sorted for binary search.
///
/// A static table is kept here rather than a currency crate: membership is all the domain
/// needs, and a sorted slice answers it with no dependency or build script.
const CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD",
    "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE", "CHF",
    "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD",
    "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR",
    "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA",
    "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO",
    "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB",
    "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC",
    "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "USN",
    "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XAG", "XAU", "XBA", "XBB", "XBC",
    "XBD", "XCD", "XCG", "XDR", "XOF", "XPD", "XPF", "XPT", "XSU", "XUA", "YER", "ZAR", "ZMW", "ZWG", "ZWL",
];

/// An ISO 4217 currency code such as `EUR`, stored in upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct Currency(&'static str);

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Self::parse("currency", &code).map_err(serde::de::Error::custom)
    }
}

impl Currency {
    /// Parses a currency code (any case) for `field`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
        let upper = raw.trim().to_ascii_uppercase();
        CODES
            .binary_search(&upper.as_str())
            .map(|index| Self(CODES[index]))
            .map_err(|_| ValidationError::new(field, raw, Reason::UnknownCurrency))
    }

    /// The three-letter code.
    pub fn code(self) -> &'static str {
        self.0
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.0.to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(CODES.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn known_codes_parse_in_any_case() {
        assert_eq!(Currency::parse("currency", "eur").unwrap().code(), "EUR");
        assert_eq!(Currency::parse("currency", " JPY ").unwrap().code(), "JPY");
    }

    #[test]
    fn unknown_code_names_field_and_value() {
        let error = Currency::parse("currency", "EUX").unwrap_err();
        assert_eq!(error.field, "currency");
        assert_eq!(error.value, "EUX");
        assert_eq!(error.reason, Reason::UnknownCurrency);
        assert_eq!(error.to_string(), "currency: \"EUX\" is not an ISO 4217 currency code");
    }
}

//! Validated text values: external ids, free text and lowercase tokens.

use crate::error::{Reason, ValidationError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest external id accepted.
const MAX_EXTERNAL_ID: usize = 200;
/// The longest free text accepted for short fields (names, city, occupation).
const MAX_TEXT: usize = 200;
/// The longest token accepted (channel, kind, tag).
const MAX_TOKEN: usize = 64;

fn trimmed_non_empty<'a>(field: &'static str, raw: &'a str) -> Result<&'a str, ValidationError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(ValidationError::new(field, raw, Reason::Empty));
    }
    Ok(value)
}

fn check_length(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.chars().count() > max {
        return Err(ValidationError::new(field, value, Reason::TooLong { max }));
    }
    Ok(())
}

/// A customer's id in the system it came from: the key of imports and upserts.
///
/// Trimmed, 1 to 200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExternalId(String);

impl ExternalId {
    /// Parses an external id for `field`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
        let value = trimmed_non_empty(field, raw)?;
        check_length(field, value, MAX_EXTERNAL_ID)?;
        if value.chars().any(char::is_control) {
            let allowed = "printable characters";
            return Err(ValidationError::new(field, raw, Reason::BadCharacters { allowed }));
        }
        Ok(Self(value.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ExternalId {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("external_id", &value)
    }
}

impl From<ExternalId> for String {
    fn from(value: ExternalId) -> Self {
        value.0
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Short free text (a name, a city, an occupation): trimmed, 1 to 200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Text(String);

impl Text {
    /// Parses short free text for `field`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
        let value = trimmed_non_empty(field, raw)?;
        check_length(field, value, MAX_TEXT)?;
        if value.chars().any(char::is_control) {
            let allowed = "printable characters";
            return Err(ValidationError::new(field, raw, Reason::BadCharacters { allowed }));
        }
        Ok(Self(value.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Gives back the inner string.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// A lowercase identifier such as a channel, a kind or a tag: letters, digits, `_` and `-`,
/// 1 to 64 characters. Spaces become `_` and letters are lowercased, so `"Support Ticket"`
/// and `"support_ticket"` are the same token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Token(String);

impl Token {
    /// Parses and normalises a token for `field`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
        let value = trimmed_non_empty(field, raw)?;
        let normal: String = value.split_whitespace().collect::<Vec<_>>().join("_").to_lowercase();
        check_length(field, &normal, MAX_TOKEN)?;
        if !normal.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') {
            let allowed = "letters, digits, spaces, '_' and '-'";
            return Err(ValidationError::new(field, raw, Reason::BadCharacters { allowed }));
        }
        Ok(Self(normal))
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_id_is_trimmed_and_must_not_be_empty() {
        assert_eq!(ExternalId::parse("external_id", "  c-1 ").unwrap().as_str(), "c-1");
        let error = ExternalId::parse("external_id", "   ").unwrap_err();
        assert_eq!(error.field, "external_id");
        assert_eq!(error.reason, Reason::Empty);
    }

    #[test]
    fn external_id_refuses_control_characters_and_long_values() {
        assert!(ExternalId::parse("external_id", "a\u{0}b").is_err());
        let long = "x".repeat(201);
        let error = ExternalId::parse("external_id", &long).unwrap_err();
        assert_eq!(error.reason, Reason::TooLong { max: 200 });
    }

    #[test]
    fn token_normalises_case_and_spaces() {
        assert_eq!(Token::parse("kind", " Support  Ticket ").unwrap().as_str(), "support_ticket");
        let error = Token::parse("kind", "a;b").unwrap_err();
        assert_eq!(error.field, "kind");
        assert!(matches!(error.reason, Reason::BadCharacters { .. }));
    }
}

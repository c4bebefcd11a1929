//! Validation errors that name the field, the value and the reason.

use std::fmt;

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A required value was empty.
    Empty,
    /// The text is longer than allowed.
    TooLong {
        /// The maximum number of characters.
        max: usize,
    },
    /// Not a valid email address.
    InvalidEmail,
    /// Not a phone number that can exist (international, or national in the default region).
    InvalidPhone,
    /// A number below zero where only zero or more is allowed.
    Negative,
    /// Not a finite number.
    NotFinite,
    /// Not a number at all.
    NotANumber,
    /// A number outside its allowed range.
    OutOfRange {
        /// Smallest allowed value.
        min: String,
        /// Largest allowed value.
        max: String,
    },
    /// Not an ISO 4217 currency code.
    UnknownCurrency,
    /// A tie from a customer to itself.
    SelfTie,
    /// A date after today.
    InFuture,
    /// A date too far in the past to be real.
    TooOld,
    /// Not a date or timestamp in an accepted format.
    BadDate,
    /// Not `true` or `false`.
    NotABoolean,
    /// Not one of the accepted values.
    NotOneOf {
        /// The accepted values, comma-separated.
        expected: &'static str,
    },
    /// Contains characters that are not allowed.
    BadCharacters {
        /// What is allowed.
        allowed: &'static str,
    },
    /// A value of the wrong JSON type (an object where a text is expected).
    WrongType {
        /// What is expected.
        expected: &'static str,
    },
    /// A latitude without longitude or the other way round.
    Incomplete {
        /// The field that is also needed.
        needs: &'static str,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Empty => write!(f, "must not be empty"),
            Reason::TooLong { max } => write!(f, "is longer than {max} characters"),
            Reason::InvalidEmail => write!(f, "is not a valid email address"),
            Reason::InvalidPhone => write!(
                f,
                "is not a valid phone number (international as +CC..., or national in identity.default_phone_region)"
            ),
            Reason::Negative => write!(f, "must not be negative"),
            Reason::NotFinite => write!(f, "must be a finite number"),
            Reason::NotANumber => write!(f, "is not a number"),
            Reason::OutOfRange { min, max } => write!(f, "must be between {min} and {max}"),
            Reason::UnknownCurrency => write!(f, "is not an ISO 4217 currency code"),
            Reason::SelfTie => write!(f, "a tie cannot go from a customer to itself"),
            Reason::InFuture => write!(f, "must not be in the future"),
            Reason::TooOld => write!(f, "must not be before 1900-01-01"),
            Reason::BadDate => {
                write!(f, "is not a date (YYYY-MM-DD) or an RFC 3339 timestamp")
            }
            Reason::NotABoolean => write!(f, "must be true or false"),
            Reason::NotOneOf { expected } => write!(f, "must be one of: {expected}"),
            Reason::BadCharacters { allowed } => write!(f, "may only contain {allowed}"),
            Reason::WrongType { expected } => write!(f, "must be {expected}"),
            Reason::Incomplete { needs } => write!(f, "must be given together with {needs}"),
        }
    }
}

/// A value that was refused: which field, what value, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {value:?} {reason}")]
pub struct ValidationError {
    /// The field's name as it appears in import files (snake_case).
    pub field: &'static str,
    /// The refused value, as given, cut to [`VALUE_PREFIX_CHARS`] characters (with `…`) so no
    /// error echoes a huge input.
    pub value: String,
    /// Why it was refused.
    pub reason: Reason,
}

/// The most characters of a refused value an error repeats.
pub const VALUE_PREFIX_CHARS: usize = 64;

/// `text` cut to its first `max` characters, with `…` when something was cut: what an error
/// may repeat of an input.
pub fn prefix(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        Some((cut, _)) => std::borrow::Cow::Owned(format!("{}…", &text[..cut])),
        None => std::borrow::Cow::Borrowed(text),
    }
}

impl ValidationError {
    /// Builds an error for `field` holding `value` (its first [`VALUE_PREFIX_CHARS`]
    /// characters).
    pub fn new(field: &'static str, value: impl ToString, reason: Reason) -> Self {
        let value = value.to_string();
        let value = prefix(&value, VALUE_PREFIX_CHARS).into_owned();
        Self { field, value, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_value_is_repeated_only_in_part() {
        let error = ValidationError::new("first_name", "é".repeat(900_000), Reason::TooLong { max: 200 });
        assert_eq!(error.value.chars().count(), VALUE_PREFIX_CHARS + 1);
        assert!(error.to_string().len() < 300);
        assert_eq!(ValidationError::new("email", "a@b", Reason::InvalidEmail).value, "a@b");
    }
}

/// Every problem found in one record, so a caller can report them all at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl ValidationErrors {
    /// Keeps the value of `result`, or records its error and gives `None`.
    pub fn check<T>(&mut self, result: Result<T, ValidationError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    /// Like [`check`](Self::check) for an optional input: `None` stays `None`.
    pub fn check_opt<T, I>(
        &mut self,
        input: Option<I>,
        parse: impl FnOnce(I) -> Result<T, ValidationError>,
    ) -> Option<T> {
        input.and_then(|value| self.check(parse(value)))
    }

    /// Records an error.
    pub fn push(&mut self, error: ValidationError) {
        self.0.push(error);
    }

    /// `Ok(value)` when nothing was recorded, else all the errors.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Self> {
        if self.0.is_empty() { Ok(value()) } else { Err(self) }
    }

    /// Whether no error was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<ValidationError> for ValidationErrors {
    fn from(error: ValidationError) -> Self {
        Self(vec![error])
    }
}

//! Needs: what a customer is trying to get done or cares about.

use crate::error::{Reason, ValidationError, ValidationErrors};
use crate::text::{ExternalId, Token};
use crate::tie::Weight;
use serde::{Deserialize, Serialize};

/// A need's tag, such as `trail_running`: a lowercase token.
pub type NeedTag = Token;

/// What sort of need it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NeedKind {
    /// Something the customer is interested in.
    Interest,
    /// Something the customer is passionate about.
    Passion,
    /// Something the customer needs.
    Need,
    /// A job the customer is trying to get done.
    Job,
}

/// Where a need came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NeedSource {
    /// The customer said so.
    Declared,
    /// Kindred inferred it (from posts, for instance).
    Inferred,
}

macro_rules! named_enum {
    ($ty:ident, $expected:literal, $($variant:ident => $name:literal),+) => {
        impl $ty {
            /// Parses the name for `field`.
            pub fn parse(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
                match raw.trim().to_ascii_lowercase().as_str() {
                    $($name => Ok($ty::$variant),)+
                    _ => Err(ValidationError::new(field, raw, Reason::NotOneOf { expected: $expected })),
                }
            }

            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name,)+ }
            }
        }
    };
}

named_enum!(NeedKind, "interest, passion, need, job", Interest => "interest", Passion => "passion", Need => "need", Job => "job");
named_enum!(NeedSource, "declared, inferred", Declared => "declared", Inferred => "inferred");

/// One need of one customer, valid in every field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Need {
    /// The customer's external id.
    pub customer_external_id: ExternalId,
    /// What the need is about.
    pub tag: NeedTag,
    /// Its sort.
    pub kind: NeedKind,
    /// Where it came from.
    pub source: NeedSource,
    /// How strongly it holds, 0..1.
    pub weight: Weight,
}

/// A need as given, before validation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NeedDraft {
    /// See [`Need::customer_external_id`].
    pub customer_external_id: String,
    /// See [`Need::tag`].
    pub tag: String,
    /// `interest` when absent.
    pub kind: Option<String>,
    /// `declared` when absent.
    pub source: Option<String>,
    /// 1 when absent.
    pub weight: Option<f64>,
}

impl NeedDraft {
    /// Validates every field and reports all problems.
    pub fn validate(self) -> Result<Need, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let customer = errors.check(ExternalId::parse("customer_external_id", &self.customer_external_id));
        let tag = errors.check(Token::parse("tag", &self.tag));
        let kind = errors.check(NeedKind::parse("kind", self.kind.as_deref().unwrap_or("interest")));
        let source = errors.check(NeedSource::parse("source", self.source.as_deref().unwrap_or("declared")));
        let weight = match self.weight {
            Some(value) => errors.check(Weight::new("weight", value)),
            None => Some(Weight::FULL),
        };
        let (Some(customer_external_id), Some(tag), Some(kind), Some(source), Some(weight)) =
            (customer, tag, kind, source, weight)
        else {
            return Err(errors);
        };
        Ok(Need { customer_external_id, tag, kind, source, weight })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors() {
        let draft =
            NeedDraft { customer_external_id: "c".into(), tag: "Trail Running".into(), ..Default::default() };
        let need = draft.clone().validate().unwrap();
        assert_eq!(need.tag.as_str(), "trail_running");
        assert_eq!((need.kind, need.source), (NeedKind::Interest, NeedSource::Declared));
        let errors =
            NeedDraft { kind: Some("wish".into()), weight: Some(-0.1), ..draft }.validate().unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["kind", "weight"]);
    }
}

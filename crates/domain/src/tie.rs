//! Ties: relationships between two customers, strong or weak.

use crate::error::{Reason, ValidationError, ValidationErrors};
use crate::scalar::check_range;
use crate::text::ExternalId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A tie's strength, from 0 (barely there) to 1 (as strong as it gets).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
pub struct Weight(f64);

impl Weight {
    /// Full strength, the default.
    pub const FULL: Weight = Weight(1.0);

    /// Checks that `value` lies in 0..=1 for `field`.
    pub fn new(field: &'static str, value: f64) -> Result<Self, ValidationError> {
        check_range(field, value, 0.0, 1.0).map(Self)
    }

    /// The weight.
    pub fn value(self) -> f64 {
        self.0
    }
}

/// What kind of relationship a tie is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TieKind {
    /// One follows the other on a network.
    Follows,
    /// Friends.
    Friend,
    /// One referred the other.
    Referred,
    /// Same household.
    Household,
    /// Work together.
    Colleague,
    /// Took part in the same conversation.
    Conversation,
}

impl TieKind {
    /// Every kind, in a stable order.
    pub const ALL: [TieKind; 6] = [
        TieKind::Follows,
        TieKind::Friend,
        TieKind::Referred,
        TieKind::Household,
        TieKind::Colleague,
        TieKind::Conversation,
    ];

    /// Parses a tie kind for `field`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
        let normal = raw.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|kind| kind.as_str() == normal).ok_or_else(|| {
            let expected = "follows, friend, referred, household, colleague, conversation";
            ValidationError::new(field, raw, Reason::NotOneOf { expected })
        })
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TieKind::Follows => "follows",
            TieKind::Friend => "friend",
            TieKind::Referred => "referred",
            TieKind::Household => "household",
            TieKind::Colleague => "colleague",
            TieKind::Conversation => "conversation",
        }
    }
}

impl fmt::Display for TieKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tie between two different customers.
///
/// A mutual tie has no direction: it is kept with its ends in a canonical order (the smaller
/// external id first), so `a-b` and `b-a` are the same tie.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tie {
    from: ExternalId,
    to: ExternalId,
    kind: TieKind,
    weight: Weight,
    mutual: bool,
}

impl Tie {
    /// Builds a tie; a tie from a customer to itself is refused.
    pub fn new(
        from: ExternalId,
        to: ExternalId,
        kind: TieKind,
        weight: Weight,
        mutual: bool,
    ) -> Result<Self, ValidationError> {
        if from == to {
            return Err(ValidationError::new("to_external_id", to, Reason::SelfTie));
        }
        let (from, to) = if mutual && to < from { (to, from) } else { (from, to) };
        Ok(Self { from, to, kind, weight, mutual })
    }

    /// Where the tie starts (for a mutual tie, the smaller external id).
    pub fn from(&self) -> &ExternalId {
        &self.from
    }

    /// Where the tie ends.
    pub fn to(&self) -> &ExternalId {
        &self.to
    }

    /// The kind of relationship.
    pub fn kind(&self) -> TieKind {
        self.kind
    }

    /// Its strength.
    pub fn weight(&self) -> Weight {
        self.weight
    }

    /// Whether it goes both ways.
    pub fn mutual(&self) -> bool {
        self.mutual
    }
}

/// A tie as given, before validation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TieDraft {
    /// One end.
    pub from_external_id: String,
    /// The other end.
    pub to_external_id: String,
    /// `friend` when absent.
    pub kind: Option<String>,
    /// 1 when absent.
    pub weight: Option<f64>,
    /// `true` when absent.
    pub mutual: Option<bool>,
}

impl TieDraft {
    /// Validates every field and reports all problems.
    pub fn validate(self) -> Result<Tie, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let from = errors.check(ExternalId::parse("from_external_id", &self.from_external_id));
        let to = errors.check(ExternalId::parse("to_external_id", &self.to_external_id));
        let kind = match self.kind.as_deref() {
            Some(raw) => errors.check(TieKind::parse("kind", raw)),
            None => Some(TieKind::Friend),
        };
        let weight = match self.weight {
            Some(value) => errors.check(Weight::new("weight", value)),
            None => Some(Weight::FULL),
        };
        let (Some(from), Some(to), Some(kind), Some(weight)) = (from, to, kind, weight) else {
            return Err(errors);
        };
        Tie::new(from, to, kind, weight, self.mutual.unwrap_or(true)).map_err(ValidationErrors::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(from: &str, to: &str) -> TieDraft {
        TieDraft { from_external_id: from.into(), to_external_id: to.into(), ..Default::default() }
    }

    #[test]
    fn defaults_are_friend_full_weight_mutual() {
        let tie = draft("a", "b").validate().unwrap();
        assert_eq!((tie.kind(), tie.weight(), tie.mutual()), (TieKind::Friend, Weight::FULL, true));
    }

    #[test]
    fn mutual_ties_have_a_canonical_direction() {
        let tie = draft("b", "a").validate().unwrap();
        assert_eq!((tie.from().as_str(), tie.to().as_str()), ("a", "b"));
        let directed = TieDraft { mutual: Some(false), ..draft("b", "a") }.validate().unwrap();
        assert_eq!(directed.from().as_str(), "b");
    }

    #[test]
    fn self_tie_and_bad_weight_are_refused() {
        let errors = draft("a", "a").validate().unwrap_err();
        assert_eq!(errors.0, [ValidationError::new("to_external_id", "a", Reason::SelfTie)]);
        let errors = TieDraft { weight: Some(1.2), ..draft("a", "b") }.validate().unwrap_err();
        assert_eq!(errors.0[0].field, "weight");
        assert_eq!(errors.0[0].value, "1.2");
    }

    #[test]
    fn unknown_kind_lists_the_accepted_ones() {
        let errors = TieDraft { kind: Some("enemy".into()), ..draft("a", "b") }.validate().unwrap_err();
        assert!(errors.to_string().contains("must be one of: follows, friend"));
    }
}

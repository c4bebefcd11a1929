//! The rules of deterministic matching (`[identity]` in the settings): values never to match
//! on, how many identifiers of a kind one customer may hold, and which identifiers of a record
//! count most.

use super::identifier::{Identifier, IdentifierClass};
use regex::Regex;
use std::collections::BTreeMap;

/// Values that identify nobody: blank, placeholders, all zeros, the documentation's example
/// address, no-reply mailboxes. Matched against normalised values.
pub const DEFAULT_BLOCKED: [&str; 5] = [
    r"^\s*$",
    r"(?i)^(null|nil|none|n/?a|unknown|undefined|test|-+|\?+|\.+)$",
    r"^\+?0+$",
    r"(?i)^test@example\.(com|org|net)$",
    r"(?i)^(no-?reply|do-?not-?reply)@",
];

/// A rule that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// A blocked value that is not a regular expression.
    #[error("identity.blocked_values[{index}]: {pattern:?} is not a regular expression: {message}")]
    BadPattern {
        /// Its place in the list.
        index: usize,
        /// The pattern.
        pattern: String,
        /// Why.
        message: String,
    },
    /// A limit of zero.
    #[error("identity.limits.{class}: must be at least 1")]
    ZeroLimit {
        /// The class.
        class: &'static str,
    },
}

/// The rules, checked.
#[derive(Debug, Clone)]
pub struct IdentityRules {
    blocked: Vec<Regex>,
    limits: BTreeMap<IdentifierClass, usize>,
    priority: Vec<IdentifierClass>,
}

impl Default for IdentityRules {
    fn default() -> Self {
        let blocked: Vec<String> = DEFAULT_BLOCKED.iter().map(|pattern| (*pattern).to_owned()).collect();
        Self::new(&blocked, &BTreeMap::new(), &[]).unwrap_or_else(|_| Self {
            blocked: Vec::new(),
            limits: BTreeMap::new(),
            priority: Vec::new(),
        })
    }
}

impl IdentityRules {
    /// The limits when the settings give none: one external id per origin, one handle per
    /// network, five emails, five phones.
    pub fn default_limit(class: IdentifierClass) -> usize {
        match class {
            IdentifierClass::ExternalId | IdentifierClass::Social => 1,
            IdentifierClass::Email | IdentifierClass::Phone => 5,
        }
    }

    /// Rules from the settings: `blocked` patterns, `limits` by class (others default), and
    /// `priority`, highest first (classes left out come after, in the default order).
    pub fn new(
        blocked: &[String],
        limits: &BTreeMap<IdentifierClass, usize>,
        priority: &[IdentifierClass],
    ) -> Result<Self, RuleError> {
        let blocked = blocked
            .iter()
            .enumerate()
            .map(|(index, pattern)| {
                Regex::new(pattern).map_err(|error| RuleError::BadPattern {
                    index,
                    pattern: pattern.clone(),
                    message: error.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some((class, _)) = limits.iter().find(|(_, limit)| **limit == 0) {
            return Err(RuleError::ZeroLimit { class: class.as_str() });
        }
        let mut order: Vec<IdentifierClass> = Vec::with_capacity(IdentifierClass::ALL.len());
        for class in priority.iter().chain(IdentifierClass::ALL.iter()) {
            if !order.contains(class) {
                order.push(*class);
            }
        }
        Ok(Self { blocked, limits: limits.clone(), priority: order })
    }

    /// The pattern `identifier`'s value matches, if it is blocked.
    pub fn blocked_by(&self, identifier: &Identifier) -> Option<&str> {
        self.blocked.iter().find(|pattern| pattern.is_match(&identifier.value)).map(Regex::as_str)
    }

    /// Whether `value` (an email, a phone as stored) is never to be matched on.
    pub fn blocks_value(&self, value: &str) -> bool {
        self.blocked.iter().any(|pattern| pattern.is_match(value))
    }

    /// How many identifiers of `class` one customer may hold through automatic matching (per
    /// origin for external ids, per network for handles).
    pub fn limit(&self, class: IdentifierClass) -> usize {
        self.limits.get(&class).copied().unwrap_or_else(|| Self::default_limit(class))
    }

    /// `class`'s rank: 0 is the highest priority.
    pub fn rank(&self, class: IdentifierClass) -> usize {
        self.priority.iter().position(|known| *known == class).unwrap_or(self.priority.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_blocked_and_real_values_are_not() {
        let rules = IdentityRules::default();
        let email =
            |value: &str| Identifier { kind: super::super::IdentifierKind::Email, value: value.into() };
        for value in
            ["", "  ", "null", "Unknown", "N/A", "0000", "+000000", "test@example.com", "noreply@shop.com"]
        {
            assert!(rules.blocked_by(&email(value)).is_some(), "{value:?} should be blocked");
        }
        for value in ["ana@example.com", "+49301234567", "testa@shop.com", "A-17"] {
            assert!(rules.blocked_by(&email(value)).is_none(), "{value:?} should match");
        }
    }

    #[test]
    fn settings_are_checked() {
        let error = IdentityRules::new(&["(".into()], &BTreeMap::new(), &[]).unwrap_err();
        assert!(error.to_string().starts_with("identity.blocked_values[0]: \"(\""), "{error}");
        let zero = BTreeMap::from([(IdentifierClass::Email, 0)]);
        assert_eq!(
            IdentityRules::new(&[], &zero, &[]).unwrap_err().to_string(),
            "identity.limits.email: must be at least 1"
        );
        let rules = IdentityRules::new(&[], &BTreeMap::new(), &[IdentifierClass::Phone]).unwrap();
        assert_eq!(rules.rank(IdentifierClass::Phone), 0);
        assert_eq!(rules.rank(IdentifierClass::ExternalId), 1);
        assert_eq!(rules.limit(IdentifierClass::ExternalId), 1);
    }
}

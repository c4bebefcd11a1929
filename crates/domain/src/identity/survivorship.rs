//! Which value survives a merge, field by field: the most recent non-blank value (the
//! customer updated last wins where it knows the field), or the value of the preferred origin.

use serde::{Deserialize, Serialize};

/// The rule a merge follows for each profile field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule", content = "origins")]
pub enum Survivorship {
    /// The value of the customer updated most recently, unless it is blank there.
    #[default]
    MostRecent,
    /// The value of the customer whose origin comes first in the list (origins not listed
    /// come after, then the most recent), unless it is blank there.
    OriginPriority(Vec<String>),
}

/// One side of a merge, as the rule sees it.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// When its profile was last written.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// The origin of its own external id.
    pub origin: &'a str,
}

impl Survivorship {
    /// Whether the `other` side's value wins over `first`'s where both know the field.
    pub fn prefers_other(&self, first: Side<'_>, other: Side<'_>) -> bool {
        if let Survivorship::OriginPriority(origins) = self {
            let rank = |side: Side<'_>| origins.iter().position(|origin| origin == side.origin);
            match (rank(first), rank(other)) {
                (Some(a), Some(b)) if a != b => return b < a,
                (Some(_), None) => return false,
                (None, Some(_)) => return true,
                _ => {}
            }
        }
        other.updated_at > first.updated_at
    }
}

/// Consent after a merge: refused if either refused, given only if both gave it, otherwise
/// not asked.
pub fn merged_consent(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn the_most_recent_or_the_preferred_origin_wins() {
        let old = Side { updated_at: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(), origin: "shop" };
        let new = Side { updated_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(), origin: "web" };
        assert!(Survivorship::MostRecent.prefers_other(old, new));
        assert!(!Survivorship::MostRecent.prefers_other(new, old));
        let shop_first = Survivorship::OriginPriority(vec!["shop".into()]);
        assert!(!shop_first.prefers_other(old, new), "shop is preferred even though older");
        assert!(shop_first.prefers_other(new, old));
        let neither = Survivorship::OriginPriority(vec!["crm".into()]);
        assert!(neither.prefers_other(old, new), "unlisted origins fall back to the most recent");
    }

    #[test]
    fn consent_is_the_stricter_answer() {
        assert_eq!(merged_consent(Some(true), Some(false)), Some(false));
        assert_eq!(merged_consent(None, Some(false)), Some(false));
        assert_eq!(merged_consent(Some(true), Some(true)), Some(true));
        assert_eq!(merged_consent(Some(true), None), None);
        assert_eq!(merged_consent(None, None), None);
    }
}

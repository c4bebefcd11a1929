//! What identifies a customer across the systems they arrive from: an external id in an
//! origin, an email, a phone number, a handle on a social network; each normalised so that
//! equal identifiers compare equal.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of an identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum IdentifierKind {
    /// The id a system (the origin: `shop`, `web`, `support`...) gives the customer.
    ExternalId {
        /// The system, lowercased.
        origin: String,
    },
    /// An email address, lowercased.
    Email,
    /// A phone number in E.164.
    Phone,
    /// A handle on a social network, lowercased, without a leading `@`.
    Social {
        /// The network, lowercased.
        network: String,
    },
}

/// What a limit or a priority applies to: a kind without its origin or network (limits on
/// external ids and handles count per origin and per network).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierClass {
    /// External ids (counted per origin).
    ExternalId,
    /// Email addresses.
    Email,
    /// Phone numbers.
    Phone,
    /// Social handles (counted per network).
    Social,
}

impl IdentifierClass {
    /// Every class, in the default priority order (highest first).
    pub const ALL: [IdentifierClass; 4] = [
        IdentifierClass::ExternalId,
        IdentifierClass::Email,
        IdentifierClass::Phone,
        IdentifierClass::Social,
    ];

    /// As settings and the API spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentifierClass::ExternalId => "external_id",
            IdentifierClass::Email => "email",
            IdentifierClass::Phone => "phone",
            IdentifierClass::Social => "social",
        }
    }
}

impl IdentifierKind {
    /// Its class.
    pub fn class(&self) -> IdentifierClass {
        match self {
            IdentifierKind::ExternalId { .. } => IdentifierClass::ExternalId,
            IdentifierKind::Email => IdentifierClass::Email,
            IdentifierKind::Phone => IdentifierClass::Phone,
            IdentifierKind::Social { .. } => IdentifierClass::Social,
        }
    }

    /// As stored: `external_id:shop`, `email`, `phone`, `social:twitter`.
    pub fn stored(&self) -> String {
        match self {
            IdentifierKind::ExternalId { origin } => format!("external_id:{origin}"),
            IdentifierKind::Email => "email".to_owned(),
            IdentifierKind::Phone => "phone".to_owned(),
            IdentifierKind::Social { network } => format!("social:{network}"),
        }
    }

    /// Reads the stored form back.
    pub fn from_stored(stored: &str) -> Option<Self> {
        match stored.split_once(':') {
            Some(("external_id", origin)) => Some(IdentifierKind::ExternalId { origin: origin.to_owned() }),
            Some(("social", network)) => Some(IdentifierKind::Social { network: network.to_owned() }),
            None if stored == "email" => Some(IdentifierKind::Email),
            None if stored == "phone" => Some(IdentifierKind::Phone),
            _ => None,
        }
    }
}

impl fmt::Display for IdentifierKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.stored())
    }
}

/// One identifier: a kind and a normalised value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Identifier {
    /// What it is.
    pub kind: IdentifierKind,
    /// Its value, normalised for its kind.
    pub value: String,
}

impl Identifier {
    /// An external id of `origin` (the origin lowercased and trimmed; the id as given, trimmed).
    pub fn external_id(origin: &str, id: &str) -> Self {
        Self {
            kind: IdentifierKind::ExternalId { origin: origin.trim().to_lowercase() },
            value: id.trim().to_owned(),
        }
    }

    /// An email address, already valid ([`crate::Email`] lowercases it).
    pub fn email(email: &crate::Email) -> Self {
        Self { kind: IdentifierKind::Email, value: email.as_str().to_owned() }
    }

    /// A phone number, already in E.164.
    pub fn phone(phone: &crate::Phone) -> Self {
        Self { kind: IdentifierKind::Phone, value: phone.as_str().to_owned() }
    }

    /// A handle on `network`: both lowercased and trimmed, the handle without a leading `@`.
    pub fn social(network: &str, handle: &str) -> Self {
        let handle = handle.trim().trim_start_matches('@').to_lowercase();
        Self { kind: IdentifierKind::Social { network: network.trim().to_lowercase() }, value: handle }
    }

    /// Its class.
    pub fn class(&self) -> IdentifierClass {
        self.kind.class()
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.kind, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_stored_and_read_back() {
        let kinds = [
            IdentifierKind::ExternalId { origin: "shop".into() },
            IdentifierKind::Email,
            IdentifierKind::Phone,
            IdentifierKind::Social { network: "twitter".into() },
        ];
        for kind in kinds {
            assert_eq!(IdentifierKind::from_stored(&kind.stored()), Some(kind));
        }
        assert_eq!(IdentifierKind::from_stored("fax"), None);
    }

    #[test]
    fn values_are_normalised() {
        assert_eq!(Identifier::social(" Twitter ", "@Ana_B").value, "ana_b");
        assert_eq!(
            Identifier::social(" Twitter ", "@Ana_B").kind,
            IdentifierKind::Social { network: "twitter".into() }
        );
        assert_eq!(Identifier::external_id("Shop", " A-17 "), Identifier::external_id("shop", "A-17"));
    }
}

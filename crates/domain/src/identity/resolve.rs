//! Deterministic resolution of one incoming record: whose identifiers it carries decides
//! whether it is a new customer, an existing one, or the evidence that several known
//! customers are one person. Pure: the caller looks the identifiers up and applies the result.

use super::identifier::{Identifier, IdentifierClass, IdentifierKind};
use super::rules::IdentityRules;
use crate::customer::CustomerId;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What the record is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// None of its identifiers is known: a new customer.
    New,
    /// Its identifiers belong to this customer only.
    Existing(CustomerId),
    /// Its identifiers belong to several customers: one person. The customer known longest
    /// (the lowest id) survives; the others are merged into it.
    Merge {
        /// The customer that stays.
        survivor: CustomerId,
        /// The customers merged into it.
        absorbed: Vec<CustomerId>,
        /// The identifiers that tied them together (shared with the record).
        evidence: Vec<Identifier>,
    },
}

/// Why an identifier of the record was not used for matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Its value matches a blocked pattern.
    Blocked {
        /// The identifier.
        identifier: Identifier,
        /// The pattern.
        pattern: String,
    },
    /// Using it would have left one customer with more identifiers of a kind than the limit;
    /// it had the lowest priority of the record, so it was dropped and matching retried.
    Dropped {
        /// The identifier dropped.
        identifier: Identifier,
        /// The kind over its limit, as stored (`external_id:shop`, `email`...).
        over: String,
        /// How many there would have been.
        count: usize,
        /// The limit.
        limit: usize,
    },
}

/// The result for one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// New, existing or a merge.
    pub outcome: Outcome,
    /// The record's identifiers that were used, to be recorded for the customer.
    pub kept: Vec<Identifier>,
    /// Identifiers blocked or dropped, with why: to be logged.
    pub decisions: Vec<Decision>,
}

/// The key a limit counts under: the class, with the origin or network where it has one.
fn limit_key(identifier: &Identifier) -> (IdentifierClass, String) {
    match &identifier.kind {
        IdentifierKind::ExternalId { origin } => (IdentifierClass::ExternalId, origin.clone()),
        IdentifierKind::Social { network } => (IdentifierClass::Social, network.clone()),
        kind => (kind.class(), String::new()),
    }
}

fn stored_key((class, sub): &(IdentifierClass, String)) -> String {
    if sub.is_empty() { class.as_str().to_owned() } else { format!("{}:{sub}", class.as_str()) }
}

/// The first limit the customers `matched` and the record's `incoming` identifiers would break
/// together: one that the union exceeds and no single matched customer already exceeded (a
/// merge made by a person may leave aliases; they do not block matching).
fn broken_limit(
    rules: &IdentityRules,
    incoming: &[Identifier],
    matched: &BTreeSet<CustomerId>,
    held: &HashMap<CustomerId, Vec<Identifier>>,
) -> Option<((IdentifierClass, String), usize, usize)> {
    let mut union: BTreeMap<(IdentifierClass, String), BTreeSet<&str>> = BTreeMap::new();
    let mut most_held: BTreeMap<(IdentifierClass, String), usize> = BTreeMap::new();
    for customer in matched {
        let mut own: BTreeMap<(IdentifierClass, String), usize> = BTreeMap::new();
        for identifier in held.get(customer).into_iter().flatten() {
            let key = limit_key(identifier);
            union.entry(key.clone()).or_default().insert(&identifier.value);
            *own.entry(key).or_default() += 1;
        }
        for (key, count) in own {
            let most = most_held.entry(key).or_default();
            *most = (*most).max(count);
        }
    }
    for identifier in incoming {
        union.entry(limit_key(identifier)).or_default().insert(&identifier.value);
    }
    union.into_iter().find_map(|(key, values)| {
        let limit = rules.limit(key.0);
        let tolerated = limit.max(most_held.get(&key).copied().unwrap_or(0));
        (values.len() > tolerated).then_some((key, values.len(), limit))
    })
}

/// Resolves a record carrying `identifiers`. `owners` gives the customer each known
/// identifier belongs to (absent: unknown); `held` gives every identifier of each of those
/// customers.
pub fn resolve(
    identifiers: &[Identifier],
    rules: &IdentityRules,
    owners: &HashMap<Identifier, CustomerId>,
    held: &HashMap<CustomerId, Vec<Identifier>>,
) -> Resolution {
    let mut decisions = Vec::new();
    let mut incoming: Vec<Identifier> = Vec::with_capacity(identifiers.len());
    for identifier in identifiers {
        if incoming.contains(identifier) {
            continue;
        }
        match rules.blocked_by(identifier) {
            Some(pattern) => decisions
                .push(Decision::Blocked { identifier: identifier.clone(), pattern: pattern.to_owned() }),
            None => incoming.push(identifier.clone()),
        }
    }
    // The record's own external id, when it names a stored customer.
    let protected: Option<Identifier> = identifiers
        .iter()
        .find(|id| id.class() == IdentifierClass::ExternalId)
        .filter(|own| owners.contains_key(*own))
        .cloned();
    loop {
        let matched: BTreeSet<CustomerId> =
            incoming.iter().filter_map(|id| owners.get(id).copied()).collect();
        let Some((key, count, limit)) = broken_limit(rules, &incoming, &matched, held) else {
            let outcome = match matched.iter().copied().collect::<Vec<_>>().as_slice() {
                [] => Outcome::New,
                [only] => Outcome::Existing(*only),
                [survivor, absorbed @ ..] => Outcome::Merge {
                    survivor: *survivor,
                    absorbed: absorbed.to_vec(),
                    evidence: incoming.iter().filter(|id| owners.contains_key(*id)).cloned().collect(),
                },
            };
            return Resolution { outcome, kept: incoming, decisions };
        };
        // Set aside: an identifier that counts under the broken limit or that brings in a
        // customer, never the record's own external id when it names a stored customer (the
        // record is that customer's); the lowest priority first, among equals the last given.
        let counts = |id: &Identifier| limit_key(id) == key || owners.contains_key(id);
        let candidates: Vec<usize> = (0..incoming.len())
            .filter(|&at| Some(&incoming[at]) != protected.as_ref())
            .filter(|&at| counts(&incoming[at]))
            .collect();
        let fallback: Vec<usize> =
            (0..incoming.len()).filter(|&at| Some(&incoming[at]) != protected.as_ref()).collect();
        let pool = if candidates.is_empty() { fallback } else { candidates };
        let Some(position) = pool.into_iter().max_by_key(|&at| rules.rank(incoming[at].class())) else {
            // Nothing may be set aside: the record stays with the customer its own id names.
            let outcome = match protected.as_ref().and_then(|own| owners.get(own)) {
                Some(owner) => Outcome::Existing(*owner),
                None => Outcome::New,
            };
            return Resolution { outcome, kept: incoming, decisions };
        };
        let identifier = incoming.remove(position);
        decisions.push(Decision::Dropped { identifier, over: stored_key(&key), count, limit });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop(id: &str) -> Identifier {
        Identifier::external_id("shop", id)
    }
    fn web(id: &str) -> Identifier {
        Identifier::external_id("web", id)
    }
    fn email(value: &str) -> Identifier {
        Identifier { kind: IdentifierKind::Email, value: value.into() }
    }

    /// A store of `customers`, each with its identifiers.
    fn known(
        customers: &[(i64, Vec<Identifier>)],
    ) -> (HashMap<Identifier, CustomerId>, HashMap<CustomerId, Vec<Identifier>>) {
        let mut owners = HashMap::new();
        let mut held = HashMap::new();
        for (id, identifiers) in customers {
            for identifier in identifiers {
                owners.insert(identifier.clone(), CustomerId(*id));
            }
            held.insert(CustomerId(*id), identifiers.clone());
        }
        (owners, held)
    }

    #[test]
    fn unknown_known_and_bridging_records() {
        let rules = IdentityRules::default();
        let (owners, held) = known(&[(1, vec![shop("A"), email("ana@x.org")]), (2, vec![web("w9")])]);
        let new = resolve(&[shop("B"), email("bo@x.org")], &rules, &owners, &held);
        assert_eq!((new.outcome, new.kept.len()), (Outcome::New, 2));
        let same = resolve(&[web("w1"), email("ana@x.org")], &rules, &owners, &held);
        assert_eq!(same.outcome, Outcome::Existing(CustomerId(1)));
        // The web shop's record carries the shop customer's email: one person.
        let bridge = resolve(&[web("w9"), email("ana@x.org")], &rules, &owners, &held);
        assert_eq!(
            bridge.outcome,
            Outcome::Merge {
                survivor: CustomerId(1),
                absorbed: vec![CustomerId(2)],
                evidence: vec![web("w9"), email("ana@x.org")]
            }
        );
        assert!(bridge.decisions.is_empty());
    }

    #[test]
    fn blocked_values_match_nobody() {
        let rules = IdentityRules::default();
        let (owners, held) = known(&[(1, vec![shop("A"), email("test@example.com")])]);
        let resolution = resolve(&[shop("B"), email("test@example.com")], &rules, &owners, &held);
        assert_eq!(resolution.outcome, Outcome::New);
        assert_eq!(resolution.kept, vec![shop("B")]);
        assert!(
            matches!(&resolution.decisions[..], [Decision::Blocked { identifier, .. }] if *identifier == email("test@example.com"))
        );
    }

    #[test]
    fn a_limit_drops_the_lowest_priority_identifier_and_matching_is_retried() {
        let rules = IdentityRules::default();
        // A shared family email: shop customer A and shop record B would be one customer with
        // two shop ids (limit 1). The email has the lower priority: dropped, B is new.
        let (owners, held) = known(&[(1, vec![shop("A"), email("family@x.org")])]);
        let resolution = resolve(&[shop("B"), email("family@x.org")], &rules, &owners, &held);
        assert_eq!(resolution.outcome, Outcome::New);
        assert_eq!(resolution.kept, vec![shop("B")]);
        assert_eq!(
            resolution.decisions,
            vec![Decision::Dropped {
                identifier: email("family@x.org"),
                over: "external_id:shop".into(),
                count: 2,
                limit: 1
            }]
        );
        // With email above external ids in the priority, the shop id is dropped instead.
        let emails_first = IdentityRules::new(&[], &BTreeMap::new(), &[IdentifierClass::Email]).unwrap();
        let resolution = resolve(&[shop("B"), email("family@x.org")], &emails_first, &owners, &held);
        assert_eq!(resolution.outcome, Outcome::Existing(CustomerId(1)));
        assert_eq!(resolution.kept, vec![email("family@x.org")]);
    }

    #[test]
    fn limits_count_emails_across_a_merge() {
        let two = BTreeMap::from([(IdentifierClass::Email, 2)]);
        let rules = IdentityRules::new(&[], &two, &[]).unwrap();
        let (owners, held) = known(&[(1, vec![shop("A"), email("a@x.org"), email("b@x.org")])]);
        let resolution = resolve(&[shop("A"), email("c@x.org")], &rules, &owners, &held);
        assert_eq!(resolution.outcome, Outcome::Existing(CustomerId(1)));
        assert_eq!(resolution.kept, vec![shop("A")], "a third email is not attached");
        assert!(
            matches!(&resolution.decisions[..], [Decision::Dropped { over, count: 3, limit: 2, .. }] if over == "email")
        );
    }

    #[test]
    fn a_stored_customer_keeps_its_record_and_only_identifiers_that_matter_are_set_aside() {
        let rules = IdentityRules::default();
        // B1 is a stored shop customer; its record brings Ana's email: the email goes, the
        // record stays B1's (not Ana's).
        let (owners, held) = known(&[(1, vec![shop("A1"), email("ana@x.org")]), (2, vec![shop("B1")])]);
        let emails_first = IdentityRules::new(&[], &BTreeMap::new(), &[IdentifierClass::Email]).unwrap();
        let resolution = resolve(&[shop("B1"), email("ana@x.org")], &emails_first, &owners, &held);
        assert_eq!(resolution.outcome, Outcome::Existing(CustomerId(2)));
        assert_eq!(resolution.kept, vec![shop("B1")]);
        // A customer at its email limit: a new email is set aside, not the new phone.
        let two = BTreeMap::from([(IdentifierClass::Email, 1)]);
        let one_email = IdentityRules::new(&[], &two, &[]).unwrap();
        let phone = Identifier { kind: IdentifierKind::Phone, value: "+351912345678".into() };
        let resolution =
            resolve(&[shop("A1"), email("new@x.org"), phone.clone()], &one_email, &owners, &held);
        assert_eq!(resolution.outcome, Outcome::Existing(CustomerId(1)));
        assert_eq!(resolution.kept, vec![shop("A1"), phone]);
        let _ = rules;
    }

    #[test]
    fn aliases_from_a_manual_merge_do_not_block() {
        let rules = IdentityRules::default();
        // A person merged two shop ids by hand: the customer holds both as aliases.
        let (owners, held) = known(&[(1, vec![shop("A"), shop("A2"), email("ana@x.org")])]);
        let resolution = resolve(&[shop("A2"), email("ana@x.org")], &rules, &owners, &held);
        assert_eq!(resolution.outcome, Outcome::Existing(CustomerId(1)));
        assert!(resolution.decisions.is_empty());
    }
}

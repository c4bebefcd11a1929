//! Candidate pairs: records are grouped by several blocking keys (exact values of a few
//! fields together) and only records sharing a group are compared, never all pairs. A record
//! with a typo in one field still meets its duplicate under a key that leaves that field out.

use crate::record::{Field, MatchRecord};

/// A part of a blocking key: a field's value, or its first characters (the initial of a
/// name, the year of a birth date), which a typo or a slip later in the value leaves alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The whole value.
    Whole(Field),
    /// The first `n` characters.
    Start(Field, usize),
    /// Both names, in whichever order a record gives them: a copy whose given and family
    /// names were swapped meets the original.
    Names,
    /// The numbers in a field (a house or flat number), which a typo in the street's name
    /// leaves alone; unknown when the value has none.
    Numbers(Field),
}

impl Part {
    /// The fields it reads.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Part::Whole(field) | Part::Start(field, _) | Part::Numbers(field) => {
                std::slice::from_ref(field_ref(field))
            }
            Part::Names => &[Field::FirstName, Field::LastName],
        }
    }
}

/// Every field, where a reference to one lives for ever (for [`Part::fields`]).
static FIELDS_IN_ORDER: [Field; crate::record::FIELDS] = Field::ALL;

/// `field` as a reference that lives for ever.
fn field_ref(field: Field) -> &'static Field {
    &FIELDS_IN_ORDER[field.index()]
}

/// A blocking key: the parts whose values, all known and equal, put two records in one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockingKey {
    /// The parts.
    pub parts: Vec<Part>,
    /// The largest block the key compares, where it is smaller than the pass's: a key that
    /// says little (both names alone) is only worth its pairs where few share its value.
    pub max_block: Option<usize>,
}

impl BlockingKey {
    /// A key of `parts`.
    pub fn new(parts: Vec<Part>) -> Self {
        Self { parts, max_block: None }
    }

    /// A key of whole fields.
    pub fn of(fields: &[Field]) -> Self {
        Self::new(fields.iter().map(|field| Part::Whole(*field)).collect())
    }

    /// Whether m is estimated on the key's pairs (see `model::estimate_by_key`). Not for a
    /// key with a block limit of its own: it says little alone, its pairs are mostly
    /// strangers, and on data with few copies EM would take a kind of stranger for the
    /// matches.
    pub fn trains(&self) -> bool {
        self.max_block.is_none()
    }

    /// The key, comparing no block larger than `max_block`.
    pub fn at_most(self, max_block: usize) -> Self {
        Self { max_block: Some(max_block), ..self }
    }

    /// The fields the key reads (all of whose pairs agree there at least in part).
    pub fn fields(&self) -> Vec<Field> {
        self.parts.iter().flat_map(|part| part.fields().iter().copied()).collect()
    }

    /// The keys used when none are given. Whole values: family name with birth date, given
    /// name with birth date, birth date with city, birth date with postcode, family name with
    /// postcode, email, phone, both names (in either order) with city or with birth date,
    /// street address with postcode, the house number with the postcode (a typo in the
    /// street). Starts of values, for copies with a typo or a slip and no other exact field:
    /// both initials with the birth year and the city; the given name, the family initial and
    /// the city; the given initial, the family name and the city; the given initial, the
    /// family name and the birth year. For copies that moved (every place differs) with a slip
    /// elsewhere: both initials with the birth date; the given name, the family initial and
    /// the birth year. For copies rewritten in most fields (as some registers and the FEBRL
    /// benchmarks do), keys that say little on their own and so only pair the few records
    /// (at most eight) sharing their value: both names alone, the street line alone, the
    /// family initial with the birth date, the given name with the postcode, the family name
    /// with the city, both initials with the postcode.
    pub fn defaults() -> Vec<BlockingKey> {
        // A key that says little on its own pairs only the few records sharing its value.
        const RARE: usize = 8;
        use Field::*;
        use Part::{Start, Whole};
        vec![
            BlockingKey::of(&[LastName, BirthDate]),
            BlockingKey::of(&[FirstName, BirthDate]),
            BlockingKey::of(&[BirthDate, City]),
            BlockingKey::of(&[BirthDate, Postcode]),
            BlockingKey::of(&[LastName, Postcode]),
            BlockingKey::of(&[Email]),
            BlockingKey::of(&[Phone]),
            BlockingKey::new(vec![Part::Names, Whole(City)]),
            BlockingKey::new(vec![Part::Names, Whole(BirthDate)]),
            BlockingKey::new(vec![Part::Numbers(Address), Whole(Postcode)]),
            BlockingKey::of(&[Address, Postcode]),
            BlockingKey::new(vec![Start(LastName, 1), Start(FirstName, 1), Start(BirthDate, 4), Whole(City)]),
            BlockingKey::new(vec![Whole(FirstName), Start(LastName, 1), Whole(City)]),
            BlockingKey::new(vec![Start(FirstName, 1), Whole(LastName), Whole(City)]),
            BlockingKey::new(vec![Start(FirstName, 1), Whole(LastName), Start(BirthDate, 4)]),
            BlockingKey::new(vec![Whole(FirstName), Start(LastName, 1), Start(BirthDate, 4)]),
            BlockingKey::new(vec![Start(FirstName, 1), Start(LastName, 1), Whole(BirthDate)]),
            BlockingKey::new(vec![Part::Names]).at_most(RARE),
            BlockingKey::of(&[Address]).at_most(RARE),
            BlockingKey::new(vec![Start(LastName, 1), Whole(BirthDate)]).at_most(RARE),
            BlockingKey::of(&[FirstName, Postcode]).at_most(RARE),
            BlockingKey::of(&[LastName, City]).at_most(RARE),
            BlockingKey::new(vec![Start(FirstName, 1), Start(LastName, 1), Whole(Postcode)]).at_most(RARE),
        ]
    }

    /// A hash of the key's value for `record`, if it knows every field of it. Two values
    /// hashing alike only add a candidate pair, which comparison then judges: no harm.
    fn value(&self, record: &MatchRecord) -> Option<u64> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::hash::DefaultHasher::new();
        for part in &self.parts {
            match part {
                Part::Whole(field) => record.get(*field)?.hash(&mut hasher),
                Part::Start(field, n) => {
                    record.get(*field)?.chars().take(*n).for_each(|c| c.hash(&mut hasher))
                }
                Part::Numbers(field) => {
                    let value = record.get(*field)?;
                    let mut numbers =
                        value.split(|c: char| !c.is_ascii_digit()).filter(|run| !run.is_empty()).peekable();
                    numbers.peek()?;
                    numbers.for_each(|run| run.hash(&mut hasher));
                }
                Part::Names => {
                    let (first, last) = (record.get(Field::FirstName)?, record.get(Field::LastName)?);
                    let (x, y) = if first <= last { (first, last) } else { (last, first) };
                    x.hash(&mut hasher);
                    0x1eu8.hash(&mut hasher);
                    y.hash(&mut hasher);
                }
            }
            0x1fu8.hash(&mut hasher);
        }
        Some(hasher.finish())
    }
}

/// A candidate pair: the two records' indices (lower first) and which keys made it (bit `k`
/// for key `k`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// The lower index.
    pub a: u32,
    /// The higher index.
    pub b: u32,
    /// The keys that made the pair, one bit each.
    pub keys: u32,
}

/// The candidate pairs of `records` under any of `keys` (at most 32), each once with the keys
/// that made it, sorted; and how many blocks were too large to compare (larger than
/// `max_block`, or than the key's own limit: a value shared by that many is no evidence of
/// one person).
pub fn candidates(
    records: &[MatchRecord],
    keys: &[BlockingKey],
    max_block: usize,
) -> (Vec<Candidate>, usize) {
    let mut skipped = 0;
    let mut tagged: Vec<(u64, u32)> = Vec::new();
    // Each record's key value beside its index, sorted: a block is a run of equal values,
    // its members in index order, with no map of vectors to build.
    let mut keyed: Vec<(u64, u32)> = Vec::with_capacity(records.len());
    for (at_key, key) in keys.iter().enumerate().take(32) {
        keyed.clear();
        keyed.extend(
            records
                .iter()
                .enumerate()
                .filter_map(|(at, record)| key.value(record).map(|value| (value, at as u32))),
        );
        keyed.sort_unstable();
        for members in keyed.chunk_by(|x, y| x.0 == y.0) {
            if members.len() > key.max_block.map_or(max_block, |own| own.min(max_block)) {
                skipped += 1;
                continue;
            }
            // Members are in index order: each pair comes lower first.
            for (i, (_, a)) in members.iter().enumerate() {
                for (_, b) in &members[i + 1..] {
                    tagged.push((u64::from(*a) << 32 | u64::from(*b), 1 << at_key));
                }
            }
        }
    }
    tagged.sort_unstable_by_key(|(pair, _)| *pair);
    let mut out: Vec<Candidate> = Vec::with_capacity(tagged.len() / 2);
    for (pair, key) in tagged {
        let (a, b) = ((pair >> 32) as u32, pair as u32);
        match out.last_mut() {
            Some(last) if last.a == a && last.b == b => last.keys |= key,
            _ => out.push(Candidate { a, b, keys: key }),
        }
    }
    (out, skipped)
}

/// The candidate pairs of `records` under any of `keys` (indices, lower first, each pair
/// once), and how many blocks were too large to compare.
pub fn candidate_pairs(
    records: &[MatchRecord],
    keys: &[BlockingKey],
    max_block: usize,
) -> (Vec<(u32, u32)>, usize) {
    let (found, skipped) = candidates(records, keys, max_block);
    (found.into_iter().map(|pair| (pair.a, pair.b)).collect(), skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_meet_under_any_key_once() {
        let records = vec![
            MatchRecord::new(1)
                .with(Field::LastName, Some("Lima"))
                .with(Field::BirthDate, Some("1990-01-02"))
                .with(Field::Email, Some("a@x.org")),
            MatchRecord::new(2)
                .with(Field::LastName, Some("Lima"))
                .with(Field::BirthDate, Some("1990-01-02"))
                .with(Field::Email, Some("a@x.org")),
            MatchRecord::new(3).with(Field::LastName, Some("Lmia")).with(Field::Email, Some("a@x.org")),
            MatchRecord::new(4).with(Field::LastName, Some("Silva")),
        ];
        let (pairs, skipped) = candidate_pairs(&records, &BlockingKey::defaults(), 10);
        assert_eq!(pairs, vec![(0, 1), (0, 2), (1, 2)]);
        assert_eq!(skipped, 0);
        let (pairs, skipped) = candidate_pairs(&records, &BlockingKey::defaults(), 2);
        assert_eq!(pairs, vec![(0, 1)], "the email block of three is too large");
        assert_eq!(skipped, 1);
    }

    #[test]
    fn a_copy_that_moved_with_a_slip_in_each_name_is_a_candidate() {
        let person = |id: i64, first: &str, last: &str, city: &str| {
            MatchRecord::new(id)
                .with(Field::FirstName, Some(first))
                .with(Field::LastName, Some(last))
                .with(Field::BirthDate, Some("1957-02-12"))
                .with(Field::City, Some(city))
        };
        let records = vec![person(1, "margaux", "lamoux", "lyon"), person(2, "margaxu", "lamouux", "paris")];
        let (pairs, _) = candidate_pairs(&records, &BlockingKey::defaults(), 10);
        assert_eq!(pairs, vec![(0, 1)], "both initials and the birth date");
    }

    #[test]
    fn a_copy_with_a_slip_in_every_name_and_its_street_meets_by_house_number() {
        let person = |id: i64, first: &str, last: &str, line: &str| {
            MatchRecord::new(id)
                .with(Field::FirstName, Some(first))
                .with(Field::LastName, Some(last))
                .with(Field::Address, Some(line))
                .with(Field::Postcode, Some("5171"))
        };
        let records = vec![
            person(1, "ellie", "fearnall", "31 fishburn street"),
            person(2, "elpie", "fearnull", "31 fishbunestreet"),
            person(3, "kale", "tschirn", "fishburn street"),
        ];
        let (pairs, _) = candidate_pairs(&records, &BlockingKey::defaults(), 10);
        assert_eq!(pairs, vec![(0, 1)], "a line without a number has no house number to share");
    }

    #[test]
    fn copies_rewritten_in_most_fields_meet_by_what_is_left() {
        let record = |id: i64, fields: &[(Field, &str)]| {
            fields
                .iter()
                .fold(MatchRecord::new(id), |record, (field, value)| record.with(*field, Some(value)))
        };
        use Field::*;
        let records = vec![
            // Both names alone: moved, no birth date.
            record(0, &[(FirstName, "briony"), (LastName, "dudley"), (City, "allawah"), (Postcode, "3138")]),
            record(1, &[(FirstName, "briony"), (LastName, "dudley"), (City, "allwaah"), (Postcode, "3128")]),
            // The street line alone: the names and the town rewritten.
            record(2, &[(LastName, "della-verde"), (Address, "113 rivett street"), (Postcode, "2606")]),
            record(3, &[(LastName, "della-veede"), (Address, "113 rivett street"), (Postcode, "2660")]),
            // The family name's initial and the birth date: the given name replaced, the family
            // name misspelt, the town too.
            record(
                4,
                &[(FirstName, "gianni"), (LastName, "wiseman"), (BirthDate, "1965-10-30"), (City, "cooroy")],
            ),
            record(
                5,
                &[
                    (FirstName, "isabelle"),
                    (LastName, "wixeman"),
                    (BirthDate, "1965-10-30"),
                    (City, "cooro y"),
                ],
            ),
            // The given name and the postcode: the family name misspelt, the town left out.
            record(6, &[(FirstName, "isabella"), (LastName, "elferkh"), (Postcode, "3044")]),
            record(7, &[(FirstName, "isabella"), (LastName, "elferih"), (Postcode, "3044"), (City, "dural")]),
            // The family name and the town: no given name, the postcode's digits swapped.
            record(8, &[(LastName, "campton"), (City, "coolbellup"), (Postcode, "4171")]),
            record(9, &[(LastName, "campton"), (City, "coolbellup"), (Postcode, "4711")]),
        ];
        let (pairs, _) = candidate_pairs(&records, &BlockingKey::defaults(), 10);
        assert_eq!(pairs, vec![(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]);
    }

    #[test]
    fn a_copy_with_its_names_swapped_is_a_candidate() {
        let person = |id: i64, first: &str, last: &str| {
            MatchRecord::new(id)
                .with(Field::FirstName, Some(first))
                .with(Field::LastName, Some(last))
                .with(Field::City, Some("bayswater"))
        };
        let records =
            vec![person(1, "kale", "tschirn"), person(2, "tschirn", "kale"), person(3, "kale", "smith")];
        let (pairs, _) = candidate_pairs(&records, &BlockingKey::defaults(), 10);
        assert_eq!(pairs, vec![(0, 1)]);
    }
}

//! Graded comparison of one field between two records: 0 exact, 1 close (a typo, a swapped
//! letter), 2 somewhat alike, 3 different; `None` when either record does not know the field.

use crate::record::{FIELDS, Field, MatchRecord};
use strsim::{jaro_winkler, osa_distance};

/// The edit distance counting a swap of neighbours as one edit (optimal string alignment: the
/// restricted Damerau-Levenshtein, which is what a typing slip is, and cheaper than the full
/// one).
fn edits(a: &str, b: &str) -> usize {
    // Lengths far apart are far apart: no need to fill the table.
    let gap = a.chars().count().abs_diff(b.chars().count());
    if gap > 2 { gap } else { osa_distance(a, b) }
}

/// Whether `a` and `b` are at most one edit apart (a letter changed, added, dropped, or two
/// neighbours swapped): [`edits`] `<= 1` without filling a table, which most pairs, being
/// far apart, would pay for nothing.
pub(crate) fn within_one_edit(a: &str, b: &str) -> bool {
    let prefix: usize = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).map(|(x, _)| x.len_utf8()).sum();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix: usize =
        a.chars().rev().zip(b.chars().rev()).take_while(|(x, y)| x == y).map(|(x, _)| x.len_utf8()).sum();
    let (a, b) = (&a[..a.len() - suffix], &b[..b.len() - suffix]);
    let mut left = a.chars();
    let mut right = b.chars();
    match (a.chars().count(), b.chars().count()) {
        (0 | 1, 0 | 1) => true,
        (2, 2) => {
            let (x0, x1, y0, y1) = (left.next(), left.next(), right.next(), right.next());
            x0 == y1 && x1 == y0
        }
        _ => false,
    }
}

/// The part of an email address before the `@`.
fn mailbox(email: &str) -> &str {
    email.split_once('@').map_or(email, |(mailbox, _)| mailbox)
}

/// The runs of digits in `text` (house, flat and floor numbers of an address).
fn numbers(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_ascii_digit()).filter(|run| !run.is_empty())
}

/// `text` without its digits, each run of other characters kept, spaces trimmed.
fn without_numbers(text: &str) -> String {
    text.split(|c: char| c.is_ascii_digit())
        .map(str::trim)
        .filter(|run| !run.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Levels of agreement a field can have.
pub const LEVELS: usize = 4;

/// Level `field` of `a` and `b` agree at.
pub fn level(field: Field, a: &str, b: &str) -> u8 {
    if a == b {
        return 0;
    }
    match field {
        Field::FirstName | Field::LastName | Field::City => {
            // A name one record gives in full and the other as its start ("Bob", "Robert"
            // is not caught here, "Alex", "Alexander" is).
            let prefix = a.len().min(b.len()) >= 3 && (a.starts_with(b) || b.starts_with(a));
            let similarity = jaro_winkler(a, b);
            if similarity >= 0.92 || within_one_edit(a, b) {
                1
            } else if similarity >= 0.8 || prefix {
                2
            } else {
                3
            }
        }
        Field::Address => {
            let (numbered_a, numbered_b) = (numbers(a).next().is_some(), numbers(b).next().is_some());
            if numbered_a != numbered_b {
                // One line leaves the number out: the number is unknown, not another one,
                // so the streets alone are compared, and at best they are close.
                let (street_a, street_b) = (without_numbers(a), without_numbers(b));
                let similarity = jaro_winkler(&street_a, &street_b);
                return if similarity >= 0.92 || within_one_edit(&street_a, &street_b) {
                    1
                } else if similarity >= 0.75 {
                    2
                } else {
                    3
                };
            }
            // Neighbours write nearly the same line: another house number is another home,
            // however alike the rest reads. The same digits split or joined otherwise
            // ("Müllerweg 18", "Müllerweg1 8") are a slip of spacing, not another number.
            let digits = |text: &str| text.chars().filter(char::is_ascii_digit).collect::<String>();
            if !numbers(a).eq(numbers(b)) && digits(a) != digits(b) {
                return if jaro_winkler(a, b) >= 0.75 { 2 } else { 3 };
            }
            let similarity = jaro_winkler(a, b);
            if similarity >= 0.92 || within_one_edit(a, b) || (similarity >= 0.75 && edits(a, b) <= 2) {
                1
            } else if similarity >= 0.75 {
                2
            } else {
                3
            }
        }
        Field::BirthDate => {
            // Slices by `get`: a value that is not ASCII never panics, it only differs.
            let swapped = a.len() == 10
                && b.len() == 10
                && a.get(..4).is_some_and(|year| Some(year) == b.get(..4))
                && a.get(5..7).is_some_and(|month| Some(month) == b.get(8..10))
                && a.get(8..10).is_some_and(|day| Some(day) == b.get(5..7));
            // A day or two off in the same month (a slip, a time zone) is as close as a typo.
            let day = |d: &str| d.get(8..10).and_then(|day| day.parse::<i32>().ok());
            let near_day = a.get(..8).is_some_and(|month| Some(month) == b.get(..8))
                && day(a).zip(day(b)).is_some_and(|(x, y)| (x - y).abs() <= 2);
            match edits(a, b) {
                1 => 1,
                _ if swapped || near_day => 1,
                2 => 2,
                _ => 3,
            }
        }
        Field::Email => {
            // No "somewhat alike" level: the part before the @ is mostly the person's name, so
            // its likeness would count the name twice.
            if within_one_edit(a, b) || (mailbox(a) == mailbox(b) && mailbox(a).len() >= 3) { 1 } else { 3 }
        }
        Field::Phone => {
            let tail = |p: &str| p.chars().rev().take(8).collect::<String>();
            if within_one_edit(a, b) {
                1
            } else if a.len() >= 8 && b.len() >= 8 && tail(a) == tail(b) {
                2
            } else {
                3
            }
        }
        Field::Postcode => {
            if within_one_edit(a, b) {
                1
            } else if a.get(..3).is_some_and(|start| Some(start) == b.get(..3)) {
                2
            } else {
                3
            }
        }
    }
}

/// Whether `b` gives `a`'s names the other way round: its given name is (within a typo)
/// `a`'s family name and its family name `a`'s given name, while neither agrees where it
/// stands. Forms, imports and people swap the two often; compared as written, such a copy
/// would count two disagreeing names against itself.
pub fn names_swapped(a: &MatchRecord, b: &MatchRecord) -> bool {
    let (Some((first_a, last_a)), Some((first_b, last_b))) = (names(a), names(b)) else {
        return false;
    };
    // Most pairs agree on one name as written: nothing more to look at.
    if first_a == first_b
        || last_a == last_b
        || level(Field::FirstName, first_a, first_b) <= 1
        || level(Field::LastName, last_a, last_b) <= 1
    {
        return false;
    }
    names_cross(a, b)
}

/// A record's given and family names, if it knows both.
fn names(record: &MatchRecord) -> Option<(&str, &str)> {
    Some((record.get(Field::FirstName)?, record.get(Field::LastName)?))
}

/// Whether `a`'s given name is close to `b`'s family name and `a`'s family name to `b`'s
/// given name (each within a typo).
fn names_cross(a: &MatchRecord, b: &MatchRecord) -> bool {
    let (Some((first_a, last_a)), Some((first_b, last_b))) = (names(a), names(b)) else {
        return false;
    };
    // Close names (a typo, a swap of letters) are of nearly one length and keep their first
    // or last letter: most pairs fail this before any similarity is computed.
    let maybe_close = |x: &str, y: &str| {
        x.len().abs_diff(y.len()) <= 2
            && (x.chars().next() == y.chars().next() || x.chars().next_back() == y.chars().next_back())
    };
    maybe_close(first_a, last_b)
        && maybe_close(last_a, first_b)
        && level(Field::FirstName, first_a, last_b) <= 1
        && level(Field::LastName, last_a, first_b) <= 1
}

/// The level of every field for a pair: `None` where either record does not know it.
pub type Gamma = [Option<u8>; FIELDS];

/// Compares two records field by field.
pub fn gamma(a: &MatchRecord, b: &MatchRecord) -> Gamma {
    let mut out = [None; FIELDS];
    for field in Field::ALL {
        if let (Some(x), Some(y)) = (a.get(field), b.get(field)) {
            out[field.index()] = Some(level(field, x, y));
        }
    }
    out
}

/// Compares two records field by field, with `b`'s names turned round where it gives them
/// the other way round (see [`names_swapped`]); says whether they were.
pub fn gamma_oriented(a: &MatchRecord, b: &MatchRecord) -> (Gamma, bool) {
    let direct = gamma(a, b);
    let disagree = |field: Field| direct[field.index()].is_some_and(|level| level >= 2);
    if disagree(Field::FirstName) && disagree(Field::LastName) && names_cross(a, b) {
        (gamma(a, &b.with_names_swapped()), true)
    } else {
        (direct, false)
    }
}

/// Whether a pattern is near-certain evidence of one person without looking at `field`: exact
/// agreement on the email, or on the phone, or on both names and the birth date.
pub(crate) fn anchors(gamma: &Gamma, field: Field) -> bool {
    let exact = |f: Field| f != field && gamma[f.index()] == Some(0);
    exact(Field::Email)
        || exact(Field::Phone)
        || (exact(Field::LastName)
            && exact(Field::BirthDate)
            && field != Field::FirstName
            && gamma[Field::FirstName.index()].is_some_and(|l| l <= 1))
}

/// A comparison vector packed into a number (3 bits a field, 4 for missing), to count how
/// often each pattern occurs.
pub fn pack(gamma: &Gamma) -> u32 {
    gamma
        .iter()
        .enumerate()
        .fold(0, |packed, (at, level)| packed | (u32::from(level.unwrap_or(4)) << (3 * at)))
}

/// [`pack`] undone.
pub fn unpack(packed: u32) -> Gamma {
    let mut out = [None; FIELDS];
    for (at, slot) in out.iter_mut().enumerate() {
        let level = ((packed >> (3 * at)) & 0b111) as u8;
        *slot = (level < 4).then_some(level);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_edit_apart_is_what_the_edit_distance_says() {
        let words = [
            "", "a", "ab", "ba", "abc", "acb", "abd", "abcd", "bacd", "müller", "muller", "mülller", "smith",
            "smiht", "smtih", "xyz",
        ];
        for a in words {
            for b in words {
                assert_eq!(within_one_edit(a, b), osa_distance(a, b) <= 1, "{a} {b}");
            }
        }
    }

    #[test]
    fn typos_swaps_and_differences_are_graded() {
        assert_eq!(level(Field::LastName, "smith", "smith"), 0);
        assert_eq!(level(Field::LastName, "smith", "smiht"), 1, "swapped letters");
        assert_eq!(level(Field::LastName, "katherine", "kathryn"), 2);
        assert_eq!(level(Field::LastName, "smith", "jones"), 3);
        assert_eq!(level(Field::FirstName, "alex", "alexander"), 2, "a short form");
        assert_eq!(level(Field::BirthDate, "1990-04-12", "1990-12-04"), 1, "day and month swapped");
        assert_eq!(level(Field::BirthDate, "1990-04-12", "1990-04-13"), 1);
        assert_eq!(level(Field::BirthDate, "1990-04-19", "1990-04-20"), 1, "a day off");
        assert_eq!(level(Field::BirthDate, "1990-04-19", "1990-05-20"), 3);
        assert_eq!(level(Field::BirthDate, "1990-04-12", "1971-08-30"), 3);
        assert_eq!(level(Field::Email, "ana@x.org", "ana@y.com"), 1, "same mailbox name");
        assert_eq!(level(Field::Phone, "+4930123456", "030123456"), 2, "same number, other prefix");
        assert_eq!(level(Field::Postcode, "SW1A1AA", "SW1A2BB"), 2);
        assert_eq!(level(Field::Address, "12 baker street", "12 bakre street"), 1, "a typo");
        assert_eq!(level(Field::Address, "12 baker street", "21 baker street"), 2, "a neighbour");
        assert_eq!(
            level(Field::Address, "mullerweg 18", "mullerweg1 8"),
            1,
            "the same digits split by a slip"
        );
        assert_eq!(level(Field::Address, "12 baker street", "7 elm road"), 3);
        assert_eq!(
            level(Field::Address, "32 yerralee road", "yerralee road"),
            1,
            "no number is no other number"
        );
        assert_eq!(level(Field::Address, "32 yerralee road", "yerralee raod"), 1);
        assert_eq!(level(Field::Address, "32 yerralee road", "elm street"), 3);
    }

    #[test]
    fn names_given_the_other_way_round_are_seen() {
        let named = |first: &str, last: &str| {
            MatchRecord::new(1).with(Field::FirstName, Some(first)).with(Field::LastName, Some(last))
        };
        assert!(names_swapped(&named("kale", "tschirn"), &named("tschirn", "kale")));
        assert!(names_swapped(&named("kyra", "george"), &named("georte", "kyra")), "with a typo");
        assert!(!names_swapped(&named("kale", "tschirn"), &named("kale", "tschirn")));
        assert!(!names_swapped(&named("thomas", "james"), &named("james", "smith")), "one name only");
        assert!(!names_swapped(
            &named("kale", "tschirn"),
            &MatchRecord::new(2).with(Field::FirstName, Some("tschirn"))
        ));
    }

    #[test]
    fn comparison_vectors_pack_and_unpack() {
        let gamma: Gamma = [Some(0), None, Some(3), Some(1), None, Some(2), Some(0), None];
        assert_eq!(unpack(pack(&gamma)), gamma);
    }
}

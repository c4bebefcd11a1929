//! Duplicate records with realistic noise, for testing and measuring identity matching: the
//! same person arriving again from another system, with a typo, swapped letters, a short form
//! of the first name, fields left out, a new address or another email. The truth (which record
//! copies which) is written beside them.

use crate::contact;
use crate::places;
use crate::rng::{self, Purpose, chance};
use crate::write::Row;
use crate::{CustomerId, World};
use rand_chacha::ChaCha8Rng;

/// Cells of a customer row (the order of `CUSTOMER_COLUMNS`).
const EMAIL: usize = 1;
const FIRST: usize = 2;
const LAST: usize = 3;
const BORN: usize = 4;
const REGION: usize = 10;
const CITY: usize = 11;
const LAT: usize = 12;
const LON: usize = 13;
const COUNTRY: usize = 9;
const PHONE: usize = 17;
const ADDRESS_LINE1: usize = 18;
const ADDRESS_LINE2: usize = 19;
const POSTCODE: usize = 20;

/// The external id of the `number`-th duplicate (1-based) of `customer`.
pub(crate) fn duplicate_id(customer: usize, number: usize) -> String {
    format!("d{:07}-{number}", customer + 1)
}

/// A letter of the alphabet, at random.
fn letter(rng: &mut ChaCha8Rng) -> char {
    char::from(b'a' + rng::index(rng, 26) as u8)
}

/// One keyboard slip: a letter replaced, dropped, doubled, or two neighbours swapped; the
/// result always differs from `text` (when it has three letters or more).
fn typo(rng: &mut ChaCha8Rng, text: &str) -> String {
    let original: Vec<char> = text.chars().collect();
    if original.len() < 3 {
        return text.to_owned();
    }
    loop {
        let mut chars = original.clone();
        // Not the first letter: people rarely get that one wrong.
        let at = 1 + rng::index(rng, chars.len() - 2);
        match rng::index(rng, 4) {
            0 => chars[at] = letter(rng),
            1 => {
                chars.remove(at);
            }
            2 => chars.insert(at, chars[at]),
            _ => chars.swap(at, at + 1),
        }
        if chars != original {
            return chars.into_iter().collect();
        }
    }
}

/// The first name as people shorten it: its first three or four letters.
fn short_form(text: &str) -> String {
    let keep = if text.chars().count() > 6 { 4 } else { 3 };
    text.chars().take(keep).collect()
}

/// Day and month swapped, or one digit of the day wrong.
fn date_slip(rng: &mut ChaCha8Rng, date: &str) -> String {
    let (Some(year), Some(month), Some(day)) = (date.get(..4), date.get(5..7), date.get(8..10)) else {
        return date.to_owned();
    };
    if chance(rng, 0.5) && day <= "12" {
        format!("{year}-{day}-{month}")
    } else {
        let wrong = (day.parse::<u32>().unwrap_or(1) % 28) + 1;
        format!("{year}-{month}-{wrong:02}")
    }
}

/// Writes into `row` a noisy copy of `original` (a customer row of `customer`), as its
/// `number`-th duplicate; returns the noise given, `;`-separated.
pub(crate) fn write_duplicate(
    world: &World,
    customer: usize,
    number: usize,
    original: &Row,
    row: &mut Row,
) -> String {
    let mut rng = world.seeds.rng(Purpose::Duplicates, (customer as u64) << 8 | number as u64);
    let mut cells = original.texts();
    cells[0] = duplicate_id(customer, number);
    let mut noise: Vec<&str> = Vec::new();
    // At least one kind of noise, often two or three.
    while noise.is_empty() {
        if chance(&mut rng, 0.35) {
            cells[LAST] = typo(&mut rng, &cells[LAST]);
            noise.push("typo in last name");
        }
        if chance(&mut rng, 0.25) {
            cells[FIRST] = typo(&mut rng, &cells[FIRST]);
            noise.push("typo in first name");
        }
        if chance(&mut rng, 0.15) {
            cells[FIRST] = short_form(&cells[FIRST]);
            noise.push("short first name");
        }
        if chance(&mut rng, 0.15) {
            cells[BORN] = date_slip(&mut rng, &cells[BORN]);
            noise.push("birth date slip");
        }
        if chance(&mut rng, 0.4) {
            // Another mailbox of the same person, or none given.
            if chance(&mut rng, 0.5) {
                cells[EMAIL].clear();
                noise.push("no email");
            } else {
                // Unique (the customer's number in it) as a real mailbox is: a shared address
                // would tie two people together.
                let mut email = String::new();
                places::ascii_fold(&cells[FIRST], &mut email);
                email.push_str(&format!(".{}{number}@another.example", customer + 1));
                cells[EMAIL] = email;
                noise.push("another email");
            }
        }
        if chance(&mut rng, 0.2) {
            // Most moves stay in the country (the phone number goes with the person).
            let home = world.communities.profile(world.communities.of(customer)).home.country;
            let country = places::COUNTRIES.iter().position(|c| c.code == cells[COUNTRY]);
            let place = places::city_in(&mut rng, country.map_or(home, |at| at as u8));
            cells[COUNTRY] = place.country().code.to_owned();
            cells[REGION] = place.region().name.to_owned();
            cells[CITY] = place.city().name.to_owned();
            cells[LAT].clear();
            cells[LON].clear();
            let home = contact::address(&mut rng, place);
            cells[ADDRESS_LINE1] = home.line1;
            cells[ADDRESS_LINE2] = home.line2.unwrap_or_default();
            cells[POSTCODE] = home.postcode;
            noise.push("moved house");
        }
        if !cells[PHONE].is_empty() && chance(&mut rng, 0.15) {
            if chance(&mut rng, 0.5) {
                cells[PHONE].clear();
                noise.push("no phone");
            } else if let Some(country) = places::COUNTRIES.iter().find(|c| c.code == cells[COUNTRY]) {
                cells[PHONE].clear();
                contact::second_phone(country, customer, number, &mut cells[PHONE]);
                noise.push("another phone");
            }
        }
        if !cells[ADDRESS_LINE1].is_empty() && chance(&mut rng, 0.1) {
            cells[ADDRESS_LINE1] = typo(&mut rng, &cells[ADDRESS_LINE1]);
            noise.push("typo in address");
        }
        if chance(&mut rng, 0.15) {
            cells[BORN].clear();
            noise.push("no birth date");
        }
    }
    row.refill(original, &cells);
    noise.join(";")
}

/// The duplicate ids and truth row for `customer`, if it gets any: about `rate` of
/// customers get one copy, a tenth of those a second.
pub(crate) fn copies(world: &World, customer: usize, rate: f64) -> usize {
    if rate <= 0.0 {
        return 0;
    }
    let mut rng = world.seeds.rng(Purpose::Duplicates, (customer as u64) << 8);
    if !chance(&mut rng, rate.min(1.0)) {
        return 0;
    }
    if chance(&mut rng, 0.1) { 2 } else { 1 }
}

/// The external id of `customer` as written.
pub(crate) fn original_id(customer: usize) -> String {
    CustomerId(customer).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn noise_looks_like_people_make_it() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..50 {
            let slipped = typo(&mut rng, "ferreira");
            assert!(slipped.starts_with('f') && strsim_like(&slipped, "ferreira"), "{slipped}");
        }
        assert_eq!(short_form("Alexandra"), "Alex");
        assert_eq!(short_form("Maria"), "Mar");
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let slipped = date_slip(&mut rng, "1990-04-09");
        assert!(slipped == "1990-09-04" || slipped.starts_with("1990-04-"), "{slipped}");
        assert_eq!(duplicate_id(41, 1), "d0000042-1");
    }

    /// Lengths differ by at most one, and the two share their start and their end (one slip
    /// changes one place).
    fn strsim_like(a: &str, b: &str) -> bool {
        a.len().abs_diff(b.len()) <= 1 && a != b && (a.ends_with(&b[b.len() - 2..]) || a.starts_with(&b[..3]))
    }
}

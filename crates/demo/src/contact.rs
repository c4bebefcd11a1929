//! A customer's phone, street address and postcode, in each country's own forms: mobile numbers
//! its numbering plan accepts, streets named the way its towns name them, postcodes shaped as
//! its post office writes them (one postcode a street). Numbers are unique per customer, so a
//! shared phone is always one person, as it is for the real identity keys of a CRM.

use crate::places::{Country, Place};
use crate::rng::{self, chance};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write;

/// A country's mobile numbers: `+code` then one of `prefixes` then `digits` free digits, the
/// first of them at least `lowest_first` (North American exchanges start at 2).
struct MobilePlan {
    code: &'static str,
    prefixes: &'static [&'static str],
    digits: u32,
    lowest_first: u64,
}

/// The plan of the country `code` (the demo's countries; others fall back to Portugal's).
fn plan(code: &str) -> MobilePlan {
    let (code, prefixes, digits): (_, &'static [&'static str], _) = match code {
        "US" => ("1", &["212", "312", "415", "512", "617", "713", "206", "305"], 7),
        "DE" => ("49", &["151", "152", "157"], 8),
        "FR" => ("33", &["60", "61", "62", "64", "65", "66", "67", "68"], 7),
        "IT" => ("39", &["320", "328", "333", "338", "347", "348", "349", "366"], 7),
        "ES" => ("34", &["6"], 8),
        "NL" => ("31", &["61", "62", "63", "64", "65"], 7),
        "IE" => ("353", &["83", "85", "86", "87", "89"], 7),
        _ => ("351", &["91", "92", "93", "96"], 7),
    };
    MobilePlan { code, prefixes, digits, lowest_first: if code == "1" { 2 } else { 0 } }
}

/// Keys at or above this draw the second numbers of duplicates, never a customer's own: a
/// demo of up to 12 million customers has one number each (every plan holds 40 million).
const SECOND_NUMBERS: u64 = 16_000_000;

/// Writes the mobile number of `key` (a customer's index, or a second number's key above
/// [`SECOND_NUMBERS`]) in `country`, as people write it (`+351 91 234 5678`): keys are spread
/// over the plan's numbers one to one, so two keys never share a number.
pub(crate) fn phone(country: &Country, key: u64, out: &mut String) {
    let plan = plan(country.code);
    let tail = 10u64.pow(plan.digits - 1);
    let block = (10 - plan.lowest_first) * tail;
    let capacity = block * plan.prefixes.len() as u64;
    // A multiplier prime to the capacity (which has only small factors) permutes it.
    let slot = (key.wrapping_mul(1_000_003).wrapping_add(7_777)) % capacity;
    let prefix = plan.prefixes[(slot / block) as usize];
    let within = slot % block;
    let first = plan.lowest_first + within / tail;
    let rest = format!("{first}{:0width$}", within % tail, width = plan.digits as usize - 1);
    let _ = write!(out, "+{} {prefix} {} {}", plan.code, &rest[..3], &rest[3..]);
}

/// The `number`-th second number of customer `customer` (a duplicate's other phone).
pub(crate) fn second_phone(country: &Country, customer: usize, number: usize, out: &mut String) {
    phone(country, SECOND_NUMBERS + 2 * customer as u64 + number as u64, out);
}

/// Street kinds of a country, and whether the number comes first (`12 Oak Street`).
fn street_forms(code: &str) -> (&'static [&'static str], bool) {
    match code {
        "US" => (&["{} Street", "{} Avenue", "{} Road", "{} Lane", "{} Drive"], true),
        "IE" => (&["{} Street", "{} Road", "{} Avenue", "{} Park"], true),
        "DE" => (&["{}straße", "{}weg", "{}platz", "{}allee"], false),
        "NL" => (&["{}straat", "{}weg", "{}laan", "{}plein"], false),
        "FR" => (&["rue {}", "avenue {}", "boulevard {}", "place {}"], true),
        "IT" => (&["Via {}", "Viale {}", "Piazza {}", "Corso {}"], false),
        "ES" => (&["Calle {}", "Avenida {}", "Plaza {}", "Paseo {}"], false),
        _ => (&["Rua {}", "Avenida {}", "Travessa {}", "Largo {}"], false),
    }
}

/// A street of `place`: its name (after a family name of the country, as streets often are)
/// and a number identifying it within the city (for its postcode).
fn street(rng: &mut ChaCha8Rng, country: &Country) -> (String, u64) {
    let (forms, _) = street_forms(country.code);
    let name_at = rng::index(rng, country.last.len());
    let form_at = rng::index(rng, forms.len());
    let name = forms[form_at].replace("{}", country.last[name_at]);
    (name, (name_at * forms.len() + form_at) as u64)
}

/// A well-mixed number from a few small ones (for postcodes that look arbitrary but stay
/// the same for one street).
fn mix(parts: &[u64]) -> u64 {
    parts.iter().fold(0x9E37_79B9_7F4A_7C15u64, |state, part| {
        let mut z = (state ^ part).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z ^= z >> 31;
        z.wrapping_mul(0x94D0_49BB_1331_11EB) ^ (z >> 29)
    })
}

/// The postcode of street `street` of `place`, in the country's format: its first characters
/// name the city's area, the rest the street.
fn postcode(place: Place, street: u64, out: &mut String) {
    let city = mix(&[u64::from(place.country), u64::from(place.region), u64::from(place.city)]);
    let local = mix(&[city, street]);
    let area = 10 + city % 89;
    let letter = |n: u64| char::from(b'A' + (n % 26) as u8);
    match place.country().code {
        "NL" => {
            let _ = write!(out, "{area:02}{:02} {}{}", local % 100, letter(local >> 8), letter(local >> 16));
        }
        "IE" => {
            let _ = write!(
                out,
                "{}{:02} {}{}{:02}",
                letter(city),
                city % 100,
                letter(local),
                letter(local >> 8),
                (local >> 16) % 100
            );
        }
        "PT" => {
            let _ = write!(out, "{area:02}{:02}-{:03}", local % 100, (local >> 8) % 1000);
        }
        _ => {
            let _ = write!(out, "{area:02}{:03}", local % 1000);
        }
    }
}

/// An address: the first line (street and house number), the second (a flat, for some), the
/// postcode.
pub(crate) struct Address {
    /// Street and number.
    pub line1: String,
    /// Flat or floor, if any.
    pub line2: Option<String>,
    /// Postcode.
    pub postcode: String,
}

/// A home in `place`.
pub(crate) fn address(rng: &mut ChaCha8Rng, place: Place) -> Address {
    let country = place.country();
    let (name, street_at) = street(rng, country);
    let number = 1 + rng::index(rng, 320);
    let (_, number_first) = street_forms(country.code);
    let line1 = if number_first { format!("{number} {name}") } else { format!("{name} {number}") };
    let line2 = chance(rng, 0.35).then(|| match country.code {
        "PT" => format!("{}º {}", 1 + rng::index(rng, 8), ["Esq", "Dto", "Frt"][rng::index(rng, 3)]),
        "FR" | "IT" | "ES" => format!(
            "{} {}",
            ["Esc. A", "Esc. B", "Piso", "Étage"][rng::index(rng, 4)],
            1 + rng::index(rng, 9)
        ),
        _ => format!("Apt {}", 1 + rng::index(rng, 40)),
    });
    let mut postcode_text = String::new();
    postcode(place, street_at, &mut postcode_text);
    Address { line1, line2, postcode: postcode_text }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::places::COUNTRIES;
    use kindred_domain::{Phone, Postcode};
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn every_number_is_valid_and_none_is_shared() {
        for country in COUNTRIES {
            let mut seen = std::collections::HashSet::new();
            let keys = (0..3_000u64)
                .chain((0..3_000).map(|at| at * 3_331 + 1_000_000))
                .chain((0..2_000).map(|at| SECOND_NUMBERS + at * 7));
            for key in keys {
                let mut text = String::new();
                phone(country, key, &mut text);
                let parsed = Phone::parse("phone", &text, None)
                    .unwrap_or_else(|_| panic!("{} {text} is not a valid number", country.code));
                assert!(seen.insert(parsed), "{text} given twice");
            }
        }
    }

    #[test]
    fn addresses_read_like_the_country_writes_them() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for (at, country) in COUNTRIES.iter().enumerate() {
            let place = crate::places::city_in(&mut rng, at as u8);
            for _ in 0..50 {
                let home = address(&mut rng, place);
                assert!(home.line1.chars().any(|c| c.is_ascii_digit()), "{}", home.line1);
                assert!(
                    Postcode::parse("postcode", &home.postcode).is_ok(),
                    "{}: {}",
                    country.code,
                    home.postcode
                );
            }
        }
        // One street, one postcode.
        let place = crate::places::city_in(&mut rng, 0);
        let (mut first, mut second) = (String::new(), String::new());
        postcode(place, 3, &mut first);
        postcode(place, 3, &mut second);
        assert_eq!(first, second);
    }
}

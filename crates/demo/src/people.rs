//! Demographics: who each customer is and where they live.

use crate::contact;
use crate::names;
use crate::needs::HeldNeed;
use crate::places::{self, Country, Place};
use crate::rng::{self, Purpose, chance, normal, uniform};
use crate::time::write_date;
use crate::vocab::{EDUCATION, EDUCATION_SHARE, LIFESTYLES, OCCUPATIONS};
use crate::write::Row;
use crate::{CustomerId, World};
use rand_chacha::ChaCha8Rng;

/// What behaviour needs to know about a customer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Traits {
    pub place: Place,
    /// Income relative to the country's median (1 when unknown).
    pub income_ratio: f64,
    pub consent_marketing: bool,
}

const GENDERS: &[(Option<&str>, f64)] = &[
    (Some("female"), 0.49),
    (Some("male"), 0.47),
    (Some("non_binary"), 0.015),
    (Some("other"), 0.005),
    (None, 0.02),
];

const EMAIL_DOMAINS: &[&str] = &["example.com", "example.org", "example.net", "mail.example.com"];

/// Adult age bands `[from, to)` in years and their share of customers.
const AGE_BANDS: &[(f64, f64, f64)] = &[
    (18.0, 25.0, 0.11),
    (25.0, 35.0, 0.20),
    (35.0, 45.0, 0.19),
    (45.0, 55.0, 0.18),
    (55.0, 65.0, 0.15),
    (65.0, 75.0, 0.11),
    (75.0, 90.0, 0.06),
];

/// Age in years, 18 to 90, skewed towards working age.
fn age(rng: &mut ChaCha8Rng) -> f64 {
    let (from, to, _) = AGE_BANDS[rng::weighted(rng, AGE_BANDS, |band| band.2)];
    uniform(rng, from, to)
}

/// Education level (index into [`EDUCATION`]); the young have not finished theirs yet.
fn education(rng: &mut ChaCha8Rng, age: f64) -> usize {
    let level = rng::weighted(rng, EDUCATION_SHARE, |share| *share);
    let ceiling = if age < 21.0 {
        2
    } else if age < 24.0 {
        3
    } else {
        EDUCATION.len() - 1
    };
    let level = level.min(ceiling);
    if age > 65.0 && level >= 3 && chance(rng, 0.3) { level - 1 } else { level }
}

/// Occupation, and how it moves income (log scale).
fn occupation(rng: &mut ChaCha8Rng, age: f64, education: usize) -> (Option<&'static str>, f64) {
    if age < 23.0 && chance(rng, 0.6) {
        return (Some("student"), -1.6);
    }
    if (age >= 66.0 && chance(rng, 0.85)) || (age >= 60.0 && chance(rng, 0.25)) {
        return (Some("retired"), -0.4);
    }
    if chance(rng, 0.03) {
        return (None, 0.0);
    }
    let fit = |min: usize| if min <= education && min + 1 >= education { 3.0 } else { 1.0 };
    let chosen = rng::weighted(rng, OCCUPATIONS, |o| {
        if o.min_education <= education { o.weight * fit(o.min_education) } else { 0.0 }
    });
    let occupation = &OCCUPATIONS[chosen];
    (Some(occupation.name), 0.08 * occupation.min_education as f64)
}

/// Yearly income in local money, rounded to hundreds.
fn income(rng: &mut ChaCha8Rng, country: &Country, age: f64, education: usize, occupation: f64) -> f64 {
    const EDUCATION_EFFECT: [f64; 6] = [-0.45, -0.2, -0.1, 0.1, 0.3, 0.45];
    let career = -0.6 * ((age - 50.0) / 30.0).powi(2);
    let log_income = country.median_income.ln() + EDUCATION_EFFECT[education.min(5)] + career + occupation;
    ((log_income + 0.45 * normal(rng)).exp() / 100.0).round() * 100.0
}

/// Writes `first.last123@domain`-style addresses, unique through the customer number.
fn email(rng: &mut ChaCha8Rng, customer: usize, first: &str, last: &str, out: &mut String) {
    let pattern = rng::index(rng, 3);
    match pattern {
        0 => {
            places::ascii_fold(first, out);
            out.push('.');
            places::ascii_fold(last, out);
        }
        1 => {
            let initial = first.char_indices().nth(1).map_or(first, |(end, _)| &first[..end]);
            places::ascii_fold(initial, out);
            out.push('_');
            places::ascii_fold(last, out);
        }
        _ => places::ascii_fold(first, out),
    }
    let domain = EMAIL_DOMAINS[rng::index(rng, EMAIL_DOMAINS.len())];
    let _ = std::fmt::Write::write_fmt(out, format_args!("{}@{domain}", customer + 1));
}

/// Fills `row` with the customer-file row of `customer`; its lifestyle follows its `needs`.
pub(crate) fn write_customer(world: &World, customer: usize, needs: &[HeldNeed], row: &mut Row) -> Traits {
    let mut rng = world.seeds.rng(Purpose::People, customer as u64);
    let home = world.communities.profile(world.communities.of(customer)).home;
    let roll = rng::uniform(&mut rng, 0.0, 1.0);
    let place = if roll < 0.55 {
        home
    } else if roll < 0.75 {
        places::city_in(&mut rng, home.country)
    } else {
        places::anywhere(&mut rng)
    };
    let country = place.country();
    let gender = GENDERS[rng::weighted(&mut rng, GENDERS, |g| g.1)].0;
    let female = match gender {
        Some("female") => true,
        Some("male") => false,
        _ => chance(&mut rng, 0.5),
    };
    let firsts = if female { country.female } else { country.male };
    let first = firsts[rng::index(&mut rng, firsts.len())];
    let last = country.last[rng::index(&mut rng, country.last.len())];
    // From a stream of their own, so the long tail of names changed none of the other columns.
    let mut names_rng = world.seeds.rng(Purpose::Names, customer as u64);
    let first = names::given(&mut names_rng, country.code, female, first);
    let first = first.as_ref();
    let second = country.last[rng::index(&mut names_rng, country.last.len())];
    let last = names::family(&mut names_rng, country.code, last, second);
    let last = last.as_str();
    let age = age(&mut rng);
    // A day of margin keeps the youngest at 18 whatever the leap years.
    let birth_day = world.window.as_of_day - (age * 365.2425).ceil() as i64 - 1;
    let education = education(&mut rng, age);
    let (occupation, occupation_effect) = occupation(&mut rng, age, education);
    let income = income(&mut rng, country, age, education, occupation_effect);
    let known_income = (!chance(&mut rng, 0.08)).then_some(income);
    let has_email = chance(&mut rng, 0.92);
    let city = place.city();
    let lat = city.lat + 0.025 * normal(&mut rng);
    let lon = city.lon + 0.025 * normal(&mut rng) / city.lat.to_radians().cos();
    // Refusal rates like real companies see: about a third refuse marketing, and about 8%
    // refuse profiling, more often those who also refused marketing (3% and 15%).
    let consent_marketing = chance(&mut rng, 0.65);
    let consent_profiling = chance(&mut rng, if consent_marketing { 0.97 } else { 0.85 });

    let mut lifestyle: Vec<&str> = Vec::with_capacity(6);
    for held in needs.iter().filter(|held| held.weight >= 0.5) {
        let token = held.tag().lifestyle;
        if chance(&mut rng, 0.8) && !lifestyle.contains(&token) {
            lifestyle.push(token);
        }
    }
    for _ in 0..rng::index(&mut rng, 3) {
        let token = LIFESTYLES[rng::index(&mut rng, LIFESTYLES.len())];
        if !lifestyle.contains(&token) {
            lifestyle.push(token);
        }
    }

    row.clear();
    row.text_fmt(format_args!("{}", CustomerId(customer)));
    if has_email {
        row.text_with(|out| email(&mut rng, customer, first, last, out));
    } else {
        row.empty();
    }
    row.text(first)
        .text(last)
        .text_with(|out| write_date(out, birth_day))
        .text_opt(gender)
        .number_opt(known_income, 0)
        .text(EDUCATION[education])
        .text_opt(occupation)
        .text(country.code)
        .text(place.region().name)
        .text(city.name)
        .number(lat, 5)
        .number(lon, 5)
        .list(lifestyle.iter().copied())
        .boolean(consent_marketing)
        .boolean(consent_profiling);
    // From a stream of their own, so adding them changed none of the other columns.
    let mut contact_rng = world.seeds.rng(Purpose::Contact, customer as u64);
    if chance(&mut contact_rng, 0.75) {
        row.text_with(|out| contact::phone(country, customer as u64, out));
    } else {
        row.empty();
    }
    if chance(&mut contact_rng, 0.85) {
        let home = contact::address(&mut contact_rng, place);
        row.text(&home.line1).text_opt(home.line2.as_deref()).text(&home.postcode);
    } else {
        row.empty().empty().empty();
    }

    let income_ratio = known_income.map_or(1.0, |income| (income / country.median_income).clamp(0.1, 10.0));
    Traits { place, income_ratio, consent_marketing }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Seeds;

    #[test]
    fn ages_are_adult_and_skewed_to_working_age() {
        let mut rng = Seeds::new(2).rng(Purpose::People, 0);
        let mut ages: Vec<f64> = (0..5_000).map(|_| age(&mut rng)).collect();
        assert!(ages.iter().all(|a| (18.0..90.0).contains(a)));
        ages.sort_by(f64::total_cmp);
        let median = ages[2_500];
        assert!((40.0..48.0).contains(&median), "{median}");
        let young = ages.iter().filter(|a| **a < 25.0).count();
        let old = ages.iter().filter(|a| **a >= 75.0).count();
        assert!((400..700).contains(&young) && (150..450).contains(&old), "{young} {old}");
    }

    #[test]
    fn income_rises_with_education() {
        let mut rng = Seeds::new(2).rng(Purpose::People, 1);
        let country = &places::COUNTRIES[1];
        let mean = |rng: &mut ChaCha8Rng, education| {
            (0..2_000).map(|_| income(rng, country, 45.0, education, 0.0)).sum::<f64>() / 2_000.0
        };
        let (low, high) = (mean(&mut rng, 1), mean(&mut rng, 4));
        assert!(high > low * 1.4, "{low} {high}");
    }

    #[test]
    fn emails_are_lowercase_ascii() {
        let mut rng = Seeds::new(2).rng(Purpose::People, 2);
        for (first, last) in [("Élodie", "Lefèvre"), ("Seán", "O'Brien"), ("Jan", "van den Berg")] {
            let mut out = String::new();
            email(&mut rng, 41, first, last, &mut out);
            let (local, domain) = out.split_once('@').unwrap();
            assert!(local.ends_with("42") && EMAIL_DOMAINS.contains(&domain), "{out}");
            assert!(
                local.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c)),
                "{out}"
            );
        }
    }
}

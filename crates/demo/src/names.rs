//! Names as varied as a real customer base's. Each country's ten most common family names (in
//! `places.rs`) are carried by the share of its people national statistics give them (a few
//! percent in most countries, a sixth in Spain, two fifths in Portugal), the others by a long
//! tail built from the parts the country's surnames are made of, a few hundred shorter names
//! each fairly common and thousands of longer ones each rare. Given names likewise: a fifth of
//! people carry one of the ten most common, three in ten one of fifteen less common, the rest
//! one of a tail built from the country's name parts. Spanish and Portuguese people carry two
//! family names. Namesakes (the same full name, another person) are then about as common as
//! in life: with every family name among a few hundred, as an earlier generator had them, a
//! million customers held tens of times more namesakes than a real million do.

use crate::rng::{self, chance};
use rand_chacha::ChaCha8Rng;
use std::borrow::Cow;

/// Less common given names of the country `code` (women, men).
fn more_given(code: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match code {
        "US" => (
            &[
                "Abigail",
                "Chloe",
                "Elizabeth",
                "Hannah",
                "Natalie",
                "Samantha",
                "Lauren",
                "Victoria",
                "Megan",
                "Rachel",
                "Brianna",
                "Kayla",
                "Alyssa",
                "Taylor",
                "Morgan",
            ],
            &[
                "Joseph",
                "Christopher",
                "Andrew",
                "Joshua",
                "Tyler",
                "Brandon",
                "Nathan",
                "Justin",
                "Kevin",
                "Brian",
                "Eric",
                "Kyle",
                "Austin",
                "Logan",
                "Caleb",
            ],
        ),
        "DE" => (
            &[
                "Sarah",
                "Lisa",
                "Johanna",
                "Emilia",
                "Mia",
                "Nina",
                "Sabine",
                "Petra",
                "Monika",
                "Franziska",
                "Charlotte",
                "Greta",
                "Theresa",
                "Carina",
                "Miriam",
            ],
            &[
                "Jakob",
                "Moritz",
                "Niklas",
                "Tim",
                "Finn",
                "Elias",
                "Matthias",
                "Andreas",
                "Thomas",
                "Michael",
                "Sebastian",
                "Christian",
                "Markus",
                "Benedikt",
                "Johannes",
            ],
        ),
        "FR" => (
            &[
                "Louise",
                "Alice",
                "Juliette",
                "Pauline",
                "Océane",
                "Lucie",
                "Anaïs",
                "Charlotte",
                "Amélie",
                "Sophie",
                "Aurélie",
                "Céline",
                "Zoé",
                "Emma",
                "Sarah",
            ],
            &[
                "Mathis",
                "Arthur",
                "Gabriel",
                "Raphaël",
                "Paul",
                "Adrien",
                "Romain",
                "Alexandre",
                "Quentin",
                "Clément",
                "Guillaume",
                "Vincent",
                "Benoît",
                "Baptiste",
                "Florian",
            ],
        ),
        "IT" => (
            &[
                "Alessia", "Giorgia", "Beatrice", "Aurora", "Alice", "Ginevra", "Noemi", "Anna", "Laura",
                "Paola", "Roberta", "Ilaria", "Camilla", "Arianna", "Serena",
            ],
            &[
                "Riccardo", "Tommaso", "Gabriele", "Leonardo", "Edoardo", "Federico", "Stefano", "Paolo",
                "Roberto", "Giuseppe", "Antonio", "Emanuele", "Nicola", "Fabio", "Daniele",
            ],
        ),
        "ES" => (
            &[
                "Ana", "Isabel", "Cristina", "Nuria", "Sara", "Raquel", "Beatriz", "Rocío", "Pilar",
                "Silvia", "Andrea", "Natalia", "Claudia", "Patricia", "Noelia",
            ],
            &[
                "Alejandro",
                "Pablo",
                "Javier",
                "Sergio",
                "Carlos",
                "Jorge",
                "Manuel",
                "Raúl",
                "Diego",
                "Álvaro",
                "Iván",
                "Rubén",
                "Gonzalo",
                "Marcos",
                "Óscar",
            ],
        ),
        "NL" => (
            &[
                "Sophie", "Lieke", "Iris", "Sara", "Tess", "Maud", "Roos", "Esmee", "Isa", "Lynn", "Mila",
                "Nina", "Ilse", "Marloes", "Britt",
            ],
            &[
                "Luuk", "Lucas", "Tim", "Jasper", "Koen", "Niels", "Gijs", "Wouter", "Sven", "Thomas",
                "Rick", "Tom", "Bas", "Hugo", "Pieter",
            ],
        ),
        "IE" => (
            &[
                "Aoife", "Ciara", "Niamh", "Saoirse", "Róisín", "Sinéad", "Caoimhe", "Orla", "Clodagh",
                "Aisling", "Éabha", "Laoise", "Gráinne", "Máire", "Ailbhe",
            ],
            &[
                "Ciarán", "Donal", "Fionn", "Rían", "Tadhg", "Cathal", "Colm", "Diarmuid", "Ronan", "Shane",
                "Brendan", "Kevin", "Declan", "Eamon", "Pádraig",
            ],
        ),
        _ => (
            &[
                "Mariana",
                "Leonor",
                "Matilde",
                "Carolina",
                "Margarida",
                "Joana",
                "Catarina",
                "Teresa",
                "Filipa",
                "Raquel",
                "Daniela",
                "Patrícia",
                "Cláudia",
                "Susana",
                "Andreia",
            ],
            &[
                "Rodrigo",
                "Tomás",
                "Afonso",
                "Gonçalo",
                "Diogo",
                "Guilherme",
                "Rafael",
                "Tiago",
                "Pedro",
                "Rui",
                "Bruno",
                "Ricardo",
                "Hugo",
                "André",
                "Vasco",
            ],
        ),
    }
}

/// The parts the country's less common family names are made of: a start and an ending
/// (`Stein` + `hofer`), or for Ireland and the Netherlands a particle and a name.
fn surname_parts(code: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match code {
        "US" => (
            &[
                "Ander", "Bar", "Black", "Brad", "Carl", "Craw", "Ellis", "Fair", "Gard", "Hal", "Har",
                "Haw", "Kirk", "Lang", "Mar", "New", "Red", "Stan", "Thorn", "Wad", "Whit", "Wood",
            ],
            &["son", "ton", "ley", "well", "field", "wood", "man", "ford", "by", "ridge", "ham", "er"],
        ),
        "DE" => (
            &[
                "Ober", "Unter", "Stein", "Berg", "Hof", "Wald", "Lind", "Brand", "Kirch", "Feld", "Ross",
                "Eich", "Hart", "Kalt", "Neu", "Alt", "Baum", "Kessel",
            ],
            &[
                "mann", "er", "inger", "hofer", "bauer", "meier", "berger", "feld", "hardt", "maier",
                "huber", "wald",
            ],
        ),
        "FR" => (
            &[
                "Beau", "Bon", "Chevr", "Fontan", "Gar", "Lam", "Mar", "Mor", "Roch", "Vill", "Dela", "Cham",
                "Bou", "Fourn", "Gir", "Lav",
            ],
            &["ier", "eau", "ard", "and", "et", "in", "on", "ot", "ault", "elle", "iac", "oux"],
        ),
        "IT" => (
            &[
                "Bar", "Bel", "Cal", "Cas", "Con", "Fer", "Gal", "Lom", "Mar", "Mont", "Pel", "Ros", "San",
                "Val", "Cap", "Del",
            ],
            &["etti", "ini", "elli", "oni", "ucci", "ato", "ari", "esi", "ino", "otti", "ieri", "ardi"],
        ),
        "ES" => (
            &[
                "Al", "Bel", "Cal", "Car", "Cas", "Del", "Es", "Gal", "Mar", "Mon", "Pa", "Ri", "Sal", "Ta",
                "Val", "Vi",
            ],
            &["ero", "ado", "illa", "era", "ares", "edo", "ano", "ón", "oso", "ueta", "arte", "ández"],
        ),
        "NL" => (
            &["van den", "van der", "van", "de", "ter", "van de"],
            &[
                "Berg", "Broek", "Heuvel", "Bosch", "Linden", "Velde", "Meer", "Dijk", "Wal", "Ven",
                "Leeuwen", "Beek", "Hoek", "Graaf", "Haan", "Groot", "Bruijn", "Laan", "Wiel", "Kamp",
                "Brink", "Akker", "Horst", "Molen", "Weide", "Hout", "Veen", "Sloot", "Burg", "Gaag",
            ],
        ),
        "IE" => (
            &["O'", "Mac", "Mc"],
            &[
                "Brien",
                "Connell",
                "Donnell",
                "Carthy",
                "Mahon",
                "Grath",
                "Keane",
                "Neill",
                "Dowd",
                "Leary",
                "Sheehan",
                "Hara",
                "Reilly",
                "Shea",
                "Farrell",
                "Gorman",
                "Kenna",
                "Guire",
                "Namara",
                "Loughlin",
                "Callaghan",
                "Sullivan",
                "Driscoll",
                "Flaherty",
                "Halloran",
                "Cormack",
                "Dermott",
                "Gowan",
                "Kenzie",
                "Nally",
                "Hugh",
                "Donagh",
                "Kiernan",
                "Riordan",
                "Toole",
            ],
        ),
        _ => (
            &[
                "Al", "Bar", "Cor", "Fi", "Fon", "Gou", "Lou", "Ma", "Mo", "Pa", "Quin", "Ra", "Sam", "Tei",
                "Vas", "Vi",
            ],
            &["eira", "eiro", "ães", "ado", "elo", "oso", "ares", "ão", "anha", "ela", "ino", "ral"],
        ),
    }
}

/// Parts of the country's rarer given names: starts, then women's and men's endings.
fn given_parts(code: &str) -> (&'static [&'static str], &'static [&'static str], &'static [&'static str]) {
    match code {
        "US" => (
            &[
                "Ja", "Ma", "Ka", "Da", "Ra", "Ro", "Jo", "Ca", "Sha", "Bra", "Tre", "De", "Ke", "Ty", "Le",
                "Al",
            ],
            &["lyn", "na", "ra", "leigh", "nna", "ssa", "rie", "nie", "ne", "lia", "ya", "sha"],
            &["son", "den", "ron", "vin", "ton", "rell", "dan", "ley", "lan", "rick", "ven", "mon"],
        ),
        "DE" => (
            &[
                "Ul", "Ger", "Hel", "Ber", "Wil", "Ru", "Die", "Hein", "Fri", "Gu", "Wal", "Al", "Ot", "Ma",
                "Ka", "Jo",
            ],
            &["rike", "trud", "ga", "ta", "linde", "na", "ke", "tje", "ra", "line", "wina", "lie"],
            &["rich", "bert", "helm", "mar", "old", "fried", "hard", "mund", "win", "ko", "bald", "ger"],
        ),
        "FR" => (
            &[
                "Ma", "Jo", "Ga", "Lu", "Ro", "Cé", "Mi", "Ré", "Lo", "Ber", "Fa", "Do", "Sé", "Au", "É",
                "Cla",
            ],
            &["rine", "lie", "ette", "ine", "elle", "nique", "line", "ise", "rence", "die", "sette", "ane"],
            &["rice", "el", "ien", "rent", "bert", "ric", "nard", "tien", "ger", "min", "çois", "ard"],
        ),
        "IT" => (
            &[
                "Ga", "Ma", "Lo", "Ro", "Fra", "Gio", "Lu", "Sa", "Ste", "Ri", "Vi", "Ca", "Ele", "Bea",
                "Fe", "Do",
            ],
            &["ella", "ina", "etta", "ara", "ia", "ilda", "ena", "ola", "ora", "iana", "isa", "ica"],
            &["ello", "ino", "etto", "aro", "io", "ardo", "ando", "iano", "ele", "enzo", "ero", "ico"],
        ),
        "ES" => (
            &[
                "Ma", "Jo", "Ro", "Lu", "Car", "Pi", "Fe", "Al", "Ra", "Gua", "Mer", "In", "Ar", "Bea", "Vi",
                "Eu",
            ],
            &["ría", "sefa", "sario", "cía", "men", "lar", "lisa", "ba", "quel", "nela", "cedes", "na"],
            &[
                "rio", "sé", "berto", "cas", "los", "nando", "fonso", "fael", "mando", "lentín", "genio",
                "turo",
            ],
        ),
        "NL" => (
            &[
                "Ja", "Wi", "Hen", "Ger", "Pie", "Kor", "Bas", "Ma", "Ri", "Jo", "Wou", "Ti", "An", "Lo",
                "Ke", "Ev",
            ],
            &["nneke", "lma", "drika", "da", "tje", "neke", "ke", "rieke", "lijn", "ien", "je", "lies"],
            &["n", "llem", "drik", "rit", "ter", "nelis", "tiaan", "rten", "k", "ris", "mer", "jmen"],
        ),
        "IE" => (
            &[
                "Sea", "Cia", "Eo", "Dar", "Ao", "Nia", "Cai", "Róis", "Ca", "Ní", "Mai", "Or", "Bri", "Fio",
                "Ea", "Úa",
            ],
            &["ghan", "ra", "ín", "cha", "fe", "mh", "de", "neach", "bhe", "le", "sín", "ith"],
            &["n", "rán", "ghal", "ragh", "dh", "ll", "mhín", "rbre", "lum", "ach", "dan", "gus"],
        ),
        _ => (
            &[
                "Jo", "Ma", "An", "Ru", "Fi", "Gon", "Ro", "Tia", "Lu", "Bea", "Ine", "Ca", "Lei", "Ar",
                "Dio", "Af",
            ],
            &["ana", "rta", "ia", "tilde", "ssa", "ira", "nda", "lia", "riz", "uda", "ena", "ília"],
            &["ão", "rio", "tónio", "i", "ipe", "çalo", "drigo", "go", "ís", "nuel", "ogo", "onso"],
        ),
    }
}

/// A given name for someone of the country `code`: `common` (one of its ten most common,
/// already drawn) for a fifth of them, one of fifteen less common for three in ten, and one
/// built from the country's name parts for the rest.
pub(crate) fn given(
    rng: &mut ChaCha8Rng,
    code: &str,
    female: bool,
    common: &'static str,
) -> Cow<'static, str> {
    if chance(rng, 0.2) {
        return Cow::Borrowed(common);
    }
    if chance(rng, 0.375) {
        let (women, men) = more_given(code);
        let names = if female { women } else { men };
        return Cow::Borrowed(names[rng::index(rng, names.len())]);
    }
    let (starts, women, men) = given_parts(code);
    let ends = if female { women } else { men };
    let (start, end) = (starts[rng::index(rng, starts.len())], ends[rng::index(rng, ends.len())]);
    Cow::Owned(format!("{start}{end}"))
}

/// The share of a country's people whose family name is one of its ten most common, as
/// national statistics put it (roughly): 5% in the United States (2010 census), 1 to 2% in
/// Germany, France and Italy, 4% in the Netherlands, 7% in Ireland, 17% in Spain (first
/// surname) and 40% in Portugal.
fn common_family_share(code: &str) -> f64 {
    match code {
        "US" => 0.05,
        "DE" => 0.02,
        "FR" => 0.015,
        "IT" => 0.01,
        "NL" => 0.04,
        "IE" => 0.07,
        "ES" => 0.17,
        _ => 0.40,
    }
}

/// A surname part, lower-cased, joined to the name being built (`Stein` + `ober` + `mann`,
/// `van Berg` + `broek`).
fn joined(part: &str, out: &mut String) {
    out.extend(part.chars().flat_map(char::to_lowercase));
}

/// One family name: `common` for the country's share of its ten most common, else one of
/// its long tail: a start and an ending (a few hundred names) for two in five, a start,
/// another start and an ending (thousands) for the others. The Dutch join a second name to
/// the first after the particle (`van Bergbroek`); the longer Irish names are English-made.
fn one_family_name(rng: &mut ChaCha8Rng, code: &str, common: &str, out: &mut String) {
    if chance(rng, common_family_share(code)) {
        out.push_str(common);
        return;
    }
    let long = chance(rng, 0.6);
    let code = if code == "IE" && long { "US" } else { code };
    let (starts, ends) = surname_parts(code);
    let (start, end) = (starts[rng::index(rng, starts.len())], ends[rng::index(rng, ends.len())]);
    out.push_str(start);
    if code == "NL" {
        out.push(' ');
        out.push_str(end);
        if long {
            joined(ends[rng::index(rng, ends.len())], out);
        }
        return;
    }
    if long {
        joined(starts[rng::index(rng, starts.len())], out);
    }
    out.push_str(end);
}

/// The family name of someone of the country `code`, `common` being one of its ten most
/// common (already drawn) and `second` another (for the second family name where people
/// carry two).
pub(crate) fn family(rng: &mut ChaCha8Rng, code: &str, common: &str, second: &str) -> String {
    let mut out = String::with_capacity(24);
    one_family_name(rng, code, common, &mut out);
    if matches!(code, "ES" | "PT") {
        out.push(' ');
        one_family_name(rng, code, second, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::places::COUNTRIES;
    use rand_chacha::rand_core::SeedableRng;
    use std::collections::HashSet;

    #[test]
    fn a_country_has_thousands_of_family_names_and_its_common_ones_their_share() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for country in COUNTRIES {
            let names: Vec<String> = (0..20_000)
                .map(|_| family(&mut rng, country.code, country.last[0], country.last[1]))
                .collect();
            let distinct: HashSet<&String> = names.iter().collect();
            assert!(distinct.len() > 2_000, "{}: {} names", country.code, distinct.len());
            let common = names.iter().filter(|name| name.starts_with(country.last[0])).count() as f64;
            let expected = common_family_share(country.code) * 20_000.0;
            assert!((common - expected).abs() < 0.2 * expected + 30.0, "{}: {common}", country.code);
            assert!(names.iter().all(|name| !name.trim().is_empty() && name.trim() == name));
        }
        let spanish = family(&mut rng, "ES", "García", "López");
        assert_eq!(spanish.split(' ').count(), 2, "{spanish}");
    }

    #[test]
    fn a_fifth_carry_a_common_given_name_and_the_rest_hundreds_of_others() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for country in COUNTRIES {
            let names: Vec<Cow<'static, str>> =
                (0..20_000).map(|_| given(&mut rng, country.code, true, country.female[0])).collect();
            let common = names.iter().filter(|name| *name == country.female[0]).count();
            assert!((3_600..4_400).contains(&common), "{}: {common}", country.code);
            let distinct: HashSet<&str> = names.iter().map(AsRef::as_ref).collect();
            assert!(distinct.len() > 150, "{}: {}", country.code, distinct.len());
        }
    }
}

//! Names as varied as a real customer base's: each country's ten most common given and family
//! names (in `places.rs`) carry about half of its people, as the most common names do; the
//! others get a less common given name, or a family name from the long tail, built from the
//! parts the country's surnames are made of. Spanish and Portuguese people carry two family
//! names. Without the tail, a million customers share a few hundred full names and no matcher
//! could tell namesakes from copies; with it, namesakes are as common as they are in life.

use crate::rng::{self, chance};
use rand_chacha::ChaCha8Rng;

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

/// A given name for someone of the country `code`: `common` (one of its ten most common,
/// already drawn) for about half of them, a less common one for the others.
pub(crate) fn given(rng: &mut ChaCha8Rng, code: &str, female: bool, common: &'static str) -> &'static str {
    if chance(rng, 0.5) {
        return common;
    }
    let (women, men) = more_given(code);
    let names = if female { women } else { men };
    names[rng::index(rng, names.len())]
}

/// One family name: `common` for 45%, else one from the long tail of the country's names.
fn one_family_name(rng: &mut ChaCha8Rng, code: &str, common: &str, out: &mut String) {
    if chance(rng, 0.45) {
        out.push_str(common);
        return;
    }
    let (starts, ends) = surname_parts(code);
    let (start, end) = (starts[rng::index(rng, starts.len())], ends[rng::index(rng, ends.len())]);
    out.push_str(start);
    if matches!(code, "NL") {
        out.push(' ');
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
    fn a_country_has_hundreds_of_family_names_and_keeps_its_common_ones() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for country in COUNTRIES {
            let names: Vec<String> = (0..5_000)
                .map(|_| family(&mut rng, country.code, country.last[0], country.last[1]))
                .collect();
            let distinct: HashSet<&String> = names.iter().collect();
            assert!(distinct.len() > 100, "{}: {} names", country.code, distinct.len());
            let common = names.iter().filter(|name| name.starts_with(country.last[0])).count();
            assert!((1_500..3_000).contains(&common), "{}: {common}", country.code);
            assert!(names.iter().all(|name| !name.trim().is_empty() && name.trim() == name));
        }
        let spanish = family(&mut rng, "ES", "García", "López");
        assert_eq!(spanish.split(' ').count(), 2, "{spanish}");
    }
}

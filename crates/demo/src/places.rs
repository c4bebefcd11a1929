//! Countries, regions and cities customers live in, with local names and money.

/// A city with its approximate centre and relative population.
pub(crate) struct City {
    pub name: &'static str,
    pub lat: f64,
    pub lon: f64,
    pub weight: f64,
}

/// A region (state, province) and its cities.
pub(crate) struct Region {
    pub name: &'static str,
    pub cities: &'static [City],
}

/// A country customers live in.
pub(crate) struct Country {
    /// ISO 3166-1 alpha-2 code.
    pub code: &'static str,
    /// Share of customers.
    pub weight: f64,
    /// ISO 4217 code of the money spent.
    pub currency: &'static str,
    /// Hours local time is ahead of UTC (ignoring summer time).
    pub utc_offset: i64,
    /// Median yearly income in `currency`.
    pub median_income: f64,
    pub regions: &'static [Region],
    pub female: &'static [&'static str],
    pub male: &'static [&'static str],
    pub last: &'static [&'static str],
}

const fn city(name: &'static str, lat: f64, lon: f64, weight: f64) -> City {
    City { name, lat, lon, weight }
}

const fn region(name: &'static str, cities: &'static [City]) -> Region {
    Region { name, cities }
}

/// Every country, with its share of customers.
pub(crate) const COUNTRIES: &[Country] = &[
    Country {
        code: "US",
        weight: 0.24,
        currency: "USD",
        utc_offset: -5,
        median_income: 48_000.0,
        regions: &[
            region(
                "California",
                &[
                    city("Los Angeles", 34.0522, -118.2437, 3.9),
                    city("San Francisco", 37.7749, -122.4194, 0.9),
                    city("San Diego", 32.7157, -117.1611, 1.4),
                ],
            ),
            region(
                "New York",
                &[city("New York", 40.7128, -74.0060, 8.3), city("Buffalo", 42.8864, -78.8784, 0.3)],
            ),
            region(
                "Texas",
                &[
                    city("Houston", 29.7604, -95.3698, 2.3),
                    city("Austin", 30.2672, -97.7431, 1.0),
                    city("Dallas", 32.7767, -96.7970, 1.3),
                ],
            ),
            region(
                "Illinois",
                &[city("Chicago", 41.8781, -87.6298, 2.7), city("Springfield", 39.7817, -89.6501, 0.1)],
            ),
        ],
        female: &[
            "Emily", "Olivia", "Emma", "Ava", "Sophia", "Madison", "Jessica", "Ashley", "Sarah", "Grace",
        ],
        male: &[
            "James", "Michael", "William", "Daniel", "Matthew", "Ethan", "Noah", "Jacob", "David", "Ryan",
        ],
        last: &[
            "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson", "Moore",
        ],
    },
    Country {
        code: "DE",
        weight: 0.18,
        currency: "EUR",
        utc_offset: 1,
        median_income: 42_000.0,
        regions: &[
            region(
                "Bayern",
                &[city("München", 48.1351, 11.5820, 1.5), city("Nürnberg", 49.4521, 11.0767, 0.5)],
            ),
            region("Berlin", &[city("Berlin", 52.5200, 13.4050, 3.7)]),
            region(
                "Nordrhein-Westfalen",
                &[
                    city("Köln", 50.9375, 6.9603, 1.1),
                    city("Düsseldorf", 51.2277, 6.7735, 0.6),
                    city("Dortmund", 51.5136, 7.4653, 0.6),
                ],
            ),
            region("Hamburg", &[city("Hamburg", 53.5511, 9.9937, 1.9)]),
        ],
        female: &[
            "Anna",
            "Lena",
            "Laura",
            "Julia",
            "Lea",
            "Hannah",
            "Katharina",
            "Sophie",
            "Marie",
            "Claudia",
        ],
        male: &[
            "Lukas",
            "Jonas",
            "Felix",
            "Paul",
            "Leon",
            "Maximilian",
            "Tobias",
            "Jan",
            "Florian",
            "Stefan",
        ],
        last: &[
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Meyer",
            "Wagner",
            "Becker",
            "Schulz",
            "Koch",
        ],
    },
    Country {
        code: "FR",
        weight: 0.15,
        currency: "EUR",
        utc_offset: 1,
        median_income: 36_000.0,
        regions: &[
            region(
                "Île-de-France",
                &[city("Paris", 48.8566, 2.3522, 2.1), city("Versailles", 48.8049, 2.1204, 0.1)],
            ),
            region(
                "Auvergne-Rhône-Alpes",
                &[city("Lyon", 45.7640, 4.8357, 0.5), city("Grenoble", 45.1885, 5.7245, 0.2)],
            ),
            region(
                "Provence-Alpes-Côte d'Azur",
                &[city("Marseille", 43.2965, 5.3698, 0.9), city("Nice", 43.7102, 7.2620, 0.3)],
            ),
            region(
                "Occitanie",
                &[city("Toulouse", 43.6047, 1.4442, 0.5), city("Montpellier", 43.6108, 3.8767, 0.3)],
            ),
        ],
        female: &[
            "Camille", "Léa", "Manon", "Chloé", "Inès", "Julie", "Claire", "Mathilde", "Élodie", "Margaux",
        ],
        male: &[
            "Lucas", "Hugo", "Louis", "Thomas", "Nicolas", "Julien", "Antoine", "Maxime", "Théo", "Pierre",
        ],
        last: &[
            "Martin", "Bernard", "Dubois", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
            "Lefèvre",
        ],
    },
    Country {
        code: "IT",
        weight: 0.11,
        currency: "EUR",
        utc_offset: 1,
        median_income: 30_000.0,
        regions: &[
            region(
                "Lombardia",
                &[city("Milano", 45.4642, 9.1900, 1.4), city("Bergamo", 45.6983, 9.6773, 0.1)],
            ),
            region("Lazio", &[city("Roma", 41.9028, 12.4964, 2.8)]),
            region(
                "Campania",
                &[city("Napoli", 40.8518, 14.2681, 0.9), city("Salerno", 40.6824, 14.7681, 0.1)],
            ),
            region("Piemonte", &[city("Torino", 45.0703, 7.6869, 0.9)]),
        ],
        female: &[
            "Giulia",
            "Francesca",
            "Sara",
            "Martina",
            "Chiara",
            "Federica",
            "Valentina",
            "Elena",
            "Sofia",
            "Silvia",
        ],
        male: &[
            "Marco",
            "Alessandro",
            "Luca",
            "Matteo",
            "Lorenzo",
            "Andrea",
            "Francesco",
            "Davide",
            "Giovanni",
            "Simone",
        ],
        last: &[
            "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino",
            "Greco",
        ],
    },
    Country {
        code: "ES",
        weight: 0.11,
        currency: "EUR",
        utc_offset: 1,
        median_income: 27_000.0,
        regions: &[
            region(
                "Comunidad de Madrid",
                &[city("Madrid", 40.4168, -3.7038, 3.3), city("Alcalá de Henares", 40.4818, -3.3643, 0.2)],
            ),
            region(
                "Cataluña",
                &[city("Barcelona", 41.3874, 2.1686, 1.6), city("Girona", 41.9794, 2.8214, 0.1)],
            ),
            region(
                "Andalucía",
                &[city("Sevilla", 37.3891, -5.9845, 0.7), city("Málaga", 36.7213, -4.4214, 0.6)],
            ),
            region(
                "Comunidad Valenciana",
                &[city("Valencia", 39.4699, -0.3763, 0.8), city("Alicante", 38.3452, -0.4810, 0.3)],
            ),
        ],
        female: &["Lucía", "María", "Paula", "Laura", "Marta", "Sofía", "Carmen", "Alba", "Elena", "Irene"],
        male: &[
            "Alejandro",
            "Daniel",
            "Pablo",
            "David",
            "Javier",
            "Sergio",
            "Carlos",
            "Adrián",
            "Manuel",
            "Diego",
        ],
        last: &[
            "García",
            "Fernández",
            "González",
            "Rodríguez",
            "López",
            "Martínez",
            "Sánchez",
            "Pérez",
            "Gómez",
            "Ruiz",
        ],
    },
    Country {
        code: "NL",
        weight: 0.08,
        currency: "EUR",
        utc_offset: 1,
        median_income: 44_000.0,
        regions: &[
            region(
                "Noord-Holland",
                &[city("Amsterdam", 52.3676, 4.9041, 0.9), city("Haarlem", 52.3874, 4.6462, 0.2)],
            ),
            region(
                "Zuid-Holland",
                &[city("Rotterdam", 51.9244, 4.4777, 0.7), city("Den Haag", 52.0705, 4.3007, 0.5)],
            ),
            region(
                "Utrecht",
                &[city("Utrecht", 52.0907, 5.1214, 0.4), city("Amersfoort", 52.1561, 5.3878, 0.2)],
            ),
        ],
        female: &["Emma", "Julia", "Sanne", "Lisa", "Anouk", "Fleur", "Eva", "Femke", "Lotte", "Noor"],
        male: &["Daan", "Sem", "Thijs", "Jesse", "Bram", "Ruben", "Lars", "Milan", "Stijn", "Joost"],
        last: &[
            "de Jong",
            "Jansen",
            "de Vries",
            "van den Berg",
            "van Dijk",
            "Bakker",
            "Visser",
            "Smit",
            "Meijer",
            "Bos",
        ],
    },
    Country {
        code: "IE",
        weight: 0.05,
        currency: "EUR",
        utc_offset: 0,
        median_income: 45_000.0,
        regions: &[
            region(
                "Leinster",
                &[city("Dublin", 53.3498, -6.2603, 1.2), city("Kilkenny", 52.6541, -7.2448, 0.05)],
            ),
            region(
                "Munster",
                &[city("Cork", 51.8985, -8.4756, 0.2), city("Limerick", 52.6638, -8.6267, 0.1)],
            ),
            region("Connacht", &[city("Galway", 53.2707, -9.0568, 0.08)]),
        ],
        female: &[
            "Aoife", "Ciara", "Siobhán", "Niamh", "Saoirse", "Róisín", "Orla", "Caoimhe", "Aisling", "Grace",
        ],
        male: &["Seán", "Conor", "Cian", "Oisín", "Liam", "Darragh", "Patrick", "Eoin", "Niall", "Aidan"],
        last: &[
            "Murphy",
            "Kelly",
            "O'Sullivan",
            "Walsh",
            "O'Brien",
            "Byrne",
            "Ryan",
            "O'Connor",
            "Doyle",
            "Lynch",
        ],
    },
    Country {
        code: "PT",
        weight: 0.08,
        currency: "EUR",
        utc_offset: 0,
        median_income: 20_000.0,
        regions: &[
            region("Lisboa", &[city("Lisboa", 38.7223, -9.1393, 0.5), city("Sintra", 38.8029, -9.3817, 0.4)]),
            region("Norte", &[city("Porto", 41.1579, -8.6291, 0.25), city("Braga", 41.5454, -8.4265, 0.2)]),
            region("Algarve", &[city("Faro", 37.0194, -7.9304, 0.06)]),
        ],
        female: &[
            "Beatriz", "Mariana", "Inês", "Ana", "Leonor", "Carolina", "Matilde", "Joana", "Rita", "Catarina",
        ],
        male: &[
            "João",
            "Rodrigo",
            "Tiago",
            "Francisco",
            "Miguel",
            "Duarte",
            "Pedro",
            "Diogo",
            "Afonso",
            "Gonçalo",
        ],
        last: &[
            "Silva",
            "Santos",
            "Ferreira",
            "Pereira",
            "Oliveira",
            "Costa",
            "Rodrigues",
            "Martins",
            "Sousa",
            "Gomes",
        ],
    },
];

/// A place as indices into [`COUNTRIES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    pub country: u8,
    pub region: u8,
    pub city: u8,
}

impl Place {
    pub fn country(self) -> &'static Country {
        &COUNTRIES[usize::from(self.country)]
    }

    pub fn region(self) -> &'static Region {
        &self.country().regions[usize::from(self.region)]
    }

    pub fn city(self) -> &'static City {
        &self.region().cities[usize::from(self.city)]
    }
}

/// A city drawn by population within `country`.
pub(crate) fn city_in(rng: &mut rand_chacha::ChaCha8Rng, country: u8) -> Place {
    let regions = COUNTRIES[usize::from(country)].regions;
    let region = crate::rng::weighted(rng, regions, |r| r.cities.iter().map(|c| c.weight).sum());
    let city = crate::rng::weighted(rng, regions[region].cities, |c| c.weight);
    Place { country, region: region as u8, city: city as u8 }
}

/// A city drawn by country share, then population.
pub(crate) fn anywhere(rng: &mut rand_chacha::ChaCha8Rng) -> Place {
    let country = crate::rng::weighted(rng, COUNTRIES, |c| c.weight) as u8;
    city_in(rng, country)
}

/// `name` folded to lowercase ASCII letters and digits, for email addresses.
pub(crate) fn ascii_fold(name: &str, out: &mut String) {
    for c in name.chars().flat_map(char::to_lowercase) {
        let folded = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            'ß' => {
                out.push_str("ss");
                continue;
            }
            c if c.is_ascii_alphanumeric() => c,
            _ => continue,
        };
        out.push(folded);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_well_formed() {
        for country in COUNTRIES {
            assert_eq!(country.code.len(), 2);
            assert!(matches!(country.currency, "EUR" | "USD"));
            assert!(!country.regions.is_empty() && country.regions.len() < 256);
            assert!(country.regions.iter().all(|r| !r.cities.is_empty()));
            assert!(!country.female.is_empty() && !country.male.is_empty() && !country.last.is_empty());
        }
    }

    #[test]
    fn names_fold_to_ascii() {
        let mut out = String::new();
        ascii_fold("Müller O'Brien Gonçalo Straße", &mut out);
        assert_eq!(out, "mullerobriengoncalostrasse");
    }
}

//! The records compared: a customer's identifying fields, normalised so that spelling,
//! case, accents-free punctuation and spacing do not count as differences.

/// A field compared between two records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// Given name.
    FirstName,
    /// Family name.
    LastName,
    /// Date of birth, `YYYY-MM-DD`.
    BirthDate,
    /// Email address.
    Email,
    /// Phone number (digits and a leading `+`).
    Phone,
    /// Postal code.
    Postcode,
    /// City.
    City,
    /// Street address.
    Address,
}

/// How many fields there are.
pub const FIELDS: usize = 8;

impl Field {
    /// Every field, in index order.
    pub const ALL: [Field; FIELDS] = [
        Field::FirstName,
        Field::LastName,
        Field::BirthDate,
        Field::Email,
        Field::Phone,
        Field::Postcode,
        Field::City,
        Field::Address,
    ];

    /// Its position in a record.
    pub fn index(self) -> usize {
        self as usize
    }

    /// As the API names it.
    pub fn name(self) -> &'static str {
        match self {
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::BirthDate => "birth_date",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::Postcode => "postcode",
            Field::City => "city",
            Field::Address => "address",
        }
    }
}

/// One record to match, with its id (the customer's) and normalised fields.
///
/// The fields' values lie one after another in one string (a span each, empty for a field
/// not known): comparing a pair then reads two allocations rather than sixteen, which is
/// most of the time a pass spends on tens of millions of pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchRecord {
    /// The customer's id.
    pub id: i64,
    text: Box<str>,
    spans: [(u32, u32); FIELDS],
}

/// Lower case, letters and digits kept, every run of anything else one space, trimmed.
pub fn normalise(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut gap = false;
    for c in raw.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    out
}

impl MatchRecord {
    /// A record of customer `id` with no field known.
    pub fn new(id: i64) -> Self {
        Self { id, ..Default::default() }
    }

    /// Sets `field` from `raw` (normalised for its kind; blank is unknown).
    pub fn with(mut self, field: Field, raw: Option<&str>) -> Self {
        self.set(field, raw);
        self
    }

    /// Sets `field` from `raw` (normalised for its kind; blank is unknown).
    pub fn set(&mut self, field: Field, raw: Option<&str>) {
        let value = raw.map(|raw| match field {
            Field::Email => raw.trim().to_lowercase(),
            Field::Phone => raw.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect(),
            Field::BirthDate => raw.trim().chars().take(10).collect(),
            Field::Postcode => {
                raw.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_uppercase).collect()
            }
            _ => normalise(raw),
        });
        let mut text = String::with_capacity(self.text.len() + value.as_ref().map_or(0, String::len));
        let mut spans = [(0, 0); FIELDS];
        for other in Field::ALL {
            let kept = if other == field { value.as_deref() } else { self.get(other) };
            if let Some(kept) = kept.filter(|kept| !kept.is_empty()) {
                let start = u32::try_from(text.len()).unwrap_or(u32::MAX);
                text.push_str(kept);
                spans[other.index()] = (start, u32::try_from(kept.len()).unwrap_or(0));
            }
        }
        self.text = text.into_boxed_str();
        self.spans = spans;
    }

    /// The same record with its given and family names the other way round (how a copy
    /// whose form had them swapped is compared with the original).
    pub fn with_names_swapped(&self) -> Self {
        let mut swapped = self.clone();
        swapped.spans.swap(Field::FirstName.index(), Field::LastName.index());
        swapped
    }

    /// The value of `field`, if known.
    pub fn get(&self, field: Field) -> Option<&str> {
        let (start, len) = self.spans[field.index()];
        (len > 0).then(|| self.text.get(start as usize..(start + len) as usize)).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_normalised_for_their_kind() {
        let record = MatchRecord::new(1)
            .with(Field::FirstName, Some("  Anne-Marie "))
            .with(Field::Phone, Some("+49 (30) 1234-567"))
            .with(Field::Postcode, Some("sw1a 1aa"))
            .with(Field::Email, Some(" Ana@X.org "))
            .with(Field::City, Some("   "));
        assert_eq!(record.get(Field::FirstName), Some("anne marie"));
        assert_eq!(record.get(Field::Phone), Some("+49301234567"));
        assert_eq!(record.get(Field::Postcode), Some("SW1A1AA"));
        assert_eq!(record.get(Field::Email), Some("ana@x.org"));
        assert_eq!(record.get(Field::City), None, "blank is unknown");
    }

    #[test]
    fn names_swap_and_nothing_else_moves() {
        let record = MatchRecord::new(7)
            .with(Field::FirstName, Some("Kale"))
            .with(Field::LastName, Some("Tschirn"))
            .with(Field::City, Some("Bayswater"));
        let swapped = record.with_names_swapped();
        assert_eq!(swapped.get(Field::FirstName), Some("tschirn"));
        assert_eq!(swapped.get(Field::LastName), Some("kale"));
        assert_eq!(swapped.get(Field::City), Some("bayswater"));
        assert_eq!(swapped.with_names_swapped(), record);
    }
}

//! Customers: identity, demographics, geography, psychographics and consent.

use crate::error::{Reason, ValidationError, ValidationErrors};
use crate::phone::{Phone, PhoneRegion};
use crate::scalar::{check_non_negative, check_range};
use crate::text::{ExternalId, Text, Token};
use crate::time::parse_date;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A customer's id inside Kindred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CustomerId(pub i64);

/// A syntactically valid email address, trimmed and lowercased so that lookups by email
/// match however it was typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    /// Parses an email address for `field`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim();
        if email_address::EmailAddress::is_valid(value) && value.len() <= 254 {
            Ok(Self(value.to_lowercase()))
        } else {
            Err(ValidationError::new(field, raw, Reason::InvalidEmail))
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A birth date: not in the future and not before 1900.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BirthDate(NaiveDate);

impl BirthDate {
    /// Checks `date` against `today` for `field`.
    pub fn new(field: &'static str, date: NaiveDate, today: NaiveDate) -> Result<Self, ValidationError> {
        if date > today {
            return Err(ValidationError::new(field, date, Reason::InFuture));
        }
        if date < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN) {
            return Err(ValidationError::new(field, date, Reason::TooOld));
        }
        Ok(Self(date))
    }

    /// The date.
    pub fn date(self) -> NaiveDate {
        self.0
    }
}

/// A customer's gender as they declared it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    /// Female.
    Female,
    /// Male.
    Male,
    /// Non-binary.
    NonBinary,
    /// Another gender, or declined to say.
    Other,
}

impl Gender {
    /// Every gender, in a stable order.
    pub const ALL: [Gender; 4] = [Gender::Female, Gender::Male, Gender::NonBinary, Gender::Other];

    /// Parses a gender (also `f`, `m`, `woman`, `man`, `non-binary`, `nb`) for `field`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
        match raw.trim().to_ascii_lowercase().replace(['-', ' '], "_").as_str() {
            "female" | "f" | "woman" => Ok(Gender::Female),
            "male" | "m" | "man" => Ok(Gender::Male),
            "non_binary" | "nonbinary" | "nb" => Ok(Gender::NonBinary),
            "other" | "x" => Ok(Gender::Other),
            _ => {
                let expected = "female, male, non_binary, other";
                Err(ValidationError::new(field, raw, Reason::NotOneOf { expected }))
            }
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Female => "female",
            Gender::Male => "male",
            Gender::NonBinary => "non_binary",
            Gender::Other => "other",
        }
    }
}

impl fmt::Display for Gender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Yearly income: a finite number, zero or more.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Income(f64);

impl Income {
    /// Checks an income for `field`.
    pub fn new(field: &'static str, value: f64) -> Result<Self, ValidationError> {
        check_non_negative(field, value).map(Self)
    }

    /// The amount.
    pub fn value(self) -> f64 {
        self.0
    }
}

/// An ISO 3166-1 alpha-2 country code such as `DE`, stored in upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CountryCode(String);

impl CountryCode {
    /// Parses a two-letter country code (any case) for `field`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim();
        if value.len() == 2 && value.chars().all(|c| c.is_ascii_alphabetic()) {
            Ok(Self(value.to_ascii_uppercase()))
        } else {
            let allowed = "two letters (ISO 3166-1 alpha-2)";
            Err(ValidationError::new(field, raw, Reason::BadCharacters { allowed }))
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A postal code: letters, digits, spaces and `-`, 2 to 16 characters, in upper case with
/// single spaces, so `sw1a  1aa` and `SW1A 1AA` are one code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Postcode(String);

impl Postcode {
    /// Parses a postal code for `field`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
        let value = raw.split_whitespace().collect::<Vec<_>>().join(" ").to_uppercase();
        let allowed = "letters, digits, spaces and '-' (2 to 16)";
        let fits = (2..=16).contains(&value.chars().count())
            && value.chars().all(|c| c.is_alphanumeric() || c == ' ' || c == '-');
        if fits {
            Ok(Self(value))
        } else {
            Err(ValidationError::new(field, raw, Reason::BadCharacters { allowed }))
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A point on Earth in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    lat: f64,
    lon: f64,
}

impl GeoPoint {
    /// Checks latitude (-90..90) and longitude (-180..180).
    pub fn new(lat: f64, lon: f64) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let lat = errors.check(check_range("lat", lat, -90.0, 90.0));
        let lon = errors.check(check_range("lon", lon, -180.0, 180.0));
        match (lat, lon) {
            (Some(lat), Some(lon)) => Ok(Self { lat, lon }),
            _ => Err(errors),
        }
    }

    /// Latitude in degrees.
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// Longitude in degrees.
    pub fn lon(self) -> f64 {
        self.lon
    }
}

/// A customer's profile, valid in every field.
///
/// Optional fields that are `None` mean "not known"; when a profile is merged into a stored
/// customer, unknown fields never erase what is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// The id in the system the customer came from.
    pub external_id: ExternalId,
    /// The system the record came from (`shop`, `web`...), lowercased: external ids are
    /// identifiers of that origin. Not stored with the profile: with the identifiers.
    pub origin: Option<Token>,
    /// Email address.
    pub email: Option<Email>,
    /// Phone number, in E.164.
    pub phone: Option<Phone>,
    /// Given name.
    pub first_name: Option<Text>,
    /// Family name.
    pub last_name: Option<Text>,
    /// Date of birth.
    pub birth_date: Option<BirthDate>,
    /// Gender.
    pub gender: Option<Gender>,
    /// Yearly income.
    pub income: Option<Income>,
    /// Highest education reached.
    pub education: Option<Text>,
    /// Occupation.
    pub occupation: Option<Text>,
    /// Country.
    pub country: Option<CountryCode>,
    /// Region or state.
    pub region: Option<Text>,
    /// City.
    pub city: Option<Text>,
    /// Street address, first line.
    pub address_line1: Option<Text>,
    /// Street address, second line.
    pub address_line2: Option<Text>,
    /// Postal code.
    pub postcode: Option<Postcode>,
    /// Where the customer lives, if known precisely.
    pub location: Option<GeoPoint>,
    /// Lifestyle and values tags (psychographics), sorted and without duplicates.
    pub lifestyle: Vec<Token>,
    /// Whether the customer agreed to marketing (`None`: not recorded).
    pub consent_marketing: Option<bool>,
    /// Whether the customer agreed to profiling (`None`: not recorded).
    pub consent_profiling: Option<bool>,
    /// Handles on social networks, by network (`twitter` -> `@ana`).
    pub social_handles: BTreeMap<String, String>,
    /// Free attributes the business keeps about the customer.
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// A customer profile as given, before validation: what an import row or an API call holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerDraft {
    /// See [`Customer::external_id`].
    pub external_id: String,
    /// See [`Customer::origin`].
    pub origin: Option<String>,
    /// See [`Customer::email`].
    pub email: Option<String>,
    /// International (`+49 30 1234567`), or national in the phone region validation is given.
    pub phone: Option<String>,
    /// See [`Customer::first_name`].
    pub first_name: Option<String>,
    /// See [`Customer::last_name`].
    pub last_name: Option<String>,
    /// `YYYY-MM-DD` or RFC 3339.
    pub birth_date: Option<String>,
    /// See [`Gender::parse`].
    pub gender: Option<String>,
    /// See [`Customer::income`].
    pub income: Option<f64>,
    /// See [`Customer::education`].
    pub education: Option<String>,
    /// See [`Customer::occupation`].
    pub occupation: Option<String>,
    /// See [`Customer::country`].
    pub country: Option<String>,
    /// See [`Customer::region`].
    pub region: Option<String>,
    /// See [`Customer::city`].
    pub city: Option<String>,
    /// See [`Customer::address_line1`].
    pub address_line1: Option<String>,
    /// See [`Customer::address_line2`].
    pub address_line2: Option<String>,
    /// See [`Postcode::parse`].
    pub postcode: Option<String>,
    /// Latitude; needs `lon`.
    pub lat: Option<f64>,
    /// Longitude; needs `lat`.
    pub lon: Option<f64>,
    /// See [`Customer::lifestyle`].
    pub lifestyle: Vec<String>,
    /// See [`Customer::consent_marketing`].
    pub consent_marketing: Option<bool>,
    /// See [`Customer::consent_profiling`].
    pub consent_profiling: Option<bool>,
    /// See [`Customer::social_handles`].
    pub social_handles: BTreeMap<String, String>,
    /// See [`Customer::attributes`].
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

impl CustomerDraft {
    /// Validates every field, as of `today` (for the birth date), and reports all problems.
    /// Phone numbers must be international (`+CC...`).
    pub fn validate(self, today: NaiveDate) -> Result<Customer, ValidationErrors> {
        self.validate_in(today, None)
    }

    /// As [`validate`](Self::validate), reading national phone numbers in `phone_region`
    /// (`identity.default_phone_region`).
    pub fn validate_in(
        self,
        today: NaiveDate,
        phone_region: Option<PhoneRegion>,
    ) -> Result<Customer, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let external_id = errors.check(ExternalId::parse("external_id", &self.external_id));
        let origin = errors.check_opt(self.origin.as_deref(), |v| Token::parse("origin", v));
        let email = errors.check_opt(self.email.as_deref(), |v| Email::parse("email", v));
        let first_name = errors.check_opt(self.first_name.as_deref(), |v| Text::parse("first_name", v));
        let last_name = errors.check_opt(self.last_name.as_deref(), |v| Text::parse("last_name", v));
        let birth_date = errors.check_opt(self.birth_date.as_deref(), |v| {
            parse_date("birth_date", v).and_then(|date| BirthDate::new("birth_date", date, today))
        });
        let gender = errors.check_opt(self.gender.as_deref(), |v| Gender::parse("gender", v));
        let income = errors.check_opt(self.income, |v| Income::new("income", v));
        let education = errors.check_opt(self.education.as_deref(), |v| Text::parse("education", v));
        let occupation = errors.check_opt(self.occupation.as_deref(), |v| Text::parse("occupation", v));
        let country = errors.check_opt(self.country.as_deref(), |v| CountryCode::parse("country", v));
        let region = errors.check_opt(self.region.as_deref(), |v| Text::parse("region", v));
        let city = errors.check_opt(self.city.as_deref(), |v| Text::parse("city", v));
        let phone = errors.check_opt(self.phone.as_deref(), |v| Phone::parse("phone", v, phone_region));
        let address_line1 =
            errors.check_opt(self.address_line1.as_deref(), |v| Text::parse("address_line1", v));
        let address_line2 =
            errors.check_opt(self.address_line2.as_deref(), |v| Text::parse("address_line2", v));
        let postcode = errors.check_opt(self.postcode.as_deref(), |v| Postcode::parse("postcode", v));
        let location = match (self.lat, self.lon) {
            (None, None) => None,
            (Some(lat), Some(lon)) => match GeoPoint::new(lat, lon) {
                Ok(point) => Some(point),
                Err(point_errors) => {
                    errors.0.extend(point_errors.0);
                    None
                }
            },
            (Some(lat), None) => {
                errors.push(ValidationError::new("lat", lat, Reason::Incomplete { needs: "lon" }));
                None
            }
            (None, Some(lon)) => {
                errors.push(ValidationError::new("lon", lon, Reason::Incomplete { needs: "lat" }));
                None
            }
        };
        let mut lifestyle: Vec<Token> = self
            .lifestyle
            .iter()
            .filter(|tag| !tag.trim().is_empty())
            .filter_map(|tag| errors.check(Token::parse("lifestyle", tag)))
            .collect();
        lifestyle.sort();
        lifestyle.dedup();
        let Some(external_id) = external_id else {
            return Err(errors);
        };
        errors.finish(|| Customer {
            external_id,
            origin,
            email,
            phone,
            first_name,
            last_name,
            birth_date,
            gender,
            income,
            education,
            occupation,
            country,
            region,
            city,
            address_line1,
            address_line2,
            postcode,
            location,
            lifestyle,
            consent_marketing: self.consent_marketing,
            consent_profiling: self.consent_profiling,
            social_handles: self.social_handles,
            attributes: self.attributes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn draft() -> CustomerDraft {
        CustomerDraft { external_id: "c-1".into(), ..Default::default() }
    }

    #[test]
    fn a_full_valid_draft_becomes_a_customer() {
        let customer = CustomerDraft {
            email: Some(" Ana@Example.com ".into()),
            birth_date: Some("1990-04-01".into()),
            gender: Some("F".into()),
            income: Some(52_000.0),
            country: Some("pt".into()),
            lat: Some(38.7),
            lon: Some(-9.1),
            lifestyle: vec!["Outdoor".into(), "vegan".into(), "outdoor".into(), " ".into()],
            ..draft()
        }
        .validate(today())
        .unwrap();
        assert_eq!(customer.email.unwrap().as_str(), "ana@example.com");
        assert_eq!(customer.gender, Some(Gender::Female));
        assert_eq!(customer.country.unwrap().as_str(), "PT");
        let tags: Vec<_> = customer.lifestyle.iter().map(Token::as_str).collect();
        assert_eq!(tags, ["outdoor", "vegan"]);
    }

    #[test]
    fn bad_email_names_field_and_value() {
        let errors = CustomerDraft { email: Some("ana@".into()), ..draft() }.validate(today()).unwrap_err();
        assert_eq!(errors.0, [ValidationError::new("email", "ana@", Reason::InvalidEmail)]);
    }

    #[test]
    fn birth_date_in_the_future_is_refused() {
        let errors =
            CustomerDraft { birth_date: Some("2027-01-01".into()), ..draft() }.validate(today()).unwrap_err();
        assert_eq!(errors.0, [ValidationError::new("birth_date", "2027-01-01", Reason::InFuture)]);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let errors = CustomerDraft {
            external_id: " ".into(),
            income: Some(-1.0),
            lat: Some(91.0),
            gender: Some("robot".into()),
            ..draft()
        }
        .validate(today())
        .unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["external_id", "gender", "income", "lat"]);
    }

    #[test]
    fn location_needs_both_coordinates() {
        let errors = CustomerDraft { lon: Some(10.0), ..draft() }.validate(today()).unwrap_err();
        assert_eq!(errors.0[0].reason, Reason::Incomplete { needs: "lat" });
        let errors =
            CustomerDraft { lat: Some(10.0), lon: Some(181.0), ..draft() }.validate(today()).unwrap_err();
        assert_eq!(errors.0[0].field, "lon");
    }
}

#[cfg(test)]
mod property_tests {
    use super::*;
    use crate::{InteractionDraft, VALUE_PREFIX_CHARS};
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("\\PC{0,300}|[\\x00-\\x1f]{0,4}|[0-9eE.+-]{0,20}")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn any_customer_is_valid_or_refused_with_bounded_errors(
            external_id in "\\PC{0,300}", email in text(), first_name in text(), birth_date in text(),
            income in proptest::option::of(any::<f64>()), lat in proptest::option::of(any::<f64>()),
        ) {
            let draft = CustomerDraft { external_id, email, first_name, birth_date, income, lat, ..Default::default() };
            let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
            if let Err(errors) = draft.validate(today) {
                prop_assert!(!errors.0.is_empty());
                prop_assert!(errors.0.iter().all(|e| e.value.chars().count() <= VALUE_PREFIX_CHARS + 1));
            }
        }

        #[test]
        fn any_interaction_is_valid_or_refused(
            customer in "\\PC{0,50}", at in "\\PC{0,40}|[0-9]{4}-[0-9]{2}-[0-9]{2}", text in text(),
            amount in proptest::option::of(any::<f64>()), kind in text(), currency in text(),
        ) {
            let draft = InteractionDraft {
                customer_external_id: customer, occurred_at: at, text, amount, kind, currency, ..Default::default()
            };
            if let Ok(interaction) = draft.validate() {
                prop_assert!(interaction.amount.is_none_or(|a| a.value().is_finite() && a.value() <= 1e12));
            }
        }
    }
}

//! Turning one row's fields into a valid domain record, or the list of what is wrong.

use super::columns::ImportKind;
use kindred_domain::{
    Customer, CustomerDraft, Interaction, InteractionDraft, Need, NeedDraft, PhoneRegion, Plausible, Tie,
    TieDraft, ValidationError, ValidationErrors, parse_bool, parse_number,
};
use std::borrow::Cow;

/// One row's fields by column name, whatever the file format.
pub(crate) trait Fields {
    /// The value of `column`; `None` when the column is absent or the cell is blank.
    fn get(&self, column: &'static str) -> Option<Cow<'_, str>>;

    /// Values of the wrong shape for their column (an object where a text is expected).
    fn problems(&self) -> Vec<ValidationError> {
        Vec::new()
    }
}

/// A valid row of any kind.
#[derive(Clone)]
pub(crate) enum Record {
    /// Boxed: a profile is twice the size of any other record.
    Customer(Box<Customer>),
    Interaction(Interaction),
    Tie(Tie),
    Need(Need),
}

fn text(fields: &impl Fields, column: &'static str) -> Option<String> {
    fields.get(column).map(Cow::into_owned)
}

fn number(fields: &impl Fields, errors: &mut ValidationErrors, column: &'static str) -> Option<f64> {
    fields.get(column).and_then(|value| errors.check(parse_number(column, &value)))
}

fn boolean(fields: &impl Fields, errors: &mut ValidationErrors, column: &'static str) -> Option<bool> {
    fields.get(column).and_then(|value| errors.check(parse_bool(column, &value)))
}

fn required(fields: &impl Fields, column: &'static str) -> String {
    text(fields, column).unwrap_or_default()
}

/// What rows are checked against: plausible interactions, and the region national phone
/// numbers are read in.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RowRules {
    /// When interactions may happen and how much they may involve.
    pub plausible: Plausible,
    /// `identity.default_phone_region`.
    pub phone_region: Option<PhoneRegion>,
    /// Customer rows whose only faults are in optional fields are kept with those fields
    /// left blank (see [`parse_record_keeping`]).
    pub blank_invalid_fields: bool,
}

/// `fields` with some columns left blank.
struct Blanked<'a, F> {
    fields: &'a F,
    blank: Vec<&'static str>,
}

impl<F: Fields> Fields for Blanked<'_, F> {
    fn get(&self, column: &'static str) -> Option<Cow<'_, str>> {
        if self.blank.contains(&column) { None } else { self.fields.get(column) }
    }

    fn problems(&self) -> Vec<ValidationError> {
        self.fields.problems().into_iter().filter(|problem| !self.blank.contains(&problem.field)).collect()
    }
}

/// Columns a customer row cannot do without: a fault there refuses the row whatever the
/// rules say.
const KEY_COLUMNS: [&str; 2] = ["external_id", "origin"];

/// [`parse_record`], and where `rules.blank_invalid_fields` is set, a customer row whose
/// faults are all in optional fields (a birth date that does not exist, a phone number
/// that is not one) is kept with those fields blank: the record, and the faults set aside.
/// Registers and exports carry such values often, and refusing the row would lose the
/// valid name and address with them.
pub(crate) fn parse_record_keeping(
    kind: ImportKind,
    fields: &impl Fields,
    rules: &RowRules,
) -> Result<(Record, Vec<ValidationError>), Vec<ValidationError>> {
    match parse_record(kind, fields, rules) {
        Ok(record) => Ok((record, Vec::new())),
        Err(errors)
            if rules.blank_invalid_fields
                && kind == ImportKind::Customers
                && errors.iter().all(|error| !KEY_COLUMNS.contains(&error.field)) =>
        {
            let mut blank: Vec<&'static str> = errors.iter().map(|error| error.field).collect();
            // A coordinate is only valid with its pair: both go.
            if blank.iter().any(|column| matches!(*column, "lat" | "lon")) {
                blank.extend(["lat", "lon"]);
            }
            blank.sort_unstable();
            blank.dedup();
            match parse_record(kind, &Blanked { fields, blank }, rules) {
                Ok(record) => Ok((record, errors)),
                Err(_) => Err(errors),
            }
        }
        Err(errors) => Err(errors),
    }
}

/// Parses and validates a row of `kind`; every problem is reported.
pub(crate) fn parse_record(
    kind: ImportKind,
    fields: &impl Fields,
    rules: &RowRules,
) -> Result<Record, Vec<ValidationError>> {
    let plausible = &rules.plausible;
    let today = plausible.now.date_naive();
    let mut errors = ValidationErrors(fields.problems());
    let result = match kind {
        ImportKind::Customers => {
            let draft = CustomerDraft {
                external_id: required(fields, "external_id"),
                origin: text(fields, "origin"),
                email: text(fields, "email"),
                phone: text(fields, "phone"),
                first_name: text(fields, "first_name"),
                last_name: text(fields, "last_name"),
                birth_date: text(fields, "birth_date"),
                gender: text(fields, "gender"),
                income: number(fields, &mut errors, "income"),
                education: text(fields, "education"),
                occupation: text(fields, "occupation"),
                country: text(fields, "country"),
                region: text(fields, "region"),
                city: text(fields, "city"),
                address_line1: text(fields, "address_line1"),
                address_line2: text(fields, "address_line2"),
                postcode: text(fields, "postcode"),
                lat: number(fields, &mut errors, "lat"),
                lon: number(fields, &mut errors, "lon"),
                lifestyle: fields
                    .get("lifestyle")
                    .map(|tags| tags.split(';').map(str::to_owned).collect())
                    .unwrap_or_default(),
                consent_marketing: boolean(fields, &mut errors, "consent_marketing"),
                consent_profiling: boolean(fields, &mut errors, "consent_profiling"),
                ..Default::default()
            };
            draft.validate_in(today, rules.phone_region).map(|customer| Record::Customer(Box::new(customer)))
        }
        ImportKind::Interactions => {
            let draft = InteractionDraft {
                customer_external_id: required(fields, "customer_external_id"),
                occurred_at: required(fields, "occurred_at"),
                channel: text(fields, "channel"),
                kind: text(fields, "kind"),
                amount: number(fields, &mut errors, "amount"),
                currency: text(fields, "currency"),
                cost_to_serve: number(fields, &mut errors, "cost_to_serve"),
                text: text(fields, "text"),
                source_id: text(fields, "source_id"),
            };
            draft.validate_with(plausible).map(Record::Interaction)
        }
        ImportKind::Ties => {
            let draft = TieDraft {
                from_external_id: required(fields, "from_external_id"),
                to_external_id: required(fields, "to_external_id"),
                kind: text(fields, "kind"),
                weight: number(fields, &mut errors, "weight"),
                mutual: boolean(fields, &mut errors, "mutual"),
            };
            draft.validate().map(Record::Tie)
        }
        ImportKind::Needs => {
            let draft = NeedDraft {
                customer_external_id: required(fields, "customer_external_id"),
                tag: required(fields, "tag"),
                kind: text(fields, "kind"),
                source: text(fields, "source"),
                weight: number(fields, &mut errors, "weight"),
            };
            draft.validate().map(Record::Need)
        }
    };
    match result {
        Ok(record) if errors.is_empty() => Ok(record),
        Ok(_) => Err(errors.0),
        Err(more) => {
            errors.0.extend(more.0);
            Err(errors.0)
        }
    }
}

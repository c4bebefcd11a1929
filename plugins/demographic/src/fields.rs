//! The customer fields the demographic strategy offers to rules and bands, bound to a batch.

use kindred_plugin_sdk::arrow_array::{Array, ArrayRef, Float64Array};
use kindred_plugin_sdk::dates::age_in_years;
use kindred_plugin_sdk::rules::{FieldType, Fields, RuleColumns};
use kindred_plugin_sdk::{Customers, StrategyResult};
use std::sync::Arc;

/// The customer columns the strategy reads: every one the host offers after the id (which is
/// always sent), taken from the ABI's list so that a column added there is offered here too.
pub fn read_columns() -> Vec<&'static str> {
    kindred_plugin_sdk::abi::CUSTOMER_COLUMNS.iter().skip(1).map(|(name, _)| *name).collect()
}

/// The fields rules can test.
pub fn fields() -> Fields {
    let mut fields = Fields::new()
        .with("age", FieldType::Number)
        .with("income", FieldType::Number)
        .with("birth_date", FieldType::Date)
        .with("created_at", FieldType::Timestamp)
        .with("lifestyle", FieldType::Tags)
        .with("location", FieldType::Location)
        .with("consent_marketing", FieldType::Boolean)
        .with("consent_profiling", FieldType::Boolean);
    for text in ["gender", "education", "occupation", "country", "region", "city", "external_id"] {
        fields = fields.with(text, FieldType::Text);
    }
    fields
}

/// Each customer's age in whole years at day `today` (days since the Unix epoch).
pub fn ages(customers: &Customers<'_>, today: i32) -> StrategyResult<Float64Array> {
    let births = customers.birth_date()?;
    Ok((0..customers.len())
        .map(|row| {
            (!births.is_null(row)).then(|| age_in_years(births.value(row), today)).flatten().map(f64::from)
        })
        .collect())
}

/// The batch's columns under the rule fields' names, with `age` computed at `today`.
pub fn bind(customers: &Customers<'_>, today: i32) -> StrategyResult<RuleColumns> {
    let batch = customers.batch();
    let mut columns =
        RuleColumns::new(batch.num_rows()).with("age", Arc::new(ages(customers, today)?) as ArrayRef);
    for name in read_columns() {
        if let Some(array) = batch.column_by_name(name) {
            columns = columns.with(name, array.clone());
        }
    }
    if let (Some(lat), Some(lon)) = (batch.column_by_name("lat"), batch.column_by_name("lon")) {
        columns = columns.with_location("location", lat.clone(), lon.clone());
    }
    Ok(columns)
}

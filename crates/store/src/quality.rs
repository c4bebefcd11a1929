//! Data quality in figures: how complete each profile field is, values that cannot be right,
//! customers gone quiet, consent never asked, duplicates waiting for review.

use crate::connect::Store;
use crate::error::StoreResult;
use crate::sql::statement;
use chrono::{DateTime, Months, Utc};
use sea_orm::ConnectionTrait;

/// The profile fields whose completeness is counted, as the columns are named.
pub const COUNTED_FIELDS: [&str; 14] = [
    "email",
    "phone",
    "first_name",
    "last_name",
    "birth_date",
    "gender",
    "income",
    "country",
    "city",
    "address_line1",
    "postcode",
    "lat",
    "consent_marketing",
    "consent_profiling",
];

/// The figures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DataQuality {
    /// Customers.
    pub customers: u64,
    /// Per field of [`COUNTED_FIELDS`], how many customers know it.
    pub known: Vec<(&'static str, u64)>,
    /// Birth dates after today.
    pub born_in_the_future: u64,
    /// Birth dates more than 120 years ago.
    pub older_than_120: u64,
    /// Customers with no interaction in the last 365 days (or none at all).
    pub inactive_365_days: u64,
    /// Customers never asked about marketing.
    pub marketing_consent_not_asked: u64,
    /// Customers never asked about profiling.
    pub profiling_consent_not_asked: u64,
    /// Duplicate suggestions waiting for review.
    pub suggestions_pending: u64,
}

impl Store {
    /// The data quality figures as of `now`.
    pub async fn data_quality(&self, now: DateTime<Utc>) -> StoreResult<DataQuality> {
        let counts: Vec<String> = COUNTED_FIELDS.iter().map(|field| format!("COUNT({field})")).collect();
        let today = now.date_naive();
        let oldest = today.checked_sub_months(Months::new(120 * 12)).unwrap_or(today);
        let year_ago = now - chrono::Duration::days(365);
        let sql = format!(
            "SELECT COUNT(*), {}, \
             (SELECT COUNT(*) FROM customers WHERE birth_date > ?), \
             (SELECT COUNT(*) FROM customers WHERE birth_date < ?), \
             (SELECT COUNT(*) FROM customers c WHERE NOT EXISTS \
                (SELECT 1 FROM interactions i WHERE i.customer_id = c.id AND i.occurred_at >= ?)), \
             (SELECT COUNT(*) FROM customers WHERE consent_marketing IS NULL), \
             (SELECT COUNT(*) FROM customers WHERE consent_profiling IS NULL), \
             (SELECT COUNT(*) FROM duplicate_suggestions WHERE status = 'pending') \
             FROM customers",
            counts.join(", ")
        );
        let values = vec![today.into(), oldest.into(), year_ago.into()];
        let row = self.connection().query_one_raw(statement(self.backend(), &sql, values)).await?;
        let Some(row) = row else { return Ok(DataQuality::default()) };
        let at = |index: usize| -> StoreResult<u64> { Ok(row.try_get_by_index::<i64>(index)?.max(0) as u64) };
        let mut known = Vec::with_capacity(COUNTED_FIELDS.len());
        for (offset, field) in COUNTED_FIELDS.iter().enumerate() {
            known.push((*field, at(1 + offset)?));
        }
        let rest = 1 + COUNTED_FIELDS.len();
        Ok(DataQuality {
            customers: at(0)?,
            known,
            born_in_the_future: at(rest)?,
            older_than_120: at(rest + 1)?,
            inactive_365_days: at(rest + 2)?,
            marketing_consent_not_asked: at(rest + 3)?,
            profiling_consent_not_asked: at(rest + 4)?,
            suggestions_pending: at(rest + 5)?,
        })
    }
}

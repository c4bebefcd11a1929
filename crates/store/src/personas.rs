//! Personas: a profile of every segment of a segmentation, computed from its members with a
//! handful of grouped queries (no member is loaded one by one): size and share, age, gender
//! and income bands, top places, needs over-represented against the whole population, RFM
//! averages, and the segment's share of revenue and profit.

use crate::connect::Store;
use crate::error::StoreResult;
use crate::sql::statement;
use chrono::{DateTime, Months, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Value};
use std::collections::{BTreeMap, HashMap};

/// How many places and needs a persona lists.
const TOP: usize = 5;
/// A need is listed only if at least this share of the segment holds it.
const MIN_NEED_SUPPORT: f64 = 0.05;
/// Age bands: lower bound in years and label.
const AGE_BANDS: [(u32, &str); 6] =
    [(65, "65+"), (55, "55-64"), (45, "45-54"), (35, "35-44"), (25, "25-34"), (0, "under 25")];
/// Yearly income bands: upper bound and label (the last is open).
const INCOME_BANDS: [(f64, &str); 5] = [
    (25_000.0, "under 25k"),
    (50_000.0, "25k-50k"),
    (75_000.0, "50k-75k"),
    (100_000.0, "75k-100k"),
    (150_000.0, "100k-150k"),
];
const TOP_INCOME_BAND: &str = "150k+";

/// A value and how many members have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    /// The value (an age band, a gender, a country...).
    pub value: String,
    /// Members with it.
    pub customers: i64,
}

/// A need in a segment: how many hold it, and how much more than in the whole population.
#[derive(Debug, Clone, PartialEq)]
pub struct NeedLift {
    /// The need's tag.
    pub tag: String,
    /// Members who hold it.
    pub customers: i64,
    /// Their share of the segment.
    pub share: f64,
    /// Share in the segment over share in the population.
    pub lift: f64,
}

/// The profile of one segment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Persona {
    /// The segment's label.
    pub segment: String,
    /// Its members.
    pub size: i64,
    /// Its share of all customers.
    pub share: f64,
    /// Members per age band (only those with a birth date), oldest first.
    pub ages: Vec<Count>,
    /// Members per gender (only those who gave one), most first.
    pub genders: Vec<Count>,
    /// Members per yearly income band (only those with an income), lowest first.
    pub incomes: Vec<Count>,
    /// Mean yearly income of members with one.
    pub average_income: Option<f64>,
    /// The most frequent countries.
    pub countries: Vec<Count>,
    /// The most frequent cities.
    pub cities: Vec<Count>,
    /// The needs most over-represented in the segment.
    pub needs: Vec<NeedLift>,
    /// Members who bought at least once.
    pub buyers: i64,
    /// Mean days since the last purchase, over buyers.
    pub average_recency_days: Option<f64>,
    /// Mean purchases per member.
    pub average_frequency: f64,
    /// Mean revenue per member.
    pub average_monetary: f64,
    /// Revenue from members' purchases.
    pub revenue: f64,
    /// Revenue less what serving members cost.
    pub profit: f64,
    /// Share of all customers' revenue.
    pub revenue_share: f64,
    /// Share of all customers' profit (of the total when it is positive).
    pub profit_share: f64,
}

type Row = Vec<sea_orm::QueryResult>;

fn age_band_sql(today: NaiveDate) -> (String, Vec<Value>) {
    let mut sql = String::from("CASE WHEN c.birth_date IS NULL THEN NULL");
    let mut values = Vec::new();
    for (years, label) in AGE_BANDS {
        if years == 0 {
            sql.push_str(&format!(" ELSE '{label}' END"));
        } else {
            // Born on or before this day: at least `years` old today.
            sql.push_str(&format!(" WHEN c.birth_date <= ? THEN '{label}'"));
            values.push(today.checked_sub_months(Months::new(years * 12)).unwrap_or(today).into());
        }
    }
    (sql, values)
}

fn income_band_sql() -> String {
    let mut sql = String::from("CASE WHEN c.income IS NULL THEN NULL");
    for (below, label) in INCOME_BANDS {
        sql.push_str(&format!(" WHEN c.income < {below:.1} THEN '{label}'"));
    }
    sql.push_str(&format!(" ELSE '{TOP_INCOME_BAND}' END"));
    sql
}

/// Seconds since the epoch of a timestamp column, for averaging.
fn epoch_sql(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("EXTRACT(EPOCH FROM {column})"),
        // SQLite keeps timestamps as ISO 8601 text; julianday reads it.
        _ => format!("(julianday({column}) - 2440587.5) * 86400.0"),
    }
}

fn rank(counts: Vec<Count>, order: Option<&[&str]>) -> Vec<Count> {
    let mut counts = counts;
    match order {
        Some(order) => counts.sort_by_key(|count| order.iter().position(|label| *label == count.value)),
        None => counts.sort_by(|a, b| b.customers.cmp(&a.customers).then_with(|| a.value.cmp(&b.value))),
    }
    counts
}

impl Store {
    async fn rows(&self, sql: &str, values: Vec<Value>) -> StoreResult<Row> {
        Ok(self.connection().query_all_raw(statement(self.backend(), sql, values)).await?)
    }

    /// Members of segmentation `id` per segment and value of `expression` (over `c`, the
    /// customer, and `m`, the membership); members without a value are left out.
    async fn counts_by(
        &self,
        id: i64,
        expression: &str,
        mut values: Vec<Value>,
    ) -> StoreResult<BTreeMap<String, Vec<Count>>> {
        let sql = format!(
            "SELECT m.segment, {expression}, COUNT(*) FROM memberships m JOIN customers c ON c.id = m.customer_id \
             WHERE m.segmentation_id = ? GROUP BY 1, 2"
        );
        values.push(id.into());
        let mut found: BTreeMap<String, Vec<Count>> = BTreeMap::new();
        for row in self.rows(&sql, values).await? {
            let value: Option<String> = row.try_get_by_index(1)?;
            if let Some(value) = value.filter(|value| !value.is_empty()) {
                let count = Count { value, customers: row.try_get_by_index(2)? };
                found.entry(row.try_get_by_index(0)?).or_default().push(count);
            }
        }
        Ok(found)
    }

    /// The persona of every segment of segmentation `id`, largest first, as of `now`.
    pub async fn personas(&self, id: i64, now: DateTime<Utc>) -> StoreResult<Vec<Persona>> {
        let population = self.count_customers().await?.max(1) as f64;
        let (age_sql, age_values) = age_band_sql(now.date_naive());
        let mut ages = self.counts_by(id, &age_sql, age_values).await?;
        let mut genders = self.counts_by(id, "c.gender", Vec::new()).await?;
        let mut incomes = self.counts_by(id, &income_band_sql(), Vec::new()).await?;
        let mut countries = self.counts_by(id, "c.country", Vec::new()).await?;
        let mut cities = self.counts_by(id, "c.city", Vec::new()).await?;
        let mut needs = self.segment_needs(id, population).await?;
        let totals = self
            .rows(
                "SELECT CAST(SUM(CASE WHEN kind = 'purchase' THEN COALESCE(amount, 0) ELSE 0 END) AS DOUBLE PRECISION), \
                 CAST(SUM(COALESCE(cost_to_serve, 0)) AS DOUBLE PRECISION) FROM interactions",
                Vec::new(),
            )
            .await?;
        let (total_revenue, total_cost): (Option<f64>, Option<f64>) = match totals.first() {
            Some(row) => (row.try_get_by_index(0)?, row.try_get_by_index(1)?),
            None => (None, None),
        };
        let total_revenue = total_revenue.unwrap_or(0.0);
        let total_profit = total_revenue - total_cost.unwrap_or(0.0);
        let last = epoch_sql(self.backend(), "p.last_purchase");
        let sql = format!(
            "SELECT m.segment, COUNT(*), CAST(AVG(c.income) AS DOUBLE PRECISION), COUNT(p.last_purchase), \
             CAST(AVG({last}) AS DOUBLE PRECISION), CAST(SUM(COALESCE(p.orders, 0)) AS BIGINT), \
             CAST(SUM(COALESCE(p.revenue, 0)) AS DOUBLE PRECISION), CAST(SUM(COALESCE(p.cost, 0)) AS DOUBLE PRECISION) \
             FROM memberships m JOIN customers c ON c.id = m.customer_id LEFT JOIN ( \
               SELECT customer_id, SUM(CASE WHEN kind = 'purchase' THEN 1 ELSE 0 END) AS orders, \
                 SUM(CASE WHEN kind = 'purchase' THEN COALESCE(amount, 0) ELSE 0 END) AS revenue, \
                 SUM(COALESCE(cost_to_serve, 0)) AS cost, \
                 MAX(CASE WHEN kind = 'purchase' THEN occurred_at END) AS last_purchase \
               FROM interactions GROUP BY customer_id) p ON p.customer_id = m.customer_id \
             WHERE m.segmentation_id = ? GROUP BY m.segment"
        );
        let now_epoch = now.timestamp_millis() as f64 / 1000.0;
        let mut personas = Vec::new();
        for row in self.rows(&sql, vec![id.into()]).await? {
            let segment: String = row.try_get_by_index(0)?;
            let size: i64 = row.try_get_by_index(1)?;
            let members = size.max(1) as f64;
            let mean_last: Option<f64> = row.try_get_by_index(4)?;
            let orders: Option<i64> = row.try_get_by_index(5)?;
            let revenue: Option<f64> = row.try_get_by_index(6)?;
            let cost: Option<f64> = row.try_get_by_index(7)?;
            let revenue = revenue.unwrap_or(0.0);
            let profit = revenue - cost.unwrap_or(0.0);
            let take = |found: &mut BTreeMap<String, Vec<Count>>| found.remove(&segment).unwrap_or_default();
            let top = |found: &mut BTreeMap<String, Vec<Count>>| {
                let mut ranked = rank(take(found), None);
                ranked.truncate(TOP);
                ranked
            };
            let age_order: Vec<&str> = AGE_BANDS.iter().map(|(_, label)| *label).collect();
            let income_order: Vec<&str> =
                INCOME_BANDS.iter().map(|(_, label)| *label).chain([TOP_INCOME_BAND]).collect();
            personas.push(Persona {
                ages: rank(take(&mut ages), Some(&age_order)),
                genders: rank(take(&mut genders), None),
                incomes: rank(take(&mut incomes), Some(&income_order)),
                countries: top(&mut countries),
                cities: top(&mut cities),
                needs: needs.remove(&segment).unwrap_or_default(),
                share: size as f64 / population,
                average_income: row.try_get_by_index(2)?,
                buyers: row.try_get_by_index(3)?,
                average_recency_days: mean_last.map(|last| ((now_epoch - last) / 86_400.0).max(0.0)),
                average_frequency: orders.unwrap_or(0) as f64 / members,
                average_monetary: revenue / members,
                revenue_share: if total_revenue > 0.0 { revenue / total_revenue } else { 0.0 },
                profit_share: if total_profit > 0.0 { profit / total_profit } else { 0.0 },
                revenue,
                profit,
                segment,
                size,
            });
        }
        personas.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.segment.cmp(&b.segment)));
        Ok(personas)
    }

    /// Each segment's needs with their lift against the whole population, strongest first.
    async fn segment_needs(&self, id: i64, population: f64) -> StoreResult<HashMap<String, Vec<NeedLift>>> {
        let mut held: HashMap<String, f64> = HashMap::new();
        for row in
            self.rows("SELECT tag, COUNT(DISTINCT customer_id) FROM needs GROUP BY tag", Vec::new()).await?
        {
            held.insert(row.try_get_by_index(0)?, row.try_get_by_index::<i64>(1)? as f64);
        }
        let sizes: HashMap<String, i64> = self.segment_sizes(id).await?.into_iter().collect();
        let sql = "SELECT m.segment, n.tag, COUNT(DISTINCT m.customer_id) FROM memberships m \
                   JOIN needs n ON n.customer_id = m.customer_id WHERE m.segmentation_id = ? GROUP BY 1, 2";
        let mut found: HashMap<String, Vec<NeedLift>> = HashMap::new();
        for row in self.rows(sql, vec![id.into()]).await? {
            let segment: String = row.try_get_by_index(0)?;
            let tag: String = row.try_get_by_index(1)?;
            let customers: i64 = row.try_get_by_index(2)?;
            let share = customers as f64 / sizes.get(&segment).copied().unwrap_or(1).max(1) as f64;
            let base = held.get(&tag).copied().unwrap_or(1.0).max(1.0) / population;
            if share >= MIN_NEED_SUPPORT {
                found.entry(segment).or_default().push(NeedLift {
                    tag,
                    customers,
                    share,
                    lift: share / base,
                });
            }
        }
        for needs in found.values_mut() {
            needs.sort_by(|a, b| {
                b.lift
                    .total_cmp(&a.lift)
                    .then_with(|| b.customers.cmp(&a.customers))
                    .then_with(|| a.tag.cmp(&b.tag))
            });
            needs.truncate(TOP);
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_bands_count_whole_years() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let (sql, values) = age_band_sql(today);
        assert_eq!(values.len(), AGE_BANDS.len() - 1);
        assert_eq!(values[0], Value::from(NaiveDate::from_ymd_opt(1961, 12, 1).unwrap()));
        assert!(sql.ends_with("ELSE 'under 25' END"), "{sql}");
    }

    #[test]
    fn bands_keep_their_order_and_places_their_rank() {
        let count = |value: &str, customers| Count { value: value.to_owned(), customers };
        let order = ["65+", "under 25"];
        let ranked = rank(vec![count("under 25", 9), count("65+", 1)], Some(&order));
        assert_eq!(ranked[0].value, "65+");
        let ranked = rank(vec![count("Lyon", 2), count("Paris", 5), count("Brest", 2)], None);
        assert_eq!(ranked.iter().map(|c| c.value.as_str()).collect::<Vec<_>>(), ["Paris", "Brest", "Lyon"]);
        assert!(income_band_sql().contains("WHEN c.income < 25000.0 THEN 'under 25k'"));
    }
}

//! Batched writes shared by bulk import and single writes from the API.
//!
//! Every write is an idempotent multi-row upsert. Each batch runs two statements: an
//! `INSERT ... ON CONFLICT DO NOTHING` that counts the new rows, then (only if some rows
//! already existed) an `INSERT ... ON CONFLICT DO UPDATE ... WHERE <something differs>` that
//! counts the rows really changed. A value that is not known (`NULL`) never erases a stored one.

use crate::entity::{customer, interaction, need};
use crate::error::{StoreError, StoreResult};
use crate::sql::{MAX_PARAMETERS, statement};
pub use crate::written::WriteCounts;
use kindred_domain::{Customer, Interaction, Need, Tie};
use sea_orm::sea_query::{Expr, IntoIden, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Value};
use std::collections::{HashMap, HashSet};

/// `excluded.col IS NOT NULL AND excluded.col` differs from `table.col`, in the dialect.
fn differs(backend: DbBackend, table: &str, column: &str, keep_when_null: bool) -> String {
    let distinct = if backend == DbBackend::Postgres { "IS DISTINCT FROM" } else { "IS NOT" };
    let changed = format!("excluded.{column} {distinct} {table}.{column}");
    if keep_when_null {
        format!("(excluded.{column} IS NOT NULL AND {changed})")
    } else {
        format!("({changed})")
    }
}

/// Runs the insert-then-update pair for one chunk of rows and counts what happened.
async fn upsert_chunk<C: ConnectionTrait>(
    conn: &C,
    insert: sea_orm::sea_query::InsertStatement,
    table: &str,
    key: &[&str],
    columns: &[&str],
    keep_when_null: bool,
    rows: u64,
) -> StoreResult<WriteCounts> {
    let backend = conn.get_database_backend();
    let key_idens: Vec<_> = key.iter().map(|k| sea_orm::sea_query::Alias::new(*k).into_iden()).collect();
    let mut first = insert.clone();
    first.on_conflict(OnConflict::columns(key_idens.clone()).do_nothing().to_owned());
    let inserted = conn.execute(&first).await?.rows_affected();
    if inserted == rows || columns.is_empty() {
        return Ok(WriteCounts { inserted, updated: 0, unchanged: rows - inserted });
    }
    let mut update = OnConflict::columns(key_idens);
    for column in columns {
        let value = if keep_when_null {
            format!("COALESCE(excluded.{column}, {table}.{column})")
        } else {
            format!("excluded.{column}")
        };
        update.value(sea_orm::sea_query::Alias::new(*column), Expr::cust(value));
    }
    update.value(sea_orm::sea_query::Alias::new("updated_at"), Expr::current_timestamp());
    let condition =
        columns.iter().map(|c| differs(backend, table, c, keep_when_null)).collect::<Vec<_>>().join(" OR ");
    update.action_and_where(Expr::cust(condition));
    let mut second = insert;
    second.on_conflict(update.to_owned());
    let updated = conn.execute(&second).await?.rows_affected();
    Ok(WriteCounts { inserted, updated, unchanged: rows - inserted - updated })
}

/// The customer columns a profile write sets: every import column but the key, plus the
/// JSON columns only the API writes. Their order matches [`customer_values`].
fn profile_columns() -> Vec<&'static str> {
    kindred_domain::CUSTOMER_COLUMNS[1..].iter().copied().chain(["social_handles", "attributes"]).collect()
}

/// Values a customer row binds: one per [`profile_columns`] and the key.
const CUSTOMER_VALUES: usize = 23;

fn customer_values(c: &Customer) -> [Value; CUSTOMER_VALUES] {
    let text = |t: &Option<kindred_domain::Text>| t.as_ref().map(|t| t.as_str().to_owned());
    let lifestyle = (!c.lifestyle.is_empty())
        .then(|| c.lifestyle.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(";"));
    let handles = (!c.social_handles.is_empty()).then(|| serde_json::json!(c.social_handles));
    let attributes = (!c.attributes.is_empty()).then(|| serde_json::Value::Object(c.attributes.clone()));
    [
        c.external_id.as_str().into(),
        c.email.as_ref().map(|e| e.as_str().to_owned()).into(),
        text(&c.first_name).into(),
        text(&c.last_name).into(),
        c.birth_date.map(|d| d.date()).into(),
        c.gender.map(|g| g.as_str().to_owned()).into(),
        c.income.map(|i| i.value()).into(),
        text(&c.education).into(),
        text(&c.occupation).into(),
        c.country.as_ref().map(|c| c.as_str().to_owned()).into(),
        text(&c.region).into(),
        text(&c.city).into(),
        c.location.map(|l| l.lat()).into(),
        c.location.map(|l| l.lon()).into(),
        lifestyle.into(),
        c.consent_marketing.into(),
        c.consent_profiling.into(),
        c.phone.as_ref().map(|p| p.as_str().to_owned()).into(),
        text(&c.address_line1).into(),
        text(&c.address_line2).into(),
        c.postcode.as_ref().map(|p| p.as_str().to_owned()).into(),
        handles.into(),
        attributes.into(),
    ]
}

/// The [`profile_columns`] a customer record sets (knows a value for), in their order.
pub(crate) fn known_profile_columns(c: &Customer) -> Vec<&'static str> {
    let known = [
        c.email.is_some(),
        c.first_name.is_some(),
        c.last_name.is_some(),
        c.birth_date.is_some(),
        c.gender.is_some(),
        c.income.is_some(),
        c.education.is_some(),
        c.occupation.is_some(),
        c.country.is_some(),
        c.region.is_some(),
        c.city.is_some(),
        c.location.is_some(),
        c.location.is_some(),
        !c.lifestyle.is_empty(),
        c.consent_marketing.is_some(),
        c.consent_profiling.is_some(),
        c.phone.is_some(),
        c.address_line1.is_some(),
        c.address_line2.is_some(),
        c.postcode.is_some(),
        !c.social_handles.is_empty(),
        !c.attributes.is_empty(),
    ];
    profile_columns().into_iter().zip(known).filter_map(|(column, known)| known.then_some(column)).collect()
}

/// Folds later records for the same key into earlier ones, so one statement never touches
/// a row twice; later known values win.
fn merge_customer(into: &mut Customer, later: Customer) {
    macro_rules! take { ($($f:ident),*) => { $( if later.$f.is_some() { into.$f = later.$f; } )* } }
    take!(
        email,
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
        phone,
        location,
        consent_marketing,
        consent_profiling
    );
    if !later.lifestyle.is_empty() {
        into.lifestyle = later.lifestyle;
    }
    into.social_handles.extend(later.social_handles);
    into.attributes.extend(later.attributes);
}

/// Upserts customers on their external id. Known values overwrite, unknown ones keep.
pub async fn upsert_customers<C: ConnectionTrait>(
    conn: &C,
    customers: Vec<Customer>,
) -> StoreResult<WriteCounts> {
    let mut order: Vec<Customer> = Vec::with_capacity(customers.len());
    let mut index: HashMap<String, usize> = HashMap::with_capacity(customers.len());
    for customer in customers {
        match index.get(customer.external_id.as_str()) {
            Some(&at) => merge_customer(&mut order[at], customer),
            None => {
                index.insert(customer.external_id.as_str().to_owned(), order.len());
                order.push(customer);
            }
        }
    }
    let mut counts = WriteCounts::default();
    let columns = profile_columns();
    for chunk in order.chunks(MAX_PARAMETERS / CUSTOMER_VALUES) {
        let mut insert = Query::insert();
        insert.into_table(customer::Entity).columns(
            std::iter::once("external_id").chain(columns.iter().copied()).map(sea_orm::sea_query::Alias::new),
        );
        for c in chunk {
            insert.values_panic(customer_values(c).map(Expr::val));
        }
        counts +=
            upsert_chunk(conn, insert, "customers", &["external_id"], &columns, true, chunk.len() as u64)
                .await?;
    }
    Ok(counts)
}

#[derive(FromQueryResult)]
struct IdRow {
    id: i64,
    external_id: String,
}

/// Customer ids found for external ids.
#[derive(Debug, Default)]
pub(crate) struct ResolvedIds {
    /// The customer of each external id.
    pub ids: HashMap<String, i64>,
    /// The external ids that were aliases: ids of customers merged into another.
    pub aliases: HashSet<String>,
    /// How many customers were created.
    pub created: u64,
}

/// Finds the ids of customers by external id (an alias names the customer it was merged
/// into), creating a bare customer for each one not known yet. A customer to create who was
/// erased is refused ([`StoreError::Erased`](crate::StoreError::Erased)).
pub(crate) async fn resolve_customers<C: ConnectionTrait>(
    conn: &C,
    external_ids: &[&str],
) -> StoreResult<ResolvedIds> {
    let mut wanted: Vec<&str> = external_ids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let found = lookup_customers(conn, &wanted).await?;
    let mut resolved = ResolvedIds::default();
    for (external_id, found) in wanted.iter().zip(found) {
        if let Some(found) = found {
            resolved.ids.insert((*external_id).to_owned(), found.id);
            if found.alias {
                resolved.aliases.insert((*external_id).to_owned());
            }
        }
    }
    let missing: Vec<&str> = wanted.into_iter().filter(|id| !resolved.ids.contains_key(*id)).collect();
    if missing.is_empty() {
        return Ok(resolved);
    }
    if let Some(erased) = crate::erasure::erased_among(conn, &missing).await?.into_iter().next() {
        return Err(crate::StoreError::Erased { external_id: erased });
    }
    let (ids, created) = create_customers(conn, &missing).await?;
    resolved.ids.extend(ids);
    resolved.created = created;
    Ok(resolved)
}

/// A customer found by external id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    /// The customer.
    pub id: i64,
    /// Found through an alias: the external id of a customer merged into this one.
    pub alias: bool,
}

/// Ids per lookup statement. They travel as one JSON array and the answer comes back as one
/// (a row per id would cost more to hand over than to find), so the statement's text, and
/// its prepared form, is the same whatever their number.
const LOOKUP_IDS: usize = 50_000;

/// The customer id of each of these external ids, in their order (`None`: no such customer;
/// an alias gives the customer it was merged into).
pub(crate) async fn find_customers<C: ConnectionTrait>(
    conn: &C,
    external_ids: &[&str],
) -> StoreResult<Vec<Option<i64>>> {
    Ok(lookup_customers(conn, external_ids).await?.into_iter().map(|found| found.map(|f| f.id)).collect())
}

/// [`find_customers`], telling which were found through an alias.
pub(crate) async fn lookup_customers<C: ConnectionTrait>(
    conn: &C,
    external_ids: &[&str],
) -> StoreResult<Vec<Option<Found>>> {
    let backend = conn.get_database_backend();
    // An alias comes back negated (ids are positive).
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT json_agg(COALESCE(c.id, -a.customer_id) ORDER BY j.ord)::text \
             FROM json_array_elements_text(?::json) WITH ORDINALITY AS j(value, ord) \
             LEFT JOIN customers c ON c.external_id = j.value \
             LEFT JOIN customer_identifiers a ON c.id IS NULL AND a.kind = 'external_id' AND a.value = j.value"
        }
        _ => {
            "SELECT json_group_array(COALESCE(c.id, -a.customer_id) ORDER BY j.key) FROM json_each(?) AS j \
             LEFT JOIN customers c ON c.external_id = j.value \
             LEFT JOIN customer_identifiers a ON c.id IS NULL AND a.kind = 'external_id' AND a.value = j.value"
        }
    };
    let malformed = |what: String| StoreError::ReadTask(format!("customer lookup: {what}"));
    let mut found = Vec::with_capacity(external_ids.len());
    for chunk in external_ids.chunks(LOOKUP_IDS) {
        let ids = serde_json::to_string(chunk).map_err(|error| malformed(error.to_string()))?;
        let row = conn.query_one_raw(statement(backend, sql, vec![ids.into()])).await?;
        let answer: Option<String> = match row {
            Some(row) => row.try_get_by_index(0)?,
            None => None,
        };
        let ids: Vec<Option<i64>> = match answer {
            Some(answer) => serde_json::from_str(&answer).map_err(|error| malformed(error.to_string()))?,
            None => Vec::new(),
        };
        if ids.len() != chunk.len() {
            return Err(malformed(format!("{} answers for {} ids", ids.len(), chunk.len())));
        }
        found.extend(ids.into_iter().map(|id| id.map(|id| Found { id: id.abs(), alias: id < 0 })));
    }
    Ok(found)
}

/// Creates a bare customer (only its external id) for each of these distinct external ids,
/// which the caller found unknown and not erased. Returns every one's id, with those another
/// writer created meanwhile (PostgreSQL), and how many this call created.
pub(crate) async fn create_customers<C: ConnectionTrait>(
    conn: &C,
    external_ids: &[&str],
) -> StoreResult<(Vec<(String, i64)>, u64)> {
    let mut ids = Vec::with_capacity(external_ids.len());
    let mut created = 0;
    for chunk in external_ids.chunks(MAX_PARAMETERS / 2) {
        let mut insert = Query::insert();
        insert.into_table(customer::Entity).columns([customer::Column::ExternalId]);
        for id in chunk {
            insert.values_panic([Expr::val(*id)]);
        }
        insert.on_conflict(OnConflict::column(customer::Column::ExternalId).do_nothing().to_owned());
        insert.returning(Query::returning().columns([customer::Column::Id, customer::Column::ExternalId]));
        let statement = conn.get_database_backend().build(&insert);
        let rows = IdRow::find_by_statement(statement).all(conn).await?;
        created += rows.len() as u64;
        if rows.len() < chunk.len() {
            // Created meanwhile by another writer (PostgreSQL).
            let made: std::collections::HashSet<&str> =
                rows.iter().map(|row| row.external_id.as_str()).collect();
            let raced: Vec<&str> = chunk.iter().copied().filter(|id| !made.contains(id)).collect();
            let found = find_customers(conn, &raced).await?;
            ids.extend(
                raced
                    .iter()
                    .zip(found)
                    .filter_map(|(external_id, id)| Some(((*external_id).to_owned(), id?))),
            );
        }
        let made: Vec<(String, i64)> = rows.into_iter().map(|row| (row.external_id, row.id)).collect();
        crate::identifiers::attach_bare(conn, &made).await?;
        ids.extend(made);
    }
    Ok((ids, created))
}

/// Inserts interactions for resolved customer ids; one already stored (same source id, or
/// same customer, time, kind and amount) is left as it is.
pub async fn insert_interactions<C: ConnectionTrait>(
    conn: &C,
    rows: &[(i64, &Interaction)],
    aliases: &HashSet<String>,
) -> StoreResult<WriteCounts> {
    crate::customer_locks::hold_customers(conn, rows.iter().map(|(id, _)| *id)).await?;
    let mut counts = WriteCounts::default();
    for chunk in rows.chunks(MAX_PARAMETERS / 10) {
        let inserted = conn.execute(&interactions_insert(chunk, aliases)).await?.rows_affected();
        counts += WriteCounts { inserted, updated: 0, unchanged: chunk.len() as u64 - inserted };
    }
    Ok(counts)
}

/// [`insert_interactions`], returning the rows that were new.
pub(crate) async fn insert_interactions_returning<C: ConnectionTrait>(
    conn: &C,
    rows: &[(i64, &Interaction)],
    aliases: &HashSet<String>,
) -> StoreResult<Vec<interaction::Model>> {
    crate::customer_locks::hold_customers(conn, rows.iter().map(|(id, _)| *id)).await?;
    let mut inserted = Vec::new();
    for chunk in rows.chunks(MAX_PARAMETERS / 10) {
        let mut insert = interactions_insert(chunk, aliases);
        insert.returning_all();
        let statement = conn.get_database_backend().build(&insert);
        inserted.extend(interaction::Model::find_by_statement(statement).all(conn).await?);
    }
    Ok(inserted)
}

/// The external id a row naming `external_id` arrived under: set only for an alias.
fn arrived_under(external_id: &str, aliases: &HashSet<String>) -> Option<String> {
    aliases.contains(external_id).then(|| external_id.to_owned())
}

/// One multi-row insert of interactions; a row that any unique index (source id, or the
/// natural key) finds stored already is skipped.
fn interactions_insert(
    rows: &[(i64, &Interaction)],
    aliases: &HashSet<String>,
) -> sea_orm::sea_query::InsertStatement {
    let mut insert = Query::insert();
    insert.into_table(interaction::Entity).columns([
        interaction::Column::CustomerId,
        interaction::Column::OccurredAt,
        interaction::Column::Channel,
        interaction::Column::Kind,
        interaction::Column::Amount,
        interaction::Column::Currency,
        interaction::Column::CostToServe,
        interaction::Column::Text,
        interaction::Column::SourceId,
        interaction::Column::ArrivedUnder,
    ]);
    for (customer_id, i) in rows {
        let values: [Value; 10] = [
            (*customer_id).into(),
            i.occurred_at.into(),
            i.channel.as_ref().map(|c| c.as_str().to_owned()).into(),
            i.kind.as_str().into(),
            i.amount.map(|a| a.value()).into(),
            i.currency.map(|c| c.code().to_owned()).into(),
            i.cost_to_serve.map(|a| a.value()).into(),
            i.text.clone().into(),
            i.source_id.as_ref().map(|s| s.as_str().to_owned()).into(),
            arrived_under(i.customer_external_id.as_str(), aliases).into(),
        ];
        insert.values_panic(values.map(Expr::val));
    }
    insert.on_conflict(OnConflict::new().do_nothing().to_owned());
    insert
}

/// Upserts ties for resolved customer ids on (from, to, kind); weight and mutuality are
/// updated.
pub async fn upsert_ties<C: ConnectionTrait>(
    conn: &C,
    rows: &[(i64, i64, &Tie)],
    aliases: &HashSet<String>,
) -> StoreResult<WriteCounts> {
    // The last row of each (from, to, kind) wins. Kept in key order: the rows a statement
    // writes then lie side by side in the unique index.
    let key = |at: usize| {
        let (from, to, tie) = rows[at];
        (from, to, tie.kind().as_str())
    };
    let mut keep: Vec<usize> = (0..rows.len()).collect();
    keep.sort_unstable_by(|a, b| key(*a).cmp(&key(*b)).then(b.cmp(a)));
    keep.dedup_by_key(|at| key(*at));
    let mut counts = WriteCounts { unchanged: (rows.len() - keep.len()) as u64, ..Default::default() };
    let backend = conn.get_database_backend();
    let chunks: Vec<&[usize]> = keep.chunks(MAX_PARAMETERS / 7).collect();
    let build = |chunk: &[usize], update: bool| {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 7);
        for &at in chunk {
            let (from, to, tie) = rows[at];
            values.extend([
                from.into(),
                to.into(),
                tie.kind().as_str().into(),
                tie.weight().value().into(),
                tie.mutual().into(),
                arrived_under(tie.from().as_str(), aliases).into(),
                arrived_under(tie.to().as_str(), aliases).into(),
            ]);
        }
        statement(backend, &ties_sql(backend, chunk.len(), update), values)
    };
    let mut next = chunks.first().map(|chunk| build(chunk, false));
    for (at, chunk) in chunks.iter().enumerate() {
        let Some(insert) = next.take() else { break };
        // The next statement is built while this one runs.
        let (inserted, built) = futures::future::join(conn.execute_raw(insert), async {
            chunks.get(at + 1).map(|chunk| build(chunk, false))
        })
        .await;
        next = built;
        let (inserted, rows) = (inserted?.rows_affected(), chunk.len() as u64);
        if inserted == rows {
            counts.inserted += inserted;
            continue;
        }
        let updated = conn.execute_raw(build(chunk, true)).await?.rows_affected();
        counts += WriteCounts { inserted, updated, unchanged: rows - inserted - updated };
    }
    Ok(counts)
}

/// The statement that writes `rows` ties: inserts the new ones (`update` false), or updates
/// the stored ones whose weight or mutuality differ (`update` true; new ones are inserted
/// too, but the first statement has written them already).
fn ties_sql(backend: DbBackend, rows: usize, update: bool) -> String {
    let mut sql = String::with_capacity(rows * 17 + 300);
    sql.push_str("INSERT INTO ties (from_id, to_id, kind, weight, mutual, from_arrived_under, to_arrived_under) VALUES ");
    for row in 0..rows {
        sql.push_str(if row == 0 { "(?, ?, ?, ?, ?, ?, ?)" } else { ", (?, ?, ?, ?, ?, ?, ?)" });
    }
    sql.push_str(" ON CONFLICT (from_id, to_id, kind) ");
    if update {
        sql.push_str(
            "DO UPDATE SET weight = excluded.weight, mutual = excluded.mutual, updated_at = CURRENT_TIMESTAMP WHERE ",
        );
        sql.push_str(&differs(backend, "ties", "weight", false));
        sql.push_str(" OR ");
        sql.push_str(&differs(backend, "ties", "mutual", false));
    } else {
        sql.push_str("DO NOTHING");
    }
    sql
}

/// Upserts needs for resolved customer ids on (customer, tag); kind, source and weight are
/// updated.
pub async fn upsert_needs<C: ConnectionTrait>(
    conn: &C,
    rows: &[(i64, &Need)],
    aliases: &HashSet<String>,
) -> StoreResult<WriteCounts> {
    let mut latest: HashMap<(i64, &str), usize> = HashMap::with_capacity(rows.len());
    for (at, (customer_id, need)) in rows.iter().enumerate() {
        latest.insert((*customer_id, need.tag.as_str()), at);
    }
    let mut keep: Vec<usize> = latest.into_values().collect();
    keep.sort_unstable();
    let mut counts = WriteCounts { unchanged: (rows.len() - keep.len()) as u64, ..Default::default() };
    for chunk in keep.chunks(MAX_PARAMETERS / 6) {
        let mut insert = Query::insert();
        insert.into_table(need::Entity).columns([
            need::Column::CustomerId,
            need::Column::Tag,
            need::Column::Kind,
            need::Column::Source,
            need::Column::Weight,
            need::Column::ArrivedUnder,
        ]);
        for &at in chunk {
            let (customer_id, need) = rows[at];
            let values: [Value; 6] = [
                customer_id.into(),
                need.tag.as_str().into(),
                need.kind.as_str().into(),
                need.source.as_str().into(),
                need.weight.value().into(),
                arrived_under(need.customer_external_id.as_str(), aliases).into(),
            ];
            insert.values_panic(values.map(Expr::val));
        }
        counts += upsert_chunk(
            conn,
            insert,
            "needs",
            &["customer_id", "tag"],
            &["kind", "source", "weight"],
            false,
            chunk.len() as u64,
        )
        .await?;
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_are_written_by_one_statement_per_pass() {
        let insert = ties_sql(DbBackend::Sqlite, 3, false);
        assert_eq!(insert.matches('?').count(), 21);
        assert!(insert.ends_with("ON CONFLICT (from_id, to_id, kind) DO NOTHING"), "{insert}");
        let update = ties_sql(DbBackend::Postgres, 1, true);
        assert!(update.contains("WHERE (excluded.weight IS DISTINCT FROM ties.weight)"), "{update}");
        assert!(update.contains("OR (excluded.mutual IS DISTINCT FROM ties.mutual)"), "{update}");
        assert!(ties_sql(DbBackend::Sqlite, 1, true).contains("(excluded.weight IS NOT ties.weight)"));
    }

    #[test]
    fn a_customer_row_binds_one_value_per_column() {
        assert_eq!(profile_columns().len() + 1, CUSTOMER_VALUES, "the key, then every profile column");
    }

    #[test]
    fn a_record_sets_the_columns_it_knows() {
        let draft = kindred_domain::CustomerDraft {
            external_id: "a".into(),
            email: Some("a@x.org".into()),
            lat: Some(41.1),
            lon: Some(-8.6),
            consent_marketing: Some(false),
            ..Default::default()
        };
        let record = draft.validate(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()).unwrap();
        assert_eq!(known_profile_columns(&record), ["email", "lat", "lon", "consent_marketing"]);
        // Every column is known by some record: the list lines up with the columns.
        let values = customer_values(&record);
        let known: Vec<&str> = profile_columns()
            .into_iter()
            .zip(&values[1..])
            .filter(|(_, value)| !format!("{value:?}").contains("(None)"))
            .map(|(column, _)| column)
            .collect();
        assert_eq!(known, known_profile_columns(&record));
    }
}

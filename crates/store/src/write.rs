//! Batched writes shared by bulk import and single writes from the API.
//!
//! Every write is an idempotent multi-row upsert. Each batch runs two statements: an
//! `INSERT ... ON CONFLICT DO NOTHING` that counts the new rows, then (only if some rows
//! already existed) an `INSERT ... ON CONFLICT DO UPDATE ... WHERE <something differs>` that
//! counts the rows really changed. A value that is not known (`NULL`) never erases a stored one.

use crate::entity::{customer, interaction, need, tie};
use crate::error::StoreResult;
use crate::sql::MAX_PARAMETERS;
use kindred_domain::{Customer, Interaction, Need, Tie};
use sea_orm::sea_query::{Expr, ExprTrait, IntoIden, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Value};
use std::collections::HashMap;

/// What a batch write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteCounts {
    /// Rows that did not exist before.
    pub inserted: u64,
    /// Rows that existed and were changed.
    pub updated: u64,
    /// Rows that existed already exactly as given.
    pub unchanged: u64,
}

impl std::ops::AddAssign for WriteCounts {
    fn add_assign(&mut self, other: Self) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
}

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

fn customer_values(c: &Customer) -> [Value; 19] {
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
        handles.into(),
        attributes.into(),
    ]
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
    for chunk in order.chunks(MAX_PARAMETERS / 19) {
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

/// Finds the ids of customers by external id, creating a bare customer for each one not
/// known yet. Returns the ids and how many customers were created. A customer to create
/// who was erased is refused ([`StoreError::Erased`](crate::StoreError::Erased)).
pub async fn resolve_customers<C: ConnectionTrait>(
    conn: &C,
    external_ids: &[&str],
) -> StoreResult<(HashMap<String, i64>, u64)> {
    resolve_customers_with(conn, external_ids, true).await
}

/// [`resolve_customers`], checking the tombstones of the customers to create only when
/// `check_erased` (an import has checked its whole chunk already).
pub(crate) async fn resolve_customers_with<C: ConnectionTrait>(
    conn: &C,
    external_ids: &[&str],
    check_erased: bool,
) -> StoreResult<(HashMap<String, i64>, u64)> {
    let mut found = HashMap::with_capacity(external_ids.len());
    let mut created = 0;
    let mut wanted: Vec<&str> = external_ids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    for chunk in wanted.chunks(MAX_PARAMETERS / 2) {
        lookup_ids(conn, chunk, &mut found).await?;
        let missing: Vec<&str> = chunk.iter().copied().filter(|id| !found.contains_key(*id)).collect();
        if missing.is_empty() {
            continue;
        }
        if check_erased
            && let Some(erased) = crate::erasure::erased_among(conn, &missing).await?.into_iter().next()
        {
            return Err(crate::StoreError::Erased { external_id: erased });
        }
        let mut insert = Query::insert();
        insert.into_table(customer::Entity).columns([customer::Column::ExternalId]);
        for id in &missing {
            insert.values_panic([Expr::val(*id)]);
        }
        insert.on_conflict(OnConflict::column(customer::Column::ExternalId).do_nothing().to_owned());
        insert.returning(Query::returning().columns([customer::Column::Id, customer::Column::ExternalId]));
        let statement = conn.get_database_backend().build(&insert);
        for row in IdRow::find_by_statement(statement).all(conn).await? {
            created += 1;
            found.insert(row.external_id, row.id);
        }
        // Created meanwhile by another writer (PostgreSQL).
        let raced: Vec<&str> = missing.into_iter().filter(|id| !found.contains_key(*id)).collect();
        if !raced.is_empty() {
            lookup_ids(conn, &raced, &mut found).await?;
        }
    }
    Ok((found, created))
}

async fn lookup_ids<C: ConnectionTrait>(
    conn: &C,
    external_ids: &[&str],
    found: &mut HashMap<String, i64>,
) -> StoreResult<()> {
    let select = Query::select()
        .columns([customer::Column::Id, customer::Column::ExternalId])
        .from(customer::Entity)
        .and_where(Expr::col(customer::Column::ExternalId).is_in(external_ids.iter().copied()))
        .to_owned();
    for row in IdRow::find_by_statement(conn.get_database_backend().build(&select)).all(conn).await? {
        found.insert(row.external_id, row.id);
    }
    Ok(())
}

/// Inserts interactions for resolved customer ids; one already stored (same source id, or
/// same customer, time, kind and amount) is left as it is.
pub async fn insert_interactions<C: ConnectionTrait>(
    conn: &C,
    rows: &[(i64, &Interaction)],
) -> StoreResult<WriteCounts> {
    let mut counts = WriteCounts::default();
    for chunk in rows.chunks(MAX_PARAMETERS / 9) {
        let inserted = conn.execute(&interactions_insert(chunk)).await?.rows_affected();
        counts += WriteCounts { inserted, updated: 0, unchanged: chunk.len() as u64 - inserted };
    }
    Ok(counts)
}

/// [`insert_interactions`], returning the rows that were new.
pub(crate) async fn insert_interactions_returning<C: ConnectionTrait>(
    conn: &C,
    rows: &[(i64, &Interaction)],
) -> StoreResult<Vec<interaction::Model>> {
    let mut inserted = Vec::new();
    for chunk in rows.chunks(MAX_PARAMETERS / 9) {
        let mut insert = interactions_insert(chunk);
        insert.returning_all();
        let statement = conn.get_database_backend().build(&insert);
        inserted.extend(interaction::Model::find_by_statement(statement).all(conn).await?);
    }
    Ok(inserted)
}

/// One multi-row insert of interactions; a row that any unique index (source id, or the
/// natural key) finds stored already is skipped.
fn interactions_insert(rows: &[(i64, &Interaction)]) -> sea_orm::sea_query::InsertStatement {
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
    ]);
    for (customer_id, i) in rows {
        let values: [Value; 9] = [
            (*customer_id).into(),
            i.occurred_at.into(),
            i.channel.as_ref().map(|c| c.as_str().to_owned()).into(),
            i.kind.as_str().into(),
            i.amount.map(|a| a.value()).into(),
            i.currency.map(|c| c.code().to_owned()).into(),
            i.cost_to_serve.map(|a| a.value()).into(),
            i.text.clone().into(),
            i.source_id.as_ref().map(|s| s.as_str().to_owned()).into(),
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
) -> StoreResult<WriteCounts> {
    let mut latest: HashMap<(i64, i64, &str), usize> = HashMap::with_capacity(rows.len());
    for (at, (from, to, tie)) in rows.iter().enumerate() {
        latest.insert((*from, *to, tie.kind().as_str()), at);
    }
    let mut keep: Vec<usize> = latest.into_values().collect();
    keep.sort_unstable();
    let mut counts = WriteCounts { unchanged: (rows.len() - keep.len()) as u64, ..Default::default() };
    for chunk in keep.chunks(MAX_PARAMETERS / 5) {
        let mut insert = Query::insert();
        insert.into_table(tie::Entity).columns([
            tie::Column::FromId,
            tie::Column::ToId,
            tie::Column::Kind,
            tie::Column::Weight,
            tie::Column::Mutual,
        ]);
        for &at in chunk {
            let (from, to, tie) = rows[at];
            let values: [Value; 5] = [
                from.into(),
                to.into(),
                tie.kind().as_str().into(),
                tie.weight().value().into(),
                tie.mutual().into(),
            ];
            insert.values_panic(values.map(Expr::val));
        }
        counts += upsert_chunk(
            conn,
            insert,
            "ties",
            &["from_id", "to_id", "kind"],
            &["weight", "mutual"],
            false,
            chunk.len() as u64,
        )
        .await?;
    }
    Ok(counts)
}

/// Upserts needs for resolved customer ids on (customer, tag); kind, source and weight are
/// updated.
pub async fn upsert_needs<C: ConnectionTrait>(conn: &C, rows: &[(i64, &Need)]) -> StoreResult<WriteCounts> {
    let mut latest: HashMap<(i64, &str), usize> = HashMap::with_capacity(rows.len());
    for (at, (customer_id, need)) in rows.iter().enumerate() {
        latest.insert((*customer_id, need.tag.as_str()), at);
    }
    let mut keep: Vec<usize> = latest.into_values().collect();
    keep.sort_unstable();
    let mut counts = WriteCounts { unchanged: (rows.len() - keep.len()) as u64, ..Default::default() };
    for chunk in keep.chunks(MAX_PARAMETERS / 5) {
        let mut insert = Query::insert();
        insert.into_table(need::Entity).columns([
            need::Column::CustomerId,
            need::Column::Tag,
            need::Column::Kind,
            need::Column::Source,
            need::Column::Weight,
        ]);
        for &at in chunk {
            let (customer_id, need) = rows[at];
            let values: [Value; 5] = [
                customer_id.into(),
                need.tag.as_str().into(),
                need.kind.as_str().into(),
                need.source.as_str().into(),
                need.weight.value().into(),
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

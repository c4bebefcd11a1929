//! The input tables a strategy asked for, built from the store as Arrow record batches.

use crate::table_sink::TableSink;
use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_schema::{Field, Schema, SchemaRef};
use chrono::{DateTime, NaiveDate, Utc};
use kindred_plugin_abi::TableId;
use kindred_store::entity::{customer, interaction, need, tie};
use kindred_store::{Store, StoreError};
use std::collections::HashSet;
use std::sync::Arc;

/// Rows per record batch when streaming the population.
pub const BATCH_ROWS: u64 = 65_536;

/// One table's batches, projected to the columns asked for.
#[derive(Debug, Clone)]
pub struct TableData {
    /// Which table.
    pub table: TableId,
    /// Its projected schema.
    pub schema: SchemaRef,
    /// Its batches.
    pub batches: Vec<RecordBatch>,
}

impl TableData {
    /// How many rows in all.
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// The projected schema of `table` with the columns at `columns`.
pub fn schema(table: TableId, columns: &[usize]) -> SchemaRef {
    let offered = table.columns();
    let fields: Vec<Field> = columns
        .iter()
        .map(|index| {
            let (name, kind) = offered[*index];
            Field::new(name, kind.data_type(), *index >= table.key_columns())
        })
        .collect();
    Arc::new(Schema::new(fields))
}

fn days(date: NaiveDate) -> i32 {
    (date - NaiveDate::default()).num_days() as i32
}

fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

fn tags<'a>(rows: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    let mut builder = ListBuilder::new(StringBuilder::new());
    for tags in rows {
        match tags {
            Some(tags) => {
                for tag in tags.split(';').filter(|tag| !tag.is_empty()) {
                    builder.values().append_value(tag);
                }
                builder.append(true);
            }
            None => builder.append(false),
        }
    }
    Arc::new(builder.finish())
}

/// A column of a table as an Arrow array, from the rows' models.
trait Columns: Sized {
    fn column(name: &str, rows: &[Self]) -> ArrayRef;
}

impl Columns for customer::Model {
    fn column(name: &str, rows: &[Self]) -> ArrayRef {
        let text = |get: fn(&Self) -> Option<&str>| -> ArrayRef {
            Arc::new(rows.iter().map(get).collect::<StringArray>())
        };
        let float = |get: fn(&Self) -> Option<f64>| -> ArrayRef {
            Arc::new(rows.iter().map(get).collect::<Float64Array>())
        };
        let flag = |get: fn(&Self) -> Option<bool>| -> ArrayRef {
            Arc::new(rows.iter().map(get).collect::<BooleanArray>())
        };
        match name {
            "id" => Arc::new(rows.iter().map(|r| r.id).collect::<Int64Array>()),
            "external_id" => text(|r| Some(r.external_id.as_str())),
            "birth_date" => Arc::new(rows.iter().map(|r| r.birth_date.map(days)).collect::<Date32Array>()),
            "gender" => text(|r| r.gender.as_deref()),
            "income" => float(|r| r.income),
            "education" => text(|r| r.education.as_deref()),
            "occupation" => text(|r| r.occupation.as_deref()),
            "country" => text(|r| r.country.as_deref()),
            "region" => text(|r| r.region.as_deref()),
            "city" => text(|r| r.city.as_deref()),
            "lat" => float(|r| r.lat),
            "lon" => float(|r| r.lon),
            "lifestyle" => tags(rows.iter().map(|r| r.lifestyle.as_deref())),
            "consent_marketing" => flag(|r| r.consent_marketing),
            "consent_profiling" => flag(|r| r.consent_profiling),
            _ => Arc::new(
                TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| micros(r.created_at)))
                    .with_timezone("UTC"),
            ),
        }
    }
}

impl Columns for interaction::Model {
    fn column(name: &str, rows: &[Self]) -> ArrayRef {
        let text = |get: fn(&Self) -> Option<&str>| -> ArrayRef {
            Arc::new(rows.iter().map(get).collect::<StringArray>())
        };
        let float = |get: fn(&Self) -> Option<f64>| -> ArrayRef {
            Arc::new(rows.iter().map(get).collect::<Float64Array>())
        };
        match name {
            "customer_id" => Arc::new(rows.iter().map(|r| r.customer_id).collect::<Int64Array>()),
            "occurred_at" => Arc::new(
                TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| micros(r.occurred_at)))
                    .with_timezone("UTC"),
            ),
            "channel" => text(|r| r.channel.as_deref()),
            "kind" => text(|r| Some(r.kind.as_str())),
            "amount" => float(|r| r.amount),
            "currency" => text(|r| r.currency.as_deref()),
            "text" => text(|r| r.text.as_deref()),
            _ => float(|r| r.cost_to_serve),
        }
    }
}

impl Columns for tie::Model {
    fn column(name: &str, rows: &[Self]) -> ArrayRef {
        match name {
            "from_id" => Arc::new(rows.iter().map(|r| r.from_id).collect::<Int64Array>()),
            "to_id" => Arc::new(rows.iter().map(|r| r.to_id).collect::<Int64Array>()),
            "kind" => Arc::new(rows.iter().map(|r| Some(r.kind.as_str())).collect::<StringArray>()),
            "weight" => Arc::new(rows.iter().map(|r| Some(r.weight)).collect::<Float64Array>()),
            _ => Arc::new(rows.iter().map(|r| Some(r.mutual)).collect::<BooleanArray>()),
        }
    }
}

impl Columns for need::Model {
    fn column(name: &str, rows: &[Self]) -> ArrayRef {
        let text = |get: fn(&Self) -> &str| -> ArrayRef {
            Arc::new(rows.iter().map(|r| Some(get(r))).collect::<StringArray>())
        };
        match name {
            "customer_id" => Arc::new(rows.iter().map(|r| r.customer_id).collect::<Int64Array>()),
            "tag" => text(|r| &r.tag),
            "kind" => text(|r| &r.kind),
            "source" => text(|r| &r.source),
            _ => Arc::new(rows.iter().map(|r| Some(r.weight)).collect::<Float64Array>()),
        }
    }
}

fn batch<M: Columns>(schema: &SchemaRef, rows: &[M]) -> Result<RecordBatch, StoreError> {
    let columns = schema.fields().iter().map(|field| M::column(field.name(), rows)).collect();
    RecordBatch::try_new(schema.clone(), columns).map_err(|error| StoreError::ReadTask(error.to_string()))
}

fn store_error(error: StoreError) -> crate::PluginError {
    crate::PluginError::Store(error.to_string())
}

/// Tables with more ids than this are streamed in parallel parts, one per core.
const PARALLEL_ABOVE_IDS: i64 = 200_000;

/// The id ranges to stream `table` in: one per core for a large table.
async fn parts(store: &Store, table: TableId) -> Result<Vec<Option<(i64, i64)>>, crate::PluginError> {
    let Some((first, last)) = store.id_bounds(table.name()).await.map_err(store_error)? else {
        return Ok(vec![None]);
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from).min(8) as i64;
    Ok(id_ranges(first, last, cores, PARALLEL_ABOVE_IDS))
}

/// `parts` inclusive ranges that cover `first..=last` in order, or one open range when the
/// span is at most `min_span` or there is one part.
fn id_ranges(first: i64, last: i64, parts: i64, min_span: i64) -> Vec<Option<(i64, i64)>> {
    let span = last - first + 1;
    if parts < 2 || span <= min_span {
        return vec![None];
    }
    let step = (span + parts - 1) / parts;
    (0..parts)
        .map(|part| (first + part * step, (first + (part + 1) * step - 1).min(last)))
        .filter(|(from, to)| from <= to)
        .map(Some)
        .collect()
}

/// Every row of `table` streamed column by column (SQLite's direct reads, PostgreSQL's binary
/// `COPY`), in parallel id ranges, in id order.
async fn streamed(
    store: &Store,
    table: TableId,
    columns: &[usize],
    schema: &SchemaRef,
) -> Result<Vec<RecordBatch>, crate::PluginError> {
    let reads = parts(store, table).await?.into_iter().map(|ids| {
        let sink = TableSink::new(table, columns, schema.clone(), BATCH_ROWS as usize);
        let names = sink.column_names();
        async move { store.stream_table(table.name(), &names, ids, sink).await }
    });
    let sinks = futures::future::try_join_all(reads).await.map_err(store_error)?;
    let mut batches = Vec::new();
    for sink in sinks {
        batches.extend(sink.finish().map_err(crate::PluginError::Store)?);
    }
    Ok(batches)
}

/// Streams every row of the tables asked for from the store, `BATCH_ROWS` rows per batch:
/// column by column on a SQLite file and PostgreSQL, a page of models at a time on an
/// in-memory database. Customers who
/// refused profiling are left out, with their interactions, needs and every tie touching them.
pub async fn population(
    store: &Store,
    requested: &[(TableId, Vec<usize>)],
) -> Result<Vec<TableData>, crate::PluginError> {
    let mut tables = Vec::with_capacity(requested.len());
    for (table, columns) in requested {
        let schema = schema(*table, columns);
        if *table == TableId::Segments {
            // Only a refit has segments to give: see `fill_segments`.
            tables.push(TableData { table: *table, schema, batches: Vec::new() });
            continue;
        }
        if store.can_stream() {
            let batches = streamed(store, *table, columns, &schema).await?;
            tables.push(TableData { table: *table, schema, batches });
            continue;
        }
        let mut batches = Vec::new();
        let mut after = i64::MIN;
        loop {
            let (next, rows) = match table {
                TableId::Customers => {
                    let rows = store.scan_customers(after, BATCH_ROWS).await.map_err(store_error)?;
                    (rows.last().map(|r| r.id), batch(&schema, &rows).map_err(store_error)?)
                }
                TableId::Interactions => {
                    let rows = store.scan_interactions(after, BATCH_ROWS).await.map_err(store_error)?;
                    (rows.last().map(|r| r.id), batch(&schema, &rows).map_err(store_error)?)
                }
                TableId::Ties => {
                    let rows = store.scan_ties(after, BATCH_ROWS).await.map_err(store_error)?;
                    (rows.last().map(|r| r.id), batch(&schema, &rows).map_err(store_error)?)
                }
                TableId::Needs => {
                    let rows = store.scan_needs(after, BATCH_ROWS).await.map_err(store_error)?;
                    (rows.last().map(|r| r.id), batch(&schema, &rows).map_err(store_error)?)
                }
                TableId::Segments => break,
            };
            let full = rows.num_rows() as u64 == BATCH_ROWS;
            if rows.num_rows() > 0 {
                batches.push(rows);
            }
            match next {
                Some(id) if full => after = id,
                _ => break,
            }
        }
        tables.push(TableData { table: *table, schema, batches });
    }
    Ok(tables)
}

/// Fills the `segments` table of `tables`, if asked for, with the current members of
/// segmentation `segmentation_id` among the customers of the `customers` table (or all of
/// them when it was not asked for).
pub async fn fill_segments(
    store: &Store,
    tables: &mut [TableData],
    segmentation_id: i64,
) -> Result<(), crate::PluginError> {
    let Some(at) = tables.iter().position(|table| table.table == TableId::Segments) else {
        return Ok(());
    };
    let members = store.members_of(segmentation_id).await.map_err(store_error)?;
    let schema = tables[at].schema.clone();
    let mut batches = Vec::new();
    for chunk in members.chunks(BATCH_ROWS as usize) {
        let columns: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .map(|field| -> ArrayRef {
                match field.name().as_str() {
                    "customer_id" => Arc::new(chunk.iter().map(|m| m.customer_id).collect::<Int64Array>()),
                    _ => Arc::new(chunk.iter().map(|m| Some(m.segment.as_str())).collect::<StringArray>()),
                }
            })
            .collect();
        batches.push(
            RecordBatch::try_new(schema.clone(), columns)
                .map_err(|error| crate::PluginError::Store(error.to_string()))?,
        );
    }
    tables[at].batches = batches;
    Ok(())
}

/// The tables asked for, limited to these customers (ties touching any of them), leaving out
/// those who refused profiling as [`population`] does.
pub async fn for_customers(
    store: &Store,
    requested: &[(TableId, Vec<usize>)],
    customer_ids: &[i64],
) -> Result<Vec<TableData>, crate::PluginError> {
    let mut tables = Vec::with_capacity(requested.len());
    for (table, columns) in requested {
        let schema = schema(*table, columns);
        let rows = match table {
            TableId::Customers => {
                batch(&schema, &store.profiled_customers_among(customer_ids).await.map_err(store_error)?)
            }
            TableId::Interactions => {
                batch(&schema, &store.all_interactions_of(customer_ids).await.map_err(store_error)?)
            }
            TableId::Ties => batch(&schema, &store.all_ties_of(customer_ids).await.map_err(store_error)?),
            TableId::Needs => batch(&schema, &store.all_needs_of(customer_ids).await.map_err(store_error)?),
            // `assign` is given no segments: it places customers by what fit learned.
            TableId::Segments => Ok(RecordBatch::new_empty(schema.clone())),
        }
        .map_err(store_error)?;
        tables.push(TableData { table: *table, schema, batches: vec![rows] });
    }
    Ok(tables)
}

/// The tables asked for, for at most `size` customers drawn at random from those who did not
/// refuse profiling, with only the ties between two customers drawn. Returns the tables and
/// how many customers the sample was drawn from; a sample as large as that is everyone.
pub async fn sample(
    store: &Store,
    requested: &[(TableId, Vec<usize>)],
    size: usize,
) -> Result<(Vec<TableData>, usize), crate::PluginError> {
    let ids = store.profiled_customer_ids().await.map_err(store_error)?;
    if size >= ids.len() {
        return Ok((population(store, requested).await?, ids.len()));
    }
    let drawn = draw(&ids, size, &mut rand::rng());
    let mut tables = for_customers(store, requested, &drawn).await?;
    let drawn: HashSet<i64> = drawn.into_iter().collect();
    for table in tables.iter_mut().filter(|table| table.table == TableId::Ties) {
        for batch in &mut table.batches {
            *batch = ties_within(batch, &drawn).map_err(crate::PluginError::Store)?;
        }
    }
    Ok((tables, ids.len()))
}

/// `size` of `ids` drawn at random without replacement, in ascending order.
fn draw(ids: &[i64], size: usize, rng: &mut impl rand::Rng) -> Vec<i64> {
    let mut drawn: Vec<i64> =
        rand::seq::index::sample(rng, ids.len(), size.min(ids.len())).into_iter().map(|at| ids[at]).collect();
    drawn.sort_unstable();
    drawn
}

/// The rows of a ties batch with both ends in `kept`.
fn ties_within(batch: &RecordBatch, kept: &HashSet<i64>) -> Result<RecordBatch, String> {
    let end = |name: &str| {
        batch
            .column_by_name(name)
            .and_then(|column| column.as_any().downcast_ref::<Int64Array>())
            .ok_or_else(|| format!("the ties batch has no Int64 column {name}"))
    };
    let (from, to) = (end("from_id")?, end("to_id")?);
    let keep: BooleanArray = from
        .values()
        .iter()
        .zip(to.values().iter())
        .map(|(a, b)| Some(kept.contains(a) && kept.contains(b)))
        .collect();
    arrow_select::filter::filter_record_batch(batch, &keep).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_ranges_cover_the_table_in_order_without_overlap() {
        assert_eq!(id_ranges(1, 100, 2, 200), vec![None]);
        assert_eq!(id_ranges(1, 1_000, 1, 10), vec![None]);
        assert_eq!(id_ranges(1, 1_000, 2, 10), vec![Some((1, 500)), Some((501, 1_000))]);
        let ranges: Vec<(i64, i64)> = id_ranges(7, 1_006, 3, 10).into_iter().flatten().collect();
        assert_eq!(ranges, [(7, 340), (341, 674), (675, 1_006)]);
        assert_eq!(id_ranges(1, 3, 8, 0).len(), 3, "no empty ranges");
    }

    #[test]
    fn a_draw_is_distinct_sorted_and_from_the_ids() {
        let ids: Vec<i64> = (0..1_000).map(|n| n * 3).collect();
        let drawn = draw(&ids, 100, &mut rand::rng());
        assert_eq!(drawn.len(), 100);
        assert!(drawn.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(drawn.iter().all(|id| id % 3 == 0 && *id < 3_000));
        assert_eq!(draw(&ids, 5_000, &mut rand::rng()).len(), 1_000, "never more than there are");
    }

    #[test]
    fn only_ties_between_customers_drawn_are_kept() {
        let batch = RecordBatch::try_new(
            schema(TableId::Ties, &[0, 1]),
            vec![Arc::new(Int64Array::from(vec![1, 2, 2, 3])), Arc::new(Int64Array::from(vec![2, 3, 4, 1]))],
        )
        .unwrap();
        let kept = ties_within(&batch, &HashSet::from([1, 2, 3])).unwrap();
        let ends =
            |at: usize| kept.column(at).as_any().downcast_ref::<Int64Array>().unwrap().values().to_vec();
        assert_eq!((ends(0), ends(1)), (vec![1, 2, 3], vec![2, 3, 1]), "the tie 2-4 leaves");
    }
}

//! Running a strategy over the population: create, fit on every customer, assign them in
//! batches, check what comes back.

use crate::batches::AssignBatches;
use crate::error::PluginError;
use crate::host::PluginHost;
use crate::instance::StrategyInstance;
use crate::params::{check_params, merged_params};
use crate::tables::{self, TableData};
use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use kindred_plugin_abi::TableId;
use kindred_store::Store;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Customers per `assign` call.
pub const ASSIGN_BATCH: usize = 10_000;

pub use kindred_plugin_output::Membership;

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunOutput {
    /// Every membership, by customer.
    pub memberships: Vec<Membership>,
    /// Customers in each segment.
    pub sizes: BTreeMap<String, usize>,
    /// Customers the strategy saw.
    pub customers: usize,
    /// Customers in at least one segment.
    pub assigned: usize,
    /// Customers left out because they refused profiling: the strategy never saw them.
    pub excluded: usize,
    /// What fit learned.
    pub model: serde_json::Value,
    /// For a run on a random sample: how many customers it was drawn from.
    pub sampled_from: Option<usize>,
}

/// Whom a run covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// Every customer who did not refuse profiling.
    #[default]
    Everyone,
    /// At most this many of them, drawn at random; ties count only between customers drawn.
    /// A sample as large as the population is everyone.
    Sample(usize),
    /// Everyone, refitting this segmentation: a strategy that reads `segments` is given the
    /// segment each customer holds in it now.
    Refitting(i64),
}

/// Watches a run: told how far it has come, asked whether to stop.
pub trait RunObserver: Send + Sync {
    /// `done` of `total` customers have been assigned.
    fn progress(&self, _done: usize, _total: usize) {}

    /// Whether the run should stop; asked before each stage and each assign batch.
    fn cancelled(&self) -> bool {
        false
    }
}

/// An observer that watches nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unobserved;

impl RunObserver for Unobserved {}

/// A finished run and the fitted instance that made it, ready to assign more customers with
/// what it learned.
#[derive(Debug)]
pub struct FittedRun {
    /// What the run produced.
    pub output: RunOutput,
    /// The fitted instance.
    pub instance: Arc<StrategyInstance>,
}

/// Runs plugin `name` with `params` over every customer in `store` who did not refuse
/// profiling, as of `as_of_micros`. Plugin calls run on the blocking pool; nothing is written.
pub async fn run_strategy(
    store: &Store,
    host: &PluginHost,
    name: &str,
    params: Option<&serde_json::Value>,
    as_of_micros: i64,
) -> Result<RunOutput, PluginError> {
    Ok(run_observed(store, host, name, params, as_of_micros, Scope::Everyone, &Unobserved).await?.output)
}

/// Creates an instance of plugin `name` with `params` laid over the operator's defaults and
/// checked against the strategy's schema.
pub async fn create_instance(
    host: &PluginHost,
    name: &str,
    params: Option<&serde_json::Value>,
) -> Result<StrategyInstance, PluginError> {
    let plugin = host.loaded(name)?;
    let library = plugin
        .library
        .clone()
        .ok_or_else(|| PluginError::Unavailable { name: name.to_owned(), reason: "not loaded".to_owned() })?;
    let params = merged_params(&plugin.default_params, params);
    check_params(&library.description.params_schema, &params)
        .map_err(|errors| PluginError::Params { plugin: name.to_owned(), errors })?;
    let plugin_name = name.to_owned();
    blocking(move || StrategyInstance::create(&plugin_name, &library, &params)).await
}

/// As [`run_strategy`] over `scope`, telling `observer` of its progress and stopping with
/// [`PluginError::Cancelled`] when it asks; returns the fitted instance too.
pub async fn run_observed(
    store: &Store,
    host: &PluginHost,
    name: &str,
    params: Option<&serde_json::Value>,
    as_of_micros: i64,
    scope: Scope,
    observer: &dyn RunObserver,
) -> Result<FittedRun, PluginError> {
    let instance = Arc::new(create_instance(host, name, params).await?);
    let stop = || if observer.cancelled() { Err(PluginError::Cancelled) } else { Ok(()) };
    stop()?;
    let (population, sampled_from) = match scope {
        Scope::Everyone => (tables::population(store, instance.requested_columns()).await?, None),
        Scope::Refitting(segmentation_id) => {
            let mut tables = tables::population(store, instance.requested_columns()).await?;
            tables::fill_segments(store, &mut tables, segmentation_id).await?;
            (tables, None)
        }
        Scope::Sample(size) => {
            let (tables, drawn_from) = tables::sample(store, instance.requested_columns(), size).await?;
            (tables, Some(drawn_from))
        }
    };
    let excluded =
        store.count_refused_profiling().await.map_err(|error| PluginError::Store(error.to_string()))?;
    let customer_ids = customer_ids(&population);
    observer.progress(0, customer_ids.len());
    stop()?;
    let chunks: Vec<&[i64]> = customer_ids.chunks(ASSIGN_BATCH).collect();
    let batches = Arc::new(AssignBatches::new(Arc::new(population), &chunks));
    let (fitting, fitted_on) = (instance.clone(), batches.clone());
    blocking(move || fitting.fit_for_batches(&fitted_on, as_of_micros)).await?;

    let mut memberships = Vec::with_capacity(customer_ids.len());
    let mut done = 0;
    for (index, chunk) in chunks.iter().enumerate() {
        stop()?;
        let (assigning, cut) = (instance.clone(), batches.clone());
        let output = blocking(move || assigning.assign_batch(&cut, index, as_of_micros)).await?;
        let allowed: HashSet<i64> = chunk.iter().copied().collect();
        let checked = check_output(name, &output, &allowed).inspect_err(|error| instance.failed(error))?;
        memberships.extend(checked);
        done += chunk.len();
        observer.progress(done, customer_ids.len());
    }
    drop(batches);
    let modelling = instance.clone();
    let model = blocking(move || modelling.model()).await?;
    let mut sizes = BTreeMap::new();
    for membership in &memberships {
        *sizes.entry(membership.segment.clone()).or_insert(0) += 1;
    }
    let assigned = memberships.iter().map(|m| m.customer_id).collect::<HashSet<_>>().len();
    let output = RunOutput {
        memberships,
        sizes,
        customers: customer_ids.len(),
        assigned,
        excluded: excluded as usize,
        model,
        sampled_from,
    };
    Ok(FittedRun { output, instance })
}

/// Assigns these customers with what `instance` learned in its fit: reads only their rows
/// (and the ties that touch them). Customers not in the store, or who refused profiling, get
/// no membership.
pub async fn assign_customers(
    store: &Store,
    instance: &Arc<StrategyInstance>,
    wanted: &[i64],
    as_of_micros: i64,
) -> Result<Vec<Membership>, PluginError> {
    let mut assigned =
        assign_customers_in_each(store, std::slice::from_ref(instance), wanted, as_of_micros).await;
    assigned.pop().unwrap_or_else(|| Ok(Vec::new()))
}

/// The columns an instance reads, by table.
type Requested = [(TableId, Vec<usize>)];

/// Tables read for the customers, shared by the instances that asked for them.
type TablesRead = Result<Arc<Vec<TableData>>, PluginError>;

/// [`assign_customers`] in several instances at once: the customers' rows are read once for
/// all instances that ask for the same columns, and the instances assign in parallel.
/// Returns one result per instance, in order.
pub async fn assign_customers_in_each(
    store: &Store,
    instances: &[Arc<StrategyInstance>],
    wanted: &[i64],
    as_of_micros: i64,
) -> Vec<Result<Vec<Membership>, PluginError>> {
    let mut read: Vec<(&Requested, TablesRead)> = Vec::new();
    for instance in instances {
        let requested = instance.requested_columns();
        if !read.iter().any(|(columns, _)| *columns == requested) {
            let tables = tables::for_customers(store, requested, wanted).await.map(Arc::new);
            read.push((requested, tables));
        }
    }
    let assigning = instances.iter().map(|instance| {
        let tables = read
            .iter()
            .find(|(columns, _)| *columns == instance.requested_columns())
            .map(|(_, tables)| tables.clone());
        async move {
            let tables = match tables {
                Some(Ok(tables)) => tables,
                Some(Err(error)) => return Err(error),
                None => return Ok(Vec::new()),
            };
            let present = customer_ids(&tables);
            if present.is_empty() {
                return Ok(Vec::new());
            }
            let assigning = instance.clone();
            let output = blocking(move || assigning.assign(&tables, as_of_micros)).await?;
            check_output(instance.plugin(), &output, &present.into_iter().collect())
                .inspect_err(|error| instance.failed(error))
        }
    });
    futures::future::join_all(assigning).await
}

/// Runs `body` on the blocking pool. A task on the pool cannot be stopped once queued, so if
/// the caller stops waiting (its request timed out or its client went away) before the pool
/// starts `body`, `body` is skipped: abandoned work never reaches a plugin.
async fn blocking<T: Send + 'static>(
    body: impl FnOnce() -> Result<T, PluginError> + Send + 'static,
) -> Result<T, PluginError> {
    let waiting = AbandonedOnDrop::default();
    let abandoned = waiting.0.clone();
    let task = tokio::task::spawn_blocking(move || {
        if abandoned.load(Ordering::Acquire) {
            return Err(PluginError::Cancelled);
        }
        body()
    });
    let result = task.await.map_err(|error| PluginError::Call {
        plugin: String::new(),
        call: "blocking task",
        message: error.to_string(),
    })?;
    drop(waiting);
    result
}

/// Raises its flag when dropped: the future awaiting the work is gone.
#[derive(Default)]
struct AbandonedOnDrop(Arc<AtomicBool>);

impl Drop for AbandonedOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

fn customer_ids(tables: &[TableData]) -> Vec<i64> {
    tables
        .iter()
        .filter(|table| table.table == TableId::Customers)
        .flat_map(|table| table.batches.iter())
        .flat_map(|batch| batch.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect()
}

/// Checks an `assign` output against the contract (`kindred-plugin-output`): the three
/// columns with their types, every array valid, a customer and a label on every row, only
/// customers of the batch, finite scores.
pub fn check_output(
    plugin: &str,
    output: &RecordBatch,
    allowed: &HashSet<i64>,
) -> Result<Vec<Membership>, PluginError> {
    kindred_plugin_output::check_output(output, allowed).map_err(|error| PluginError::Call {
        plugin: plugin.to_owned(),
        call: "assign",
        message: error.to_string(),
    })
}

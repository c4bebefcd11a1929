//! Running a strategy as Kindred runs it, for authors' unit tests and for benchmarks: through
//! the same C entry points [`crate::export_strategy!`] exports, with the host's checks on the
//! output, so a test refuses what the host would refuse.
#![allow(unsafe_code)] // this module is the host's side of the C ABI, in the author's test.

use crate::export::{self, Entry};
use crate::{Input, SegmentationStrategy, StrategyError, StrategyResult, Table};
use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema, from_ffi};
use arrow_array::{Array, RecordBatch, StructArray};
use arrow_schema::DataType;
use kindred_plugin_abi::{InputTables, Instance, OwnedBytes, Status, TableBatches};
use std::collections::HashSet;

/// Creates `S` from `params`, fits it on `population` and assigns `population` through the C
/// ABI, as the host does: returns the output batch, checked as the host checks it (types,
/// valid arrays, a customer of the batch and a label on every row, finite scores), and the
/// model. A panic comes back as an error, as the host sees it. The parameters are not checked
/// against the strategy's JSON Schema here; `create` sees them as given.
pub fn run<S: SegmentationStrategy>(
    params: &serde_json::Value,
    population: &Input,
) -> StrategyResult<(RecordBatch, serde_json::Value)> {
    let instance = TestInstance::<S>::create(params)?;
    instance.fit(population)?;
    let output = instance.assign(population)?;
    let model = instance.model()?;
    Ok((output, model))
}

/// As [`run`], but the instance that assigns is a new one loaded from the state the fitted one
/// saved, as after a server restart: for a strategy exported with
/// `export_strategy!(S, state)`, a test that its output equals [`run`]'s shows that nothing
/// `fit` learned is lost on the way.
pub fn run_reloaded<S>(
    params: &serde_json::Value,
    population: &Input,
) -> StrategyResult<(RecordBatch, serde_json::Value)>
where
    S: SegmentationStrategy + serde::Serialize + serde::de::DeserializeOwned,
{
    let fitted = TestInstance::<S>::create(params)?;
    fitted.fit(population)?;
    let mut out = OwnedBytes::empty();
    // SAFETY: the instance is live; `out` is writable.
    checked(unsafe { Entry::<S>::save_state(fitted.pointer, &mut out) })?;
    let state = take_bytes(out);
    drop(fitted);
    let loaded = TestInstance::<S>::create(params)?;
    // SAFETY: the instance is live; `state` is readable for its length.
    checked(unsafe { Entry::<S>::load_state(loaded.pointer, state.as_ptr(), state.len()) })?;
    let output = loaded.assign(population)?;
    let model = loaded.model()?;
    Ok((output, model))
}

/// Creates `S` from JSON `params` as Kindred does (read into `S::Params`, then `create`), to
/// call its methods directly in a test; [`run`] is the whole round through the C ABI.
pub fn create<S: SegmentationStrategy>(params: &serde_json::Value) -> StrategyResult<S> {
    S::create(crate::params::parse::<S::Params>(params)?)
}

/// An instance created through the C ABI, destroyed when dropped.
struct TestInstance<S: SegmentationStrategy> {
    pointer: Instance,
    strategy: std::marker::PhantomData<S>,
}

/// The error of a failed call, as the host reads it: the thread's last message, a parameter
/// error with its path when `create` refused the parameters.
fn failed(status: Status) -> StrategyError {
    let mut out = OwnedBytes::empty();
    // SAFETY: `out` is writable.
    let message = match unsafe { export::last_error(&mut out) } {
        Status::OK => String::from_utf8_lossy(&take_bytes(out)).into_owned(),
        _ => String::new(),
    };
    match (status, message.split_once('\t')) {
        (Status::INVALID_PARAMS, Some((path, reason))) => StrategyError::param(path, reason),
        (Status::PANIC, _) => StrategyError::new(format!("{message} (the host disables the instance)")),
        _ => StrategyError::new(message),
    }
}

fn checked(status: Status) -> StrategyResult<()> {
    if status == Status::OK { Ok(()) } else { Err(failed(status)) }
}

/// Copies bytes the strategy handed out and frees them.
fn take_bytes(bytes: OwnedBytes) -> Vec<u8> {
    if bytes.ptr.is_null() {
        return Vec::new();
    }
    // SAFETY: the strategy filled `bytes` with `len` readable bytes.
    let copy = unsafe { std::slice::from_raw_parts(bytes.ptr, bytes.len) }.to_vec();
    // SAFETY: handed back once, to the side that allocated it.
    unsafe { export::free_bytes(bytes) };
    copy
}

impl<S: SegmentationStrategy> TestInstance<S> {
    fn create(params: &serde_json::Value) -> StrategyResult<Self> {
        let bytes = serde_json::to_vec(params)?;
        let mut pointer: Instance = std::ptr::null_mut();
        // SAFETY: `bytes` is readable for its length; `pointer` is writable.
        checked(unsafe { Entry::<S>::create(bytes.as_ptr(), bytes.len(), &mut pointer) })?;
        Ok(Self { pointer, strategy: std::marker::PhantomData })
    }

    fn fit(&self, population: &Input) -> StrategyResult<()> {
        let exported = Exported::new(population)?;
        // SAFETY: the instance is live; the input lives until the call returns.
        checked(unsafe { Entry::<S>::fit(self.pointer, &exported.tables()) })
    }

    fn assign(&self, batch: &Input) -> StrategyResult<RecordBatch> {
        let exported = Exported::new(batch)?;
        let mut out_array = FFI_ArrowArray::empty();
        let mut out_schema = FFI_ArrowSchema::empty();
        // SAFETY: as for fit; the outputs are empty, writable structs.
        checked(unsafe {
            Entry::<S>::assign(self.pointer, &exported.tables(), &mut out_array, &mut out_schema)
        })?;
        let refused = |reason: String| StrategyError::new(format!("the host refuses this output: {reason}"));
        // SAFETY: the strategy filled both structs through the SDK's export.
        let data = unsafe { from_ffi(out_array, &out_schema) }.map_err(|error| refused(error.to_string()))?;
        if !matches!(data.data_type(), DataType::Struct(_)) {
            return Err(refused(format!("a struct array is expected, found {}", data.data_type())));
        }
        let output = RecordBatch::from(StructArray::from(data));
        let allowed: HashSet<i64> = batch.customer_ids().into_iter().collect();
        kindred_plugin_output::check_output(&output, &allowed).map_err(|error| refused(error.to_string()))?;
        Ok(output)
    }

    fn model(&self) -> StrategyResult<serde_json::Value> {
        let mut out = OwnedBytes::empty();
        // SAFETY: the instance is live; `out` is writable.
        checked(unsafe { Entry::<S>::model(self.pointer, &mut out) })?;
        Ok(serde_json::from_slice(&take_bytes(out))?)
    }
}

impl<S: SegmentationStrategy> Drop for TestInstance<S> {
    fn drop(&mut self) {
        // SAFETY: created by `create`, not used again.
        unsafe { Entry::<S>::destroy(self.pointer) };
    }
}

/// One call's input as the host passes it (the host's own exporter is in kindred-plugin-host,
/// which a plugin's SDK must not depend on; both follow the ABI's `InputTables`): each table's batches as C Data Interface arrays
/// sharing the batches' buffers. Arrays the strategy does not take are released on drop.
// Boxed schemas: each `TableBatches` points at one, so they must not move as the list grows.
#[allow(clippy::vec_box)]
struct Exported {
    _schemas: Vec<Box<FFI_ArrowSchema>>,
    _arrays: Vec<Vec<FFI_ArrowArray>>,
    entries: Vec<TableBatches>,
    as_of_micros: i64,
}

impl Exported {
    fn new(input: &Input) -> StrategyResult<Self> {
        let (mut schemas, mut arrays, mut entries) = (Vec::new(), Vec::new(), Vec::new());
        for table in Table::ALL {
            let batches = input.batches(table);
            let Some(first) = batches.first() else { continue };
            let schema =
                Box::new(FFI_ArrowSchema::try_from(&DataType::Struct(first.schema().fields().clone()))?);
            let mut exported: Vec<FFI_ArrowArray> = batches
                .iter()
                .map(|batch| FFI_ArrowArray::new(&StructArray::from(batch.clone()).into_data()))
                .collect();
            entries.push(TableBatches {
                table: table as u32,
                schema: &*schema,
                arrays: exported.as_mut_ptr(),
                count: exported.len(),
            });
            schemas.push(schema);
            arrays.push(exported);
        }
        Ok(Self { _schemas: schemas, _arrays: arrays, entries, as_of_micros: input.as_of_micros() })
    }

    fn tables(&self) -> InputTables {
        InputTables {
            tables: self.entries.as_ptr(),
            count: self.entries.len(),
            as_of_micros: self.as_of_micros,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Assignments, Description};
    use arrow_array::{ArrayRef, Int64Array};
    use std::sync::Arc;

    /// Puts everyone in "all", or breaks the output as its parameter says.
    struct Sloppy {
        mistake: String,
    }

    /// Which mistake.
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Mistake {
        mistake: String,
    }

    impl SegmentationStrategy for Sloppy {
        const NAME: &'static str = "sloppy";
        type Params = Mistake;

        fn describe() -> Description {
            Description::new("Makes the mistake it is asked to.")
        }

        fn create(params: Mistake) -> StrategyResult<Self> {
            if params.mistake.is_empty() {
                return Err(StrategyError::param("/mistake", "cannot be empty"));
            }
            Ok(Self { mistake: params.mistake })
        }

        fn fit(&mut self, _population: &Input) -> StrategyResult<()> {
            if self.mistake == "panic" {
                panic!("sloppy panics");
            }
            Ok(())
        }

        fn assign(&self, batch: &Input, out: &mut Assignments) -> StrategyResult<()> {
            for id in batch.customer_ids() {
                match self.mistake.as_str() {
                    "nan" => out.push(id, "all", Some(f64::NAN)),
                    "stranger" => out.push(id + 1000, "all", None),
                    _ => out.push(id, "all", None),
                }
            }
            Ok(())
        }
    }

    fn population() -> Input {
        let schema =
            Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new("id", DataType::Int64, false)]));
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
        let batch = RecordBatch::try_new(schema, vec![ids]).expect("batch");
        Input::new(Default::default(), 0).with_table(Table::Customers, vec![batch])
    }

    fn run_with(mistake: serde_json::Value) -> StrategyResult<(RecordBatch, serde_json::Value)> {
        run::<Sloppy>(&mistake, &population())
    }

    #[test]
    fn a_good_strategy_runs_through_the_abi() {
        let (output, model) = run_with(serde_json::json!({ "mistake": "none" })).expect("runs");
        assert_eq!((output.num_rows(), model), (3, serde_json::Value::Null));
    }

    #[test]
    fn what_the_host_refuses_a_test_refuses() {
        let error = run_with(serde_json::json!({ "mistake": "nan" })).expect_err("NaN score");
        assert!(error.message().contains("output row 0 has the score NaN"), "{error}");
        let error = run_with(serde_json::json!({ "mistake": "stranger" })).expect_err("foreign customer");
        assert!(error.message().contains("not in the batch"), "{error}");
        let error = run_with(serde_json::json!({ "mistake": "panic" })).expect_err("a panic");
        assert!(error.message().contains("sloppy panics"), "{error}");
        let error = run_with(serde_json::json!({ "mistake": "" })).expect_err("refused by create");
        assert_eq!(error.param_path(), Some(("/mistake", "cannot be empty")));
        let error = run_with(serde_json::json!({ "mistake": 7 })).expect_err("not a string");
        assert_eq!(error.param_path().map(|(path, _)| path), Some("/mistake"), "{error}");
    }
}

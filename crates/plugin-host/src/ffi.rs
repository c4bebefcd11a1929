//! Calls across the C ABI: byte buffers, error messages, Arrow in and out.
#![allow(unsafe_code)] // this module is the host's side of the FFI boundary.

use crate::description::StrategyDescription;
use crate::tables::TableData;
use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema, from_ffi};
use arrow_array::{Array, RecordBatch, StructArray};
use arrow_schema::DataType;
use kindred_plugin_abi::{
    FunctionTable, InputTables, OwnedBytes, StaticStr, Status, StrategyDescriptor, TableBatches,
};
use std::collections::BTreeMap;

/// Copies a static string out of a plugin.
///
/// # Safety
/// `text` must point at `len` bytes that live as long as the library.
pub(crate) unsafe fn read_static(text: StaticStr) -> String {
    if text.ptr.is_null() {
        return String::new();
    }
    // SAFETY: per the contract, `len` bytes at `ptr` are readable.
    let bytes = unsafe { std::slice::from_raw_parts(text.ptr, text.len) };
    String::from_utf8_lossy(bytes).into_owned()
}

/// Takes bytes the plugin handed out: copies them and gives the buffer back to be freed.
fn take_bytes(functions: &FunctionTable, bytes: OwnedBytes) -> Vec<u8> {
    if bytes.ptr.is_null() {
        return Vec::new();
    }
    // SAFETY: the plugin filled `bytes` with `len` readable bytes.
    let copy = unsafe { std::slice::from_raw_parts(bytes.ptr, bytes.len) }.to_vec();
    // SAFETY: handing the buffer back once to the side that allocated it.
    unsafe { (functions.free_bytes)(bytes) };
    copy
}

/// The message of the calling thread's last failed call into this plugin.
pub(crate) fn last_error(functions: &FunctionTable) -> String {
    let mut out = OwnedBytes::empty();
    // SAFETY: `out` is a valid, writable buffer descriptor.
    let status = unsafe { (functions.last_error)(&mut out) };
    if status != Status::OK {
        return "the plugin gave no error message".to_owned();
    }
    let message = String::from_utf8_lossy(&take_bytes(functions, out)).into_owned();
    if message.is_empty() { "the plugin gave no error message".to_owned() } else { message }
}

/// A failed call: its status and message.
#[derive(Debug)]
pub(crate) struct CallFailure {
    /// What the plugin returned.
    pub status: Status,
    /// Why.
    pub message: String,
}

fn check(functions: &FunctionTable, status: Status) -> Result<(), CallFailure> {
    match status {
        Status::OK => Ok(()),
        status => Err(CallFailure { status, message: last_error(functions) }),
    }
}

/// Asks the strategy to describe itself.
pub(crate) fn describe(descriptor: &StrategyDescriptor) -> Result<StrategyDescription, String> {
    let functions = &descriptor.functions;
    let mut out = OwnedBytes::empty();
    // SAFETY: `out` is writable.
    let status = unsafe { (functions.describe)(&mut out) };
    check(functions, status).map_err(|failure| failure.message)?;
    StrategyDescription::parse(&take_bytes(functions, out))
}

/// Creates an instance from JSON parameters.
pub(crate) fn create(
    functions: &FunctionTable,
    params: &[u8],
) -> Result<kindred_plugin_abi::Instance, CallFailure> {
    let mut instance: kindred_plugin_abi::Instance = std::ptr::null_mut();
    // SAFETY: `params` is readable for its length; `instance` is writable.
    let status = unsafe { (functions.create)(params.as_ptr(), params.len(), &mut instance) };
    check(functions, status)?;
    if instance.is_null() {
        return Err(CallFailure { status: Status::ERROR, message: "create returned no instance".to_owned() });
    }
    Ok(instance)
}

/// The C structs for one call's input. The arrays are moved into the plugin; any it does
/// not take are released when this is dropped.
// Boxed schemas: `TableBatches` points at each, so they must not move as the list grows.
#[allow(clippy::vec_box)]
struct ExportedInput {
    _schemas: Vec<Box<FFI_ArrowSchema>>,
    _arrays: Vec<Vec<FFI_ArrowArray>>,
    entries: Vec<TableBatches>,
    as_of_micros: i64,
}

impl ExportedInput {
    /// Exports `tables` without copying a column: each C array holds a reference to the
    /// batch's buffers.
    fn new(tables: &[TableData], as_of_micros: i64) -> Result<Self, String> {
        let mut schemas = Vec::with_capacity(tables.len());
        let mut arrays = Vec::with_capacity(tables.len());
        let mut entries = Vec::with_capacity(tables.len());
        for table in tables {
            let struct_type = DataType::Struct(table.schema.fields().clone());
            let schema =
                Box::new(FFI_ArrowSchema::try_from(&struct_type).map_err(|error| error.to_string())?);
            let mut batch_arrays: Vec<FFI_ArrowArray> = table
                .batches
                .iter()
                .map(|batch| FFI_ArrowArray::new(&StructArray::from(batch.clone()).into_data()))
                .collect();
            entries.push(TableBatches {
                table: table.table as u32,
                schema: &*schema,
                arrays: batch_arrays.as_mut_ptr(),
                count: batch_arrays.len(),
            });
            schemas.push(schema);
            arrays.push(batch_arrays);
        }
        Ok(Self { _schemas: schemas, _arrays: arrays, entries, as_of_micros })
    }

    fn tables(&self) -> InputTables {
        InputTables {
            tables: self.entries.as_ptr(),
            count: self.entries.len(),
            as_of_micros: self.as_of_micros,
        }
    }
}

/// Fits an instance on `tables`.
pub(crate) fn fit(
    functions: &FunctionTable,
    instance: kindred_plugin_abi::Instance,
    tables: &[TableData],
    as_of_micros: i64,
) -> Result<(), CallFailure> {
    let exported = ExportedInput::new(tables, as_of_micros)
        .map_err(|message| CallFailure { status: Status::INVALID_INPUT, message })?;
    let input = exported.tables();
    // SAFETY: `instance` is live and used by this thread only; `input` and everything it
    // points to live until the call returns.
    let status = unsafe { (functions.fit)(instance, &input) };
    check(functions, status)
}

/// Assigns the customers of `tables`; returns the plugin's output batch, imported without
/// copying.
pub(crate) fn assign(
    functions: &FunctionTable,
    instance: kindred_plugin_abi::Instance,
    tables: &[TableData],
    as_of_micros: i64,
) -> Result<RecordBatch, CallFailure> {
    let exported = ExportedInput::new(tables, as_of_micros)
        .map_err(|message| CallFailure { status: Status::INVALID_INPUT, message })?;
    let input = exported.tables();
    let mut out_array = FFI_ArrowArray::empty();
    let mut out_schema = FFI_ArrowSchema::empty();
    // SAFETY: as for `fit`; the outputs are empty, writable structs.
    let status = unsafe { (functions.assign)(instance, &input, &mut out_array, &mut out_schema) };
    check(functions, status)?;
    let invalid = |message: String| CallFailure { status: Status::ERROR, message };
    // SAFETY: the plugin filled both structs per the C Data Interface; arrow validates the
    // layout, and the release callback frees the memory with the plugin's allocator.
    let data = unsafe { from_ffi(out_array, &out_schema) }
        .map_err(|error| invalid(format!("the output is not a valid Arrow array: {error}")))?;
    if !matches!(data.data_type(), DataType::Struct(_)) {
        return Err(invalid(format!("the output must be a struct array, found {}", data.data_type())));
    }
    let structs = StructArray::from(data);
    if structs.null_count() > 0 {
        return Err(invalid("the output has null rows".to_owned()));
    }
    Ok(RecordBatch::from(structs))
}

/// What the instance learned, as JSON.
pub(crate) fn model(
    functions: &FunctionTable,
    instance: kindred_plugin_abi::Instance,
) -> Result<serde_json::Value, CallFailure> {
    let mut out = OwnedBytes::empty();
    // SAFETY: `instance` is live; `out` is writable.
    let status = unsafe { (functions.model)(instance, &mut out) };
    check(functions, status)?;
    serde_json::from_slice(&take_bytes(functions, out)).map_err(|error| CallFailure {
        status: Status::ERROR,
        message: format!("model is not JSON: {error}"),
    })
}

/// The columns the instance reads, when it narrows its description's (ABI 1.1 and later):
/// the JSON map of table name to column names, or `None`.
pub(crate) fn instance_inputs(
    functions: &FunctionTable,
    instance: kindred_plugin_abi::Instance,
) -> Result<Option<BTreeMap<String, Vec<String>>>, CallFailure> {
    let Some(inputs) = functions.instance_inputs else {
        return Ok(None);
    };
    let mut out = OwnedBytes::empty();
    // SAFETY: `instance` is live; `out` is writable.
    let status = unsafe { inputs(instance, &mut out) };
    check(functions, status)?;
    let bytes = take_bytes(functions, out);
    serde_json::from_slice::<Option<BTreeMap<String, Vec<String>>>>(&bytes).map_err(|error| CallFailure {
        status: Status::ERROR,
        message: format!("instance inputs are not null or a JSON map of table to columns: {error}"),
    })
}

/// The fitted state of the instance as bytes, or `None` when the plugin cannot save it
/// (before ABI 1.3, or not opted in).
pub(crate) fn save_state(
    functions: &FunctionTable,
    instance: kindred_plugin_abi::Instance,
) -> Result<Option<Vec<u8>>, CallFailure> {
    let (Some(save), Some(_)) = (functions.save_state, functions.load_state) else {
        return Ok(None);
    };
    let mut out = OwnedBytes::empty();
    // SAFETY: `instance` is live; `out` is writable.
    let status = unsafe { save(instance, &mut out) };
    check(functions, status)?;
    Ok(Some(take_bytes(functions, out)))
}

/// Loads `state`, which `save_state` of this build wrote, into a fresh instance.
pub(crate) fn load_state(
    functions: &FunctionTable,
    instance: kindred_plugin_abi::Instance,
    state: &[u8],
) -> Result<(), CallFailure> {
    let (Some(_), Some(load)) = (functions.save_state, functions.load_state) else {
        return Err(CallFailure {
            status: Status::ERROR,
            message: "the plugin cannot load a saved state".to_owned(),
        });
    };
    // SAFETY: `instance` is live; `state` is readable for its length for the call.
    let status = unsafe { load(instance, state.as_ptr(), state.len()) };
    check(functions, status)
}

/// Destroys an instance.
pub(crate) fn destroy(functions: &FunctionTable, instance: kindred_plugin_abi::Instance) {
    // SAFETY: `instance` came from `create` and is not used again.
    unsafe { (functions.destroy)(instance) };
}

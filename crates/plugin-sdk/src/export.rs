//! The `extern "C"` side of a plugin, generated for a strategy by [`crate::export_strategy!`].
//!
//! Every entry point catches panics (the plugin must be built with `panic = "unwind"`, which
//! the descriptor records), keeps the message of the last failure per thread, and moves Arrow
//! data through the C Data Interface without copying it.
#![allow(unsafe_code)] // this module is the FFI boundary; each block says why it is sound.

use crate::{Assignments, Input, SegmentationStrategy, StrategyError, Table};
use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema, from_ffi, to_ffi};
use arrow_array::{Array, RecordBatch, StructArray};
use kindred_plugin_abi::{InputTables, Instance, OwnedBytes, Status};
use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// One instance: the strategy and whether a panic has spoiled it.
struct Slot<S> {
    strategy: S,
    poisoned: bool,
}

fn fail(status: Status, message: String) -> Status {
    LAST_ERROR.with(|last| *last.borrow_mut() = message);
    status
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        format!("the strategy panicked: {text}")
    } else if let Some(text) = payload.downcast_ref::<String>() {
        format!("the strategy panicked: {text}")
    } else {
        "the strategy panicked".to_owned()
    }
}

/// Runs `body`, turning an error or a panic into a status and a stored message.
fn guarded(body: impl FnOnce() -> Result<(), (Status, String)>) -> Status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => Status::OK,
        Ok(Err((status, message))) => fail(status, message),
        Err(payload) => fail(Status::PANIC, panic_message(payload.as_ref())),
    }
}

fn strategy_error(error: StrategyError) -> (Status, String) {
    (Status::ERROR, error.message().to_owned())
}

/// An error from `create`: bad parameters travel as `path\treason` with their own status.
fn create_error(error: StrategyError) -> (Status, String) {
    match error.param_path() {
        Some((path, reason)) => (Status::INVALID_PARAMS, format!("{path}\t{reason}")),
        None => strategy_error(error),
    }
}

fn to_owned_bytes(bytes: Vec<u8>) -> OwnedBytes {
    let mut bytes = std::mem::ManuallyDrop::new(bytes);
    OwnedBytes { ptr: bytes.as_mut_ptr(), len: bytes.len(), capacity: bytes.capacity() }
}

/// Writes `bytes` to `out`.
///
/// # Safety
/// `out` must be null or valid for writes.
unsafe fn write_bytes(out: *mut OwnedBytes, bytes: Vec<u8>) -> Result<(), (Status, String)> {
    if out.is_null() {
        return Err((Status::INVALID_INPUT, "null output pointer".to_owned()));
    }
    // SAFETY: checked non-null; the caller promises it is writable.
    unsafe { out.write(to_owned_bytes(bytes)) };
    Ok(())
}

/// Moves the host's batches into an [`Input`].
///
/// # Safety
/// `input` must point at a valid [`InputTables`] whose arrays and schemas are valid C Data
/// Interface structs.
unsafe fn import(input: *const InputTables) -> Result<Input, (Status, String)> {
    let invalid = |message: String| (Status::INVALID_INPUT, message);
    // SAFETY: the caller promises `input` is valid for reads when non-null.
    let input = unsafe { input.as_ref() }.ok_or_else(|| invalid("null input".to_owned()))?;
    let mut tables: HashMap<Table, Vec<RecordBatch>> = HashMap::new();
    for index in 0..input.count {
        // SAFETY: `tables` holds `count` entries.
        let entry = unsafe { &*input.tables.add(index) };
        let table =
            Table::from_u32(entry.table).ok_or_else(|| invalid(format!("unknown table {}", entry.table)))?;
        // SAFETY: the schema is valid for the call, per the contract.
        let schema: &FFI_ArrowSchema = unsafe { entry.schema.as_ref() }
            .ok_or_else(|| invalid(format!("table {} has no schema", table.name())))?;
        let batches = tables.entry(table).or_default();
        for position in 0..entry.count {
            // SAFETY: `arrays` holds `count` valid arrays; `from_raw` moves each out and
            // leaves a released one behind, so the host will not release it again.
            let array = unsafe { FFI_ArrowArray::from_raw(entry.arrays.add(position)) };
            // SAFETY: the array matches the schema, per the contract; arrow checks the rest.
            let data = unsafe { from_ffi(array, schema) }
                .map_err(|error| invalid(format!("table {} batch {position}: {error}", table.name())))?;
            let structs = StructArray::from(data);
            batches.push(RecordBatch::from(structs));
        }
    }
    Ok(Input::new(tables, input.as_of_micros))
}

/// The entry points of strategy `S`, which [`crate::export_strategy!`] puts in the descriptor.
pub struct Entry<S>(std::marker::PhantomData<S>);

impl<S: SegmentationStrategy> Entry<S> {
    /// Writes the description as JSON.
    ///
    /// # Safety
    /// `out` must be valid for writes.
    pub unsafe extern "C" fn describe(out: *mut OwnedBytes) -> Status {
        guarded(|| {
            let mut description = S::describe();
            description.params_schema = crate::params::schema_of::<S::Params>();
            description.check_inputs().map_err(|message| (Status::ERROR, message))?;
            let json =
                serde_json::to_vec(&description).map_err(|error| (Status::ERROR, error.to_string()))?;
            // SAFETY: the host passes a writable `out`.
            unsafe { write_bytes(out, json) }
        })
    }

    /// Creates an instance from JSON parameters, read into the strategy's `Params`.
    ///
    /// # Safety
    /// `params` must be valid for `len` bytes and `out` valid for writes.
    pub unsafe extern "C" fn create(params: *const u8, len: usize, out: *mut Instance) -> Status {
        guarded(|| {
            if out.is_null() || (params.is_null() && len > 0) {
                return Err((Status::INVALID_INPUT, "null pointer".to_owned()));
            }
            let bytes: &[u8] = if len == 0 {
                b"{}"
            } else {
                // SAFETY: checked non-null; the host promises `len` readable bytes.
                unsafe { std::slice::from_raw_parts(params, len) }
            };
            let params: serde_json::Value = serde_json::from_slice(bytes)
                .map_err(|error| (Status::ERROR, format!("params are not valid JSON: {error}")))?;
            let params = crate::params::parse::<S::Params>(&params).map_err(create_error)?;
            let strategy = S::create(params).map_err(create_error)?;
            let slot = Box::new(Slot { strategy, poisoned: false });
            // SAFETY: checked non-null above.
            unsafe { out.write(Box::into_raw(slot).cast()) };
            Ok(())
        })
    }

    /// Borrows the slot behind `instance`, refusing a spoiled one.
    ///
    /// # Safety
    /// `instance` must come from `create` of this strategy and not be destroyed.
    unsafe fn slot<'a>(instance: Instance) -> Result<&'a mut Slot<S>, (Status, String)> {
        // SAFETY: per the contract, `instance` is a live `Slot<S>` used by one thread at once.
        let slot = unsafe { instance.cast::<Slot<S>>().as_mut() }
            .ok_or_else(|| (Status::INVALID_INPUT, "null instance".to_owned()))?;
        if slot.poisoned {
            return Err((Status::ERROR, "this instance panicked earlier and is disabled".to_owned()));
        }
        Ok(slot)
    }

    /// Runs `body` on the instance, marking it spoiled when it panics.
    ///
    /// # Safety
    /// As [`Self::slot`].
    unsafe fn on_slot(
        instance: Instance,
        body: impl FnOnce(&mut S) -> Result<(), (Status, String)>,
    ) -> Status {
        // SAFETY: forwarded from the caller.
        let slot = match unsafe { Self::slot(instance) } {
            Ok(slot) => slot,
            Err((status, message)) => return fail(status, message),
        };
        let status = guarded(|| body(&mut slot.strategy));
        if status == Status::PANIC {
            slot.poisoned = true;
        }
        status
    }

    /// Fits on the population.
    ///
    /// # Safety
    /// `instance` must be live; `input` a valid [`InputTables`].
    pub unsafe extern "C" fn fit(instance: Instance, input: *const InputTables) -> Status {
        // SAFETY: forwarded from the caller.
        unsafe {
            Self::on_slot(instance, |strategy| {
                let input = import(input)?;
                strategy.fit(&input).map_err(strategy_error)
            })
        }
    }

    /// Assigns a batch of customers and exports the output.
    ///
    /// # Safety
    /// `instance` must be live; `input` a valid [`InputTables`]; the outputs valid for writes.
    pub unsafe extern "C" fn assign(
        instance: Instance,
        input: *const InputTables,
        out_array: *mut FFI_ArrowArray,
        out_schema: *mut FFI_ArrowSchema,
    ) -> Status {
        // SAFETY: forwarded from the caller.
        unsafe {
            Self::on_slot(instance, |strategy| {
                if out_array.is_null() || out_schema.is_null() {
                    return Err((Status::INVALID_INPUT, "null output pointer".to_owned()));
                }
                let input = import(input)?;
                let mut assignments = Assignments::new();
                strategy.assign(&input, &mut assignments).map_err(strategy_error)?;
                let batch = assignments.finish();
                let data = StructArray::from(batch).into_data();
                let (array, schema) = to_ffi(&data).map_err(|error| (Status::ERROR, error.to_string()))?;
                // SAFETY: checked non-null; the host passes writable, empty structs.
                out_array.write(array);
                // SAFETY: as above.
                out_schema.write(schema);
                Ok(())
            })
        }
    }

    /// Writes what fit learned, as JSON.
    ///
    /// # Safety
    /// `instance` must be live; `out` valid for writes.
    pub unsafe extern "C" fn model(instance: Instance, out: *mut OwnedBytes) -> Status {
        // SAFETY: forwarded from the caller.
        unsafe {
            Self::on_slot(instance, |strategy| {
                let json = serde_json::to_vec(&strategy.model())
                    .map_err(|error| (Status::ERROR, error.to_string()))?;
                write_bytes(out, json)
            })
        }
    }

    /// Writes the columns the instance reads (`null` for all its description lists).
    ///
    /// # Safety
    /// `instance` must be live; `out` valid for writes.
    pub unsafe extern "C" fn instance_inputs(instance: Instance, out: *mut OwnedBytes) -> Status {
        // SAFETY: forwarded from the caller.
        unsafe {
            Self::on_slot(instance, |strategy| {
                let json = serde_json::to_vec(&strategy.reads())
                    .map_err(|error| (Status::ERROR, error.to_string()))?;
                write_bytes(out, json)
            })
        }
    }

    /// Destroys an instance.
    ///
    /// # Safety
    /// `instance` must come from `create` and not be used again.
    pub unsafe extern "C" fn destroy(instance: Instance) {
        if !instance.is_null() {
            // A panic in the strategy's `Drop` must not cross the boundary.
            let _ = catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: `instance` was made by `Box::into_raw` in `create`.
                drop(unsafe { Box::from_raw(instance.cast::<Slot<S>>()) });
            }));
        }
    }
}

impl<S: SegmentationStrategy + serde::Serialize + serde::de::DeserializeOwned> Entry<S> {
    /// Writes the instance as bytes: the strategy's own serde form, in MessagePack.
    ///
    /// # Safety
    /// `instance` must be live; `out` valid for writes.
    pub unsafe extern "C" fn save_state(instance: Instance, out: *mut OwnedBytes) -> Status {
        // SAFETY: forwarded from the caller.
        unsafe {
            Self::on_slot(instance, |strategy| {
                let bytes = crate::state::save(strategy).map_err(strategy_error)?;
                write_bytes(out, bytes)
            })
        }
    }

    /// Replaces the instance with the one `save_state` wrote as the `len` bytes at `state`.
    ///
    /// # Safety
    /// `instance` must be live; `state` valid for `len` bytes.
    pub unsafe extern "C" fn load_state(instance: Instance, state: *const u8, len: usize) -> Status {
        // SAFETY: forwarded from the caller.
        unsafe {
            Self::on_slot(instance, |strategy| {
                if state.is_null() && len > 0 {
                    return Err((Status::INVALID_INPUT, "null state".to_owned()));
                }
                let bytes: &[u8] = if len == 0 {
                    &[]
                } else {
                    // SAFETY: checked non-null; the host promises `len` readable bytes.
                    std::slice::from_raw_parts(state, len)
                };
                *strategy = crate::state::load(bytes).map_err(strategy_error)?;
                Ok(())
            })
        }
    }
}

/// Writes this thread's last error message.
///
/// # Safety
/// `out` must be valid for writes.
pub unsafe extern "C" fn last_error(out: *mut OwnedBytes) -> Status {
    let message = LAST_ERROR.with(|last| last.borrow().clone());
    // SAFETY: forwarded from the caller.
    match unsafe { write_bytes(out, message.into_bytes()) } {
        Ok(()) => Status::OK,
        Err((status, _)) => status,
    }
}

/// Frees bytes handed out by this plugin.
///
/// # Safety
/// `bytes` must come from this plugin and be freed once.
pub unsafe extern "C" fn free_bytes(bytes: OwnedBytes) {
    if !bytes.ptr.is_null() {
        // SAFETY: the parts come from a `Vec<u8>` this plugin leaked in `to_owned_bytes`.
        drop(unsafe { Vec::from_raw_parts(bytes.ptr, bytes.len, bytes.capacity) });
    }
}

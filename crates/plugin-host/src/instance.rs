//! One strategy instance inside a plugin: create, fit, assign, model. Calls block; run them
//! on the blocking pool.
#![allow(unsafe_code)] // only to mark the plugin's opaque instance pointer as sendable.

use crate::error::PluginError;
use crate::ffi::{self, CallFailure};
use crate::library::StrategyLibrary;
use crate::tables::TableData;
use arrow_array::RecordBatch;
use kindred_plugin_abi::{Instance, Status, TableId};
use std::sync::Mutex;
use std::time::Instant;

/// The plugin's instance pointer, and whether a panic disabled it.
struct Handle {
    pointer: Instance,
    disabled: Option<String>,
}

// SAFETY: the ABI lets an instance be called from any thread, one call at a time; the
// mutex around `Handle` gives that.
unsafe impl Send for Handle {}

/// A strategy created with parameters, ready to fit and assign.
pub struct StrategyInstance {
    plugin: String,
    library: StrategyLibrary,
    requested: Vec<(TableId, Vec<usize>)>,
    handle: Mutex<Handle>,
}

impl std::fmt::Debug for StrategyInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrategyInstance").field("plugin", &self.plugin).finish_non_exhaustive()
    }
}

impl StrategyInstance {
    /// Creates an instance of `library`'s strategy with JSON `params`.
    pub fn create(
        plugin: &str,
        library: &StrategyLibrary,
        params: &serde_json::Value,
    ) -> Result<Self, PluginError> {
        let bytes = serde_json::to_vec(params).unwrap_or_else(|_| b"{}".to_vec());
        let functions = &library.descriptor.functions;
        let pointer = timed(plugin, "create", || ffi::create(functions, &bytes)).map_err(|failure| {
            if failure.status == Status::INVALID_PARAMS {
                let (path, reason) =
                    failure.message.split_once('\t').unwrap_or(("", failure.message.as_str()));
                let error = crate::ParamError { path: path.to_owned(), message: reason.to_owned() };
                return PluginError::Params { plugin: plugin.to_owned(), errors: vec![error] };
            }
            call_error(plugin, "create", failure)
        })?;
        let mut instance = Self {
            plugin: plugin.to_owned(),
            library: library.clone(),
            requested: Vec::new(),
            handle: Mutex::new(Handle { pointer, disabled: None }),
        };
        let narrowed =
            instance.call("instance_inputs", |pointer| ffi::instance_inputs(functions, pointer))?;
        let description = &library.description;
        let requested = match narrowed {
            Some(narrowed) => description.narrowed_columns(&narrowed),
            None => description.requested_columns(),
        };
        instance.requested = requested.map_err(|message| PluginError::Call {
            plugin: plugin.to_owned(),
            call: "instance_inputs",
            message,
        })?;
        Ok(instance)
    }

    /// The plugin's name.
    pub fn plugin(&self) -> &str {
        &self.plugin
    }

    /// The tables and columns (indexes into [`TableId::columns`]) this instance reads: what
    /// its description lists, or less when its parameters narrow it.
    pub fn requested_columns(&self) -> &[(TableId, Vec<usize>)] {
        &self.requested
    }

    /// Runs one call on the instance, disabling it if the strategy panics.
    fn call<T>(
        &self,
        call: &'static str,
        body: impl FnOnce(Instance) -> Result<T, CallFailure>,
    ) -> Result<T, PluginError> {
        let mut handle = self.handle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(reason) = &handle.disabled {
            crate::metrics::plugin_call(&self.plugin, call, "disabled", std::time::Duration::ZERO);
            return Err(PluginError::Call {
                plugin: self.plugin.clone(),
                call,
                message: format!("the instance is disabled after a panic: {reason}"),
            });
        }
        let result = timed(&self.plugin, call, || body(handle.pointer));
        result.map_err(|failure| {
            if failure.status == Status::PANIC {
                handle.disabled = Some(failure.message.clone());
            }
            call_error(&self.plugin, call, failure)
        })
    }

    /// Learns from the population.
    pub fn fit(&self, tables: &[TableData], as_of_micros: i64) -> Result<(), PluginError> {
        let functions = &self.library.descriptor.functions;
        self.call("fit", |pointer| ffi::fit(functions, pointer, tables, as_of_micros))
    }

    /// Assigns the customers of `tables`; the output is the plugin's batch, unchecked.
    pub fn assign(&self, tables: &[TableData], as_of_micros: i64) -> Result<RecordBatch, PluginError> {
        let functions = &self.library.descriptor.functions;
        self.call("assign", |pointer| ffi::assign(functions, pointer, tables, as_of_micros))
    }

    /// What the instance learned.
    pub fn model(&self) -> Result<serde_json::Value, PluginError> {
        let functions = &self.library.descriptor.functions;
        self.call("model", |pointer| ffi::model(functions, pointer))
    }

    /// Whether a panic disabled the instance.
    pub fn is_disabled(&self) -> bool {
        self.handle.lock().map(|handle| handle.disabled.is_some()).unwrap_or(true)
    }
}

impl Drop for StrategyInstance {
    /// Destroys the plugin's instance on the blocking pool when a runtime is running (the last
    /// reference may be dropped on an async worker, and a plugin's destructor may take long);
    /// on the dropping thread otherwise.
    fn drop(&mut self) {
        let handle = self.handle.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
        let pointer = std::mem::replace(&mut handle.pointer, std::ptr::null_mut());
        if pointer.is_null() {
            return;
        }
        let doomed = Doomed { pointer, functions: &self.library.descriptor.functions };
        match tokio::runtime::Handle::try_current() {
            // If the runtime shuts down before the task runs, dropping the task drops `doomed`,
            // which destroys the instance there: it is never leaked.
            Ok(runtime) => drop(runtime.spawn_blocking(move || drop(doomed))),
            Err(_) => drop(doomed),
        }
    }
}

/// A plugin instance no longer referenced: destroyed when this is dropped.
struct Doomed {
    pointer: Instance,
    functions: &'static kindred_plugin_abi::FunctionTable,
}

// SAFETY: the ABI lets an instance be called from any thread; nothing else holds the pointer.
unsafe impl Send for Doomed {}

impl Drop for Doomed {
    fn drop(&mut self) {
        ffi::destroy(self.functions, self.pointer);
    }
}

fn call_error(plugin: &str, call: &'static str, failure: CallFailure) -> PluginError {
    match failure.status {
        Status::PANIC => PluginError::Panicked { plugin: plugin.to_owned(), call, message: failure.message },
        _ => PluginError::Call { plugin: plugin.to_owned(), call, message: failure.message },
    }
}

/// Runs `body` inside a span for the plugin call, logs how long it took, and counts it in
/// the metrics (`kindred_plugin_calls_total` by outcome, `kindred_plugin_call_duration_seconds`).
fn timed<T>(
    plugin: &str,
    call: &'static str,
    body: impl FnOnce() -> Result<T, CallFailure>,
) -> Result<T, CallFailure> {
    let span = tracing::info_span!("plugin_call", plugin, call);
    let _entered = span.enter();
    let started = Instant::now();
    let result = body();
    let elapsed = started.elapsed();
    tracing::debug!(elapsed_us = elapsed.as_micros() as u64, "plugin call done");
    let outcome = match &result {
        Ok(_) => "ok",
        Err(failure) if failure.status == Status::PANIC => "panic",
        Err(failure) if failure.status == Status::INVALID_PARAMS => "invalid_params",
        Err(_) => "error",
    };
    crate::metrics::plugin_call(plugin, call, outcome, elapsed);
    result
}

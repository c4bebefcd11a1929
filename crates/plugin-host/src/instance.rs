//! One strategy instance: create, fit, assign, model, the same whichever side of a process
//! boundary the plugin runs. In this process the calls go through the C ABI on the plugin's
//! pointer; isolated, they go to the plugin's worker (`isolation`). Calls block; run them on
//! the blocking pool.
#![allow(unsafe_code)] // only to mark the plugin's opaque instance pointer as sendable.

use crate::batches::AssignBatches;
use crate::error::PluginError;
use crate::ffi::{self, CallFailure};
use crate::isolation::RemoteInstance;
use crate::library::{LibrarySource, StrategyLibrary};
use crate::tables::TableData;
use arrow_array::RecordBatch;
use kindred_plugin_abi::{FunctionTable, Instance, Status, TableId};
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

/// Where the instance lives.
enum Backend {
    /// In this process, behind the plugin's function table.
    Local { functions: &'static FunctionTable, handle: Mutex<Handle> },
    /// In the plugin's worker process.
    Remote(RemoteInstance),
}

/// A strategy created with parameters, ready to fit and assign.
pub struct StrategyInstance {
    plugin: String,
    library: StrategyLibrary,
    params: serde_json::Value,
    requested: Vec<(TableId, Vec<usize>)>,
    backend: Backend,
}

impl std::fmt::Debug for StrategyInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrategyInstance").field("plugin", &self.plugin).finish_non_exhaustive()
    }
}

impl StrategyInstance {
    /// Creates an instance of `library`'s strategy with JSON `params`, in this process or in
    /// the plugin's worker.
    pub fn create(
        plugin: &str,
        library: &StrategyLibrary,
        params: &serde_json::Value,
    ) -> Result<Self, PluginError> {
        match &library.source {
            LibrarySource::Loaded(descriptor) => {
                Self::create_local(plugin, library, &descriptor.functions, params)
            }
            LibrarySource::Isolated(isolated) => {
                let created = observed(plugin, "create", || RemoteInstance::create(isolated, params));
                let (remote, requested) = created.inspect_err(|error| {
                    if !matches!(error, PluginError::Params { .. }) {
                        library.failures.record(&error.to_string());
                    }
                })?;
                Ok(Self {
                    plugin: plugin.to_owned(),
                    library: library.clone(),
                    params: params.clone(),
                    requested,
                    backend: Backend::Remote(remote),
                })
            }
        }
    }

    fn create_local(
        plugin: &str,
        library: &StrategyLibrary,
        functions: &'static FunctionTable,
        params: &serde_json::Value,
    ) -> Result<Self, PluginError> {
        let bytes = serde_json::to_vec(params).unwrap_or_else(|_| b"{}".to_vec());
        let pointer = timed(plugin, "create", || ffi::create(functions, &bytes)).map_err(|failure| {
            if failure.status == Status::INVALID_PARAMS {
                let (path, reason) =
                    failure.message.split_once('\t').unwrap_or(("", failure.message.as_str()));
                let error = crate::ParamError { path: path.to_owned(), message: reason.to_owned() };
                return PluginError::Params { plugin: plugin.to_owned(), errors: vec![error] };
            }
            let error = call_error(plugin, "create", failure);
            library.failures.record(&error.to_string());
            error
        })?;
        let mut instance = Self {
            plugin: plugin.to_owned(),
            library: library.clone(),
            params: params.clone(),
            requested: Vec::new(),
            backend: Backend::Local { functions, handle: Mutex::new(Handle { pointer, disabled: None }) },
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

    /// Runs one call on a local instance, disabling it if the strategy panics.
    fn call<T>(
        &self,
        call: &'static str,
        body: impl FnOnce(Instance) -> Result<T, CallFailure>,
    ) -> Result<T, PluginError> {
        let Backend::Local { handle, .. } = &self.backend else {
            return Err(PluginError::Call {
                plugin: self.plugin.clone(),
                call,
                message: "a call through the C ABI on an isolated instance".to_owned(),
            });
        };
        let mut handle = handle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(reason) = &handle.disabled {
            crate::metrics::plugin_call(&self.plugin, call, "disabled", std::time::Duration::ZERO);
            let error = PluginError::Call {
                plugin: self.plugin.clone(),
                call,
                message: format!("the instance is disabled after a panic: {reason}"),
            };
            self.failed(&error);
            return Err(error);
        }
        let result = timed(&self.plugin, call, || body(handle.pointer));
        result.map_err(|failure| {
            if failure.status == Status::PANIC {
                handle.disabled = Some(failure.message.clone());
            }
            let error = call_error(&self.plugin, call, failure);
            self.failed(&error);
            error
        })
    }

    /// Runs one call on an isolated instance.
    fn remote<T>(
        &self,
        call: &'static str,
        body: impl FnOnce() -> Result<T, PluginError>,
    ) -> Result<T, PluginError> {
        observed(&self.plugin, call, body).inspect_err(|error| self.failed(error))
    }

    /// Records `error`, a failure of this instance's plugin (a failed call, or an output the
    /// host refused), in the plugin's failure log.
    pub fn failed(&self, error: &PluginError) {
        self.library.failures.record(&error.to_string());
    }

    /// Learns from the population.
    pub fn fit(&self, tables: &[TableData], as_of_micros: i64) -> Result<(), PluginError> {
        match &self.backend {
            Backend::Local { functions, .. } => {
                self.call("fit", |pointer| ffi::fit(functions, pointer, tables, as_of_micros))
            }
            Backend::Remote(remote) => self.remote("fit", || remote.fit(tables, as_of_micros, Vec::new())),
        }
    }

    /// Learns from the population of `batches`, then readies it to be assigned batch by batch
    /// with [`StrategyInstance::assign_batch`]. Isolated, the population crosses to the worker
    /// once and the worker cuts the batches itself.
    pub fn fit_for_batches(&self, batches: &AssignBatches, as_of_micros: i64) -> Result<(), PluginError> {
        match &self.backend {
            Backend::Local { .. } => self.fit(batches.population(), as_of_micros),
            Backend::Remote(remote) => self
                .remote("fit", || remote.fit(batches.population(), as_of_micros, batches.starts().to_vec())),
        }
    }

    /// Assigns batch `index` of `batches`, after [`StrategyInstance::fit_for_batches`] on them;
    /// the output is the plugin's batch, unchecked.
    pub fn assign_batch(
        &self,
        batches: &AssignBatches,
        index: usize,
        as_of_micros: i64,
    ) -> Result<RecordBatch, PluginError> {
        match &self.backend {
            Backend::Local { .. } => {
                let tables = batches.tables(index).map_err(|error| PluginError::Call {
                    plugin: self.plugin.clone(),
                    call: "assign",
                    message: format!("cannot cut batch {index}: {error}"),
                })?;
                self.assign(&tables, as_of_micros)
            }
            Backend::Remote(remote) => self.remote("assign", || remote.assign_batch(index, as_of_micros)),
        }
    }

    /// Assigns the customers of `tables`; the output is the plugin's batch, unchecked.
    pub fn assign(&self, tables: &[TableData], as_of_micros: i64) -> Result<RecordBatch, PluginError> {
        match &self.backend {
            Backend::Local { functions, .. } => {
                self.call("assign", |pointer| ffi::assign(functions, pointer, tables, as_of_micros))
            }
            Backend::Remote(remote) => self.remote("assign", || remote.assign(tables, as_of_micros)),
        }
    }

    /// What the instance learned.
    pub fn model(&self) -> Result<serde_json::Value, PluginError> {
        match &self.backend {
            Backend::Local { functions, .. } => self.call("model", |pointer| ffi::model(functions, pointer)),
            Backend::Remote(remote) => self.remote("model", || remote.model()),
        }
    }

    /// The parameters it was created with (merged over the operator's defaults).
    pub fn params(&self) -> &serde_json::Value {
        &self.params
    }

    /// The hex SHA-256 of the library build the instance comes from.
    pub fn library_sha256(&self) -> &str {
        &self.library.sha256
    }

    /// Whether the instance can save its fitted state (and a new one load it).
    pub fn saves_state(&self) -> bool {
        self.library.saves_state
    }

    /// The fitted state as bytes, to store and [`StrategyInstance::load_state`] into a new
    /// instance of the same build with the same parameters; `None` when the plugin cannot
    /// save it.
    pub fn save_state(&self) -> Result<Option<Vec<u8>>, PluginError> {
        if !self.library.saves_state {
            return Ok(None);
        }
        match &self.backend {
            Backend::Local { functions, .. } => {
                self.call("save_state", |pointer| ffi::save_state(functions, pointer))
            }
            Backend::Remote(remote) => self.remote("save_state", || remote.save_state().map(Some)),
        }
    }

    /// Loads `state` (saved by an instance of the same build with the same parameters) into
    /// this instance, fresh from `create`: it then assigns as the saved one did.
    pub fn load_state(&self, state: &[u8]) -> Result<(), PluginError> {
        match &self.backend {
            Backend::Local { functions, .. } => {
                self.call("load_state", |pointer| ffi::load_state(functions, pointer, state))
            }
            Backend::Remote(remote) => self.remote("load_state", || remote.load_state(state)),
        }
    }

    /// Whether a panic disabled the instance.
    pub fn is_disabled(&self) -> bool {
        match &self.backend {
            Backend::Local { handle, .. } => {
                handle.lock().map(|handle| handle.disabled.is_some()).unwrap_or(true)
            }
            Backend::Remote(_) => false,
        }
    }

    /// Whether the instance is gone: it lived in a worker process that has died since.
    pub fn is_gone(&self) -> bool {
        match &self.backend {
            Backend::Local { .. } => false,
            Backend::Remote(remote) => remote.is_gone(),
        }
    }
}

impl Drop for StrategyInstance {
    /// Destroys the plugin's instance on the blocking pool when a runtime is running (the last
    /// reference may be dropped on an async worker, and a plugin's destructor may take long);
    /// on the dropping thread otherwise.
    fn drop(&mut self) {
        // An isolated instance is destroyed by its own drop.
        let Backend::Local { functions, handle } = &mut self.backend else { return };
        let handle = handle.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
        let pointer = std::mem::replace(&mut handle.pointer, std::ptr::null_mut());
        if pointer.is_null() {
            return;
        }
        let doomed = Doomed { pointer, functions };
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

/// [`timed`] for a call to an isolated instance, whose failures arrive as [`PluginError`].
fn observed<T>(
    plugin: &str,
    call: &'static str,
    body: impl FnOnce() -> Result<T, PluginError>,
) -> Result<T, PluginError> {
    let span = tracing::info_span!("plugin_call", plugin, call, isolated = true);
    let _entered = span.enter();
    let started = Instant::now();
    let result = body();
    let elapsed = started.elapsed();
    let outcome = match &result {
        Ok(_) => "ok",
        Err(PluginError::Panicked { .. }) => "panic",
        Err(PluginError::Params { .. }) => "invalid_params",
        Err(PluginError::Crashed { .. }) => "crash",
        Err(_) => "error",
    };
    crate::metrics::plugin_call(plugin, call, outcome, elapsed);
    result
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

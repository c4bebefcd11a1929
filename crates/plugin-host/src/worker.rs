//! The worker process (`kindred plugin-worker`, hidden): it limits its own address space, loads
//! one library with the server's loader and checks, tells the server what the library is, and
//! serves calls on the socket it was given as standard input until the server closes it. Its
//! instances are in-process instances of this process, so a plugin that crashes takes only the
//! worker down.

use crate::batches::AssignBatches;
use crate::error::PluginError;
use crate::instance::StrategyInstance;
use crate::isolation::protocol::{
    LibraryFacts, Reply, Request, WireError, decode_tables, encode_batch, read_frame, write_frame,
};
use crate::library::load;
use arrow_array::RecordBatch;
use std::collections::HashMap;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;

/// What the worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The plugin's name in the settings (for messages).
    pub name: String,
    /// The library.
    pub library: PathBuf,
    /// Its pinned SHA-256, if any.
    pub sha256: Option<String>,
    /// The address-space limit, set before the library loads.
    pub max_memory_mb: Option<u64>,
}

/// Limits the process's address space to `megabytes`.
fn limit_memory(megabytes: u64) -> io::Result<()> {
    let bytes = megabytes.saturating_mul(1024 * 1024);
    let limit = rustix::process::Rlimit { current: Some(bytes), maximum: Some(bytes) };
    rustix::process::setrlimit(rustix::process::Resource::As, limit).map_err(io::Error::from)
}

/// Serves the server on standard input until it closes the socket. Returns the process's exit
/// code: 0 when the server hung up, 2 when the library was refused, 1 on a broken socket.
pub fn serve(options: &WorkerOptions) -> i32 {
    let socket = match std::io::stdin().as_fd().try_clone_to_owned() {
        Ok(fd) => UnixStream::from(fd),
        Err(error) => {
            eprintln!("plugin worker {}: no socket on standard input: {error}", options.name);
            return 1;
        }
    };
    match run(options, socket) {
        Ok(code) => code,
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => 0,
        Err(error) => {
            eprintln!("plugin worker {}: {error}", options.name);
            1
        }
    }
}

fn run(options: &WorkerOptions, mut socket: UnixStream) -> io::Result<i32> {
    if let Some(megabytes) = options.max_memory_mb
        && let Err(error) = limit_memory(megabytes)
    {
        let reply =
            Reply::Refused { error: format!("cannot limit the worker's memory to {megabytes} MB: {error}") };
        write_frame(&mut socket, &reply, &[])?;
        return Ok(2);
    }
    let library = match load(&options.library, options.sha256.as_deref()) {
        Ok(library) => library,
        Err(error) => {
            write_frame(&mut socket, &Reply::Refused { error: error.to_string() }, &[])?;
            return Ok(2);
        }
    };
    let facts = LibraryFacts {
        name: library.name.clone(),
        version: library.version.clone(),
        sdk_version: library.sdk_version.clone(),
        abi_version: library.abi_version.clone(),
        description: library.description.clone(),
        saves_state: library.saves_state,
    };
    write_frame(&mut socket, &Reply::Ready { library: Box::new(facts) }, &[])?;
    let mut instances: HashMap<u64, StrategyInstance> = HashMap::new();
    // The population of an instance's last fit, cut into its assign batches.
    let mut kept: HashMap<u64, AssignBatches> = HashMap::new();
    loop {
        let frame = read_frame::<Request>(&mut socket)?;
        let (reply, payloads) = match frame.header {
            Request::Create { instance, params } => {
                match StrategyInstance::create(&options.name, &library, &params) {
                    Ok(created) => {
                        let requested = created
                            .requested_columns()
                            .iter()
                            .map(|(table, columns)| (*table as u32, columns.clone()))
                            .collect();
                        instances.insert(instance, created);
                        (Reply::Created { requested }, Vec::new())
                    }
                    Err(error) => (failed(error), Vec::new()),
                }
            }
            Request::Fit { instance, as_of_micros, tables, batch_starts } => match instances.get(&instance) {
                None => (unknown(instance), Vec::new()),
                Some(target) => {
                    kept.remove(&instance);
                    let tables = Arc::new(decode_tables(&tables, frame.payloads)?);
                    match target.fit(&tables, as_of_micros) {
                        Ok(()) => {
                            if !batch_starts.is_empty() {
                                kept.insert(instance, AssignBatches::from_starts(tables, batch_starts));
                            }
                            (Reply::Done, Vec::new())
                        }
                        Err(error) => (failed(error), Vec::new()),
                    }
                }
            },
            Request::Assign { instance, as_of_micros, tables } => match instances.get(&instance) {
                None => (unknown(instance), Vec::new()),
                Some(target) => {
                    let tables = decode_tables(&tables, frame.payloads)?;
                    assigned(target.assign(&tables, as_of_micros))?
                }
            },
            Request::AssignBatch { instance, as_of_micros, index } => {
                match (instances.get(&instance), kept.get(&instance)) {
                    (None, _) => (unknown(instance), Vec::new()),
                    (Some(_), None) => {
                        (call_failed(format!("no tables kept for instance {instance}")), Vec::new())
                    }
                    (Some(target), Some(batches)) => {
                        let last = index + 1 >= batches.len();
                        let reply = match batches.tables(index) {
                            Ok(tables) => assigned(target.assign(&tables, as_of_micros))?,
                            Err(error) => {
                                (call_failed(format!("cannot cut batch {index}: {error}")), Vec::new())
                            }
                        };
                        if last {
                            kept.remove(&instance);
                        }
                        reply
                    }
                }
            }
            Request::Model { instance } => match instances.get(&instance) {
                None => (unknown(instance), Vec::new()),
                Some(target) => match target.model() {
                    Ok(model) => (Reply::Model { model }, Vec::new()),
                    Err(error) => (failed(error), Vec::new()),
                },
            },
            Request::SaveState { instance } => match instances.get(&instance) {
                None => (unknown(instance), Vec::new()),
                Some(target) => match target.save_state() {
                    Ok(Some(state)) => (Reply::State, vec![state]),
                    Ok(None) => (call_failed("the plugin cannot save its state".to_owned()), Vec::new()),
                    Err(error) => (failed(error), Vec::new()),
                },
            },
            Request::LoadState { instance } => match (instances.get(&instance), frame.payloads.first()) {
                (None, _) => (unknown(instance), Vec::new()),
                (Some(_), None) => (call_failed("no state to load".to_owned()), Vec::new()),
                (Some(target), Some(state)) => match target.load_state(state) {
                    Ok(()) => (Reply::Done, Vec::new()),
                    Err(error) => (failed(error), Vec::new()),
                },
            },
            Request::Destroy { instance } => {
                instances.remove(&instance);
                kept.remove(&instance);
                (Reply::Done, Vec::new())
            }
        };
        write_frame(&mut socket, &reply, &payloads)?;
    }
}

/// The reply to an assign: its output, checked before it is encoded (a broken array is an
/// error, not a crash), or why it failed.
fn assigned(output: Result<RecordBatch, PluginError>) -> io::Result<(Reply, Vec<Vec<u8>>)> {
    Ok(match output {
        Ok(output) => match kindred_plugin_output::validate_arrays(&output) {
            Ok(()) => (Reply::Assigned, vec![encode_batch(&output)?]),
            Err(error) => (call_failed(error.to_string()), Vec::new()),
        },
        Err(error) => (failed(error), Vec::new()),
    })
}

fn unknown(instance: u64) -> Reply {
    call_failed(format!("the worker has no instance {instance}"))
}

fn call_failed(message: String) -> Reply {
    Reply::Failed { error: WireError::Call { message } }
}

/// A failed call as the wire carries it.
fn failed(error: PluginError) -> Reply {
    let error = match error {
        PluginError::Params { errors, .. } => WireError::Params {
            errors: errors.into_iter().map(|error| (error.path, error.message)).collect(),
        },
        PluginError::Panicked { message, .. } => WireError::Panicked { message },
        PluginError::Call { message, .. } => WireError::Call { message },
        other => WireError::Call { message: other.to_string() },
    };
    Reply::Failed { error }
}

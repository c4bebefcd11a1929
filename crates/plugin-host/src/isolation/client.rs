//! The server's side of an isolated plugin: one worker process per plugin, holding all its
//! instances, started on first need and again after it dies. Calls are sent one at a time
//! (the worker is single-threaded) and wait at most the call timeout; a worker that dies or
//! overruns fails the call with how it died, is restarted for the next call, and the instances
//! it held are gone (their segmentations are refitted by the engine).

use super::exit;
use super::protocol::{
    LibraryFacts, Reply, Request, WireError, decode_batch, encode_table, read_frame, write_frame,
};
use crate::error::PluginError;
use crate::tables::TableData;
use arrow_array::RecordBatch;
use kindred_plugin_abi::TableId;
use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Lines of a worker's standard error kept to explain its death.
const KEPT_LINES: usize = 20;

/// How a plugin's worker is started and bounded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WorkerSettings {
    /// The `kindred` binary to run in worker mode.
    pub program: PathBuf,
    /// The library.
    pub library: PathBuf,
    /// Its pinned SHA-256, if any.
    pub sha256: Option<String>,
    /// The worker's address-space limit.
    pub max_memory_mb: Option<u64>,
    /// The longest a call may take before the worker is killed.
    pub call_timeout: Duration,
}

/// A running worker.
struct Worker {
    child: Child,
    socket: UnixStream,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
}

/// One isolated plugin: its worker and the generation of that worker (one more at each start).
pub(crate) struct IsolatedPlugin {
    name: String,
    settings: WorkerSettings,
    worker: Mutex<Option<Worker>>,
    generation: AtomicU64,
    next_instance: AtomicU64,
}

impl std::fmt::Debug for IsolatedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IsolatedPlugin").field("name", &self.name).field("settings", &self.settings).finish()
    }
}

fn crashed(plugin: &str, call: &'static str, cause: String) -> PluginError {
    PluginError::Crashed { plugin: plugin.to_owned(), call, cause }
}

impl IsolatedPlugin {
    /// Starts the worker of plugin `name` and returns what its library says about itself. A
    /// library the worker refuses (or a worker that cannot start) is the error.
    pub(crate) fn start(
        name: &str,
        settings: WorkerSettings,
    ) -> Result<(Arc<Self>, LibraryFacts), PluginError> {
        let plugin = Arc::new(Self {
            name: name.to_owned(),
            settings,
            worker: Mutex::new(None),
            generation: AtomicU64::new(0),
            next_instance: AtomicU64::new(1),
        });
        let (worker, facts) = plugin.spawn()?;
        *plugin.worker.lock().unwrap_or_else(PoisonError::into_inner) = Some(worker);
        plugin.generation.store(1, Ordering::SeqCst);
        Ok((plugin, facts))
    }

    /// The generation of the current worker: instances of an older one are gone.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Starts a worker and reads its first reply.
    fn spawn(&self) -> Result<(Worker, LibraryFacts), PluginError> {
        let path = self.settings.library.clone();
        let refused = |message: String| PluginError::Open { path: path.clone(), message };
        let (ours, theirs) = UnixStream::pair()
            .map_err(|error| refused(format!("cannot make the worker's socket: {error}")))?;
        let mut command = Command::new(&self.settings.program);
        command
            .arg("plugin-worker")
            .arg("--name")
            .arg(&self.name)
            .arg("--library")
            .arg(&self.settings.library);
        if let Some(sha256) = &self.settings.sha256 {
            command.arg("--sha256").arg(sha256);
        }
        if let Some(megabytes) = self.settings.max_memory_mb {
            command.arg("--max-memory-mb").arg(megabytes.to_string());
        }
        command.stdin(Stdio::from(OwnedFd::from(theirs))).stdout(Stdio::inherit()).stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|error| {
            refused(format!("cannot start the worker {}: {error}", self.settings.program.display()))
        })?;
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(stderr) = child.stderr.take() {
            let tail = stderr_tail.clone();
            let name = self.name.clone();
            // Forwards the worker's lines to the server's standard error, keeping the last few.
            let _ = std::thread::Builder::new().name(format!("worker-{name}-stderr")).spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    eprintln!("[plugin worker {name}] {line}");
                    let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
                    if tail.len() == KEPT_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            });
        }
        let mut worker = Worker { child, socket: ours, stderr_tail };
        // Loading a library runs its initialisers: bounded like a call.
        let _ = worker.socket.set_read_timeout(Some(self.settings.call_timeout));
        match read_frame::<Reply>(&mut worker.socket) {
            Ok(frame) => match frame.header {
                Reply::Ready { library } => Ok((worker, *library)),
                Reply::Refused { error } => {
                    let _ = worker.child.wait();
                    Err(refused(error))
                }
                other => {
                    self.kill(&mut worker);
                    Err(refused(format!("the worker's first reply was {other:?}")))
                }
            },
            Err(error) => {
                let cause = self.death(&mut worker, &error, "load");
                Err(refused(format!("the worker died: {cause}")))
            }
        }
    }

    fn kill(&self, worker: &mut Worker) {
        let _ = worker.child.kill();
        let _ = worker.child.wait();
    }

    /// Why the worker stopped answering during `call` (killing it if it overran).
    fn death(&self, worker: &mut Worker, error: &io::Error, call: &str) -> String {
        if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) {
            self.kill(worker);
            let seconds = self.settings.call_timeout.as_secs_f64();
            return format!("timed out after {seconds} s during {call}; the worker was killed");
        }
        // The socket closed: the process is ending, or has ended. Give it a moment, then make sure.
        let mut status = None;
        for _ in 0..100 {
            match worker.child.try_wait() {
                Ok(Some(ended)) => {
                    status = Some(ended);
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => break,
            }
        }
        let status = match status {
            Some(status) => status,
            None => {
                self.kill(worker);
                return format!("stopped answering during {call} ({error}); the worker was killed");
            }
        };
        // The stderr thread may still be copying the last lines.
        std::thread::sleep(Duration::from_millis(50));
        let tail: Vec<String> =
            worker.stderr_tail.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect();
        exit::describe(status, &tail, call, self.settings.max_memory_mb)
    }

    /// Sends `request` to the worker of `generation` and returns its reply. A dead or
    /// overrunning worker fails the call as `Crashed` and is gone; the next call starts another.
    fn call(
        &self,
        generation: u64,
        call: &'static str,
        request: &Request,
        payloads: &[Vec<u8>],
    ) -> Result<(Reply, Vec<Vec<u8>>), PluginError> {
        let mut slot = self.worker.lock().unwrap_or_else(PoisonError::into_inner);
        if generation != self.generation() {
            return Err(crashed(
                &self.name,
                call,
                "its worker process restarted after a crash, and this instance died with it".to_owned(),
            ));
        }
        let worker = match slot.as_mut() {
            Some(worker) => worker,
            None => return Err(crashed(&self.name, call, "its worker process is not running".to_owned())),
        };
        // Both ways: a worker stuck in a loop stops reading too.
        let _ = worker.socket.set_read_timeout(Some(self.settings.call_timeout));
        let _ = worker.socket.set_write_timeout(Some(self.settings.call_timeout));
        let exchanged = write_frame(&mut worker.socket, request, payloads)
            .and_then(|()| read_frame::<Reply>(&mut worker.socket));
        match exchanged {
            Ok(frame) => Ok((frame.header, frame.payloads)),
            Err(error) => {
                let cause = self.death(worker, &error, call);
                *slot = None;
                self.generation.fetch_add(1, Ordering::SeqCst);
                Err(crashed(&self.name, call, cause))
            }
        }
    }

    /// The generation to create an instance in: the current worker's, starting one if the last
    /// one died.
    fn ready_generation(&self) -> Result<u64, PluginError> {
        let mut slot = self.worker.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            let (worker, _) = self.spawn()?;
            *slot = Some(worker);
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
        Ok(self.generation())
    }
}

impl Drop for IsolatedPlugin {
    fn drop(&mut self) {
        if let Some(mut worker) = self.worker.get_mut().unwrap_or_else(PoisonError::into_inner).take() {
            // Closing our end tells the worker to exit; wait a moment, then make sure.
            drop(worker.socket);
            let deadline = std::time::Instant::now() + Duration::from_secs(2);
            while std::time::Instant::now() < deadline {
                if matches!(worker.child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = worker.child.kill();
            let _ = worker.child.wait();
        }
    }
}

/// The tables and columns an instance reads.
pub(crate) type Requested = Vec<(TableId, Vec<usize>)>;

/// An instance living in a plugin's worker.
#[derive(Debug)]
pub(crate) struct RemoteInstance {
    plugin: Arc<IsolatedPlugin>,
    id: u64,
    generation: u64,
}

/// The error a worker reported for a call.
fn reported(plugin: &str, call: &'static str, error: WireError) -> PluginError {
    match error {
        WireError::Params { errors } => PluginError::Params {
            plugin: plugin.to_owned(),
            errors: errors.into_iter().map(|(path, message)| crate::ParamError { path, message }).collect(),
        },
        WireError::Call { message } => PluginError::Call { plugin: plugin.to_owned(), call, message },
        WireError::Panicked { message } => PluginError::Panicked { plugin: plugin.to_owned(), call, message },
    }
}

fn unexpected(plugin: &str, call: &'static str, reply: &Reply) -> PluginError {
    PluginError::Call { plugin: plugin.to_owned(), call, message: format!("the worker answered {reply:?}") }
}

fn payload_error(plugin: &str, call: &'static str, error: io::Error) -> PluginError {
    PluginError::Call {
        plugin: plugin.to_owned(),
        call,
        message: format!("cannot send or read Arrow data: {error}"),
    }
}

impl RemoteInstance {
    /// Creates an instance with `params` in `plugin`'s worker; returns it with the columns it
    /// reads.
    pub(crate) fn create(
        plugin: &Arc<IsolatedPlugin>,
        params: &serde_json::Value,
    ) -> Result<(Self, Requested), PluginError> {
        let generation = plugin.ready_generation()?;
        let id = plugin.next_instance.fetch_add(1, Ordering::SeqCst);
        let request = Request::Create { instance: id, params: params.clone() };
        match plugin.call(generation, "create", &request, &[])? {
            (Reply::Created { requested }, _) => {
                let requested = requested
                    .into_iter()
                    .filter_map(|(table, columns)| TableId::from_u32(table).map(|table| (table, columns)))
                    .collect();
                Ok((Self { plugin: plugin.clone(), id, generation }, requested))
            }
            (Reply::Failed { error }, _) => Err(reported(&plugin.name, "create", error)),
            (other, _) => Err(unexpected(&plugin.name, "create", &other)),
        }
    }

    /// Whether its worker died since it was created.
    pub(crate) fn is_gone(&self) -> bool {
        self.plugin.generation() != self.generation
    }

    fn tables(
        &self,
        call: &'static str,
        tables: &[TableData],
    ) -> Result<(Vec<u32>, Vec<Vec<u8>>), PluginError> {
        let numbers = tables.iter().map(|table| table.table as u32).collect();
        let payloads = tables
            .iter()
            .map(encode_table)
            .collect::<io::Result<Vec<_>>>()
            .map_err(|error| payload_error(&self.plugin.name, call, error))?;
        Ok((numbers, payloads))
    }

    /// Fits on `tables`; with `batch_starts`, the worker keeps them, cut into the assign
    /// batches that begin at those customer ids, for [`RemoteInstance::assign_batch`].
    pub(crate) fn fit(
        &self,
        tables: &[TableData],
        as_of_micros: i64,
        batch_starts: Vec<i64>,
    ) -> Result<(), PluginError> {
        let (numbers, payloads) = self.tables("fit", tables)?;
        let request = Request::Fit { instance: self.id, as_of_micros, tables: numbers, batch_starts };
        match self.plugin.call(self.generation, "fit", &request, &payloads)? {
            (Reply::Done, _) => Ok(()),
            (Reply::Failed { error }, _) => Err(reported(&self.plugin.name, "fit", error)),
            (other, _) => Err(unexpected(&self.plugin.name, "fit", &other)),
        }
    }

    /// Assigns the customers of `tables`; the output is unchecked.
    pub(crate) fn assign(&self, tables: &[TableData], as_of_micros: i64) -> Result<RecordBatch, PluginError> {
        let (numbers, payloads) = self.tables("assign", tables)?;
        let request = Request::Assign { instance: self.id, as_of_micros, tables: numbers };
        self.assigned(self.plugin.call(self.generation, "assign", &request, &payloads)?)
    }

    /// Assigns batch `index` of the tables the worker kept at the last fit; the output is
    /// unchecked.
    pub(crate) fn assign_batch(&self, index: usize, as_of_micros: i64) -> Result<RecordBatch, PluginError> {
        let request = Request::AssignBatch { instance: self.id, as_of_micros, index };
        self.assigned(self.plugin.call(self.generation, "assign", &request, &[])?)
    }

    /// The output of an assign reply.
    fn assigned(&self, reply: (Reply, Vec<Vec<u8>>)) -> Result<RecordBatch, PluginError> {
        match reply {
            (Reply::Assigned, payloads) => {
                decode_batch(payloads).map_err(|error| payload_error(&self.plugin.name, "assign", error))
            }
            (Reply::Failed { error }, _) => Err(reported(&self.plugin.name, "assign", error)),
            (other, _) => Err(unexpected(&self.plugin.name, "assign", &other)),
        }
    }

    /// Its fitted state, as the plugin saves it.
    pub(crate) fn save_state(&self) -> Result<Vec<u8>, PluginError> {
        let request = Request::SaveState { instance: self.id };
        match self.plugin.call(self.generation, "save_state", &request, &[])? {
            (Reply::State, payloads) => payloads.into_iter().next().ok_or_else(|| {
                payload_error(
                    &self.plugin.name,
                    "save_state",
                    io::Error::other("a state reply without its state"),
                )
            }),
            (Reply::Failed { error }, _) => Err(reported(&self.plugin.name, "save_state", error)),
            (other, _) => Err(unexpected(&self.plugin.name, "save_state", &other)),
        }
    }

    /// Loads a state the plugin saved.
    pub(crate) fn load_state(&self, state: &[u8]) -> Result<(), PluginError> {
        let request = Request::LoadState { instance: self.id };
        match self.plugin.call(self.generation, "load_state", &request, &[state.to_vec()])? {
            (Reply::Done, _) => Ok(()),
            (Reply::Failed { error }, _) => Err(reported(&self.plugin.name, "load_state", error)),
            (other, _) => Err(unexpected(&self.plugin.name, "load_state", &other)),
        }
    }

    /// What it learned.
    pub(crate) fn model(&self) -> Result<serde_json::Value, PluginError> {
        match self.plugin.call(self.generation, "model", &Request::Model { instance: self.id }, &[])? {
            (Reply::Model { model }, _) => Ok(model),
            (Reply::Failed { error }, _) => Err(reported(&self.plugin.name, "model", error)),
            (other, _) => Err(unexpected(&self.plugin.name, "model", &other)),
        }
    }
}

impl Drop for RemoteInstance {
    fn drop(&mut self) {
        if self.is_gone() {
            return;
        }
        let (plugin, request, generation) =
            (self.plugin.clone(), Request::Destroy { instance: self.id }, self.generation);
        let destroy = move || {
            let _ = plugin.call(generation, "destroy", &request, &[]);
        };
        // Blocking IO: never on an async worker thread.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(destroy)),
            Err(_) => destroy(),
        }
    }
}

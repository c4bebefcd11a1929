//! Plugins run in a worker process of their own (`isolation = "process"`): a segfault, an
//! abort, an endless loop or a runaway allocation in the plugin ends the worker, not the
//! server. The worker (`crate::worker`) is the `kindred` binary in a hidden mode, loading the
//! library with the same loader and checks; tables and outputs travel as Arrow IPC over a Unix
//! socket. This module is the server's side and the protocol both sides speak.

mod client;
mod exit;
pub(crate) mod protocol;

pub(crate) use client::RemoteInstance;
pub(crate) use client::{IsolatedPlugin, WorkerSettings};

//! The Kindred server as a library: settings, the HTTP router with its gate and limits, the
//! commands behind the `kindred` binary. `main.rs` is only the command line; the router is
//! built here so that tests can call it in-process (`tower::ServiceExt::oneshot`).

mod api_error;
pub mod auth;
pub mod config;
mod dashboard;
pub mod demo;
mod demo_segmentations;
pub mod export;
mod graphql_http;
pub mod http;
pub mod import;
pub mod keys_cli;
mod listen;
pub mod logging;
mod metrics;
pub mod plugins;
pub mod plugins_cli;
mod progress;
pub mod serve;
pub mod state;
mod subscriptions;

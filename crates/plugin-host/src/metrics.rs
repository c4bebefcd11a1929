//! The plugin host's metrics, recorded through the `metrics` facade (the server installs the
//! exporter; without one they cost nothing).

use metrics::{counter, describe_counter, describe_histogram, histogram};
use std::time::Duration;

/// Plugin calls, by plugin, call and outcome (`ok`, `error`, `panic`, `invalid_params`,
/// `disabled`).
pub const PLUGIN_CALLS: &str = "kindred_plugin_calls_total";
/// How long plugin calls take, by plugin and call.
pub const PLUGIN_CALL_SECONDS: &str = "kindred_plugin_call_duration_seconds";

/// Describes this crate's metrics to the installed recorder.
pub fn describe() {
    describe_counter!(
        PLUGIN_CALLS,
        "Plugin calls, by plugin, call (create, fit, assign, model) and outcome."
    );
    describe_histogram!(
        PLUGIN_CALL_SECONDS,
        metrics::Unit::Seconds,
        "Duration of plugin calls, by plugin and call."
    );
}

/// Counts one call of `plugin` and records its duration.
pub(crate) fn plugin_call(plugin: &str, call: &'static str, outcome: &'static str, elapsed: Duration) {
    let plugin = plugin.to_owned();
    counter!(PLUGIN_CALLS, "plugin" => plugin.clone(), "call" => call, "outcome" => outcome).increment(1);
    if outcome != "disabled" {
        histogram!(PLUGIN_CALL_SECONDS, "plugin" => plugin, "call" => call).record(elapsed.as_secs_f64());
    }
}

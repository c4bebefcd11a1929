//! How a worker died, in words an operator reads: "killed by signal 11 (SIGSEGV) during fit".

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// The usual name of a Linux signal.
fn signal_name(signal: i32) -> &'static str {
    match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        31 => "SIGSYS",
        _ => "a signal",
    }
}

/// Why a worker that ended with `status` during `call` died. `last_lines` is the end of what
/// it wrote on standard error: Rust's "memory allocation of N bytes failed" there means the
/// abort came from running out of memory (under `max_memory_mb`, if set).
pub(crate) fn describe(
    status: ExitStatus,
    last_lines: &[String],
    call: &str,
    max_memory_mb: Option<u64>,
) -> String {
    let out_of_memory =
        last_lines.iter().any(|line| line.contains("memory allocation of") && line.contains("failed"));
    if out_of_memory {
        let limit = max_memory_mb.map(|mb| format!(" (max_memory_mb = {mb})")).unwrap_or_default();
        return format!("ran out of memory{limit} during {call}");
    }
    if let Some(signal) = status.signal() {
        return format!("killed by signal {signal} ({}) during {call}", signal_name(signal));
    }
    match status.code() {
        Some(code) => format!("exited with code {code} during {call}"),
        None => format!("ended during {call}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_codes_and_memory_are_named() {
        let segfault = ExitStatus::from_raw(11);
        assert_eq!(describe(segfault, &[], "fit", None), "killed by signal 11 (SIGSEGV) during fit");
        let exited = ExitStatus::from_raw(3 << 8);
        assert_eq!(describe(exited, &[], "assign", None), "exited with code 3 during assign");
        let aborted = ExitStatus::from_raw(6);
        let tail = ["memory allocation of 1048576 bytes failed".to_owned()];
        assert_eq!(
            describe(aborted, &tail, "fit", Some(256)),
            "ran out of memory (max_memory_mb = 256) during fit"
        );
    }
}

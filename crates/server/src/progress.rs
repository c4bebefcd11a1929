//! Progress of long command-line work (`import`, `export`, `demo`): on a terminal a bar with
//! rows, rows per second and the time left (from how much of the file has been read); off a
//! terminal (a pipe, a CI log, a service manager) a log line every few seconds.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often a line is logged off a terminal.
const LOG_EVERY: Duration = Duration::from_secs(5);
/// How often the bar is redrawn on a terminal.
const DRAW_EVERY: Duration = Duration::from_millis(200);

/// Counters the work updates, and a thread that shows them until [`Progress::finish`].
pub struct Progress {
    counters: Counters,
    stop: mpsc::Sender<()>,
    shower: Option<JoinHandle<()>>,
}

/// How much work there is, when known: the share done is measured in the same unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    /// Bytes of input (an import from a file).
    Bytes(u64),
    /// Rows to write (an export of segments of known size).
    Rows(u64),
}

/// What the work has done so far.
#[derive(Clone)]
struct Counters {
    /// Rows handled.
    rows: Arc<AtomicU64>,
    /// Bytes of the input read.
    bytes: Arc<AtomicU64>,
}

impl Counters {
    /// How far the work is, in the unit of `total`.
    fn position(&self, total: Option<Total>) -> u64 {
        match total {
            Some(Total::Rows(_)) => self.rows.load(Ordering::Relaxed),
            Some(Total::Bytes(_)) | None => self.bytes.load(Ordering::Relaxed),
        }
    }
}

impl Total {
    fn amount(self) -> u64 {
        match self {
            Total::Bytes(amount) | Total::Rows(amount) => amount,
        }
    }
}

impl Progress {
    /// Starts showing the progress of `label` (e.g. `import interactions`), with `total` work
    /// when known. On a terminal when standard error is one.
    pub fn start(label: &str, total: Option<Total>) -> Self {
        let counters = Counters { rows: Arc::default(), bytes: Arc::default() };
        let (stop, stopped) = mpsc::channel();
        let shown = counters.clone();
        let label = label.to_owned();
        let on_terminal = std::io::stderr().is_terminal();
        let shower = std::thread::Builder::new()
            .name("progress".to_owned())
            .spawn(move || {
                if on_terminal {
                    draw(&label, total, &shown, &stopped);
                } else {
                    log(&label, total, &shown, &stopped);
                }
            })
            .ok();
        Self { counters, stop, shower }
    }

    /// The counter of rows handled, for the work to update.
    pub fn rows(&self) -> Arc<AtomicU64> {
        self.counters.rows.clone()
    }

    /// `input`, counting the bytes read from it.
    pub fn reader<R: Read>(&self, input: R) -> CountingReader<R> {
        CountingReader { input, bytes: self.counters.bytes.clone() }
    }

    /// Stops showing progress (the bar is cleared; the caller prints the summary).
    pub fn finish(mut self) {
        self.stop_shower();
    }

    fn stop_shower(&mut self) {
        let _ = self.stop.send(());
        if let Some(shower) = self.shower.take() {
            let _ = shower.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop_shower();
    }
}

/// A reader that counts the bytes read through it.
pub struct CountingReader<R> {
    input: R,
    bytes: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.input.read(buffer)?;
        self.bytes.fetch_add(read as u64, Ordering::Relaxed);
        Ok(read)
    }
}

/// Redraws a bar until told to stop.
fn draw(label: &str, total: Option<Total>, counters: &Counters, stopped: &mpsc::Receiver<()>) {
    let bar = match total {
        Some(amount) => {
            let bar = ProgressBar::with_draw_target(Some(amount.amount()), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{prefix} [{bar:30}] {percent:>3}% {msg}, {eta} left")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar
        }
        None => {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        }
    };
    bar.set_prefix(label.to_owned());
    let started = Instant::now();
    loop {
        let rows = counters.rows.load(Ordering::Relaxed);
        bar.set_position(counters.position(total));
        bar.set_message(rows_message(rows, started.elapsed()));
        match stopped.recv_timeout(DRAW_EVERY) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    bar.finish_and_clear();
}

/// Logs a line every [`LOG_EVERY`] until told to stop.
fn log(label: &str, total: Option<Total>, counters: &Counters, stopped: &mpsc::Receiver<()>) {
    log_every(LOG_EVERY, label, total, counters, stopped, |line| tracing::info!("{line}"));
}

/// Writes a status line with `write` every `every` until told to stop.
fn log_every(
    every: Duration,
    label: &str,
    total: Option<Total>,
    counters: &Counters,
    stopped: &mpsc::Receiver<()>,
    mut write: impl FnMut(String),
) {
    let started = Instant::now();
    loop {
        match stopped.recv_timeout(every) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        write(status_line(label, total, counters, started.elapsed()));
    }
}

/// "import interactions: 1,234 rows, 617 rows/s, 25% done, 6s left".
fn status_line(label: &str, total: Option<Total>, counters: &Counters, elapsed: Duration) -> String {
    let rows = rows_message(counters.rows.load(Ordering::Relaxed), elapsed);
    let done = counters.position(total);
    let share = total
        .map(Total::amount)
        .filter(|amount| *amount > 0)
        .map(|amount| (done as f64 / amount as f64).min(1.0));
    match share {
        Some(share) => {
            let left = time_left(share, elapsed).map_or_else(String::new, |left| format!(", {left} left"));
            format!("{label}: {rows}, {:.0}% done{left}", share * 100.0)
        }
        None => format!("{label}: {rows}"),
    }
}

/// "1,234,567 rows, 45,678 rows/s".
fn rows_message(rows: u64, elapsed: Duration) -> String {
    let rate = rows as f64 / elapsed.as_secs_f64().max(1e-3);
    format!("{} rows, {} rows/s", thousands(rows), thousands(rate as u64))
}

/// The time left when `share` of the work took `elapsed`, as "1m 05s"; none before any work.
fn time_left(share: f64, elapsed: Duration) -> Option<String> {
    if share <= 0.0 {
        return None;
    }
    let left = elapsed.as_secs_f64() * (1.0 - share) / share;
    let left = left.round() as u64;
    Some(if left >= 60 { format!("{}m {:02}s", left / 60, left % 60) } else { format!("{left}s") })
}

/// `n` with a comma between each group of three digits.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (position, digit) in digits.chars().enumerate() {
        if position > 0 && (digits.len() - position).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(12_345_678), "12,345,678");
        assert_eq!(rows_message(10_000, Duration::from_secs(2)), "10,000 rows, 5,000 rows/s");
    }

    #[test]
    fn time_left_follows_the_share_done() {
        assert_eq!(time_left(0.0, Duration::from_secs(5)), None);
        assert_eq!(time_left(0.5, Duration::from_secs(30)).as_deref(), Some("30s"));
        assert_eq!(time_left(0.25, Duration::from_secs(30)).as_deref(), Some("1m 30s"));
    }

    #[test]
    fn off_a_terminal_a_line_is_written_at_each_interval() {
        let counters = Counters { rows: Arc::new(AtomicU64::new(500)), bytes: Arc::new(AtomicU64::new(250)) };
        let line = status_line("import x", Some(Total::Bytes(1_000)), &counters, Duration::from_secs(10));
        assert_eq!(line, "import x: 500 rows, 50 rows/s, 25% done, 30s left");
        assert_eq!(
            status_line("import x", None, &counters, Duration::from_secs(10)),
            "import x: 500 rows, 50 rows/s"
        );
        let (stop, stopped) = mpsc::channel();
        let lines = std::thread::scope(|scope| {
            let counters = &counters;
            let writer = scope.spawn(move || {
                let mut lines = Vec::new();
                log_every(Duration::from_millis(10), "x", None, counters, &stopped, |line| lines.push(line));
                lines
            });
            std::thread::sleep(Duration::from_millis(100));
            stop.send(()).unwrap();
            writer.join().unwrap()
        });
        assert!(lines.len() >= 2, "{lines:?}");
    }

    #[test]
    fn the_reader_counts_bytes() {
        let progress = Progress::start("test", Some(Total::Bytes(11)));
        let mut reader = progress.reader(std::io::Cursor::new(b"hello world".to_vec()));
        let mut text = String::new();
        reader.read_to_string(&mut text).unwrap();
        assert_eq!(progress.counters.bytes.load(Ordering::Relaxed), 11);
        progress.finish();
    }
}

//! WAL checkpoints on SQLite, in the background.
//!
//! SQLite copies the write-ahead log back into the database file (a checkpoint) when the
//! log passes a size, inside the commit that crossed it; every writer queued behind that
//! commit waits for the copy. Here a task checkpoints every second on a connection of its
//! own, so commits stay short; the size-triggered checkpoint remains as a backstop when no
//! task runs (set high in `connect`).

use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::Weak;
use std::time::Duration;

/// How often the log is copied back.
const EVERY: Duration = Duration::from_secs(1);

/// Checkpoints the database at `path` every second for as long as `alive` can be upgraded
/// (the store exists).
pub(crate) fn start(path: PathBuf, alive: Weak<()>) {
    tokio::spawn(async move {
        let mut connection: Option<Connection> = None;
        let mut ticks = tokio::time::interval(EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if alive.upgrade().is_none() {
                return;
            }
            let (path, taken) = (path.clone(), connection.take());
            let done = tokio::task::spawn_blocking(move || {
                let connection = match taken {
                    Some(connection) => connection,
                    None => Connection::open(&path)?,
                };
                // PASSIVE: copies what no reader still needs, never waits for writers.
                connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
                Ok::<_, rusqlite::Error>(connection)
            })
            .await;
            match done {
                Ok(Ok(open)) => connection = Some(open),
                Ok(Err(error)) => tracing::debug!(%error, "WAL checkpoint failed; trying again"),
                Err(_) => return,
            }
        }
    });
}

//! Following what happened, on every server: membership events and the exits of merged
//! customers are read in commit order from their tables, so a subscription on any server
//! hears what any other wrote. On PostgreSQL each row carries the transaction that wrote it,
//! and rows are read only once every transaction that began before them has ended (row ids are
//! handed out before commit, so by id alone a reader could pass a row committed late); on
//! SQLite, writers take turns and ids commit in order. Writers notify (`NOTIFY`) at commit, so
//! readers on other servers read at once; they also read on a poll, for a notice missed.

use crate::connect::Store;
use crate::entity::membership_event;
use crate::error::StoreResult;
use crate::sql::statement;
use crate::{Member, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult};

/// The channel told when membership events or merge exits were committed.
pub const EVENTS_CHANNEL: &str = "kindred_events";
/// The channel told `<segmentation id>:<job id>` when a refit committed a new model.
pub const MODELS_CHANNEL: &str = "kindred_models";

/// Where a reader of a feed stands: the last row it read (and on PostgreSQL, that row's
/// transaction).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedPosition {
    txid: i64,
    id: i64,
}

/// The feeds servers follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feed {
    Events,
    MergeExits,
}

impl Feed {
    fn table(self) -> &'static str {
        match self {
            Feed::Events => "membership_events",
            Feed::MergeExits => "merge_exits",
        }
    }

    fn columns(self) -> &'static str {
        match self {
            Feed::Events => "id, segmentation_id, customer_id, segment, change, score, reason, job_id, at",
            Feed::MergeExits => "id, segmentation_id, customer_id, segment, score, at",
        }
    }
}

/// Tells readers on other servers, when the transaction on `conn` commits, that `channel` has
/// news (`payload`, ids only). Nothing on SQLite, which has one server.
pub(crate) async fn notify<C: ConnectionTrait>(conn: &C, channel: &str, payload: &str) -> StoreResult<()> {
    if conn.get_database_backend() == DbBackend::Postgres {
        let sql = "SELECT pg_notify(?, ?)";
        conn.execute_raw(statement(DbBackend::Postgres, sql, vec![channel.into(), payload.into()])).await?;
    }
    Ok(())
}

impl Store {
    /// Where a reader starting now begins: after everything already committed.
    pub async fn feed_start(&self) -> StoreResult<(FeedPosition, FeedPosition)> {
        Ok((self.feed_end(Feed::Events).await?, self.feed_end(Feed::MergeExits).await?))
    }

    async fn feed_end(&self, feed: Feed) -> StoreResult<FeedPosition> {
        let table = feed.table();
        let sql = match self.backend() {
            // Every transaction older than the oldest running one has ended: begin after those.
            DbBackend::Postgres => format!(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint - 1, \
                 (SELECT COALESCE(MAX(id), 0) FROM {table})"
            ),
            _ => format!("SELECT 0, COALESCE(MAX(id), 0) FROM {table}"),
        };
        let row = self.connection().query_one_raw(statement(self.backend(), &sql, Vec::new())).await?;
        let row = row.ok_or_else(|| StoreError::ReadTask("the feed's end could not be read".to_owned()))?;
        let (txid, max_id): (i64, i64) = (row.try_get_by_index(0)?, row.try_get_by_index(1)?);
        Ok(match self.backend() {
            // Rows of transactions still running are read once they commit.
            DbBackend::Postgres => FeedPosition { txid, id: i64::MAX },
            _ => FeedPosition { txid: 0, id: max_id },
        })
    }

    /// Rows of `feed` committed after `after`, in commit order, at most `limit`, the position
    /// after them, and whether more are committed but wait behind a transaction still open
    /// (PostgreSQL: read again soon).
    async fn feed_after(
        &self,
        feed: Feed,
        after: FeedPosition,
        limit: u64,
    ) -> StoreResult<(Vec<sea_orm::QueryResult>, FeedPosition, bool)> {
        let (table, columns) = (feed.table(), feed.columns());
        let rows = match self.backend() {
            // A row comparison, which the index on (txid, id) serves as a range; each row says
            // whether every transaction older than it has ended (only then is it read).
            DbBackend::Postgres => {
                let sql = format!(
                    "SELECT {columns}, txid, txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS ready \
                     FROM {table} WHERE (txid, id) > (?, ?) ORDER BY txid, id LIMIT ?"
                );
                let values = vec![after.txid.into(), after.id.into(), (limit as i64).into()];
                self.connection().query_all_raw(statement(self.backend(), &sql, values)).await?
            }
            _ => {
                let sql = format!(
                    "SELECT {columns}, 0 AS txid, TRUE AS ready FROM {table} WHERE id > ? ORDER BY id LIMIT ?"
                );
                let values = vec![after.id.into(), (limit as i64).into()];
                self.connection().query_all_raw(statement(self.backend(), &sql, values)).await?
            }
        };
        let mut ready = Vec::with_capacity(rows.len());
        let mut waiting = false;
        for row in rows {
            if row.try_get::<bool>("", "ready")? {
                ready.push(row);
            } else {
                // Rows are in commit order: none after this one is read before it.
                waiting = true;
                break;
            }
        }
        let rows = ready;
        let mut position = after;
        if let Some(last) = rows.last() {
            position = FeedPosition { txid: last.try_get("", "txid")?, id: last.try_get("", "id")? };
        }
        Ok((rows, position, waiting))
    }

    /// Membership events committed after `after`, in commit order, at most `limit`, the
    /// position after them, and whether more wait behind a transaction still open.
    pub async fn events_after(
        &self,
        after: FeedPosition,
        limit: u64,
    ) -> StoreResult<(Vec<membership_event::Model>, FeedPosition, bool)> {
        let (rows, position, waiting) = self.feed_after(Feed::Events, after, limit).await?;
        let events = rows
            .iter()
            .map(|row| membership_event::Model::from_query_result(row, ""))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((events, position, waiting))
    }

    /// Segment exits caused by merges committed after `after` (by any process), in commit
    /// order, at most `limit`: the segmentation, the member that left, when; and the position
    /// after them.
    pub async fn merge_exits_after(
        &self,
        after: FeedPosition,
        limit: u64,
    ) -> StoreResult<(Vec<(i64, Member, DateTime<Utc>)>, FeedPosition, bool)> {
        let (rows, position, waiting) = self.feed_after(Feed::MergeExits, after, limit).await?;
        let mut exits = Vec::with_capacity(rows.len());
        for row in rows {
            let member = Member {
                customer_id: row.try_get("", "customer_id")?,
                segment: row.try_get("", "segment")?,
                score: row.try_get("", "score")?,
            };
            exits.push((row.try_get("", "segmentation_id")?, member, row.try_get("", "at")?));
        }
        Ok((exits, position, waiting))
    }

    /// Deletes merge exits written more than `seconds` ago: every server has read them by
    /// then. Returns how many.
    pub async fn purge_merge_exits(&self, seconds: i64) -> StoreResult<u64> {
        let sql = match self.backend() {
            DbBackend::Postgres => "DELETE FROM merge_exits WHERE at < now() - make_interval(secs => ?)",
            _ => "DELETE FROM merge_exits WHERE at < datetime('now', '-' || ? || ' seconds')",
        };
        let done =
            self.connection().execute_raw(statement(self.backend(), sql, vec![seconds.into()])).await?;
        Ok(done.rows_affected())
    }

    /// A listener for `channels` on PostgreSQL (none on SQLite, which has one server): each
    /// notification names its channel and carries a payload of ids.
    pub async fn listen(
        &self,
        channels: &[&str],
    ) -> StoreResult<Option<sea_orm::sqlx::postgres::PgListener>> {
        if self.backend() != DbBackend::Postgres {
            return Ok(None);
        }
        let pool = self.connection().get_postgres_connection_pool();
        let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool)
            .await
            .map_err(|error| StoreError::ReadTask(format!("cannot listen for notifications: {error}")))?;
        listener
            .listen_all(channels.iter().copied())
            .await
            .map_err(|error| StoreError::ReadTask(format!("cannot listen for notifications: {error}")))?;
        Ok(Some(listener))
    }
}

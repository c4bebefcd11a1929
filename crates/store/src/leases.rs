//! Leases: how several servers on one database share work without a broker. A job row
//! carries the server running it and until when; the runner renews the lease while it works,
//! and a job whose lease has expired (its runner died) is taken over by another server or
//! failed. A named lease (the schedule's leader) is held by one server the same way. Times
//! come from the servers' clocks, which must agree to well within a lease (NTP does).

use crate::connect::Store;
use crate::error::StoreResult;
use crate::sql::{marks, statement};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Value};

/// The tables whose jobs run under a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeasedJobs {
    /// Refit jobs (`segmentation_jobs`).
    Refit,
    /// Preview jobs.
    Preview,
    /// Identity resolution jobs.
    Resolve,
}

impl LeasedJobs {
    fn table(self) -> &'static str {
        match self {
            LeasedJobs::Refit => "segmentation_jobs",
            LeasedJobs::Preview => "preview_jobs",
            LeasedJobs::Resolve => "resolve_jobs",
        }
    }
}

/// What renewing a job's lease found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// Renewed: the job is still this server's.
    Held,
    /// Renewed, and someone asked that the job stop.
    CancelRequested,
    /// Not renewed: the job ended, or another server took it over.
    Lost,
}

/// Who holds a lease, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The server (its `server.id`).
    pub holder: String,
    /// When the lease ends unless renewed.
    pub until: DateTime<Utc>,
}

/// `FOR UPDATE SKIP LOCKED` where the database has it: PostgreSQL, where servers compete
/// for rows. SQLite runs one server, and its writers take turns anyway.
pub(crate) fn skip_locked(backend: DbBackend) -> &'static str {
    if backend == DbBackend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" }
}

impl Store {
    /// Renews `lease` on job `id` of `jobs`: whether it is still held, and whether someone
    /// asked that it stop ([`Store::request_job_cancel`]).
    pub async fn renew_job_lease(&self, jobs: LeasedJobs, id: i64, lease: &Lease) -> StoreResult<Renewal> {
        let asked = if jobs == LeasedJobs::Refit { "cancel_requested" } else { "FALSE" };
        let sql = format!(
            "UPDATE {} SET lease_until = ? WHERE id = ? AND runner = ? AND status = 'running' RETURNING {asked}",
            jobs.table()
        );
        let values = vec![lease.until.into(), id.into(), lease.holder.clone().into()];
        let row = self.connection().query_one_raw(statement(self.backend(), &sql, values)).await?;
        Ok(match row {
            None => Renewal::Lost,
            Some(row) if row.try_get_by_index::<bool>(0)? => Renewal::CancelRequested,
            Some(_) => Renewal::Held,
        })
    }

    /// Takes over the running jobs of `jobs` whose lease expired before `now` (their runner
    /// died), at most `limit`, under `lease`; returns their ids. Each is claimed by one server
    /// only.
    pub async fn take_over_expired_jobs(
        &self,
        jobs: LeasedJobs,
        now: DateTime<Utc>,
        lease: &Lease,
        limit: u64,
    ) -> StoreResult<Vec<i64>> {
        let table = jobs.table();
        let sql = format!(
            "UPDATE {table} SET runner = ?, lease_until = ? WHERE id IN (SELECT id FROM {table} \
             WHERE status = 'running' AND lease_until < ? ORDER BY id LIMIT ?{}) RETURNING id",
            skip_locked(self.backend())
        );
        let values = vec![lease.holder.clone().into(), lease.until.into(), now.into(), (limit as i64).into()];
        let rows = self.connection().query_all_raw(statement(self.backend(), &sql, values)).await?;
        rows.iter().map(|row| Ok(row.try_get_by_index(0)?)).collect()
    }

    /// Marks failed the running jobs of `jobs` whose lease expired before `now` (or that
    /// have none: left by a server older than leases), with `message`; returns their ids.
    /// Jobs another server holds a live lease on are left running.
    pub async fn fail_expired_jobs(
        &self,
        jobs: LeasedJobs,
        now: DateTime<Utc>,
        message: &str,
    ) -> StoreResult<Vec<i64>> {
        let sql = format!(
            "UPDATE {} SET status = 'failed', error = ?, finished_at = ?, runner = NULL \
             WHERE status = 'running' AND (lease_until IS NULL OR lease_until < ?) RETURNING id",
            jobs.table()
        );
        let values = vec![message.into(), now.into(), now.into()];
        let rows = self.connection().query_all_raw(statement(self.backend(), &sql, values)).await?;
        rows.iter().map(|row| Ok(row.try_get_by_index(0)?)).collect()
    }

    /// Takes or renews the named lease `name` for `lease.holder`: true when it holds it now
    /// (it was free, expired before `now`, or already its own).
    pub async fn hold_lease(&self, name: &str, now: DateTime<Utc>, lease: &Lease) -> StoreResult<bool> {
        let sql = "INSERT INTO leases (name, holder, until) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE \
                   SET holder = excluded.holder, until = excluded.until \
                   WHERE leases.holder = excluded.holder OR leases.until < ?";
        let values = vec![name.into(), lease.holder.clone().into(), lease.until.into(), now.into()];
        let done = self.connection().execute_raw(statement(self.backend(), sql, values)).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives up the named lease `name` if `holder` holds it (a server stopping cleanly), so
    /// another takes it at once instead of after it expires.
    pub async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        let sql = "DELETE FROM leases WHERE name = ? AND holder = ?";
        self.connection()
            .execute_raw(statement(self.backend(), sql, vec![name.into(), holder.into()]))
            .await?;
        Ok(())
    }

    /// The holder of the named lease `name`, if it holds it at `now`.
    pub async fn lease_holder(&self, name: &str, now: DateTime<Utc>) -> StoreResult<Option<String>> {
        let sql = "SELECT holder FROM leases WHERE name = ? AND until >= ?";
        let row = self
            .connection()
            .query_one_raw(statement(self.backend(), sql, vec![name.into(), now.into()]))
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get_by_index(0)?),
            None => None,
        })
    }
}

/// Ids as bound values, and their `?` marks.
pub(crate) fn id_values(ids: &[i64]) -> (String, Vec<Value>) {
    (marks(ids.len()), ids.iter().map(|id| Value::from(*id)).collect())
}

//! Segmentations and their refit jobs: create, change, delete, list; job progress and outcome.

use crate::connect::Store;
use crate::entity::{segmentation, segmentation_job};
use crate::error::{StoreError, StoreResult};
use crate::states::{JobReason, JobStatus, SegmentationMode, SegmentationStatus};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

/// A segmentation to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSegmentation {
    /// Unique name.
    pub name: String,
    /// The strategy plugin's name.
    pub strategy: String,
    /// Parameters, as JSON.
    pub params: serde_json::Value,
    /// `dynamic` or `static`.
    pub mode: SegmentationMode,
    /// Refit every this many seconds, or on demand only.
    pub refresh_interval_seconds: Option<i64>,
}

/// Changes to a segmentation; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SegmentationChanges {
    /// A new name.
    pub name: Option<String>,
    /// New parameters.
    pub params: Option<serde_json::Value>,
    /// A new mode.
    pub mode: Option<SegmentationMode>,
    /// A new refresh interval: `Some(None)` makes it on demand only.
    pub refresh_interval_seconds: Option<Option<i64>>,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub struct JobOutcome {
    /// Succeeded, failed or cancelled.
    pub status: JobStatus,
    /// Customers entered, exited and rescored.
    pub counts: (i64, i64, i64),
    /// Customers left out because they refused profiling.
    pub excluded: i64,
    /// Why it failed.
    pub error: Option<String>,
}

fn not_found(id: i64) -> StoreError {
    StoreError::NotFound { what: "segmentation", key: id.to_string() }
}

fn name_taken(error: StoreError, name: &str) -> StoreError {
    if error.is_conflict() {
        StoreError::Conflict(format!("a segmentation named {name:?} already exists"))
    } else {
        error
    }
}

/// Why a job (and its segmentation) left running by a server that stopped was failed.
pub const INTERRUPTED: &str = "the server stopped while this job ran";

impl Store {
    /// Creates a segmentation with status `running` (its first refit starts at once).
    pub async fn create_segmentation(&self, new: &NewSegmentation) -> StoreResult<segmentation::Model> {
        let now = Utc::now();
        let row = segmentation::ActiveModel {
            name: Set(new.name.clone()),
            strategy: Set(new.strategy.clone()),
            params: Set(new.params.to_string()),
            mode: Set(new.mode),
            refresh_interval_seconds: Set(new.refresh_interval_seconds),
            status: Set(SegmentationStatus::Running),
            error: Set(None),
            model: Set(None),
            last_refreshed_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        row.insert(self.connection()).await.map_err(|error| name_taken(error.into(), &new.name))
    }

    /// One segmentation.
    pub async fn segmentation(&self, id: i64) -> StoreResult<Option<segmentation::Model>> {
        Ok(segmentation::Entity::find_by_id(id).one(self.connection()).await?)
    }

    /// Every segmentation, oldest first.
    pub async fn segmentations(&self) -> StoreResult<Vec<segmentation::Model>> {
        Ok(segmentation::Entity::find().order_by_asc(segmentation::Column::Id).all(self.connection()).await?)
    }

    /// Applies `changes` to segmentation `id`.
    pub async fn update_segmentation(
        &self,
        id: i64,
        changes: &SegmentationChanges,
    ) -> StoreResult<segmentation::Model> {
        let current = self.segmentation(id).await?.ok_or_else(|| not_found(id))?;
        let mut row: segmentation::ActiveModel = current.into();
        if let Some(name) = &changes.name {
            row.name = Set(name.clone());
        }
        if let Some(params) = &changes.params {
            row.params = Set(params.to_string());
        }
        if let Some(mode) = &changes.mode {
            row.mode = Set(*mode);
        }
        if let Some(interval) = changes.refresh_interval_seconds {
            row.refresh_interval_seconds = Set(interval);
        }
        row.updated_at = Set(Utc::now());
        let name = changes.name.clone().unwrap_or_default();
        row.update(self.connection()).await.map_err(|error| name_taken(error.into(), &name))
    }

    /// Deletes segmentation `id` with its memberships, history and jobs; false if there was none.
    pub async fn delete_segmentation(&self, id: i64) -> StoreResult<bool> {
        let deleted = segmentation::Entity::delete_by_id(id).exec(self.connection()).await?;
        Ok(deleted.rows_affected > 0)
    }

    /// Sets a segmentation's status and error.
    pub async fn set_segmentation_status(
        &self,
        id: i64,
        status: SegmentationStatus,
        error: Option<&str>,
    ) -> StoreResult<()> {
        let mut update = segmentation::Entity::update_many()
            .col_expr(segmentation::Column::Status, Expr::value(status))
            .col_expr(segmentation::Column::Error, Expr::value(error.map(str::to_owned)))
            .col_expr(segmentation::Column::UpdatedAt, Expr::value(Utc::now()));
        if status != SegmentationStatus::Degraded {
            update = update
                .col_expr(segmentation::Column::DegradedSince, Expr::value(Option::<DateTime<Utc>>::None));
        }
        update.filter(segmentation::Column::Id.eq(id)).exec(self.connection()).await?;
        Ok(())
    }

    /// Marks segmentation `id` degraded with `error`: since now, or since it already was.
    /// True when it was not degraded before.
    pub async fn mark_degraded(&self, id: i64, error: &str) -> StoreResult<bool> {
        let now = Utc::now();
        let became = segmentation::Entity::update_many()
            .col_expr(segmentation::Column::Status, Expr::value(SegmentationStatus::Degraded))
            .col_expr(segmentation::Column::Error, Expr::value(Some(error.to_owned())))
            .col_expr(segmentation::Column::DegradedSince, Expr::value(Some(now)))
            .col_expr(segmentation::Column::UpdatedAt, Expr::value(now))
            .filter(segmentation::Column::Id.eq(id))
            .filter(segmentation::Column::Status.ne(SegmentationStatus::Degraded))
            .exec(self.connection())
            .await?;
        if became.rows_affected > 0 {
            return Ok(true);
        }
        self.set_segmentation_status(id, SegmentationStatus::Degraded, Some(error)).await?;
        Ok(false)
    }

    /// How many segmentations are in each status (statuses none is in are left out).
    pub async fn segmentation_status_counts(&self) -> StoreResult<Vec<(SegmentationStatus, i64)>> {
        use sea_orm::QuerySelect;
        Ok(segmentation::Entity::find()
            .select_only()
            .column(segmentation::Column::Status)
            .column_as(segmentation::Column::Id.count(), "count")
            .group_by(segmentation::Column::Status)
            .into_tuple()
            .all(self.connection())
            .await?)
    }

    /// Starts a refit job for segmentation `id`, run by `lease.holder` under `lease`. At most
    /// one runs per segmentation, whichever server asks: a conflict naming the running one
    /// otherwise. Taken under the segmentation's lock, so a re-assignment on any server
    /// either committed before (and the refit reads what it wrote) or sees the job running.
    pub async fn start_job(
        &self,
        segmentation_id: i64,
        reason: JobReason,
        lease: &crate::Lease,
    ) -> StoreResult<segmentation_job::Model> {
        let row = segmentation_job::ActiveModel {
            segmentation_id: Set(segmentation_id),
            status: Set(JobStatus::Running),
            reason: Set(reason),
            customers_total: Set(0),
            customers_done: Set(0),
            entered: Set(0),
            exited: Set(0),
            rescored: Set(0),
            error: Set(None),
            started_at: Set(Utc::now()),
            finished_at: Set(None),
            runner: Set(Some(lease.holder.clone())),
            lease_until: Set(Some(lease.until)),
            cancel_requested: Set(false),
            ..Default::default()
        };
        let txn = self.begin_write().await?;
        crate::segmentation_lock::advisory_locks(&*txn, &[segmentation_id]).await?;
        let inserted = row.insert(&*txn).await;
        match inserted {
            Ok(job) => {
                txn.commit().await?;
                Ok(job)
            }
            Err(error) => {
                txn.rollback().await?;
                let error = StoreError::from(error);
                if !error.is_conflict() {
                    return Err(error);
                }
                let running = segmentation_job::Entity::find()
                    .filter(segmentation_job::Column::SegmentationId.eq(segmentation_id))
                    .filter(segmentation_job::Column::Status.eq(JobStatus::Running))
                    .one(self.connection())
                    .await?;
                let job = running.map_or_else(|| "another job".to_owned(), |job| format!("job {}", job.id));
                Err(StoreError::Conflict(format!(
                    "segmentation {segmentation_id} is already being refitted ({job})"
                )))
            }
        }
    }

    /// Asks the running refit of segmentation `id` to stop, whichever server runs it (its
    /// runner sees it when it next renews its lease); returns the job, or `None` when none runs.
    pub async fn request_job_cancel(&self, segmentation_id: i64) -> StoreResult<Option<i64>> {
        let sql = "UPDATE segmentation_jobs SET cancel_requested = TRUE WHERE segmentation_id = ? AND status = 'running' \
                   RETURNING id";
        let row = self
            .connection()
            .query_one_raw(crate::sql::statement(self.backend(), sql, vec![segmentation_id.into()]))
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get_by_index(0)?),
            None => None,
        })
    }

    /// The refit job `id`.
    pub async fn job(&self, id: i64) -> StoreResult<Option<segmentation_job::Model>> {
        Ok(segmentation_job::Entity::find_by_id(id).one(self.connection()).await?)
    }

    /// The running refit job of segmentation `id`, whichever server runs it.
    pub async fn running_job(&self, segmentation_id: i64) -> StoreResult<Option<segmentation_job::Model>> {
        Ok(segmentation_job::Entity::find()
            .filter(segmentation_job::Column::SegmentationId.eq(segmentation_id))
            .filter(segmentation_job::Column::Status.eq(JobStatus::Running))
            .one(self.connection())
            .await?)
    }

    /// Records how far a job has come.
    pub async fn job_progress(&self, job_id: i64, done: i64, total: i64) -> StoreResult<()> {
        segmentation_job::Entity::update_many()
            .col_expr(segmentation_job::Column::CustomersDone, Expr::value(done))
            .col_expr(segmentation_job::Column::CustomersTotal, Expr::value(total))
            .filter(segmentation_job::Column::Id.eq(job_id))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Records how a job ended, unless `runner` no longer runs it (another server took it
    /// over after its lease expired); returns whether it did.
    pub async fn finish_job(&self, job_id: i64, runner: &str, outcome: &JobOutcome) -> StoreResult<bool> {
        let (entered, exited, rescored) = outcome.counts;
        let updated = segmentation_job::Entity::update_many()
            .col_expr(segmentation_job::Column::Status, Expr::value(outcome.status))
            .col_expr(segmentation_job::Column::Entered, Expr::value(entered))
            .col_expr(segmentation_job::Column::Exited, Expr::value(exited))
            .col_expr(segmentation_job::Column::Rescored, Expr::value(rescored))
            .col_expr(segmentation_job::Column::Excluded, Expr::value(outcome.excluded))
            .col_expr(segmentation_job::Column::Error, Expr::value(outcome.error.clone()))
            .col_expr(segmentation_job::Column::FinishedAt, Expr::value(Some(Utc::now())))
            .col_expr(
                segmentation_job::Column::LeaseUntil,
                Expr::value(Option::<chrono::DateTime<Utc>>::None),
            )
            .filter(segmentation_job::Column::Id.eq(job_id))
            .filter(segmentation_job::Column::Runner.eq(runner))
            .filter(segmentation_job::Column::Status.eq(JobStatus::Running))
            .exec(self.connection())
            .await?;
        Ok(updated.rows_affected == 1)
    }

    /// A segmentation's jobs, newest first, at most `limit`.
    pub async fn jobs(&self, segmentation_id: i64, limit: u64) -> StoreResult<Vec<segmentation_job::Model>> {
        use sea_orm::QuerySelect;
        Ok(segmentation_job::Entity::find()
            .filter(segmentation_job::Column::SegmentationId.eq(segmentation_id))
            .order_by_desc(segmentation_job::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?)
    }

    /// Marks failed the refit jobs left running by a stopped server (their lease expired
    /// before `now`), and their segmentations too; jobs another server holds a live lease on
    /// are left running. Returns how many jobs.
    pub async fn fail_interrupted_jobs(&self, now: chrono::DateTime<Utc>) -> StoreResult<u64> {
        let message = INTERRUPTED;
        let failed = self.fail_expired_jobs(crate::LeasedJobs::Refit, now, message).await?;
        // Running with no running job: its job was just failed, or it was left so by a stop.
        let sql = "UPDATE segmentations SET status = 'failed', error = ? WHERE status = 'running' AND NOT EXISTS \
                   (SELECT 1 FROM segmentation_jobs j WHERE j.segmentation_id = segmentations.id AND j.status = 'running')";
        self.connection()
            .execute_raw(crate::sql::statement(self.backend(), sql, vec![message.into()]))
            .await?;
        Ok(failed.len() as u64)
    }
}

//! Resolve jobs: a run of the probabilistic pass started, followed stage by stage, finished,
//! and found again; one at a time, and those a stopped server left running marked failed.

use crate::connect::Store;
use crate::entity::resolve_job;
use crate::error::{StoreError, StoreResult};
use crate::states::JobStatus;
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

impl Store {
    /// Stores a running resolve job started by `by`; refused while another is running (two
    /// passes would merge the same groups twice).
    pub async fn start_resolve_job(
        &self,
        dry_run: bool,
        by: Option<&str>,
        lease: &crate::Lease,
    ) -> StoreResult<resolve_job::Model> {
        let txn = self.begin_write().await?;
        super::lock_identity(&*txn).await?;
        let running = resolve_job::Entity::find()
            .filter(resolve_job::Column::Status.eq(JobStatus::Running))
            .one(&*txn)
            .await?;
        if let Some(running) = running {
            txn.rollback().await?;
            return Err(StoreError::Conflict(format!(
                "resolve job {} is running; follow it with resolveJob, or wait for it to end",
                running.id
            )));
        }
        let row = resolve_job::ActiveModel {
            dry_run: Set(dry_run),
            status: Set(JobStatus::Running),
            stage: Set("starting".to_owned()),
            done: Set(0),
            total: Set(0),
            started_by: Set(by.map(str::to_owned)),
            error: Set(None),
            result: Set(None),
            started_at: Set(Utc::now()),
            finished_at: Set(None),
            runner: Set(Some(lease.holder.clone())),
            lease_until: Set(Some(lease.until)),
            ..Default::default()
        }
        .insert(&*txn)
        .await?;
        txn.commit().await?;
        Ok(row)
    }

    /// Records the stage a running resolve job is at, and `done` of `total` in it.
    pub async fn resolve_job_progress(&self, id: i64, stage: &str, done: u64, total: u64) -> StoreResult<()> {
        resolve_job::Entity::update_many()
            .col_expr(resolve_job::Column::Stage, Expr::value(stage))
            .col_expr(resolve_job::Column::Done, Expr::value(i64::try_from(done).unwrap_or(i64::MAX)))
            .col_expr(resolve_job::Column::Total, Expr::value(i64::try_from(total).unwrap_or(i64::MAX)))
            .filter(resolve_job::Column::Id.eq(id))
            .filter(resolve_job::Column::Status.eq(JobStatus::Running))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Records how a resolve job ended: `status` with its result (JSON) or its error.
    pub async fn finish_resolve_job(
        &self,
        id: i64,
        status: JobStatus,
        result: Option<String>,
        error: Option<String>,
    ) -> StoreResult<()> {
        resolve_job::Entity::update_many()
            .col_expr(resolve_job::Column::Status, Expr::value(status))
            .col_expr(resolve_job::Column::Stage, Expr::value("done"))
            .col_expr(resolve_job::Column::Result, Expr::value(result))
            .col_expr(resolve_job::Column::Error, Expr::value(error))
            .col_expr(resolve_job::Column::FinishedAt, Expr::value(Some(Utc::now())))
            .filter(resolve_job::Column::Id.eq(id))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Resolve job `id`, if there is one.
    pub async fn resolve_job(&self, id: i64) -> StoreResult<Option<resolve_job::Model>> {
        Ok(resolve_job::Entity::find_by_id(id).one(self.connection()).await?)
    }

    /// The latest resolve jobs, newest first, at most `limit`.
    pub async fn resolve_jobs(&self, limit: u64) -> StoreResult<Vec<resolve_job::Model>> {
        Ok(resolve_job::Entity::find()
            .order_by_desc(resolve_job::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?)
    }

    /// Marks resolve jobs left running by a stopped server as failed; returns how many. What
    /// such a run merged stays merged (each group was its own transaction, in the merge log).
    pub async fn fail_interrupted_resolve_jobs(&self, now: chrono::DateTime<Utc>) -> StoreResult<u64> {
        let message = "the server stopped while this job ran; the groups merged before stay merged";
        Ok(self.fail_expired_jobs(crate::LeasedJobs::Resolve, now, message).await?.len() as u64)
    }
}

//! Preview jobs: started, followed, finished, cancelled, found by their owner, and purged once
//! they have been kept long enough.

use crate::connect::Store;
use crate::entity::preview_job;
use crate::error::StoreResult;
use crate::states::JobStatus;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// A preview job to start.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPreview {
    /// The strategy plugin's name.
    pub strategy: String,
    /// The parameters asked for.
    pub params: serde_json::Value,
    /// Customers in the random sample; none for everyone.
    pub sample: Option<i64>,
    /// The API key that starts it; none without authentication.
    pub owner: Option<String>,
}

/// Finished previews kept since this moment, and every running one.
fn kept_since(since: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(preview_job::Column::FinishedAt.is_null())
        .add(preview_job::Column::FinishedAt.gte(since))
}

impl Store {
    /// Stores a running preview job, run by `lease.holder` under `lease`.
    pub async fn start_preview(
        &self,
        new: &NewPreview,
        lease: &crate::Lease,
    ) -> StoreResult<preview_job::Model> {
        let row = preview_job::ActiveModel {
            strategy: Set(new.strategy.clone()),
            params: Set(new.params.to_string()),
            sample: Set(new.sample),
            owner: Set(new.owner.clone()),
            status: Set(JobStatus::Running),
            customers_total: Set(0),
            customers_done: Set(0),
            error: Set(None),
            result: Set(None),
            started_at: Set(Utc::now()),
            finished_at: Set(None),
            runner: Set(Some(lease.holder.clone())),
            lease_until: Set(Some(lease.until)),
            ..Default::default()
        };
        Ok(row.insert(self.connection()).await?)
    }

    /// Records how far a running preview has come.
    pub async fn preview_progress(&self, id: i64, done: i64, total: i64) -> StoreResult<()> {
        preview_job::Entity::update_many()
            .col_expr(preview_job::Column::CustomersDone, Expr::value(done))
            .col_expr(preview_job::Column::CustomersTotal, Expr::value(total))
            .filter(preview_job::Column::Id.eq(id))
            .filter(preview_job::Column::Status.eq(JobStatus::Running))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Records how a running preview ended: `status` with its result (JSON) or its error.
    /// False if it was no longer running (cancelled meanwhile): the row is left as it is.
    pub async fn finish_preview(
        &self,
        id: i64,
        status: JobStatus,
        result: Option<String>,
        error: Option<String>,
    ) -> StoreResult<bool> {
        let updated = preview_job::Entity::update_many()
            .col_expr(preview_job::Column::Status, Expr::value(status))
            .col_expr(preview_job::Column::Result, Expr::value(result))
            .col_expr(preview_job::Column::Error, Expr::value(error))
            .col_expr(preview_job::Column::FinishedAt, Expr::value(Some(Utc::now())))
            .filter(preview_job::Column::Id.eq(id))
            .filter(preview_job::Column::Status.eq(JobStatus::Running))
            .exec(self.connection())
            .await?;
        Ok(updated.rows_affected > 0)
    }

    /// Marks a running preview cancelled; false if it was not running.
    pub async fn cancel_preview(&self, id: i64) -> StoreResult<bool> {
        self.finish_preview(id, JobStatus::Cancelled, None, None).await
    }

    /// Preview `id`, if it is running or finished at or after `since`.
    pub async fn preview(&self, id: i64, since: DateTime<Utc>) -> StoreResult<Option<preview_job::Model>> {
        Ok(preview_job::Entity::find_by_id(id).filter(kept_since(since)).one(self.connection()).await?)
    }

    /// Previews running or finished at or after `since`, newest first, at most `limit`: those
    /// `owner` started, or everyone's when `owner` is `None`.
    pub async fn previews(
        &self,
        owner: Option<Option<&str>>,
        since: DateTime<Utc>,
        limit: u64,
    ) -> StoreResult<Vec<preview_job::Model>> {
        let mut query = preview_job::Entity::find().filter(kept_since(since));
        query = match owner {
            None => query,
            Some(Some(owner)) => query.filter(preview_job::Column::Owner.eq(owner)),
            Some(None) => query.filter(preview_job::Column::Owner.is_null()),
        };
        Ok(query.order_by_desc(preview_job::Column::Id).limit(limit).all(self.connection()).await?)
    }

    /// Marks failed the previews left running by a stopped server (their lease expired
    /// before `now`); returns how many.
    pub async fn fail_interrupted_previews(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let message = "the server stopped while this preview ran";
        Ok(self.fail_expired_jobs(crate::LeasedJobs::Preview, now, message).await?.len() as u64)
    }

    /// Preview `id` as stored, whatever its state.
    pub async fn preview_row(&self, id: i64) -> StoreResult<Option<preview_job::Model>> {
        Ok(preview_job::Entity::find_by_id(id).one(self.connection()).await?)
    }

    /// Deletes previews that finished before `before`; returns how many.
    pub async fn purge_previews(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let deleted = preview_job::Entity::delete_many()
            .filter(preview_job::Column::FinishedAt.lt(before))
            .exec(self.connection())
            .await?;
        Ok(deleted.rows_affected)
    }
}

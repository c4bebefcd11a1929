//! Previews in the API: `previewSegmentation` answers at once for populations up to
//! `segments.sync_preview_max_customers`; larger ones are preview jobs (`startPreview`,
//! `preview`, `previews`, `cancelPreview`), stored with their progress and result and visible
//! to the key that started them and to admins.

use crate::access::{Caller, Role};
use crate::context::engine;
use crate::error::{ApiError, ApiResult, api};
use crate::query::parse_id;
use crate::types::segmentation::JobStatus;
use async_graphql::{Context, ErrorExtensions, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use kindred_engine::preview::{PreviewRequest, PreviewResult, preview_now, preview_size};
use kindred_store::entity::preview_job;

/// One segment of a preview.
#[derive(SimpleObject)]
pub struct PreviewSegment {
    /// Its label.
    label: String,
    /// Customers in it.
    size: i64,
    /// Its share of the customers the strategy saw, from 0 to 1 (for a sample, an estimate
    /// of its share of everyone).
    share: f64,
}

/// What a strategy makes of the current population, or of a random sample of it; nothing is
/// saved.
pub struct SegmentationPreview(PreviewResult);

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[Object]
impl SegmentationPreview {
    /// The plugin that ran.
    async fn strategy(&self) -> &str {
        &self.0.strategy
    }

    /// The parameters used (the plugin's defaults with the given ones on top).
    async fn params(&self) -> Json<&serde_json::Value> {
        Json(&self.0.params)
    }

    /// Customers the strategy saw: everyone who did not refuse profiling, or the sample.
    async fn customers(&self) -> i64 {
        count(self.0.customers)
    }

    /// For a preview of a random sample: how many customers it was drawn from.
    async fn sampled_from(&self) -> Option<i64> {
        self.0.sampled_from.map(count)
    }

    /// Customers in at least one segment.
    async fn assigned_customers(&self) -> i64 {
        count(self.0.assigned)
    }

    /// Customers left out because they refused profiling: the strategy never saw them.
    async fn excluded_customers(&self) -> i64 {
        count(self.0.excluded)
    }

    /// Memberships in all (more than the customers when a strategy puts some in several
    /// segments).
    async fn memberships(&self) -> i64 {
        count(self.0.memberships)
    }

    /// The segments, largest first.
    async fn segments(&self) -> Vec<PreviewSegment> {
        let seen = self.0.customers.max(1) as f64;
        self.0
            .segments
            .iter()
            .map(|segment| PreviewSegment {
                label: segment.label.clone(),
                size: count(segment.size),
                share: segment.size as f64 / seen,
            })
            .collect()
    }

    /// What fit learned.
    async fn model(&self) -> Json<&serde_json::Value> {
        Json(&self.0.model)
    }

    /// How long the run took, in milliseconds.
    async fn elapsed_ms(&self) -> i64 {
        count(self.0.elapsed_ms)
    }
}

/// A preview run in the background: its progress, and its result once it succeeded. Kept for
/// `segments.preview_kept_secs` after it ends.
pub struct PreviewJob {
    row: preview_job::Model,
    kept_for: chrono::Duration,
}

#[Object]
impl PreviewJob {
    /// Its id.
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }

    /// The strategy plugin.
    async fn strategy(&self) -> &str {
        &self.row.strategy
    }

    /// The parameters asked for (the plugin's defaults are laid under them).
    async fn params(&self) -> Json<serde_json::Value> {
        Json(serde_json::from_str(&self.row.params).unwrap_or_default())
    }

    /// The size of the random sample asked for; null for everyone.
    async fn sample(&self) -> Option<i64> {
        self.row.sample
    }

    /// RUNNING, SUCCEEDED, FAILED or CANCELLED.
    async fn status(&self) -> JobStatus {
        self.row.status.into()
    }

    /// Customers assigned so far (progress is recorded every second).
    async fn done(&self) -> i64 {
        self.row.customers_done
    }

    /// Customers in all (0 until the population is read).
    async fn total(&self) -> i64 {
        self.row.customers_total
    }

    /// Why it failed.
    async fn error(&self) -> Option<&str> {
        self.row.error.as_deref()
    }

    /// The API key that started it; null without authentication.
    async fn started_by(&self) -> Option<&str> {
        self.row.owner.as_deref()
    }

    /// When it started.
    async fn started_at(&self) -> DateTime<Utc> {
        self.row.started_at
    }

    /// When it ended.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.row.finished_at
    }

    /// When it will be deleted, with its result.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.row.finished_at.map(|at| at + self.kept_for)
    }

    /// What the strategy found, once it succeeded.
    async fn result(&self) -> ApiResult<Option<SegmentationPreview>> {
        let Some(text) = &self.row.result else { return Ok(None) };
        let result = serde_json::from_str(text).map_err(|error| {
            tracing::error!(%error, preview = self.row.id, "a stored preview result does not parse");
            api(ApiError::Internal)
        })?;
        Ok(Some(SegmentationPreview(result)))
    }
}

/// The caller of this request; a schema without access control is used by a trusted program.
fn caller(ctx: &Context<'_>) -> Caller {
    ctx.data_opt::<Caller>().cloned().unwrap_or_else(Caller::open)
}

/// Whether `caller` may see a preview `owner` started: its own, or any for an admin.
pub(crate) fn may_see(caller: &Caller, owner: Option<&str>) -> bool {
    caller.role == Role::Admin || caller.key_name.as_deref() == owner
}

fn job(ctx: &Context<'_>, row: preview_job::Model) -> ApiResult<PreviewJob> {
    let kept = engine(ctx)?.preview_settings().kept_for;
    let kept_for = chrono::Duration::from_std(kept).unwrap_or(chrono::Duration::hours(1));
    Ok(PreviewJob { row, kept_for })
}

/// Preview `id` if the caller may see it; NOT_FOUND otherwise, so others' ids reveal nothing.
async fn visible(ctx: &Context<'_>, id: &ID) -> ApiResult<PreviewJob> {
    let number = parse_id("id", id).map_err(api)?;
    let not_found = || api(ApiError::NotFound { what: "preview", key: id.to_string() });
    let row = engine(ctx)?.preview(number).await.map_err(api)?.ok_or_else(not_found)?;
    if !may_see(&caller(ctx), row.owner.as_deref()) {
        return Err(not_found());
    }
    job(ctx, row)
}

fn request(
    strategy: String,
    params: Option<Json<serde_json::Value>>,
    sample: Option<i64>,
) -> ApiResult<PreviewRequest> {
    let sample = match sample {
        Some(size) if size < 1 => {
            return Err(api(ApiError::InvalidField {
                field: "sample",
                message: "must be at least 1".to_owned(),
            }));
        }
        size => size.map(|size| size as u64),
    };
    Ok(PreviewRequest { strategy, params: params.map(|Json(params)| params), sample })
}

/// Preview queries.
#[derive(Default)]
pub struct PreviewQuery;

#[Object]
impl PreviewQuery {
    /// Runs a strategy now, without saving anything: fit, then assign everyone (or a random
    /// `sample` of that many customers), and report the segments' sizes and the model. Over
    /// `segments.sync_preview_max_customers` customers it is refused with
    /// PREVIEW_JOB_REQUIRED: start a preview job, or ask for a smaller sample.
    #[graphql(complexity = "crate::heavy::cost::PREVIEW + child_complexity")]
    async fn preview_segmentation(
        &self,
        ctx: &Context<'_>,
        strategy: String,
        params: Option<Json<serde_json::Value>>,
        sample: Option<i64>,
    ) -> ApiResult<SegmentationPreview> {
        let host = crate::context::host(ctx)?;
        let store = crate::context::store(ctx)?;
        let request = request(strategy, params, sample)?;
        if let Some(engine) = ctx.data_opt::<kindred_engine::Engine>() {
            let limit = engine.preview_settings().sync_max_customers;
            let customers = preview_size(store, &request).await.map_err(api)?;
            if customers > limit {
                return Err(ApiError::PreviewJobRequired { customers, limit }.extend());
            }
        }
        let _permit = crate::heavy::heavy_permit(ctx).await?;
        Ok(SegmentationPreview(preview_now(store, host, &request).await.map_err(api)?))
    }

    /// A preview job, while it runs and for `segments.preview_kept_secs` after: yours, or any
    /// for an admin.
    async fn preview(&self, ctx: &Context<'_>, id: ID) -> ApiResult<PreviewJob> {
        visible(ctx, &id).await
    }

    /// Preview jobs running or kept, newest first (at most `first`, 20 by default and 100 at
    /// most): yours, or everyone's for an admin.
    async fn previews(&self, ctx: &Context<'_>, first: Option<i32>) -> ApiResult<Vec<PreviewJob>> {
        let limit = first.unwrap_or(20).clamp(1, 100) as u64;
        let caller = caller(ctx);
        let owner = (caller.role != Role::Admin).then_some(caller.key_name.as_deref());
        let rows = engine(ctx)?.previews(owner, limit).await.map_err(api)?;
        rows.into_iter().map(|row| job(ctx, row)).collect()
    }
}

/// Preview mutations.
#[derive(Default)]
pub struct PreviewMutation;

#[Object]
impl PreviewMutation {
    /// Starts a preview job: the strategy over everyone (or a random `sample` of that many
    /// customers) in the background. Follow it with `preview(id)` or the `jobProgress`
    /// subscription. It holds one of the caller's heavy-work permits while it runs (BUSY when
    /// none frees in time).
    #[graphql(complexity = "crate::heavy::cost::PREVIEW + child_complexity")]
    async fn start_preview(
        &self,
        ctx: &Context<'_>,
        strategy: String,
        params: Option<Json<serde_json::Value>>,
        sample: Option<i64>,
    ) -> ApiResult<PreviewJob> {
        let request = request(strategy, params, sample)?;
        let engine = engine(ctx)?;
        let permit = crate::heavy::heavy_permit(ctx).await?;
        let owner = caller(ctx).key_name;
        let row = engine.start_preview(request, owner, Box::new(permit)).await.map_err(api)?;
        job(ctx, row)
    }

    /// Cancels a running preview job (yours, or any for an admin) and returns it; a finished
    /// one is returned as it is.
    async fn cancel_preview(&self, ctx: &Context<'_>, id: ID) -> ApiResult<PreviewJob> {
        let found = visible(ctx, &id).await?;
        engine(ctx)?.cancel_preview(found.row.id).await.map_err(api)?;
        visible(ctx, &id).await
    }
}

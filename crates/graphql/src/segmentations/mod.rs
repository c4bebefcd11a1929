//! Segmentations in the API: list and read them, create, change, delete, refresh and cancel
//! them, edit a static one's members by hand, and subscribe to membership changes and job
//! progress.

pub mod webhooks;

use crate::context::{engine, store};
use crate::error::{ApiError, ApiResult, api};
use crate::metrics::{Counted, SUBSCRIPTIONS_OPEN};
use crate::query::parse_id;
use crate::types::Customer;
use crate::types::analytics;
use crate::types::segmentation::{
    ChangeReason, JobStatus, MembershipChangeKind, Segmentation, SegmentationMode,
};
use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::Stream;
use kindred_engine::{Change, JobProgress, MemberEdit, MembershipChange};
use kindred_store::{MembershipDiff, NewSegmentation, SegmentationChanges};
use tokio::sync::broadcast;

/// A new segmentation.
#[derive(InputObject)]
pub struct CreateSegmentationInput {
    /// A unique name.
    name: String,
    /// The strategy plugin's name.
    strategy: String,
    /// Parameters, checked against the strategy's JSON Schema.
    params: Option<Json<serde_json::Value>>,
    /// DYNAMIC (default) or STATIC.
    mode: Option<SegmentationMode>,
    /// Refit every this many seconds (at least 60); none: on demand.
    refresh_interval_seconds: Option<i64>,
}

/// Changes to a segmentation; fields left out keep their value.
#[derive(InputObject)]
pub struct UpdateSegmentationInput {
    /// A new name.
    name: Option<String>,
    /// New parameters (a dynamic segmentation is refitted with them).
    params: Option<Json<serde_json::Value>>,
    /// A new mode.
    mode: Option<SegmentationMode>,
    /// A new refresh interval; null: on demand.
    refresh_interval_seconds: MaybeUndefined<i64>,
}

/// Segmentation queries.
#[derive(Default)]
pub struct SegmentationQuery;

#[Object]
impl SegmentationQuery {
    /// Every segmentation, oldest first.
    async fn segmentations(&self, ctx: &Context<'_>) -> ApiResult<Vec<Segmentation>> {
        Ok(store(ctx)?.segmentations().await.map_err(api)?.into_iter().map(Segmentation).collect())
    }

    /// One segmentation.
    async fn segmentation(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Segmentation>> {
        let id = parse_id("id", &id).map_err(api)?;
        Ok(store(ctx)?.segmentation(id).await.map_err(api)?.map(Segmentation))
    }

    /// The crosstab of two segmentations: customers per pair of segments, with share and lift.
    #[graphql(complexity = "crate::heavy::cost::OVERLAP + child_complexity")]
    async fn overlap(&self, ctx: &Context<'_>, a: ID, b: ID) -> ApiResult<analytics::Overlap> {
        let _permit = crate::heavy::heavy_permit(ctx).await?;
        let (a, b) = (parse_id("a", &a).map_err(api)?, parse_id("b", &b).map_err(api)?);
        let store = store(ctx)?;
        for (id, key) in [(a, "a"), (b, "b")] {
            if store.segmentation(id).await.map_err(api)?.is_none() {
                return Err(api(ApiError::NotFound { what: "segmentation", key: format!("{key} = {id}") }));
            }
        }
        Ok(analytics::crosstab(store.overlap(a, b).await.map_err(api)?))
    }
}

/// Segmentation mutations.
#[derive(Default)]
pub struct SegmentationMutation;

/// The Kindred ids of customers given by external id, read in one query per batch; NOT_FOUND
/// names the first that is not known.
async fn customer_ids(ctx: &Context<'_>, external_ids: &[String]) -> ApiResult<Vec<i64>> {
    let wanted: Vec<&str> = external_ids.iter().map(|id| id.trim()).collect();
    let known = store(ctx)?.ids_of_external_ids(&wanted).await.map_err(api)?;
    wanted
        .iter()
        .map(|external_id| {
            known
                .get(*external_id)
                .copied()
                .ok_or_else(|| api(ApiError::NotFound { what: "customer", key: (*external_id).to_owned() }))
        })
        .collect()
}

/// Edits a static segment by hand, for customers given by external id (all must exist).
async fn edit_by_external_ids(
    ctx: &Context<'_>,
    segmentation_id: &ID,
    segment: &str,
    external_ids: &[String],
    edit: MemberEdit,
) -> ApiResult<MembershipDiff> {
    let id = parse_id("segmentationId", segmentation_id).map_err(api)?;
    let customers = customer_ids(ctx, external_ids).await?;
    engine(ctx)?.edit_members(id, segment, &customers, edit).await.map_err(api)
}

#[Object]
impl SegmentationMutation {
    /// Creates a segmentation and starts its first refit (status RUNNING, then READY or
    /// FAILED). Parameters are checked against the strategy's schema and by the strategy.
    async fn create_segmentation(
        &self,
        ctx: &Context<'_>,
        input: CreateSegmentationInput,
    ) -> ApiResult<Segmentation> {
        let new = NewSegmentation {
            name: input.name,
            strategy: input.strategy,
            params: input.params.map_or_else(|| serde_json::json!({}), |Json(params)| params),
            mode: input.mode.unwrap_or(SegmentationMode::Dynamic).into(),
            refresh_interval_seconds: input.refresh_interval_seconds,
        };
        let created = engine(ctx)?.create(new).await.map_err(api)?;
        let current = store(ctx)?.segmentation(created.id).await.map_err(api)?.unwrap_or(created);
        Ok(Segmentation(current))
    }

    /// Changes a segmentation.
    async fn update_segmentation(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateSegmentationInput,
    ) -> ApiResult<Segmentation> {
        let id = parse_id("id", &id).map_err(api)?;
        let changes = SegmentationChanges {
            name: input.name,
            params: input.params.map(|Json(params)| params),
            mode: input.mode.map(Into::into),
            refresh_interval_seconds: match input.refresh_interval_seconds {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(seconds) => Some(Some(seconds)),
            },
        };
        Ok(Segmentation(engine(ctx)?.update(id, changes).await.map_err(api)?))
    }

    /// Deletes a segmentation with its memberships and history; returns its id.
    async fn delete_segmentation(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ID> {
        let key = parse_id("id", &id).map_err(api)?;
        if engine(ctx)?.delete(key).await.map_err(api)? {
            Ok(id)
        } else {
            Err(api(ApiError::NotFound { what: "segmentation", key: id.to_string() }))
        }
    }

    /// Starts a refit job; follow it with `job` or the `jobProgress` subscription. CONFLICT
    /// if one is running.
    async fn refresh_segmentation(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Segmentation> {
        let id = parse_id("id", &id).map_err(api)?;
        engine(ctx)?.refresh(id).await.map_err(api)?;
        let current = store(ctx)?.segmentation(id).await.map_err(api)?;
        current
            .map(Segmentation)
            .ok_or_else(|| api(ApiError::NotFound { what: "segmentation", key: id.to_string() }))
    }

    /// Cancels the running refit; its memberships stay as they were. Returns whether one
    /// was running.
    async fn cancel_refresh(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let id = parse_id("id", &id).map_err(api)?;
        engine(ctx)?.cancel(id).await.map_err(api)
    }

    /// Puts customers (by external id) into a segment of a static segmentation; returns how
    /// many entered. NOT_FOUND names the first unknown external id.
    async fn add_segment_members(
        &self,
        ctx: &Context<'_>,
        segmentation_id: ID,
        segment: String,
        external_ids: Vec<String>,
    ) -> ApiResult<i32> {
        let diff =
            edit_by_external_ids(ctx, &segmentation_id, &segment, &external_ids, MemberEdit::Add).await?;
        Ok(diff.entered.len() as i32)
    }

    /// Takes customers (by external id) out of a segment of a static segmentation; returns
    /// how many left.
    async fn remove_segment_members(
        &self,
        ctx: &Context<'_>,
        segmentation_id: ID,
        segment: String,
        external_ids: Vec<String>,
    ) -> ApiResult<i32> {
        let diff =
            edit_by_external_ids(ctx, &segmentation_id, &segment, &external_ids, MemberEdit::Remove).await?;
        Ok(diff.exited.len() as i32)
    }

    /// Imports a list of external ids into a segment of a static segmentation: the known
    /// ones enter (with `replace: true`, they become its only members); unknown ones are reported,
    /// and the rest is imported all the same.
    async fn import_segment_members(
        &self,
        ctx: &Context<'_>,
        segmentation_id: ID,
        segment: String,
        external_ids: Vec<String>,
        replace: Option<bool>,
    ) -> ApiResult<SegmentImport> {
        let id = parse_id("segmentationId", &segmentation_id).map_err(api)?;
        let wanted: Vec<&str> = external_ids.iter().map(|id| id.trim()).filter(|id| !id.is_empty()).collect();
        let known = store(ctx)?.ids_of_external_ids(&wanted).await.map_err(api)?;
        let unknown: Vec<String> =
            wanted.iter().filter(|id| !known.contains_key(**id)).map(|id| (*id).to_owned()).collect();
        let customers: Vec<i64> = known.into_values().collect();
        let edit = if replace.unwrap_or(false) { MemberEdit::Replace } else { MemberEdit::Add };
        let diff = engine(ctx)?.edit_members(id, &segment, &customers, edit).await.map_err(api)?;
        Ok(SegmentImport {
            entered: diff.entered.len() as i64,
            exited: diff.exited.len() as i64,
            unknown_external_ids: unknown,
        })
    }
}

/// What an import of external ids into a static segment did.
#[derive(SimpleObject)]
pub struct SegmentImport {
    /// Customers who entered.
    entered: i64,
    /// Customers who left (with `replace`).
    exited: i64,
    /// External ids that match no customer; nothing was done for them.
    unknown_external_ids: Vec<String>,
}

/// A customer entered or left a segment.
pub struct MembershipChanged(MembershipChange);

#[Object(name = "MembershipChange")]
impl MembershipChanged {
    /// The segmentation's id.
    async fn segmentation_id(&self) -> ID {
        ID(self.0.segmentation_id.to_string())
    }
    /// The customer's id.
    async fn customer_id(&self) -> ID {
        ID(self.0.customer_id.to_string())
    }
    /// The customer (null once deleted).
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        Ok(store(ctx)?.customer(self.0.customer_id).await.map_err(api)?.map(Customer))
    }
    /// The segment's label.
    async fn segment(&self) -> &str {
        &self.0.segment
    }
    /// Entered or exited.
    async fn change(&self) -> MembershipChangeKind {
        match self.0.change {
            Change::Entered => MembershipChangeKind::Entered,
            Change::Exited => MembershipChangeKind::Exited,
        }
    }
    /// The score.
    async fn score(&self) -> Option<f64> {
        self.0.score
    }
    /// Why.
    async fn reason(&self) -> ChangeReason {
        self.0.reason.into()
    }
    /// When it was written.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}

/// What a job works on.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// A refit of a segmentation (`job`, `jobs` on the segmentation).
    Refit,
    /// A preview job (`preview(id)`).
    Preview,
}

/// How far a refit or preview job has come.
#[derive(SimpleObject)]
pub struct JobProgressed {
    /// The job's id: a refit job's, or a preview's (`kind` says which).
    job_id: ID,
    /// A refit or a preview.
    kind: JobKind,
    /// The segmentation a refit works on; null for a preview.
    segmentation_id: Option<ID>,
    /// Customers assigned.
    done: i64,
    /// Customers in all.
    total: i64,
    /// Where it stands.
    status: JobStatus,
}

impl From<JobProgress> for JobProgressed {
    fn from(progress: JobProgress) -> Self {
        let (kind, segmentation_id) = match progress.kind {
            kindred_engine::JobKind::Refit { segmentation_id } => {
                (JobKind::Refit, Some(ID(segmentation_id.to_string())))
            }
            kindred_engine::JobKind::Preview { .. } => (JobKind::Preview, None),
        };
        Self {
            job_id: ID(progress.job_id.to_string()),
            kind,
            segmentation_id,
            done: progress.done as i64,
            total: progress.total as i64,
            status: progress.status.into(),
        }
    }
}

/// A broadcast receiver as a stream: a listener that falls behind skips what it missed.
fn stream_of<T: Clone + Send + 'static>(receiver: broadcast::Receiver<T>) -> impl Stream<Item = T> {
    futures::stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(item) => return Some((item, receiver)),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "a subscriber fell behind and missed events");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}

fn optional_id(field: &'static str, id: Option<&ID>) -> ApiResult<Option<i64>> {
    id.map(|id| parse_id(field, id).map_err(api)).transpose()
}

/// Live events over WebSocket (graphql-transport-ws at /graphql/ws).
#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// Every enter and exit as it is written, of one segmentation or of all.
    async fn membership_changed(
        &self,
        ctx: &Context<'_>,
        segmentation_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = MembershipChanged>> {
        crate::access::require(ctx, crate::access::Permission::Read)?;
        let wanted = optional_id("segmentationId", segmentation_id.as_ref())?;
        let changes = stream_of(engine(ctx)?.subscribe_changes());
        let open = Counted::new(SUBSCRIPTIONS_OPEN, vec![("field", "membershipChanged")]);
        Ok(futures::StreamExt::filter_map(changes, move |change| {
            let _open = &open;
            let wanted = wanted.is_none_or(|id| id == change.segmentation_id);
            futures::future::ready(wanted.then_some(MembershipChanged(change)))
        }))
    }

    /// Progress of refit jobs and of the preview jobs the caller may see (its own, or all for
    /// an admin): of one segmentation's refits, of one preview, or of all.
    async fn job_progress(
        &self,
        ctx: &Context<'_>,
        segmentation_id: Option<ID>,
        preview_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = JobProgressed>> {
        crate::access::require(ctx, crate::access::Permission::Read)?;
        let segmentation = optional_id("segmentationId", segmentation_id.as_ref())?;
        let preview = optional_id("previewId", preview_id.as_ref())?;
        let caller =
            ctx.data_opt::<crate::access::Caller>().cloned().unwrap_or_else(crate::access::Caller::open);
        let progress = stream_of(engine(ctx)?.subscribe_progress());
        let open = Counted::new(SUBSCRIPTIONS_OPEN, vec![("field", "jobProgress")]);
        Ok(futures::StreamExt::filter_map(progress, move |progress| {
            let _open = &open;
            let wanted = match &progress.kind {
                kindred_engine::JobKind::Refit { segmentation_id } => {
                    preview.is_none() && segmentation.is_none_or(|id| id == *segmentation_id)
                }
                kindred_engine::JobKind::Preview { owner } => {
                    segmentation.is_none()
                        && preview.is_none_or(|id| id == progress.job_id)
                        && crate::previews::may_see(&caller, owner.as_deref())
                }
            };
            futures::future::ready(wanted.then(|| JobProgressed::from(progress)))
        }))
    }
}

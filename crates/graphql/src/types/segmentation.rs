//! GraphQL types of segmentations: the segmentation, its segments and members, its jobs,
//! and a customer's memberships and their history.

use super::analytics::{Persona, SizeBucket, SizePoint, personas, size_history};
use super::webhook::{Webhook, webhooks_of};
use super::{Customer, store};
use crate::error::{ApiResult, api};
use crate::pagination::{id_cursor, page_size, parse_id_cursor};
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use kindred_engine::Engine;
use kindred_store::entity::{membership, membership_event, segmentation, segmentation_job};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use std::collections::HashMap;

/// A saved model: what a server loads at start instead of refitting.
#[derive(SimpleObject, Clone, Debug)]
pub struct ModelVersion {
    /// The refit job that fitted it.
    pub job_id: ID,
    /// The hex SHA-256 of the plugin library that saved it; another build refits.
    pub library_sha256: String,
    /// The size of the saved state, in bytes.
    pub state_bytes: i64,
    /// When it was saved (the refit's commit).
    pub saved_at: DateTime<Utc>,
}

/// How a segmentation follows the data.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "kindred_store::SegmentationMode")]
pub enum SegmentationMode {
    /// Adaptive: every write re-assigns the customers it touches, at once.
    Dynamic,
    /// A snapshot: changed only by a refresh or by hand.
    Static,
}

/// Where a segmentation stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "kindred_store::SegmentationStatus")]
pub enum SegmentationStatus {
    /// Its memberships are up to date with its last refit.
    Ready,
    /// A refit is running.
    Running,
    /// The last refit failed (see `error`); the memberships before it are kept.
    Failed,
    /// Re-assigning customers after writes failed (see `error` and `degradedSince`), so some
    /// memberships may be stale; Kindred refits it to repair it, with a growing wait between
    /// attempts, and it is READY again once one works.
    Degraded,
}

/// How a refit job ended, or that it runs.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "kindred_store::JobStatus")]
pub enum JobStatus {
    /// Still going.
    Running,
    /// Finished and written.
    Succeeded,
    /// Stopped by an error; nothing was written.
    Failed,
    /// Cancelled; nothing was written.
    Cancelled,
}

/// Why a membership changed.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "kindred_store::ChangeReason")]
pub enum ChangeReason {
    /// A refit.
    Refit,
    /// A write touched the customer.
    Write,
    /// The scheduled re-evaluation.
    Schedule,
    /// Added or removed by hand.
    Manual,
}

/// Entered or exited.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum MembershipChangeKind {
    /// The customer entered the segment.
    Entered,
    /// The customer left the segment.
    Exited,
}

/// One segment of a segmentation.
#[derive(SimpleObject, Clone, Debug)]
pub struct Segment {
    /// `<segmentation id>:<label>`.
    pub id: ID,
    /// Where its members download as CSV: `/segments/{id}/members.csv`, the id percent-encoded.
    pub members_csv_path: String,
    /// Its label.
    pub label: String,
    /// What the strategy says about it (a community's size, needs and influencers), if
    /// anything.
    pub description: Option<String>,
    /// Customers in it now.
    pub size: i64,
}

/// The ties between two segments of a segmentation, or inside one when `a` and `b` are equal.
#[derive(SimpleObject, Clone, Debug, PartialEq)]
pub struct SegmentLink {
    /// One segment's label (the lesser of the two).
    pub a: String,
    /// The other segment's label (the greater, or `a` again).
    pub b: String,
    /// Ties with one end in `a` and the other in `b`.
    pub ties: i64,
    /// Their summed weight.
    pub weight: f64,
}

/// A refit of a segmentation.
pub struct Job(pub segmentation_job::Model);

#[Object]
impl Job {
    /// The job's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Where it stands.
    async fn status(&self) -> JobStatus {
        self.0.status.into()
    }
    /// Why it ran: create, update, refit, schedule, start, repair or reload.
    async fn reason(&self) -> &str {
        self.0.reason.as_str()
    }
    /// Customers assigned so far.
    async fn customers_done(&self) -> i64 {
        self.0.customers_done
    }
    /// Customers in all (0 until the population is read).
    async fn customers_total(&self) -> i64 {
        self.0.customers_total
    }
    /// Customers who entered a segment.
    async fn entered(&self) -> i64 {
        self.0.entered
    }
    /// Customers who left a segment.
    async fn exited(&self) -> i64 {
        self.0.exited
    }
    /// Customers whose score changed.
    async fn rescored(&self) -> i64 {
        self.0.rescored
    }
    /// Customers this refit left out because they refused profiling (0 until it ends).
    async fn excluded(&self) -> i64 {
        self.0.excluded
    }
    /// The server that runs it, or ran it last (its `cluster.server_id`): another one when a
    /// server died and another took the job over.
    async fn runner(&self) -> Option<&str> {
        self.0.runner.as_deref()
    }
    /// Why it failed.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// When it started.
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    /// When it ended.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// How long it took, or has taken so far, in milliseconds.
    async fn duration_ms(&self) -> i64 {
        (self.0.finished_at.unwrap_or_else(Utc::now) - self.0.started_at).num_milliseconds()
    }
}

/// A customer in a segment.
pub struct SegmentMember(pub membership::Model, pub Option<kindred_store::entity::customer::Model>);

#[Object]
impl SegmentMember {
    /// The customer.
    async fn customer(&self) -> Option<Customer> {
        self.1.clone().map(Customer)
    }
    /// The strategy's score.
    async fn score(&self) -> Option<f64> {
        self.0.score
    }
    /// Since when the customer is in the segment.
    async fn since(&self) -> DateTime<Utc> {
        self.0.since
    }
}

/// The description of each segment a strategy's model gives: need-based communities carry
/// summaries with their label, size, top needs and influencers.
fn descriptions(model: Option<&serde_json::Value>) -> HashMap<String, String> {
    let mut found = HashMap::new();
    let summaries = model.and_then(|model| model.get("summaries")).and_then(|s| s.as_array());
    for summary in summaries.into_iter().flatten() {
        let Some(label) = summary.get("label").and_then(|l| l.as_str()) else { continue };
        let needs: Vec<String> = summary
            .get("top_needs")
            .and_then(|n| n.as_array())
            .into_iter()
            .flatten()
            .filter_map(|need| {
                let name = need.get("need")?.as_str()?;
                let share = need.get("share")?.as_f64()?;
                let lift = need.get("lift").and_then(|l| l.as_f64()).unwrap_or(1.0);
                Some(format!("{name} ({:.0}%, lift {lift:.1})", share * 100.0))
            })
            .collect();
        let influencers: Vec<&str> = summary
            .get("influencers")
            .and_then(|i| i.as_array())
            .into_iter()
            .flatten()
            .filter_map(|i| i.get("external_id").and_then(|e| e.as_str()).or_else(|| i.as_str()))
            .collect();
        let mut text = format!("{} members", summary.get("size").and_then(|s| s.as_i64()).unwrap_or(0));
        if !needs.is_empty() {
            text.push_str(&format!("; top needs: {}", needs.join(", ")));
        }
        if let Some(inside) = summary.get("internal_tie_share").and_then(|s| s.as_f64()) {
            text.push_str(&format!("; {:.0}% of ties stay inside", inside * 100.0));
        }
        if !influencers.is_empty() {
            text.push_str(&format!("; influencers: {}", influencers.join(", ")));
        }
        found.insert(label.to_owned(), text);
    }
    found
}

/// One configured strategy run: its segments, members, model and jobs.
pub struct Segmentation(pub segmentation::Model);

fn engine<'a>(ctx: &Context<'a>) -> Option<&'a Engine> {
    ctx.data_opt::<Engine>()
}

#[Object]
impl Segmentation {
    /// Its id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Its unique name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The strategy plugin.
    async fn strategy(&self) -> &str {
        &self.0.strategy
    }
    /// The parameters given (the operator's defaults are laid under them at each run).
    async fn params(&self) -> Json<serde_json::Value> {
        Json(serde_json::from_str(&self.0.params).unwrap_or_default())
    }
    /// Dynamic or static.
    async fn mode(&self) -> SegmentationMode {
        self.0.mode.into()
    }
    /// Ready, running or failed.
    async fn status(&self, ctx: &Context<'_>) -> SegmentationStatus {
        if engine(ctx).and_then(|engine| engine.job(self.0.id)).is_some() {
            return SegmentationStatus::Running;
        }
        self.0.status.into()
    }
    /// Why the last refit failed, or why it is degraded.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// Since when it is degraded; null unless its status is DEGRADED.
    async fn degraded_since(&self) -> Option<DateTime<Utc>> {
        self.0.degraded_since
    }
    /// Refit every this many seconds; null: on demand (and, when dynamic, daily).
    async fn refresh_interval_seconds(&self) -> Option<i64> {
        self.0.refresh_interval_seconds
    }
    /// When the last refit was written.
    async fn last_refreshed_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_refreshed_at
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// What the last fit learned (cut points, communities, fitted parameters).
    async fn model(&self) -> Option<Json<serde_json::Value>> {
        self.0.model.as_deref().and_then(|text| serde_json::from_str(text).ok()).map(Json)
    }
    /// The saved model its members are kept with, which a restarted server loads instead of
    /// refitting: the refit job that fitted it and the plugin build that saved it. None when
    /// its plugin cannot save its state (it is refitted at every start) or before its first
    /// refit.
    async fn model_version(&self, ctx: &Context<'_>) -> ApiResult<Option<ModelVersion>> {
        let version = store(ctx)?.model_version(self.0.id).await.map_err(api)?;
        Ok(version.map(|version| ModelVersion {
            job_id: ID(version.job_id.to_string()),
            library_sha256: version.library_sha256,
            state_bytes: version.state_bytes,
            saved_at: version.saved_at,
        }))
    }
    /// Its segments with their sizes now, largest first.
    async fn segments(&self, ctx: &Context<'_>) -> ApiResult<Vec<Segment>> {
        let sizes = store(ctx)?.segment_sizes(self.0.id).await.map_err(api)?;
        let model: Option<serde_json::Value> =
            self.0.model.as_deref().and_then(|text| serde_json::from_str(text).ok());
        let descriptions = descriptions(model.as_ref());
        Ok(sizes
            .into_iter()
            .map(|(label, size)| {
                let id = format!("{}:{label}", self.0.id);
                let encoded = utf8_percent_encode(&id, NON_ALPHANUMERIC);
                Segment {
                    members_csv_path: format!("/segments/{encoded}/members.csv"),
                    id: ID(id),
                    description: descriptions.get(&label).cloned(),
                    label,
                    size,
                }
            })
            .collect())
    }
    /// Customers left out of its computed segments because they refused profiling, now:
    /// strategies never receive them, so they are in none of its segments (a static
    /// segmentation's hand-edited members aside).
    async fn excluded_customers(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        let refused = super::loader(ctx)?.load_one(crate::loaders::RefusedProfilingKey).await?;
        Ok(refused.unwrap_or_default() as i64)
    }
    /// The running refit, or else the last one.
    async fn job(&self, ctx: &Context<'_>) -> ApiResult<Option<Job>> {
        let last = store(ctx)?.jobs(self.0.id, 1).await.map_err(api)?.into_iter().next();
        let running = engine(ctx).and_then(|engine| engine.job(self.0.id));
        Ok(last.map(|mut job| {
            if let Some(running) = running.filter(|running| running.job_id == job.id) {
                job.customers_done = running.done as i64;
                job.customers_total = running.total as i64;
            }
            Job(job)
        }))
    }
    /// Its refits, newest first.
    async fn jobs(&self, ctx: &Context<'_>, #[graphql(default = 10)] first: i32) -> ApiResult<Vec<Job>> {
        let limit = page_size(Some(first)).map_err(api)?;
        Ok(store(ctx)?.jobs(self.0.id, limit).await.map_err(api)?.into_iter().map(Job).collect())
    }
    /// The profile of every segment, largest first: demographics, places, needs with lift,
    /// RFM averages, revenue and profit share.
    #[graphql(complexity = "crate::heavy::cost::PERSONAS + child_complexity")]
    async fn personas(&self, ctx: &Context<'_>) -> ApiResult<Vec<Persona>> {
        let _permit = crate::heavy::heavy_permit(ctx).await?;
        personas(ctx, self.0.id).await
    }
    /// Segment sizes over time, one point per hour or day in which members entered or left.
    #[graphql(complexity = "crate::heavy::cost::SIZE_HISTORY + child_complexity")]
    async fn size_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "SizeBucket::Day")] bucket: SizeBucket,
    ) -> ApiResult<Vec<SizePoint>> {
        let _permit = crate::heavy::heavy_permit(ctx).await?;
        size_history(ctx, self.0.id, bucket).await
    }
    /// Its webhooks.
    async fn webhooks(&self, ctx: &Context<'_>) -> ApiResult<Vec<Webhook>> {
        webhooks_of(ctx, self.0.id).await
    }
    /// How its segments are tied: per unordered pair of segments (a segment with itself
    /// included), the ties between their members and their summed weight, most ties first.
    #[graphql(complexity = "crate::heavy::cost::LINKS + child_complexity")]
    async fn links(&self, ctx: &Context<'_>) -> ApiResult<Vec<SegmentLink>> {
        let _permit = crate::heavy::heavy_permit(ctx).await?;
        let links = store(ctx)?.segment_links(self.0.id).await.map_err(api)?;
        Ok(links
            .into_iter()
            .map(|link| SegmentLink { a: link.a, b: link.b, ties: link.ties, weight: link.weight })
            .collect())
    }
    /// A segment's members by customer id, a page at a time, with their scores; with
    /// `search`, only those whose external id, email, first or last name contains it (any
    /// case).
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        segment: String,
        first: Option<i32>,
        after: Option<String>,
        search: Option<String>,
    ) -> ApiResult<Connection<String, SegmentMember>> {
        let limit = page_size(first).map_err(api)?;
        let after_id = parse_id_cursor(after.as_deref()).map_err(api)?;
        let search = search.as_deref().map(str::trim).filter(|text| !text.is_empty());
        let store = store(ctx)?;
        let mut rows =
            store.segment_members(self.0.id, &segment, search, after_id, limit + 1).await.map_err(api)?;
        let has_next = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let ids: Vec<i64> = rows.iter().map(|row| row.customer_id).collect();
        let mut customers: HashMap<i64, _> =
            store.customers_by_ids(&ids).await.map_err(api)?.into_iter().map(|c| (c.id, c)).collect();
        let mut page = Connection::new(after_id.is_some(), has_next);
        page.edges.extend(rows.into_iter().map(|row| {
            let customer = customers.remove(&row.customer_id);
            Edge::new(id_cursor(row.customer_id), SegmentMember(row, customer))
        }));
        Ok(page)
    }
}

/// A customer's membership in a segment.
pub struct Membership(pub membership::Model);

/// A segment, by label.
#[derive(SimpleObject, Clone, Debug)]
pub struct SegmentRef {
    /// Its label.
    pub label: String,
}

async fn segmentation_of(ctx: &Context<'_>, id: i64) -> ApiResult<Option<Segmentation>> {
    Ok(store(ctx)?.segmentation(id).await.map_err(api)?.map(Segmentation))
}

#[Object]
impl Membership {
    /// The segmentation.
    async fn segmentation(&self, ctx: &Context<'_>) -> ApiResult<Option<Segmentation>> {
        segmentation_of(ctx, self.0.segmentation_id).await
    }
    /// The segment.
    async fn segment(&self) -> SegmentRef {
        SegmentRef { label: self.0.segment.clone() }
    }
    /// The strategy's score.
    async fn score(&self) -> Option<f64> {
        self.0.score
    }
    /// Since when.
    async fn since(&self) -> DateTime<Utc> {
        self.0.since
    }
}

/// A customer entering or leaving a segment, as stored.
pub struct MembershipEvent(pub membership_event::Model);

#[Object]
impl MembershipEvent {
    /// The segmentation.
    async fn segmentation(&self, ctx: &Context<'_>) -> ApiResult<Option<Segmentation>> {
        segmentation_of(ctx, self.0.segmentation_id).await
    }
    /// The segment.
    async fn segment(&self) -> SegmentRef {
        SegmentRef { label: self.0.segment.clone() }
    }
    /// Entered or exited.
    async fn change(&self) -> MembershipChangeKind {
        if self.0.change == "exited" { MembershipChangeKind::Exited } else { MembershipChangeKind::Entered }
    }
    /// The score then.
    async fn score(&self) -> Option<f64> {
        self.0.score
    }
    /// Why.
    async fn reason(&self) -> ChangeReason {
        self.0.reason.into()
    }
    /// When.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}

#[cfg(test)]
mod tests {
    use super::descriptions;

    #[test]
    fn community_summaries_become_descriptions() {
        let model = serde_json::json!({ "summaries": [{
            "label": "trail running", "size": 40, "internal_tie_share": 0.8,
            "top_needs": [{ "need": "trail running", "share": 0.9, "lift": 6.0 }],
            "influencers": [{ "external_id": "c7" }]
        }] });
        let found = descriptions(Some(&model));
        assert_eq!(
            found["trail running"],
            "40 members; top needs: trail running (90%, lift 6.0); 80% of ties stay inside; influencers: c7"
        );
        assert!(descriptions(None).is_empty());
    }
}

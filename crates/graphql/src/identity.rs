//! Identity over the API: the identifiers and merges of a customer, merging customers by
//! hand (editors), undoing a merge and reading the merge log (admins).

use crate::access::Caller;
use crate::context::store;
use crate::error::{ApiError, ApiResult, api};
use crate::query::parse_id;
use crate::types::MergeEntry;
use async_graphql::{Context, ID, Json, Object, SimpleObject};
use kindred_store::entity::{duplicate_suggestion, resolve_job};
use kindred_store::identity::AppliedMerge;

/// Most merge log entries one page returns.
const MAX_PAGE: u64 = 500;

/// What undoing a merge did.
#[derive(SimpleObject)]
pub(crate) struct UnmergeResult {
    /// The merge, now undone.
    merge: MergeEntry,
    /// The customer that had stayed.
    survivor: crate::types::Customer,
    /// The customer restored, with the id it had.
    restored: crate::types::Customer,
}

/// The name merges and unmerges are recorded under.
pub(crate) fn actor(ctx: &Context<'_>) -> String {
    ctx.data_opt::<Caller>().and_then(|caller| caller.key_name.clone()).unwrap_or_else(|| "api".to_owned())
}

/// Tells the engine about merges a write made: each survivor is re-assigned. (The segments
/// the absorbed customers left are published by the engine from `merge_exits`, as for merges
/// an import makes.)
pub(crate) fn publish_merges(ctx: &Context<'_>, merges: &[AppliedMerge]) {
    let Some(engine) = ctx.data_opt::<kindred_engine::Engine>() else { return };
    if !merges.is_empty() {
        engine.written();
    }
}

/// A pair of customers probabilistic matching found doubtful, waiting for a person.
pub(crate) struct Suggestion(pub duplicate_suggestion::Model);

#[Object]
impl Suggestion {
    /// Its id, which `acceptSuggestion` and `rejectSuggestion` take.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The match probability.
    async fn probability(&self) -> f64 {
        self.0.probability
    }
    /// The match weight (log2 of the Bayes factor).
    async fn weight(&self) -> f64 {
        self.0.weight
    }
    /// Field by field: `{"fields": [{"field", "level": exact|close|somewhat|different|null,
    /// "weight"}], "probability", "weight"}`.
    async fn evidence(&self) -> Json<serde_json::Value> {
        Json(self.0.evidence.clone())
    }
    /// `PENDING`, `ACCEPTED` or `REJECTED`.
    async fn status(&self) -> String {
        self.0.status.to_uppercase()
    }
    /// The customer with the lower id (who stays if the pair is accepted).
    async fn customer_a(&self, ctx: &Context<'_>) -> ApiResult<Option<crate::types::Customer>> {
        Ok(store(ctx)?.customer(self.0.customer_a).await.map_err(api)?.map(crate::types::Customer))
    }
    /// The other customer.
    async fn customer_b(&self, ctx: &Context<'_>) -> ApiResult<Option<crate::types::Customer>> {
        Ok(store(ctx)?.customer(self.0.customer_b).await.map_err(api)?.map(crate::types::Customer))
    }
    /// When the pass found it.
    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.created_at
    }
}

/// What a probabilistic pass did (or, dry, would do).
#[derive(SimpleObject)]
pub(crate) struct ResolveResult {
    /// Nothing was changed: this is what a pass would do.
    dry_run: bool,
    /// Customers read.
    customers: i64,
    /// Candidate pairs compared.
    pairs_compared: i64,
    /// Blocks of the blocking keys too large to compare.
    blocks_skipped: i64,
    /// Groups found to be one person.
    groups: i64,
    /// Customers merged into another (dry: that would be).
    merged: i64,
    /// Pairs queued for review.
    suggested: i64,
    /// The first thousand merges made (merge log ids; `mergeLog` has every one).
    merges: Vec<ID>,
    /// On a dry run, the first thousand groups that would be merged (customer ids).
    planned: Vec<Vec<ID>>,
    /// Seconds reading the customers, matching, and writing merges and suggestions.
    seconds: Vec<f64>,
}

impl ResolveResult {
    /// From a job's stored summary.
    fn from_summary(summary: &serde_json::Value) -> Self {
        let number = |key: &str| summary.get(key).and_then(serde_json::Value::as_i64).unwrap_or(0);
        let ids = |value: &serde_json::Value| -> Vec<ID> {
            value
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|id| id.as_i64())
                .map(|id| ID(id.to_string()))
                .collect()
        };
        let seconds = summary.get("seconds");
        let second = |key: &str| {
            seconds.and_then(|all| all.get(key)).and_then(serde_json::Value::as_f64).unwrap_or(0.0)
        };
        Self {
            dry_run: summary.get("dry_run").and_then(serde_json::Value::as_bool).unwrap_or(false),
            customers: number("customers"),
            pairs_compared: number("pairs_compared"),
            blocks_skipped: number("blocks_skipped"),
            groups: number("groups"),
            merged: number("merged"),
            suggested: number("suggested"),
            merges: summary.get("merges").map(ids).unwrap_or_default(),
            planned: summary
                .get("planned")
                .and_then(serde_json::Value::as_array)
                .map(|groups| groups.iter().map(ids).collect())
                .unwrap_or_default(),
            seconds: vec![second("reading"), second("matching"), second("writing")],
        }
    }
}

/// A run of probabilistic matching over every customer, in the background: its stage and
/// progress while it runs, what it did once it succeeded.
pub(crate) struct ResolveJob(pub resolve_job::Model);

#[Object]
impl ResolveJob {
    /// Its id, which `resolveJob` takes.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Nothing is written: the run says what it would do.
    async fn dry_run(&self) -> bool {
        self.0.dry_run
    }
    /// `RUNNING`, `SUCCEEDED`, `FAILED` (the server stopped, or the database failed).
    async fn status(&self) -> crate::types::segmentation::JobStatus {
        self.0.status.into()
    }
    /// The stage it is at: `starting`, `reading` (customers), `blocking`, `comparing` (pairs),
    /// `estimating`, `scoring` (pairs), `clustering`, `merging` (groups), `suggesting` (pairs),
    /// `done`.
    async fn stage(&self) -> &str {
        &self.0.stage
    }
    /// Units of the stage done.
    async fn done(&self) -> i64 {
        self.0.done
    }
    /// Units of the stage in all (0 where the stage is not counted).
    async fn total(&self) -> i64 {
        self.0.total
    }
    /// Who started it.
    async fn started_by(&self) -> Option<&str> {
        self.0.started_by.as_deref()
    }
    /// When it started.
    async fn started_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.started_at
    }
    /// When it ended.
    async fn finished_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.0.finished_at
    }
    /// Why it failed.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// What it did, once it succeeded.
    async fn result(&self) -> Option<ResolveResult> {
        let summary: serde_json::Value = serde_json::from_str(self.0.result.as_deref()?).ok()?;
        Some(ResolveResult::from_summary(&summary))
    }
}

/// How many customers know one field.
#[derive(SimpleObject)]
pub(crate) struct FieldCompleteness {
    /// The field, as import files name it.
    field: String,
    /// Customers that know it.
    known: i64,
    /// Share of customers that know it, 0 to 1.
    share: f64,
}

/// Data quality in figures.
#[derive(SimpleObject)]
pub(crate) struct DataQualityFigures {
    /// Customers.
    customers: i64,
    /// How complete each profile field is.
    completeness: Vec<FieldCompleteness>,
    /// Birth dates after today.
    born_in_the_future: i64,
    /// Birth dates more than 120 years ago.
    older_than_120: i64,
    /// Customers with no interaction in the last 365 days.
    inactive_365_days: i64,
    /// Customers never asked about marketing.
    marketing_consent_not_asked: i64,
    /// Customers never asked about profiling.
    profiling_consent_not_asked: i64,
    /// Duplicate suggestions waiting for review.
    suggestions_pending: i64,
}

/// The merge log, for admins; the review queue.
#[derive(Default)]
pub struct IdentityQuery;

#[Object]
impl IdentityQuery {
    /// Data quality: completeness per field, values that cannot be right, customers gone
    /// quiet for a year, consent never asked, duplicates waiting for review.
    async fn data_quality(&self, ctx: &Context<'_>) -> ApiResult<DataQualityFigures> {
        let figures = store(ctx)?.data_quality(chrono::Utc::now()).await.map_err(api)?;
        let wide = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let customers = figures.customers;
        Ok(DataQualityFigures {
            customers: wide(customers),
            completeness: figures
                .known
                .iter()
                .map(|(field, known)| FieldCompleteness {
                    field: (*field).to_owned(),
                    known: wide(*known),
                    share: if customers == 0 { 0.0 } else { *known as f64 / customers as f64 },
                })
                .collect(),
            born_in_the_future: wide(figures.born_in_the_future),
            older_than_120: wide(figures.older_than_120),
            inactive_365_days: wide(figures.inactive_365_days),
            marketing_consent_not_asked: wide(figures.marketing_consent_not_asked),
            profiling_consent_not_asked: wide(figures.profiling_consent_not_asked),
            suggestions_pending: wide(figures.suggestions_pending),
        })
    }

    /// Resolve job `id` (admins), if there is one.
    async fn resolve_job(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<ResolveJob>> {
        let key = parse_id("id", &id).map_err(api)?;
        Ok(store(ctx)?.resolve_job(key).await.map_err(api)?.map(ResolveJob))
    }

    /// The latest resolve jobs (admins), newest first, at most `first` (500).
    async fn resolve_jobs(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> ApiResult<Vec<ResolveJob>> {
        let limit = u64::try_from(first).unwrap_or(0).min(MAX_PAGE);
        Ok(store(ctx)?.resolve_jobs(limit).await.map_err(api)?.into_iter().map(ResolveJob).collect())
    }

    /// Pairs waiting for review, most probable first: `first` (at most 500) after the
    /// suggestion `after`, at or above `minProbability`.
    async fn duplicate_suggestions(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: i32,
        after: Option<ID>,
        #[graphql(default = 0.0)] min_probability: f64,
    ) -> ApiResult<Vec<Suggestion>> {
        let after = after.as_ref().map(|id| parse_id("after", id)).transpose().map_err(api)?;
        let limit = u64::try_from(first).unwrap_or(0).min(MAX_PAGE);
        let rows = store(ctx)?.duplicate_suggestions(min_probability, after, limit).await.map_err(api)?;
        Ok(rows.into_iter().map(Suggestion).collect())
    }

    /// Every merge, oldest first: `first` entries (at most 500) after the entry `after`.
    async fn merge_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 100)] first: i32,
        after: Option<ID>,
    ) -> ApiResult<Vec<MergeEntry>> {
        let after = after.as_ref().map(|id| parse_id("after", id)).transpose().map_err(api)?;
        let limit = u64::try_from(first).unwrap_or(0).min(MAX_PAGE);
        let rows = store(ctx)?.merge_log(after, limit).await.map_err(api)?;
        Ok(rows.into_iter().map(MergeEntry).collect())
    }
}

/// Merging and unmerging customers.
#[derive(Default)]
pub struct IdentityMutation;

#[Object]
impl IdentityMutation {
    /// Starts probabilistic matching over every customer as a job (admins): pairs at or
    /// above `identity.auto_merge_probability` are merged (each field's comparison and the
    /// match weight in the merge log), pairs at or above `identity.review_probability` are
    /// queued (`duplicateSuggestions`). With `dryRun: true` nothing changes and the result
    /// lists the groups that would merge. Follow it with `resolveJob(id)`; one runs at a time
    /// (CONFLICT while another does). It holds one of the caller's heavy-work permits.
    async fn resolve_identities(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] dry_run: bool,
    ) -> ApiResult<ResolveJob> {
        let rules = ctx.data_opt::<crate::InputRules>().copied().unwrap_or_default();
        let settings = kindred_store::identity::MatchSettings {
            auto_merge: rules.auto_merge_probability,
            review: rules.review_probability,
            ..Default::default()
        };
        let engine = crate::context::engine(ctx)?;
        let permit = crate::heavy::heavy_permit(ctx).await?;
        let row = engine.start_resolve(settings, dry_run, actor(ctx), Box::new(permit)).await.map_err(api)?;
        Ok(ResolveJob(row))
    }

    /// Accepts a suggestion (editors): the two customers are merged, the lower id staying;
    /// the merge log keeps the evidence and who accepted.
    async fn accept_suggestion(&self, ctx: &Context<'_>, id: ID) -> ApiResult<MergeEntry> {
        let key = parse_id("id", &id).map_err(api)?;
        let (_, merge) = store(ctx)?.decide_suggestion(key, true, &actor(ctx)).await.map_err(api)?;
        let merge =
            merge.ok_or_else(|| api(ApiError::Conflict(format!("suggestion {key} merged nothing"))))?;
        publish_merges(ctx, std::slice::from_ref(&merge));
        Ok(MergeEntry(merge.entry))
    }

    /// Rejects a suggestion (editors): the two are not one person, and the pair is never
    /// suggested or merged by matching again.
    async fn reject_suggestion(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Suggestion> {
        let key = parse_id("id", &id).map_err(api)?;
        let (decided, _) = store(ctx)?.decide_suggestion(key, false, &actor(ctx)).await.map_err(api)?;
        Ok(Suggestion(decided))
    }

    /// Merges the customers `ids` into `survivor` (editors): their interactions, ties and
    /// needs move to it, their identifiers and external ids become its own (aliases), they
    /// leave their segments, and each merge is logged with who decided. The limits of
    /// automatic matching do not apply. Returns the merge log entries, which
    /// `unmergeCustomer` undoes.
    async fn merge_customers(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
        survivor: ID,
    ) -> ApiResult<Vec<MergeEntry>> {
        let survivor = parse_id("survivor", &survivor).map_err(api)?;
        let ids: Vec<i64> =
            ids.iter().map(|id| parse_id("ids", id)).collect::<Result<_, _>>().map_err(api)?;
        if !ids.iter().any(|id| *id != survivor) {
            return Err(api(ApiError::InvalidField {
                field: "ids",
                message: "name at least one customer besides the survivor".to_owned(),
            }));
        }
        let merges = store(ctx)?.merge_customers(survivor, &ids, &actor(ctx)).await.map_err(api)?;
        publish_merges(ctx, &merges);
        for merge in &merges {
            tracing::info!(
                merge_id = merge.entry.id,
                survivor,
                absorbed = merge.entry.absorbed_id,
                "customers merged"
            );
        }
        Ok(merges.into_iter().map(|merge| MergeEntry(merge.entry)).collect())
    }

    /// Undoes a merge (admins): the absorbed customer comes back with its id, profile and
    /// identifiers; interactions, ties and needs go back by the external id they arrived under,
    /// also those that arrived since; the survivor's fields not written since return to their
    /// values before the merge; segments re-assign both. Refused (CONFLICT) when the merge was
    /// undone already, when the customer was erased, or while the survivor is itself merged
    /// into another customer (undo that merge first).
    async fn unmerge_customer(&self, ctx: &Context<'_>, merge_id: ID) -> ApiResult<UnmergeResult> {
        let key = parse_id("mergeId", &merge_id).map_err(api)?;
        let store = store(ctx)?;
        let unmerged = store.unmerge(key, &actor(ctx)).await.map_err(api)?;
        if let Some(engine) = ctx.data_opt::<kindred_engine::Engine>() {
            engine.written();
            let mut by_segment: std::collections::BTreeMap<(i64, String), Vec<i64>> = Default::default();
            for (segmentation, segment) in &unmerged.static_memberships {
                by_segment.entry((*segmentation, segment.clone())).or_default().push(unmerged.restored.id);
            }
            for ((segmentation, segment), ids) in by_segment {
                restore_static_membership(engine.clone(), segmentation, segment, ids);
            }
        }
        tracing::info!(merge_id = key, restored = unmerged.restored.id, "merge undone");
        let survivor = store.customer(unmerged.survivor_id).await.map_err(api)?.ok_or_else(|| {
            api(ApiError::NotFound { what: "customer", key: unmerged.survivor_id.to_string() })
        })?;
        Ok(UnmergeResult {
            merge: MergeEntry(unmerged.entry),
            survivor: crate::types::Customer(survivor),
            restored: crate::types::Customer(unmerged.restored),
        })
    }
}

/// How long a static membership an unmerge gives back waits for a refit of its segmentation
/// to end before it is given up (and logged).
const STATIC_RESTORE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(3_600);

/// Gives the restored customer back its memberships of a static segmentation, in the
/// background: while a refit of that segmentation runs (its members would be written over),
/// tried again every second, for up to [`STATIC_RESTORE_PATIENCE`]. A segmentation deleted
/// or made dynamic since is left as it is.
fn restore_static_membership(
    engine: kindred_engine::Engine,
    segmentation: i64,
    segment: String,
    ids: Vec<i64>,
) {
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        loop {
            match engine.edit_members(segmentation, &segment, &ids, kindred_engine::MemberEdit::Add).await {
                Ok(_) => return,
                Err(kindred_engine::EngineError::Conflict(reason))
                    if reason.contains("being refitted") && started.elapsed() < STATIC_RESTORE_PATIENCE =>
                {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                Err(error) => {
                    tracing::warn!(segmentation, %error, "unmerge: static membership not restored");
                    return;
                }
            }
        }
    });
}

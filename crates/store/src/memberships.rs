//! Memberships and their history: the current members of each segment, the difference a
//! refit or a write makes, written with its events in one transaction, and the queries over
//! them.

pub use crate::changes::Consumed;
use crate::connect::Store;
use crate::entity::{customer, membership, membership_event, segmentation};
use crate::error::{StoreError, StoreResult};
pub use crate::membership_diff::{AppliedDiff, Member, MembershipDiff, RefitResult};
use crate::segmentation_lock::SegmentationLock;
use crate::sql::{like_escape, marks};
use crate::states::ChangeReason;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Rows per multi-row statement: well under SQLite's 32,766 bound parameters.
const CHUNK_ROWS: usize = 4_000;

/// Attempts at writing a difference: the first, and one more each time customers named by it
/// turn out to be gone. On SQLite the second always succeeds (the re-read and the write share
/// one write lock); on PostgreSQL a customer deleted between the re-read and the write needs
/// a third.
const WRITE_ATTEMPTS: usize = 3;

/// The customer columns a search of a segment's members looks in.
const SEARCHED_COLUMNS: [&str; 4] = ["external_id", "email", "first_name", "last_name"];

/// Writes the diffs of several segmentations (exits, enters, new scores) and their events,
/// and queues their webhook deliveries, on `conn`: a few multi-row statements for all.
async fn apply<C: ConnectionTrait>(
    conn: &C,
    diffs: &[(i64, &MembershipDiff)],
    reason: ChangeReason,
    job_id: Option<i64>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let mut exited_by_segment: BTreeMap<(i64, &str), Vec<i64>> = BTreeMap::new();
    for (segmentation_id, diff) in diffs {
        for member in &diff.exited {
            exited_by_segment
                .entry((*segmentation_id, member.segment.as_str()))
                .or_default()
                .push(member.customer_id);
        }
    }
    for ((segmentation_id, segment), customers) in exited_by_segment {
        for chunk in customers.chunks(CHUNK_ROWS) {
            membership::Entity::delete_many()
                .filter(membership::Column::SegmentationId.eq(segmentation_id))
                .filter(membership::Column::Segment.eq(segment))
                .filter(membership::Column::CustomerId.is_in(chunk.iter().copied()))
                .exec(conn)
                .await?;
        }
    }
    // Entered rows are new; rescored ones exist and keep their `since`.
    let upserts: Vec<(i64, &Member)> = diffs
        .iter()
        .flat_map(|(id, diff)| diff.entered.iter().chain(&diff.rescored).map(move |member| (*id, member)))
        .collect();
    for chunk in upserts.chunks(CHUNK_ROWS) {
        let rows = chunk.iter().map(|(segmentation_id, member)| membership::ActiveModel {
            segmentation_id: Set(*segmentation_id),
            customer_id: Set(member.customer_id),
            segment: Set(member.segment.clone()),
            score: Set(member.score),
            since: Set(at),
        });
        membership::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([
                    membership::Column::SegmentationId,
                    membership::Column::CustomerId,
                    membership::Column::Segment,
                ])
                .update_column(membership::Column::Score)
                .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
    }
    let events: Vec<(i64, &Member, &str)> = diffs
        .iter()
        .flat_map(|(id, diff)| {
            let entered = diff.entered.iter().map(move |member| (*id, member, "entered"));
            entered.chain(diff.exited.iter().map(move |member| (*id, member, "exited")))
        })
        .collect();
    for chunk in events.chunks(CHUNK_ROWS) {
        let rows = chunk.iter().map(|(segmentation_id, member, change)| membership_event::ActiveModel {
            segmentation_id: Set(*segmentation_id),
            customer_id: Set(member.customer_id),
            segment: Set(member.segment.clone()),
            change: Set((*change).to_owned()),
            score: Set(member.score),
            reason: Set(reason),
            job_id: Set(job_id),
            at: Set(at),
            ..Default::default()
        });
        membership_event::Entity::insert_many(rows).exec_without_returning(conn).await?;
    }
    if !events.is_empty() {
        crate::feed::notify(conn, crate::feed::EVENTS_CHANNEL, "").await?;
    }
    let ids: Vec<i64> = diffs.iter().map(|(id, _)| *id).collect();
    let hooked = crate::webhooks::segmentations_with_webhooks(conn, &ids).await?;
    for (segmentation_id, diff) in diffs {
        if hooked.contains(segmentation_id) {
            crate::webhooks::enqueue(conn, *segmentation_id, diff, reason, at).await?;
        }
    }
    Ok(())
}

/// Writes `diffs` with [`apply`], what they consumed from the queue, and a refit's model and
/// state, on `txn`.
async fn write_once<C: ConnectionTrait>(
    txn: &C,
    diffs: &[(i64, &MembershipDiff)],
    written: &Written<'_>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    apply(txn, diffs, written.reason, written.job_id, at).await?;
    crate::changes::record_consumed(txn, written.consumed).await?;
    if let Some((segmentation_id, refit)) = written.refit {
        if let (Some(runner), Some(job_id)) = (&refit.runner, written.job_id) {
            still_running(txn, job_id, runner).await?;
        }
        crate::model_states::save(txn, segmentation_id, refit.state.as_ref(), refit.covered_change, at)
            .await?;
        crate::changes::forget_covered(txn, segmentation_id, refit.covered_change).await?;
        segmentation::Entity::update_many()
            .col_expr(segmentation::Column::Model, Expr::value(refit.model.to_string()))
            .col_expr(segmentation::Column::Status, Expr::value(crate::states::SegmentationStatus::Ready))
            .col_expr(segmentation::Column::Error, Expr::value(Option::<String>::None))
            .col_expr(segmentation::Column::DegradedSince, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(segmentation::Column::LastRefreshedAt, Expr::value(Some(at)))
            .col_expr(segmentation::Column::UpdatedAt, Expr::value(at))
            .col_expr(segmentation::Column::ModelJobId, Expr::value(written.job_id))
            .filter(segmentation::Column::Id.eq(segmentation_id))
            .exec(txn)
            .await?;
        if let Some(job_id) = written.job_id {
            let payload = format!("{segmentation_id}:{job_id}");
            crate::feed::notify(txn, crate::feed::MODELS_CHANNEL, &payload).await?;
        }
    }
    Ok(())
}

/// Refuses a refit's write unless job `job_id` still runs under `runner`'s lease: a job
/// taken over by another server after its lease expired is that server's to finish.
async fn still_running<C: ConnectionTrait>(txn: &C, job_id: i64, runner: &str) -> StoreResult<()> {
    let sql =
        "UPDATE segmentation_jobs SET runner = runner WHERE id = ? AND runner = ? AND status = 'running'";
    let values = vec![job_id.into(), runner.into()];
    let done = txn.execute_raw(crate::sql::statement(txn.get_database_backend(), sql, values)).await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!(
            "job {job_id} is no longer this server's: another server took it over"
        )))
    }
}

/// What is written besides the differences.
struct Written<'a> {
    reason: ChangeReason,
    job_id: Option<i64>,
    refit: Option<(i64, &'a RefitResult)>,
    consumed: &'a Consumed,
}

/// Which of `ids` (sorted, distinct) are no customer's: one query per chunk.
async fn missing_customers<C: ConnectionTrait>(conn: &C, ids: &[i64]) -> StoreResult<BTreeSet<i64>> {
    let mut present: HashSet<i64> = HashSet::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK_ROWS) {
        let rows: Vec<i64> = customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .filter(customer::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        present.extend(rows);
    }
    Ok(ids.iter().copied().filter(|id| !present.contains(id)).collect())
}

impl Store {
    /// Every current member of segmentation `id`, by customer then segment.
    pub async fn members_of(&self, segmentation_id: i64) -> StoreResult<Vec<Member>> {
        let rows = membership::Entity::find()
            .filter(membership::Column::SegmentationId.eq(segmentation_id))
            .order_by_asc(membership::Column::CustomerId)
            .order_by_asc(membership::Column::Segment)
            .all(self.connection())
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| Member { customer_id: row.customer_id, segment: row.segment, score: row.score })
            .collect())
    }

    /// The current memberships of these customers in segmentation `id`.
    pub async fn members_among(
        &self,
        segmentation_id: i64,
        customer_ids: &[i64],
    ) -> StoreResult<Vec<Member>> {
        let mut members = Vec::new();
        for chunk in customer_ids.chunks(CHUNK_ROWS) {
            let rows = membership::Entity::find()
                .filter(membership::Column::SegmentationId.eq(segmentation_id))
                .filter(membership::Column::CustomerId.is_in(chunk.iter().copied()))
                .all(self.connection())
                .await?;
            members.extend(rows.into_iter().map(|row| Member {
                customer_id: row.customer_id,
                segment: row.segment,
                score: row.score,
            }));
        }
        Ok(members)
    }

    /// The current memberships of these customers in each of these segmentations, by
    /// segmentation (one read for all).
    pub async fn members_among_each(
        &self,
        segmentation_ids: &[i64],
        customer_ids: &[i64],
    ) -> StoreResult<HashMap<i64, Vec<Member>>> {
        let mut members: HashMap<i64, Vec<Member>> = HashMap::new();
        if segmentation_ids.is_empty() {
            return Ok(members);
        }
        if self.backend() == sea_orm::DbBackend::Postgres {
            // Both lists as text parameters: one statement text whatever their sizes.
            let list = |ids: &[i64]| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            let sql = "SELECT * FROM memberships WHERE segmentation_id = ANY(CAST(string_to_array(?, ',') AS bigint[])) \
                       AND customer_id = ANY(CAST(string_to_array(?, ',') AS bigint[]))";
            let values = vec![list(segmentation_ids).into(), list(customer_ids).into()];
            for row in self.read_rows::<membership::Model>(sql.to_owned(), values, usize::MAX).await? {
                let member = Member { customer_id: row.customer_id, segment: row.segment, score: row.score };
                members.entry(row.segmentation_id).or_default().push(member);
            }
            return Ok(members);
        }
        let segmentations = segmentation_ids.iter().map(|id| sea_orm::Value::from(*id));
        for chunk in customer_ids.chunks(CHUNK_ROWS) {
            let sql = format!(
                "SELECT * FROM memberships WHERE segmentation_id IN ({}) AND customer_id IN ({})",
                marks(segmentation_ids.len()),
                marks(chunk.len())
            );
            let values =
                segmentations.clone().chain(chunk.iter().map(|id| sea_orm::Value::from(*id))).collect();
            for row in self.read_rows::<membership::Model>(sql, values, usize::MAX).await? {
                let member = Member { customer_id: row.customer_id, segment: row.segment, score: row.score };
                members.entry(row.segmentation_id).or_default().push(member);
            }
        }
        Ok(members)
    }

    /// Writes the diffs of several segmentations and their events in one transaction, all
    /// or nothing. Entries of customers who no longer exist are left out (see
    /// [`AppliedDiff::gone`]); any other failure writes nothing.
    ///
    /// `consumed` is what the write worker took from the queue of touched customers to
    /// compute them: recorded in the same transaction, so a crash before the commit leaves it
    /// queued and one after leaves nothing to do again.
    pub async fn apply_membership_diffs(
        &self,
        diffs: &[(i64, MembershipDiff)],
        reason: ChangeReason,
        consumed: &Consumed,
    ) -> StoreResult<AppliedDiff> {
        let diffs: Vec<(i64, &MembershipDiff)> = diffs.iter().map(|(id, diff)| (*id, diff)).collect();
        self.write_diffs(&diffs, &Written { reason, job_id: None, refit: None, consumed }, None).await
    }

    /// [`Store::apply_membership_diffs`] in the transaction of `lock`, which the caller took
    /// before reading what the diffs were computed from: committing them releases it.
    pub async fn apply_membership_diffs_locked(
        &self,
        lock: SegmentationLock,
        diffs: &[(i64, MembershipDiff)],
        reason: ChangeReason,
        consumed: &Consumed,
    ) -> StoreResult<AppliedDiff> {
        let diffs: Vec<(i64, &MembershipDiff)> = diffs.iter().map(|(id, diff)| (*id, diff)).collect();
        self.write_diffs(&diffs, &Written { reason, job_id: None, refit: None, consumed }, Some(lock)).await
    }

    /// A refit's [`Store::apply_membership_diff`] in the transaction of `lock`, taken before
    /// the old members were read.
    pub async fn apply_refit_locked(
        &self,
        lock: SegmentationLock,
        segmentation_id: i64,
        diff: &MembershipDiff,
        reason: ChangeReason,
        job_id: i64,
        refit: &RefitResult,
    ) -> StoreResult<AppliedDiff> {
        let refit = Some((segmentation_id, refit));
        let written = Written { reason, job_id: Some(job_id), refit, consumed: &Consumed::default() };
        self.write_diffs(&[(segmentation_id, diff)], &written, Some(lock)).await
    }

    /// Writes `diff` and its events in one transaction; with `refit`, also stores the model,
    /// marks the segmentation ready and refreshed. Entries of customers who no longer exist
    /// are left out (see [`AppliedDiff::gone`]); nothing is written if any other part fails.
    pub async fn apply_membership_diff(
        &self,
        segmentation_id: i64,
        diff: &MembershipDiff,
        reason: ChangeReason,
        job_id: Option<i64>,
        refit: Option<&RefitResult>,
    ) -> StoreResult<AppliedDiff> {
        let refit = refit.map(|refit| (segmentation_id, refit));
        let consumed = &Consumed::default();
        self.write_diffs(&[(segmentation_id, diff)], &Written { reason, job_id, refit, consumed }, None).await
    }

    /// Writes `diffs` (and a refit's model) in one transaction.
    ///
    /// A customer deleted or erased after the difference was computed (a refit reads its
    /// population long before it writes; the write worker reads rows, then assigns) makes
    /// the insert of their membership or event fail on its foreign key. Such a failure
    /// rolls back, and the next attempt, in a fresh transaction, first reads which of the
    /// named customers still exist and leaves the others out. Checking before every write
    /// instead would cost one more query per chunk on the write worker's hot path for a
    /// race that is rare; this costs nothing until it happens. If no named customer is
    /// gone, the failure was something else (a segmentation deleted meanwhile) and is
    /// returned as it was.
    async fn write_diffs(
        &self,
        diffs: &[(i64, &MembershipDiff)],
        written: &Written<'_>,
        mut held: Option<SegmentationLock>,
    ) -> StoreResult<AppliedDiff> {
        let reason = written.reason;
        let locked: Vec<i64> = {
            let mut ids: Vec<i64> = diffs.iter().map(|(id, _)| *id).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let mut gone: BTreeSet<i64> = BTreeSet::new();
        let mut failure: Option<StoreError> = None;
        let mut attempt = 1;
        loop {
            let at = Utc::now();
            let txn = match held.as_mut().and_then(|lock| lock.txn.take()) {
                Some(txn) => txn,
                None => {
                    let txn = self.begin_write().await?;
                    crate::segmentation_lock::advisory_locks(&*txn, &locked).await?;
                    txn
                }
            };
            if let Some(error) = failure.take() {
                let named: Vec<i64> = {
                    let mut named: Vec<i64> = diffs.iter().flat_map(|(_, diff)| diff.customers()).collect();
                    named.sort_unstable();
                    named.dedup();
                    named
                };
                let now_gone = missing_customers(&*txn, &named).await?;
                if now_gone == gone {
                    return Err(error);
                }
                gone = now_gone;
            }
            let kept: Vec<(i64, MembershipDiff)>;
            let current: Vec<(i64, &MembershipDiff)> = if gone.is_empty() {
                diffs.to_vec()
            } else {
                kept = diffs.iter().map(|(id, diff)| (*id, diff.without(&gone))).collect();
                kept.iter().map(|(id, diff)| (*id, diff)).collect()
            };
            match write_once(&*txn, &current, written, at).await {
                Ok(()) => {
                    txn.commit().await?;
                    if !gone.is_empty() {
                        tracing::info!(
                            customers = gone.len(),
                            reason = reason.as_str(),
                            "customers deleted meanwhile were left out of a membership difference"
                        );
                    }
                    return Ok(AppliedDiff { at, gone });
                }
                Err(error) if error.is_foreign_key() && attempt < WRITE_ATTEMPTS => {
                    txn.rollback().await?;
                    failure = Some(error);
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Customers in each segment of segmentation `id`, largest first.
    pub async fn segment_sizes(&self, segmentation_id: i64) -> StoreResult<Vec<(String, i64)>> {
        let mut sizes: Vec<(String, i64)> = membership::Entity::find()
            .select_only()
            .column(membership::Column::Segment)
            .column_as(membership::Column::CustomerId.count(), "size")
            .filter(membership::Column::SegmentationId.eq(segmentation_id))
            .group_by(membership::Column::Segment)
            .into_tuple()
            .all(self.connection())
            .await?;
        sizes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(sizes)
    }

    /// A page of a segment's members by customer id: those after `after`, at most `limit`.
    /// With a `search` text (trimmed; blank means none), only customers whose external id,
    /// email, first or last name contains it, in any case (SQLite folds ASCII letters only).
    pub async fn segment_members(
        &self,
        segmentation_id: i64,
        segment: &str,
        search: Option<&str>,
        after: Option<i64>,
        limit: u64,
    ) -> StoreResult<Vec<membership::Model>> {
        let mut sql = "SELECT * FROM memberships WHERE segmentation_id = ? AND segment = ?".to_owned();
        let mut values: Vec<sea_orm::Value> = vec![segmentation_id.into(), segment.into()];
        if let Some(after) = after {
            sql.push_str(" AND customer_id > ?");
            values.push(after.into());
        }
        if let Some(text) = search.map(str::trim).filter(|text| !text.is_empty()) {
            // `lower` on both sides, so both fold the same letters.
            let matches: Vec<String> = SEARCHED_COLUMNS
                .iter()
                .map(|column| format!("lower({column}) LIKE lower(?) ESCAPE '!'"))
                .collect();
            sql.push_str(&format!(
                " AND customer_id IN (SELECT id FROM customers WHERE {})",
                matches.join(" OR ")
            ));
            let pattern = format!("%{}%", like_escape(text));
            values.extend(SEARCHED_COLUMNS.iter().map(|_| sea_orm::Value::from(pattern.clone())));
        }
        // The limit is written in, like the other pages' (see `children.rs`).
        let limit = limit.min(i64::MAX as u64);
        sql.push_str(&format!(" ORDER BY customer_id LIMIT {limit}"));
        if search.is_some_and(|text| !text.trim().is_empty()) {
            // A search may read every customer to fill a small page.
            self.read_rows_scanning(sql, values).await
        } else {
            self.read_rows(sql, values, usize::try_from(limit).unwrap_or(usize::MAX)).await
        }
    }

    /// A page of segmentation `id`'s memberships in customer then segment order, in one
    /// segment or all: those after `after` (customer id and segment), at most `limit`.
    pub async fn membership_page(
        &self,
        segmentation_id: i64,
        segment: Option<&str>,
        after: Option<(i64, &str)>,
        limit: u64,
    ) -> StoreResult<Vec<membership::Model>> {
        self.page_of_memberships(segmentation_id, segment, after, limit, false).await
    }

    /// As [`Store::membership_page`], for marketing: members who refused marketing are left
    /// out by the query itself, so a page holds up to `limit` members marketing may reach.
    pub async fn marketable_membership_page(
        &self,
        segmentation_id: i64,
        segment: Option<&str>,
        after: Option<(i64, &str)>,
        limit: u64,
    ) -> StoreResult<Vec<membership::Model>> {
        self.page_of_memberships(segmentation_id, segment, after, limit, true).await
    }

    async fn page_of_memberships(
        &self,
        segmentation_id: i64,
        segment: Option<&str>,
        after: Option<(i64, &str)>,
        limit: u64,
        marketable: bool,
    ) -> StoreResult<Vec<membership::Model>> {
        let mut query =
            membership::Entity::find().filter(membership::Column::SegmentationId.eq(segmentation_id));
        if marketable {
            query = query.filter(sea_orm::sea_query::Expr::cust(crate::consent::MARKETABLE_MEMBERSHIP));
        }
        if let Some(segment) = segment {
            query = query.filter(membership::Column::Segment.eq(segment));
        }
        if let Some((customer_id, segment)) = after {
            query = query.filter(
                Condition::any().add(membership::Column::CustomerId.gt(customer_id)).add(
                    Condition::all()
                        .add(membership::Column::CustomerId.eq(customer_id))
                        .add(membership::Column::Segment.gt(segment)),
                ),
            );
        }
        Ok(query
            .order_by_asc(membership::Column::CustomerId)
            .order_by_asc(membership::Column::Segment)
            .limit(limit)
            .all(self.connection())
            .await?)
    }

    /// A customer's current memberships in every segmentation.
    pub async fn customer_memberships(&self, customer_id: i64) -> StoreResult<Vec<membership::Model>> {
        Ok(membership::Entity::find()
            .filter(membership::Column::CustomerId.eq(customer_id))
            .order_by_asc(membership::Column::SegmentationId)
            .order_by_asc(membership::Column::Segment)
            .all(self.connection())
            .await?)
    }

    /// A customer's enters and exits, newest first, at most `limit`.
    pub async fn customer_history(
        &self,
        customer_id: i64,
        limit: u64,
    ) -> StoreResult<Vec<membership_event::Model>> {
        Ok(membership_event::Entity::find()
            .filter(membership_event::Column::CustomerId.eq(customer_id))
            .order_by_desc(membership_event::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?)
    }

    /// A segmentation's enters and exits in order (for sizes over time).
    pub async fn segmentation_events(
        &self,
        segmentation_id: i64,
        after_id: i64,
        limit: u64,
    ) -> StoreResult<Vec<membership_event::Model>> {
        Ok(membership_event::Entity::find()
            .filter(membership_event::Column::SegmentationId.eq(segmentation_id))
            .filter(membership_event::Column::Id.gt(after_id))
            .order_by_asc(membership_event::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?)
    }
}

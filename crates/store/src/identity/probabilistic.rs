//! The probabilistic pass over every customer (every origin together): their identifying
//! fields go to `kindred-matching`; groups above the merge threshold are merged through the
//! ordinary merge (their evidence, each field's comparison and the match weight, in the merge
//! log); doubtful pairs become suggestions for a person to accept or reject. Pairs a person
//! rejected (or accepted) are never suggested or merged again by the pass.

use super::merge::{AppliedMerge, MergeReason, merge_in};
use crate::connect::Store;
use crate::entity::duplicate_suggestion;
use crate::error::{StoreError, StoreResult};
use crate::sql::statement;
use kindred_matching::{Field, MatchRecord, ScoredPair, Settings};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

/// Customers read per statement.
const PAGE: i64 = 50_000;

/// What a pass did (or, dry, would do).
#[derive(Debug, Clone, Default)]
pub struct ResolveReport {
    /// Customers read.
    pub customers: usize,
    /// Candidate pairs compared.
    pub pairs_compared: usize,
    /// Blocks too large to compare.
    pub blocks_skipped: usize,
    /// Groups found to be one person.
    pub groups: usize,
    /// Customers merged into another (or that would be).
    pub merged: usize,
    /// Pairs stored for review (or that would be).
    pub suggested: usize,
    /// Nothing was written.
    pub dry_run: bool,
    /// Seconds reading, matching, writing.
    pub seconds: (f64, f64, f64),
    /// The merges applied, for the caller to publish.
    pub merges: Vec<AppliedMerge>,
    /// The groups (customer ids, lowest first), also on a dry run.
    pub planned: Vec<Vec<i64>>,
}

/// The most merge ids and planned groups a report's summary lists (the merge log has all).
const SUMMARY_LISTS: usize = 1_000;

/// Told the stage a pass is at and how far it has come in it (units done, of a total; 0 of 0
/// where a stage is not counted), from any thread.
pub type ResolveProgress = Arc<dyn Fn(&'static str, u64, u64) + Send + Sync>;

impl ResolveReport {
    /// The report as a resolve job keeps it: the counts and times, the first thousand merge
    /// log ids and (dry run) planned groups, and whether those lists were cut.
    pub fn summary(&self) -> serde_json::Value {
        json!({
            "dry_run": self.dry_run,
            "customers": self.customers,
            "pairs_compared": self.pairs_compared,
            "blocks_skipped": self.blocks_skipped,
            "groups": self.groups,
            "merged": self.merged,
            "suggested": self.suggested,
            "seconds": { "reading": self.seconds.0, "matching": self.seconds.1, "writing": self.seconds.2 },
            "merges": self.merges.iter().take(SUMMARY_LISTS).map(|merge| merge.entry.id).collect::<Vec<_>>(),
            "planned": self.planned.iter().take(SUMMARY_LISTS).collect::<Vec<_>>(),
            "lists_cut": self.merges.len() > SUMMARY_LISTS || self.planned.len() > SUMMARY_LISTS,
        })
    }
}

/// A pair's evidence as the merge log and the review queue store it.
pub fn evidence(pair: &ScoredPair) -> serde_json::Value {
    json!({
        "probability": pair.probability,
        "weight": pair.weight,
        "names_swapped": pair.names_swapped,
        "fields": pair.fields.iter().map(|f| json!({
            "field": f.field.name(),
            "level": f.level.map(|level| ["exact", "close", "somewhat", "different"][usize::from(level.min(3))]),
            "weight": f.weight,
        })).collect::<Vec<_>>(),
    })
}

/// A pending suggestion's row for `pair`.
fn suggestion_row(pair: &ScoredPair) -> duplicate_suggestion::ActiveModel {
    duplicate_suggestion::ActiveModel {
        customer_a: Set(pair.a),
        customer_b: Set(pair.b),
        probability: Set(pair.probability),
        weight: Set(pair.weight),
        evidence: Set(evidence(pair)),
        status: Set("pending".to_owned()),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
}

impl Store {
    /// Every customer's identifying fields, for matching.
    pub async fn match_records(&self) -> StoreResult<Vec<MatchRecord>> {
        self.match_records_tracked(&|_, _, _| {}).await
    }

    /// [`Store::match_records`], telling `progress` how many are read (stage `reading`).
    async fn match_records_tracked(
        &self,
        progress: &(dyn Fn(&'static str, u64, u64) + Send + Sync),
    ) -> StoreResult<Vec<MatchRecord>> {
        let total = self
            .connection()
            .query_one_raw(statement(self.backend(), "SELECT COUNT(*) FROM customers", Vec::new()))
            .await?
            .map(|row| row.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0);
        let total = u64::try_from(total).unwrap_or(0);
        progress("reading", 0, total);
        let sql = "SELECT id, first_name, last_name, birth_date, email, phone, postcode, city, address_line1 \
                   FROM customers WHERE id > ? ORDER BY id LIMIT ?";
        let mut records = Vec::new();
        let mut after = 0i64;
        loop {
            let rows = self
                .connection()
                .query_all_raw(statement(self.backend(), sql, vec![after.into(), PAGE.into()]))
                .await?;
            let count = rows.len();
            for row in rows {
                let id: i64 = row.try_get_by_index(0)?;
                let text = |at: usize| row.try_get_by_index::<Option<String>>(at);
                let born: Option<chrono::NaiveDate> = row.try_get_by_index(3)?;
                let born = born.map(|date| date.format("%Y-%m-%d").to_string());
                let mut record = MatchRecord::new(id);
                record.set(Field::FirstName, text(1)?.as_deref());
                record.set(Field::LastName, text(2)?.as_deref());
                record.set(Field::BirthDate, born.as_deref());
                // A blocked value (a shared test address, all zeros) says nothing of who it is.
                let usable = |value: Option<String>| value.filter(|v| !self.identity.rules.blocks_value(v));
                record.set(Field::Email, usable(text(4)?).as_deref());
                record.set(Field::Phone, usable(text(5)?).as_deref());
                record.set(Field::Postcode, text(6)?.as_deref());
                record.set(Field::City, text(7)?.as_deref());
                record.set(Field::Address, text(8)?.as_deref());
                after = id;
                records.push(record);
            }
            progress("reading", records.len() as u64, total.max(records.len() as u64));
            if (count as i64) < PAGE {
                return Ok(records);
            }
        }
    }

    /// Pairs a person rejected, lower id first (an accepted pair is one customer now).
    async fn decided_pairs(&self) -> StoreResult<HashSet<(i64, i64)>> {
        let rows: Vec<(i64, i64)> = duplicate_suggestion::Entity::find()
            .select_only()
            .columns([duplicate_suggestion::Column::CustomerA, duplicate_suggestion::Column::CustomerB])
            .filter(duplicate_suggestion::Column::Status.ne("pending"))
            .into_tuple()
            .all(self.connection())
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// The highest customer id (0 when there is none): customers above it after an import
    /// are the import's new ones.
    pub async fn last_customer_id(&self) -> StoreResult<i64> {
        let row = self
            .connection()
            .query_one_raw(statement(
                self.backend(),
                "SELECT COALESCE(MAX(id), 0) FROM customers",
                Vec::new(),
            ))
            .await?;
        Ok(match row {
            Some(row) => row.try_get_by_index(0)?,
            None => 0,
        })
    }

    /// [`Store::resolve_identities`] for the customers above id `after` (an import's new
    /// ones): only pairs with one of them are merged or suggested.
    pub async fn resolve_new_identities(
        &self,
        settings: Settings,
        after: i64,
        by: &str,
    ) -> StoreResult<ResolveReport> {
        let mut settings = settings;
        let ids: Vec<i64> = crate::entity::customer::Entity::find()
            .select_only()
            .column(crate::entity::customer::Column::Id)
            .filter(crate::entity::customer::Column::Id.gt(after))
            .into_tuple()
            .all(self.connection())
            .await?;
        settings.focus = Some(ids.into_iter().collect());
        self.resolve_identities(settings, false, by).await
    }

    /// Runs the probabilistic pass over every customer with `settings`, as `by`: groups above
    /// the merge threshold are merged (each group in a transaction of its own), doubtful
    /// pairs stored for review. With `dry_run`, nothing is written.
    pub async fn resolve_identities(
        &self,
        settings: Settings,
        dry_run: bool,
        by: &str,
    ) -> StoreResult<ResolveReport> {
        self.resolve_identities_tracked(settings, dry_run, by, Arc::new(|_, _, _| {})).await
    }

    /// [`Store::resolve_identities`], telling `progress` the stage and how far it has come:
    /// `reading` (customers), the matching stages (`blocking`, `comparing` pairs,
    /// `estimating`, `scoring` pairs, `clustering`), `merging` (groups), `suggesting` (pairs).
    pub async fn resolve_identities_tracked(
        &self,
        settings: Settings,
        dry_run: bool,
        by: &str,
        progress: ResolveProgress,
    ) -> StoreResult<ResolveReport> {
        let started = Instant::now();
        let records = self.match_records_tracked(progress.as_ref()).await?;
        let mut settings = settings;
        settings.excluded = self.decided_pairs().await?;
        let read = started.elapsed().as_secs_f64();
        let customers = records.len();
        let told = progress.clone();
        let decisions = tokio::task::spawn_blocking(move || {
            kindred_matching::run_with_progress(&records, &settings, &|stage, done, total| {
                told(stage.name(), done, total)
            })
        })
        .await
        .map_err(|error| StoreError::ReadTask(format!("matching: {error}")))?;
        let matched = started.elapsed().as_secs_f64() - read;
        let mut report = ResolveReport {
            customers,
            pairs_compared: decisions.pairs_compared,
            blocks_skipped: decisions.blocks_skipped,
            groups: decisions.merges.len(),
            merged: decisions.merges.iter().map(|(ids, _)| ids.len() - 1).sum(),
            suggested: decisions.suggestions.len(),
            dry_run,
            planned: decisions.merges.iter().map(|(ids, _)| ids.clone()).collect(),
            ..Default::default()
        };
        if !dry_run {
            let groups = decisions.merges.len() as u64;
            for (at, (ids, pairs)) in decisions.merges.iter().enumerate() {
                if at % 100 == 0 {
                    progress("merging", at as u64, groups);
                }
                report.merges.extend(self.merge_group(ids, pairs, by).await?);
            }
            self.store_suggestions(&decisions.suggestions, progress.as_ref()).await?;
        }
        report.seconds = (read, matched, started.elapsed().as_secs_f64() - read - matched);
        Ok(report)
    }

    /// Merges one group into its lowest id, each with the evidence of its best link.
    async fn merge_group(
        &self,
        ids: &[i64],
        pairs: &[ScoredPair],
        by: &str,
    ) -> StoreResult<Vec<AppliedMerge>> {
        let Some((&survivor, absorbed)) = ids.split_first() else { return Ok(Vec::new()) };
        let txn = self.begin_write().await?;
        let mut applied = Vec::with_capacity(absorbed.len());
        for id in absorbed {
            let best = pairs
                .iter()
                .filter(|pair| pair.a == *id || pair.b == *id)
                .max_by(|x, y| x.probability.total_cmp(&y.probability));
            let evidence = best.map_or_else(|| json!({}), evidence);
            match merge_in(&*txn, &self.identity, survivor, *id, MergeReason::Probabilistic, evidence, by)
                .await
            {
                Ok(merge) => applied.push(merge),
                // Deleted or merged since the records were read: the group is left for the
                // next pass.
                Err(StoreError::NotFound { .. }) => {
                    txn.rollback().await?;
                    tracing::info!(
                        survivor,
                        customer = id,
                        "identity: a customer of a group is gone; group skipped"
                    );
                    return Ok(Vec::new());
                }
                Err(error) => {
                    txn.rollback().await?;
                    return Err(error);
                }
            }
        }
        txn.commit().await?;
        Ok(applied)
    }

    /// Stores pairs for review; a pair already there (pending or decided) is left as it is.
    async fn store_suggestions(
        &self,
        pairs: &[ScoredPair],
        progress: &(dyn Fn(&'static str, u64, u64) + Send + Sync),
    ) -> StoreResult<()> {
        for (at, chunk) in pairs.chunks(1_000).enumerate() {
            progress("suggesting", (at * 1_000) as u64, pairs.len() as u64);
            let rows = chunk.iter().map(suggestion_row);
            let txn = self.begin_write().await?;
            // A customer deleted since the pass read it makes its pair fail on the foreign
            // key: each pair is then written alone.
            let many = duplicate_suggestion::Entity::insert_many(rows)
                .on_conflict(
                    OnConflict::columns([
                        duplicate_suggestion::Column::CustomerA,
                        duplicate_suggestion::Column::CustomerB,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(&*txn)
                .await;
            match many {
                Ok(_) => txn.commit().await?,
                Err(_) => {
                    txn.rollback().await?;
                    for pair in chunk {
                        let _ = duplicate_suggestion::Entity::insert(suggestion_row(pair))
                            .on_conflict(
                                OnConflict::columns([
                                    duplicate_suggestion::Column::CustomerA,
                                    duplicate_suggestion::Column::CustomerB,
                                ])
                                .do_nothing()
                                .to_owned(),
                            )
                            .exec_without_returning(self.connection())
                            .await;
                    }
                }
            }
        }
        Ok(())
    }

    /// Pending suggestions at or above `min_probability`, most probable first, after the
    /// suggestion `after` in that order, at most `limit`.
    pub async fn duplicate_suggestions(
        &self,
        min_probability: f64,
        after: Option<i64>,
        limit: u64,
    ) -> StoreResult<Vec<duplicate_suggestion::Model>> {
        let mut query = duplicate_suggestion::Entity::find()
            .filter(duplicate_suggestion::Column::Status.eq("pending"))
            .filter(duplicate_suggestion::Column::Probability.gte(min_probability))
            .order_by_desc(duplicate_suggestion::Column::Probability)
            .order_by_asc(duplicate_suggestion::Column::Id)
            .limit(limit);
        if let Some(after) = after
            && let Some(cursor) =
                duplicate_suggestion::Entity::find_by_id(after).one(self.connection()).await?
        {
            use sea_orm::Condition;
            query = query.filter(
                Condition::any().add(duplicate_suggestion::Column::Probability.lt(cursor.probability)).add(
                    Condition::all()
                        .add(duplicate_suggestion::Column::Probability.eq(cursor.probability))
                        .add(duplicate_suggestion::Column::Id.gt(cursor.id)),
                ),
            );
        }
        Ok(query.all(self.connection()).await?)
    }

    /// Decides suggestion `id` as `by`: accepted merges the pair (the lower id survives),
    /// rejected keeps them apart for good. Returns the suggestion and the merge, if any.
    pub async fn decide_suggestion(
        &self,
        id: i64,
        accept: bool,
        by: &str,
    ) -> StoreResult<(duplicate_suggestion::Model, Option<AppliedMerge>)> {
        let txn = self.begin_write().await?;
        let found = duplicate_suggestion::Entity::find_by_id(id).one(&*txn).await?;
        let Some(found) = found else {
            return Err(StoreError::NotFound { what: "suggestion", key: id.to_string() });
        };
        if found.status != "pending" {
            return Err(StoreError::Conflict(format!("suggestion {id} was {} already", found.status)));
        }
        let merge = if accept {
            let mut evidence = found.evidence.clone();
            if let Some(object) = evidence.as_object_mut() {
                object.insert("accepted_by".to_owned(), json!(by));
            }
            let reason = MergeReason::Probabilistic;
            match merge_in(&*txn, &self.identity, found.customer_a, found.customer_b, reason, evidence, by)
                .await
            {
                Ok(merge) => Some(merge),
                Err(error) => {
                    txn.rollback().await?;
                    return Err(error);
                }
            }
        } else {
            None
        };
        let decided = if accept {
            // The merge removed the absorbed customer and with it the suggestion (and any
            // other about that customer); the merge log keeps who accepted.
            duplicate_suggestion::Model {
                status: "accepted".to_owned(),
                decided_at: Some(chrono::Utc::now()),
                decided_by: Some(by.to_owned()),
                ..found
            }
        } else {
            let mut decided = duplicate_suggestion::ActiveModel::from(found);
            decided.status = Set("rejected".to_owned());
            decided.decided_at = Set(Some(chrono::Utc::now()));
            decided.decided_by = Set(Some(by.to_owned()));
            decided.update(&*txn).await?
        };
        txn.commit().await?;
        Ok((decided, merge))
    }
}

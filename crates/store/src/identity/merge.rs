//! Merging one customer into another, in the caller's transaction: the survivor's profile
//! takes each field by the survivorship rule, interactions, ties and needs move to it (each
//! row remembering the external id it arrived under), identifiers follow, the absorbed
//! customer leaves its segments and is removed, and the merge log keeps the evidence and a
//! snapshot from which an unmerge restores both customers exactly.

use super::snapshot::{MergeSnapshot, StaticMembership};
use crate::entity::{customer, interaction, membership, merge_log, need, tie};
use crate::error::{StoreError, StoreResult};
use crate::identifiers::held_by;
use crate::memberships::{Member, MembershipDiff};
use crate::sql::statement;
use crate::states::ChangeReason;
use kindred_domain::identity::{IdentifierKind, IdentityPolicy, Side, merged_consent};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    IntoActiveModel, QueryFilter,
};
use serde_json::{Map, Value as Json};
use std::collections::{BTreeMap, HashSet};

/// Why two customers were merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeReason {
    /// A record carried identifiers of both (deterministic matching).
    Identifier,
    /// A person merged them.
    Manual,
    /// Probabilistic matching found them one person (evidence: each field's comparison and
    /// the match weight).
    Probabilistic,
}

impl MergeReason {
    /// As the merge log stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            MergeReason::Identifier => "identifier",
            MergeReason::Manual => "manual",
            MergeReason::Probabilistic => "probabilistic",
        }
    }
}

/// A merge that was applied.
#[derive(Debug, Clone)]
pub struct AppliedMerge {
    /// Its entry in the merge log.
    pub entry: merge_log::Model,
    /// The memberships the absorbed customer had, now ended: to be published as exits.
    pub exited: Vec<membership::Model>,
}

/// Profile columns whose value follows the survivorship rule (consent, handles and
/// attributes have rules of their own; keys and times are the survivor's).
const RULED_FIELDS: [&str; 20] = [
    "email",
    "first_name",
    "last_name",
    "birth_date",
    "gender",
    "income",
    "education",
    "occupation",
    "country",
    "region",
    "city",
    "lat",
    "lon",
    "lifestyle",
    "phone",
    "address_line1",
    "address_line2",
    "postcode",
    "consent_marketing",
    "consent_profiling",
];

/// The columns that say where someone lives: a merge takes them all from one side.
const PLACE_FIELDS: [&str; 8] =
    ["address_line1", "address_line2", "postcode", "city", "region", "country", "lat", "lon"];

fn blank(value: Option<&Json>) -> bool {
    match value {
        None | Some(Json::Null) => true,
        Some(Json::String(text)) => text.trim().is_empty(),
        _ => false,
    }
}

/// The survivor's profile after the merge.
fn merged_profile(
    policy: &IdentityPolicy,
    survivor: &customer::Model,
    survivor_origin: &str,
    absorbed: &customer::Model,
    absorbed_origin: &str,
) -> StoreResult<customer::Model> {
    let to_json = |model: &customer::Model| {
        serde_json::to_value(model).map_err(|e| StoreError::ReadTask(e.to_string()))
    };
    let (mut kept, other) = (to_json(survivor)?, to_json(absorbed)?);
    let prefer_other = policy.survivorship.prefers_other(
        Side { updated_at: survivor.updated_at, origin: survivor_origin },
        Side { updated_at: absorbed.updated_at, origin: absorbed_origin },
    );
    let (Json::Object(fields), Json::Object(theirs)) = (&mut kept, &other) else {
        return Err(StoreError::ReadTask("a customer row is not an object".to_owned()));
    };
    for field in RULED_FIELDS {
        if field.starts_with("consent_") || PLACE_FIELDS.contains(&field) {
            continue;
        }
        let (ours, other) = (fields.get(field), theirs.get(field));
        if blank(other) || (!blank(ours) && !prefer_other) {
            continue;
        }
        fields.insert(field.to_owned(), other.cloned().unwrap_or(Json::Null));
    }
    // Where someone lives is one value: never one record's street with another's postcode.
    let known = |columns: &Map<String, Json>| PLACE_FIELDS.iter().any(|field| !blank(columns.get(*field)));
    if known(theirs) && (!known(fields) || prefer_other) {
        for field in PLACE_FIELDS {
            fields.insert(field.to_owned(), theirs.get(field).cloned().unwrap_or(Json::Null));
        }
    }
    for field in ["social_handles", "attributes"] {
        let mut union: Map<String, Json> = Map::new();
        let (first, second) = if prefer_other {
            (fields.get(field), theirs.get(field))
        } else {
            (theirs.get(field), fields.get(field))
        };
        for object in [first, second].into_iter().flatten() {
            if let Json::Object(entries) = object {
                union.extend(entries.clone());
            }
        }
        fields.insert(field.to_owned(), if union.is_empty() { Json::Null } else { Json::Object(union) });
    }
    let mut merged: customer::Model =
        serde_json::from_value(kept).map_err(|e| StoreError::ReadTask(format!("merged profile: {e}")))?;
    merged.consent_marketing = merged_consent(survivor.consent_marketing, absorbed.consent_marketing);
    merged.consent_profiling = merged_consent(survivor.consent_profiling, absorbed.consent_profiling);
    merged.updated_at = chrono::Utc::now();
    Ok(merged)
}

/// The origin of a customer's own external id.
fn own_origin(held: &[crate::identifiers::HeldIdentifier], external_id: &str) -> String {
    held.iter()
        .find_map(|row| match &row.identifier.kind {
            IdentifierKind::ExternalId { origin } if row.identifier.value == external_id => {
                Some(origin.clone())
            }
            _ => None,
        })
        .unwrap_or_else(|| crate::identifiers::DEFAULT_ORIGIN.to_owned())
}

/// Merges customer `absorbed` into `survivor` on `conn` (a write transaction).
pub(crate) async fn merge_in<C: ConnectionTrait>(
    conn: &C,
    policy: &IdentityPolicy,
    survivor_id: i64,
    absorbed_id: i64,
    reason: MergeReason,
    evidence: Json,
    decided_by: &str,
) -> StoreResult<AppliedMerge> {
    if survivor_id == absorbed_id {
        return Err(StoreError::Conflict(format!("customer {survivor_id} cannot be merged into itself")));
    }
    super::lock_identity(conn).await?;
    let not_found = |id: i64| StoreError::NotFound { what: "customer", key: id.to_string() };
    // Writers of interactions for the absorbed customer finish first; later ones find it gone.
    crate::customer_locks::lock_for_removal(conn, &[absorbed_id]).await?;
    let survivor =
        customer::Entity::find_by_id(survivor_id).one(conn).await?.ok_or_else(|| not_found(survivor_id))?;
    let absorbed =
        customer::Entity::find_by_id(absorbed_id).one(conn).await?.ok_or_else(|| not_found(absorbed_id))?;
    let mut held = held_by(conn, &[survivor_id, absorbed_id]).await?;
    let absorbed_held = held.remove(&absorbed_id).unwrap_or_default();
    let survivor_held = held.remove(&survivor_id).unwrap_or_default();
    // The external ids rows of the absorbed customer arrive under, before and after this
    // merge: its own and those it absorbed earlier.
    let mut routing: Vec<String> = absorbed_held
        .iter()
        .filter(|row| matches!(row.identifier.kind, IdentifierKind::ExternalId { .. }))
        .map(|row| row.identifier.value.clone())
        .collect();
    if !routing.contains(&absorbed.external_id) {
        routing.push(absorbed.external_id.clone());
    }
    let merged = merged_profile(
        policy,
        &survivor,
        &own_origin(&survivor_held, &survivor.external_id),
        &absorbed,
        &own_origin(&absorbed_held, &absorbed.external_id),
    )?;
    let backend = conn.get_database_backend();
    let run = |sql: &str, values: Vec<sea_orm::Value>| conn.execute_raw(statement(backend, sql, values));
    let gone = absorbed.external_id.clone();

    // Ties: the one between the two disappears; one the survivor already has goes too.
    let absorbed_ties = tie::Entity::find()
        .filter(
            Condition::any().add(tie::Column::FromId.eq(absorbed_id)).add(tie::Column::ToId.eq(absorbed_id)),
        )
        .all(conn)
        .await?;
    let survivor_ties = tie::Entity::find()
        .filter(
            Condition::any().add(tie::Column::FromId.eq(survivor_id)).add(tie::Column::ToId.eq(survivor_id)),
        )
        .all(conn)
        .await?;
    let mut taken: HashSet<(i64, i64, String)> =
        survivor_ties.iter().map(|t| (t.from_id, t.to_id, t.kind.clone())).collect();
    let mut removed_ties = Vec::new();
    for tie in absorbed_ties {
        let end = |id: i64| if id == absorbed_id { survivor_id } else { id };
        let (from, to) = (end(tie.from_id), end(tie.to_id));
        let reversed = tie.mutual && taken.contains(&(to, from, tie.kind.clone()));
        if from == to || reversed || !taken.insert((from, to, tie.kind.clone())) {
            tie::Entity::delete_by_id(tie.id).exec(conn).await?;
            removed_ties.push(tie);
            continue;
        }
        let mut moved = tie.clone().into_active_model();
        if tie.from_id == absorbed_id {
            moved.from_id = Set(survivor_id);
            moved.from_arrived_under =
                Set(Some(tie.from_arrived_under.clone().unwrap_or_else(|| gone.clone())));
        }
        if tie.to_id == absorbed_id {
            moved.to_id = Set(survivor_id);
            moved.to_arrived_under = Set(Some(tie.to_arrived_under.clone().unwrap_or_else(|| gone.clone())));
        }
        moved.update(conn).await?;
    }
    // A moved mutual tie may now start from the end that should be its other.
    crate::mutual_ties::order_mutual_ties(conn, &[survivor_id]).await?;
    // Needs: a tag the survivor has already keeps the survivor's row.
    let survivor_tags: HashSet<String> = need::Entity::find()
        .filter(need::Column::CustomerId.eq(survivor_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|n| n.tag)
        .collect();
    let mut removed_needs = Vec::new();
    for need in need::Entity::find().filter(need::Column::CustomerId.eq(absorbed_id)).all(conn).await? {
        if survivor_tags.contains(&need.tag) {
            need::Entity::delete_by_id(need.id).exec(conn).await?;
            removed_needs.push(need);
        }
    }
    run(
        "UPDATE needs SET customer_id = ?, arrived_under = COALESCE(arrived_under, ?) WHERE customer_id = ?",
        vec![survivor_id.into(), gone.clone().into(), absorbed_id.into()],
    )
    .await?;
    // The same interaction (no source id; same time, kind and amount) from both customers is
    // one: the survivor's row stays, the absorbed one's is kept in the snapshot.
    let colliding = interaction::Entity::find()
        .filter(interaction::Column::CustomerId.eq(absorbed_id))
        .filter(interaction::Column::SourceId.is_null())
        // The id is a number: written into the text, it needs no placeholder.
        .filter(Expr::cust(format!(
            "EXISTS (SELECT 1 FROM interactions s WHERE s.customer_id = {survivor_id} AND s.source_id IS NULL \
             AND s.occurred_at = interactions.occurred_at AND s.kind = interactions.kind \
             AND COALESCE(s.amount, -1) = COALESCE(interactions.amount, -1))"
        )))
        .all(conn)
        .await?;
    for row in &colliding {
        interaction::Entity::delete_by_id(row.id).exec(conn).await?;
    }
    run(
        "UPDATE interactions SET customer_id = ?, arrived_under = COALESCE(arrived_under, ?) WHERE customer_id = ?",
        vec![survivor_id.into(), gone.clone().into(), absorbed_id.into()],
    )
    .await?;
    run(
        "UPDATE customer_identifiers SET customer_id = ? WHERE customer_id = ?",
        vec![survivor_id.into(), absorbed_id.into()],
    )
    .await?;
    // Writes the absorbed customer keeps for its own unmerges come along (all under its ids).
    let carried_writes: Vec<i64> = super::alias_writes::of_customer(conn, absorbed_id)
        .await?
        .into_iter()
        .map(|write| write.id)
        .collect();
    run(
        "UPDATE alias_writes SET customer_id = ? WHERE customer_id = ?",
        vec![survivor_id.into(), absorbed_id.into()],
    )
    .await?;

    // The absorbed customer leaves its segments: webhooks hear it now, subscribers from the
    // caller; members of static segmentations come back with an unmerge.
    let exited =
        membership::Entity::find().filter(membership::Column::CustomerId.eq(absorbed_id)).all(conn).await?;
    let static_ids: HashSet<i64> = crate::entity::segmentation::Entity::find()
        .filter(crate::entity::segmentation::Column::Mode.eq(crate::states::SegmentationMode::Static))
        .all(conn)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let mut exits: BTreeMap<i64, Vec<Member>> = BTreeMap::new();
    for row in &exited {
        exits.entry(row.segmentation_id).or_default().push(Member {
            customer_id: row.customer_id,
            segment: row.segment.clone(),
            score: row.score,
        });
    }
    let now = chrono::Utc::now();
    // For the server to publish live, whichever process this is.
    for row in &exited {
        conn.execute_raw(statement(
            backend,
            "INSERT INTO merge_exits (segmentation_id, customer_id, segment, score) VALUES (?, ?, ?, ?)",
            vec![
                row.segmentation_id.into(),
                row.customer_id.into(),
                row.segment.clone().into(),
                row.score.into(),
            ],
        ))
        .await?;
    }
    if !exited.is_empty() {
        crate::feed::notify(conn, crate::feed::EVENTS_CHANNEL, "").await?;
    }
    for (segmentation_id, exited) in exits {
        let diff = MembershipDiff { exited, ..Default::default() };
        crate::webhooks::enqueue(conn, segmentation_id, &diff, ChangeReason::Write, now).await?;
    }
    let static_memberships: Vec<StaticMembership> = exited
        .iter()
        .filter(|row| static_ids.contains(&row.segmentation_id))
        .map(|row| StaticMembership { segmentation_id: row.segmentation_id, segment: row.segment.clone() })
        .collect();
    // Its membership history is the merged person's now (moved, not copied: the feed does not
    // hear it again); an unmerge gives those rows back.
    let moved_history: Vec<i64> = crate::entity::membership_event::Entity::find()
        .filter(crate::entity::membership_event::Column::CustomerId.eq(absorbed_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|event| event.id)
        .collect();
    run(
        "UPDATE membership_events SET customer_id = ? WHERE customer_id = ?",
        vec![survivor_id.into(), absorbed_id.into()],
    )
    .await?;
    // The rest of what the absorbed customer had (its memberships, now exited) goes with it.
    customer::Entity::delete_by_id(absorbed_id).exec(conn).await?;
    // As stored (PostgreSQL keeps microseconds): what an unmerge compares against.
    let merged = merged.into_active_model().reset_all().update(conn).await?;
    let survivor_external_id = survivor.external_id.clone();

    let snapshot = MergeSnapshot {
        survivor_before: survivor,
        survivor_after: merged,
        absorbed: absorbed.clone(),
        absorbed_identifiers: absorbed_held.iter().map(|row| row.row_id).collect(),
        routing,
        removed_ties,
        removed_needs,
        removed_interactions: colliding,
        static_memberships,
        moved_history,
        carried_writes,
    };
    let entry = merge_log::ActiveModel {
        survivor_id: Set(survivor_id),
        absorbed_id: Set(absorbed_id),
        absorbed_external_id: Set(gone.clone()),
        reason: Set(reason.as_str().to_owned()),
        evidence: Set(evidence),
        decided_by: Set(decided_by.to_owned()),
        snapshot: Set(Some(snapshot.to_json()?)),
        merged_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    crate::changes::record_changes(conn, &[survivor_external_id.as_str()]).await?;
    Ok(AppliedMerge { entry, exited })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, updated: &str, fields: Json) -> customer::Model {
        let mut columns = serde_json::json!({
            "id": id, "external_id": format!("c{id}"), "email": null, "first_name": null,
            "last_name": null, "birth_date": null, "gender": null, "income": null,
            "education": null, "occupation": null, "country": null, "region": null, "city": null,
            "lat": null, "lon": null, "lifestyle": null, "consent_marketing": null,
            "consent_profiling": null, "social_handles": null, "attributes": null,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": updated, "phone": null,
            "address_line1": null, "address_line2": null, "postcode": null,
        });
        if let (Json::Object(columns), Json::Object(fields)) = (&mut columns, fields) {
            columns.extend(fields);
        }
        serde_json::from_value(columns).unwrap()
    }

    #[test]
    fn an_address_survives_whole_from_one_side() {
        let policy = IdentityPolicy::default();
        let older = row(
            1,
            "2026-01-01T00:00:00Z",
            serde_json::json!({ "address_line1": "1 Rua A", "postcode": "4000-001", "city": "Porto", "first_name": "Ana" }),
        );
        let newer =
            row(2, "2026-02-01T00:00:00Z", serde_json::json!({ "city": "Lisboa", "phone": "+351912345678" }));
        let merged = merged_profile(&policy, &older, "shop", &newer, "web").unwrap();
        assert_eq!(
            (merged.address_line1, merged.postcode, merged.city.as_deref()),
            (None, None, Some("Lisboa")),
            "the newer record's place, whole: not its city with the other's street"
        );
        assert_eq!(merged.first_name.as_deref(), Some("Ana"), "fields only one side knows survive");
        assert_eq!(merged.phone.as_deref(), Some("+351912345678"));
        // A side that knows no place leaves the other's whole.
        let placeless = row(3, "2026-03-01T00:00:00Z", serde_json::json!({ "email": "a@x.org" }));
        let merged = merged_profile(&policy, &older, "shop", &placeless, "web").unwrap();
        assert_eq!(
            (merged.address_line1.as_deref(), merged.city.as_deref()),
            (Some("1 Rua A"), Some("Porto"))
        );
    }
}

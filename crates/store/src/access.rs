//! API keys and the audit log. Keys are stored as a name, a role, a public prefix and a hash;
//! the key itself is never stored. The audit log is written in batches by the server.

use crate::connect::Store;
use crate::entity::{api_key, audit_entry};
use crate::error::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// A key to store: the hash of the key, never the key.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// A unique name.
    pub name: String,
    /// What it may do.
    pub role: crate::states::Role,
    /// The key's public part.
    pub prefix: String,
    /// The PHC-format hash of the whole key.
    pub hash: String,
}

/// One audit record to write.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    /// When the mutation ran.
    pub at: DateTime<Utc>,
    /// The key's name (none without authentication).
    pub key_name: Option<String>,
    /// The caller's role.
    pub role: crate::states::Role,
    /// The mutation.
    pub action: String,
    /// What it was about, by Kindred id.
    pub target: Option<String>,
    /// `ok` or an error code.
    pub outcome: String,
}

/// Which audit records to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this key's.
    pub key_name: Option<String>,
    /// Only this mutation's.
    pub action: Option<String>,
    /// Only at or after this time.
    pub since: Option<DateTime<Utc>>,
}

/// Rows per multi-row audit insert.
const AUDIT_CHUNK: usize = 500;

impl Store {
    /// Stores a new key. CONFLICT if the name is taken.
    pub async fn create_api_key(&self, key: &NewApiKey) -> StoreResult<api_key::Model> {
        let row = api_key::ActiveModel {
            name: Set(key.name.clone()),
            role: Set(key.role),
            prefix: Set(key.prefix.clone()),
            hash: Set(key.hash.clone()),
            created_at: Set(Utc::now()),
            ..Default::default()
        };
        api_key::Entity::insert(row).exec_with_returning(self.connection()).await.map_err(|error| {
            let error = StoreError::from(error);
            if error.is_conflict() {
                StoreError::Conflict(format!("a key named {:?} exists", key.name))
            } else {
                error
            }
        })
    }

    /// Every key, revoked ones too, oldest first.
    pub async fn api_keys(&self) -> StoreResult<Vec<api_key::Model>> {
        Ok(api_key::Entity::find().order_by_asc(api_key::Column::Id).all(self.connection()).await?)
    }

    /// The key with this public prefix, if any.
    pub async fn api_key_by_prefix(&self, prefix: &str) -> StoreResult<Option<api_key::Model>> {
        Ok(api_key::Entity::find().filter(api_key::Column::Prefix.eq(prefix)).one(self.connection()).await?)
    }

    /// The key with this id, if any.
    pub async fn api_key(&self, id: i64) -> StoreResult<Option<api_key::Model>> {
        Ok(api_key::Entity::find_by_id(id).one(self.connection()).await?)
    }

    /// Revokes the key named `name` (or with that prefix); returns it, or none if there is no
    /// such key. Revoking twice keeps the first time.
    pub async fn revoke_api_key(&self, name: &str) -> StoreResult<Option<api_key::Model>> {
        let found = api_key::Entity::find()
            .filter(api_key::Column::Name.eq(name).or(api_key::Column::Prefix.eq(name)))
            .one(self.connection())
            .await?;
        let Some(found) = found else { return Ok(None) };
        if found.revoked_at.is_some() {
            return Ok(Some(found));
        }
        let row = api_key::ActiveModel {
            id: Set(found.id),
            revoked_at: Set(Some(Utc::now())),
            ..Default::default()
        };
        Ok(Some(api_key::Entity::update(row).exec(self.connection()).await?))
    }

    /// Records that key `id` was used at `at`.
    pub async fn touch_api_key(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        let row = api_key::ActiveModel { id: Set(id), last_used_at: Set(Some(at)), ..Default::default() };
        api_key::Entity::update(row).exec(self.connection()).await?;
        Ok(())
    }

    /// Appends audit records, in as few statements as the batch allows.
    pub async fn record_audit(&self, entries: &[NewAuditEntry]) -> StoreResult<()> {
        for chunk in entries.chunks(AUDIT_CHUNK) {
            let rows = chunk.iter().map(|entry| audit_entry::ActiveModel {
                at: Set(entry.at),
                key_name: Set(entry.key_name.clone()),
                role: Set(entry.role),
                action: Set(entry.action.clone()),
                target: Set(entry.target.clone()),
                outcome: Set(entry.outcome.clone()),
                ..Default::default()
            });
            audit_entry::Entity::insert_many(rows).exec(self.connection()).await?;
        }
        Ok(())
    }

    /// Audit records, newest first: those before id `before`, at most `limit`.
    pub async fn audit_entries(
        &self,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: u64,
    ) -> StoreResult<Vec<audit_entry::Model>> {
        let mut query = audit_entry::Entity::find();
        if let Some(name) = &filter.key_name {
            query = query.filter(audit_entry::Column::KeyName.eq(name.as_str()));
        }
        if let Some(action) = &filter.action {
            query = query.filter(audit_entry::Column::Action.eq(action.as_str()));
        }
        if let Some(since) = filter.since {
            query = query.filter(audit_entry::Column::At.gte(since));
        }
        if let Some(before) = before {
            query = query.filter(audit_entry::Column::Id.lt(before));
        }
        Ok(query.order_by_desc(audit_entry::Column::Id).limit(limit).all(self.connection()).await?)
    }
}

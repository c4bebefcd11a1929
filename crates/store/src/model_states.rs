//! The fitted state of each dynamic segmentation's strategy, saved when a refit commits (in
//! its transaction) under the model version that made it, and read when a server starts so it
//! can load the model instead of refitting.

use crate::connect::Store;
use crate::error::StoreResult;
use crate::sql::statement;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Value};

/// A saved state and the model version it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelState {
    /// The refit job that fitted it.
    pub job_id: i64,
    /// The hex SHA-256 of the library build that saved it: only that build may load it.
    pub library_sha256: String,
    /// The parameters the instance had (merged over the plugin's defaults), as JSON.
    pub params: serde_json::Value,
    /// The plugin's bytes.
    pub bytes: Vec<u8>,
    /// The queue position its refit covered (set by the store from the refit's result).
    pub covered_change: i64,
    /// When it was saved (set by the store).
    pub saved_at: Option<DateTime<Utc>>,
}

/// Replaces segmentation `id`'s saved state with `state`, or removes it when there is none
/// (a plugin that cannot save: an older state must not outlive the model it described).
pub(crate) async fn save<C: ConnectionTrait>(
    conn: &C,
    segmentation_id: i64,
    state: Option<&ModelState>,
    covered_change: i64,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let backend = conn.get_database_backend();
    let delete = "DELETE FROM segmentation_states WHERE segmentation_id = ?";
    conn.execute_raw(statement(backend, delete, vec![segmentation_id.into()])).await?;
    if let Some(state) = state {
        let insert = "INSERT INTO segmentation_states \
                      (segmentation_id, job_id, covered_change, library_sha256, params, state, saved_at) \
                      VALUES (?, ?, ?, ?, ?, ?, ?)";
        let values: Vec<Value> = vec![
            segmentation_id.into(),
            state.job_id.into(),
            covered_change.into(),
            state.library_sha256.clone().into(),
            state.params.to_string().into(),
            state.bytes.clone().into(),
            at.into(),
        ];
        conn.execute_raw(statement(backend, insert, values)).await?;
    }
    Ok(())
}

/// The model version a segmentation's members are kept with, without the state's bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelVersion {
    /// The refit job that fitted it.
    pub job_id: i64,
    /// The hex SHA-256 of the library build that saved it.
    pub library_sha256: String,
    /// The size of the saved state in bytes.
    pub state_bytes: i64,
    /// When it was saved.
    pub saved_at: DateTime<Utc>,
}

impl Store {
    /// The version of segmentation `id`'s saved model, if its plugin could save one (reads
    /// no state bytes).
    pub async fn model_version(&self, segmentation_id: i64) -> StoreResult<Option<ModelVersion>> {
        let sql = "SELECT job_id, library_sha256, CAST(length(state) AS BIGINT), saved_at FROM segmentation_states \
                   WHERE segmentation_id = ?";
        let row = self
            .connection()
            .query_one_raw(statement(self.backend(), sql, vec![segmentation_id.into()]))
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ModelVersion {
            job_id: row.try_get_by_index(0)?,
            library_sha256: row.try_get_by_index(1)?,
            state_bytes: row.try_get_by_index::<Option<i64>>(2)?.unwrap_or(0),
            saved_at: row.try_get_by_index(3)?,
        }))
    }

    /// The state saved by segmentation `id`'s last refit, if its plugin could save one.
    pub async fn model_state(&self, segmentation_id: i64) -> StoreResult<Option<ModelState>> {
        let sql = "SELECT job_id, library_sha256, params, state, saved_at, covered_change FROM segmentation_states \
                   WHERE segmentation_id = ?";
        let row = self
            .connection()
            .query_one_raw(statement(self.backend(), sql, vec![segmentation_id.into()]))
            .await?;
        let Some(row) = row else { return Ok(None) };
        let params: String = row.try_get_by_index(2)?;
        Ok(Some(ModelState {
            job_id: row.try_get_by_index(0)?,
            library_sha256: row.try_get_by_index(1)?,
            params: serde_json::from_str(&params).unwrap_or(serde_json::Value::Null),
            bytes: row.try_get_by_index(3)?,
            saved_at: row.try_get_by_index(4)?,
            covered_change: row.try_get_by_index(5)?,
        }))
    }
}

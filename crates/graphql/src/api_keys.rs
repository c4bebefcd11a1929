//! API keys over GraphQL, for admins: list, create (the key is returned once) and revoke.
//! `kindred keys` does the same from the command line.

use crate::access::Role;
use crate::context::store;
use crate::error::{ApiError, ApiResult, api};
use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use kindred_domain::{Reason, ValidationError};
use kindred_store::NewApiKey;
use kindred_store::entity::api_key;

/// A key's role: [`Role`] in the schema.
#[derive(Enum, Copy, Clone, PartialEq, Eq)]
#[graphql(remote = "Role")]
pub enum KeyRole {
    /// Everything, including keys and erasure.
    Admin,
    /// Reads, writes data and manages segmentations.
    Editor,
    /// Reads.
    Analyst,
    /// Only writes customers, interactions, ties and needs.
    Ingest,
}

/// An API key as stored: never the key itself.
pub struct ApiKey(api_key::Model);

#[Object]
impl ApiKey {
    /// Kindred's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Its unique name, which the audit log shows.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// admin, editor, analyst or ingest.
    async fn role(&self) -> &str {
        self.0.role.as_str()
    }
    /// The key's public part (`kdr_<prefix>_...`), to tell keys apart.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    /// When it was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it was last used (updated at most every few seconds).
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    /// When it was revoked; null while it works.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

/// A new key: shown once, never again.
pub struct CreatedApiKey {
    key: String,
    stored: api_key::Model,
}

#[Object]
impl CreatedApiKey {
    /// The key to give to whoever uses it. Not stored: it cannot be shown again.
    async fn key(&self) -> &str {
        &self.key
    }
    /// The key as stored.
    async fn api_key(&self) -> ApiKey {
        ApiKey(self.stored.clone())
    }
}

/// Key queries (admins only).
#[derive(Default)]
pub struct ApiKeyQuery;

#[Object]
impl ApiKeyQuery {
    /// Every key, revoked ones too, oldest first.
    async fn api_keys(&self, ctx: &Context<'_>) -> ApiResult<Vec<ApiKey>> {
        Ok(store(ctx)?.api_keys().await.map_err(api)?.into_iter().map(ApiKey).collect())
    }

    /// Who is asking: the key's name (null without authentication) and role (ADMIN without
    /// authentication), so that a client shows only what the caller may do.
    async fn caller(&self, ctx: &Context<'_>) -> CallerInfo {
        let caller =
            ctx.data_opt::<crate::access::Caller>().cloned().unwrap_or_else(crate::access::Caller::open);
        CallerInfo { key_name: caller.key_name, role: caller.role.into() }
    }
}

/// The caller of a request.
#[derive(async_graphql::SimpleObject)]
pub struct CallerInfo {
    /// The key's name; null when the server runs without authentication.
    key_name: Option<String>,
    /// What it may do.
    role: KeyRole,
}

/// Key mutations (admins only).
#[derive(Default)]
pub struct ApiKeyMutation;

#[Object]
impl ApiKeyMutation {
    /// Makes a key with `role`; the answer holds the key, once. CONFLICT if the name is taken.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        name: String,
        role: KeyRole,
    ) -> ApiResult<CreatedApiKey> {
        let name = name.trim().to_owned();
        if name.is_empty() {
            let reason = Reason::Incomplete { needs: "a name" };
            return Err(api(ValidationError::new("name", "", reason)));
        }
        // Argon2 takes a core for tens of milliseconds: off the async workers.
        let made = tokio::task::spawn_blocking(crate::keys::generate)
            .await
            .map_err(|_| api(ApiError::Internal))?
            .map_err(|error| {
                tracing::error!(%error, "cannot make a key");
                api(ApiError::Internal)
            })?;
        let role = Role::from(role);
        let new = NewApiKey { name, role, prefix: made.prefix, hash: made.hash };
        let stored = store(ctx)?.create_api_key(&new).await.map_err(api)?;
        Ok(CreatedApiKey { key: made.key, stored })
    }

    /// Revokes a key by name (or prefix); it stops working within seconds. NOT_FOUND if there
    /// is none.
    async fn revoke_api_key(&self, ctx: &Context<'_>, name: String) -> ApiResult<ApiKey> {
        let revoked = store(ctx)?.revoke_api_key(name.trim()).await.map_err(api)?;
        revoked.map(ApiKey).ok_or_else(|| api(ApiError::NotFound { what: "API key", key: name }))
    }
}

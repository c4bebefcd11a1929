//! The plugins the server loaded, and running a strategy over the population without
//! saving anything (a preview).

use crate::error::{ApiResult, api};
use async_graphql::{Context, Enum, Json, Object, SimpleObject};
use kindred_segment::{Plugin as HostPlugin, PluginHost, PluginStatus as HostStatus, run_strategy};
use std::sync::Arc;

/// Whether a plugin can be used.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum PluginStatus {
    /// Loaded and checked.
    Loaded,
    /// Missing, incompatible or failing: `error` says why.
    Refused,
    /// Turned off in the settings.
    Disabled,
}

/// A segmentation strategy plugin listed in the settings.
pub struct Plugin(HostPlugin);

#[Object]
impl Plugin {
    /// The name it is known by (from the settings).
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The strategy's own name, from the library.
    async fn strategy(&self) -> Option<&str> {
        self.0.library.as_ref().map(|library| library.name.as_str())
    }

    /// The plugin's version.
    async fn version(&self) -> Option<&str> {
        self.0.library.as_ref().map(|library| library.version.as_str())
    }

    /// The SDK version it was built with.
    async fn sdk_version(&self) -> Option<&str> {
        self.0.library.as_ref().map(|library| library.sdk_version.as_str())
    }

    /// `major.minor` of the plugin ABI it was built against.
    async fn abi_version(&self) -> Option<&str> {
        self.0.library.as_ref().map(|library| library.abi_version.as_str())
    }

    /// LOADED, REFUSED or DISABLED.
    async fn status(&self) -> PluginStatus {
        match self.0.status {
            HostStatus::Loaded => PluginStatus::Loaded,
            HostStatus::Refused => PluginStatus::Refused,
            HostStatus::Disabled => PluginStatus::Disabled,
        }
    }

    /// Why it was refused.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    /// The library file.
    async fn path(&self) -> String {
        self.0.path.display().to_string()
    }

    /// What the strategy does.
    async fn description(&self) -> Option<&str> {
        self.0.library.as_ref().map(|library| library.description.summary.as_str())
    }

    /// JSON Schema of its parameters.
    async fn params_schema(&self) -> Option<Json<serde_json::Value>> {
        self.0.library.as_ref().map(|library| Json(library.description.params_schema.clone()))
    }

    /// The parameters from the settings that a segmentation starts from.
    async fn default_params(&self) -> Json<serde_json::Value> {
        Json(self.0.default_params.clone())
    }

    /// The columns it reads, by table.
    async fn inputs(&self) -> Vec<PluginInput> {
        let Some(library) = &self.0.library else { return Vec::new() };
        let inputs = &library.description.inputs;
        inputs
            .iter()
            .map(|(table, columns)| PluginInput { table: table.clone(), columns: columns.clone() })
            .collect()
    }

    /// The segments it can produce, when known in advance.
    async fn segments(&self) -> Vec<String> {
        self.0.library.as_ref().map(|library| library.description.segments.clone()).unwrap_or_default()
    }
}

/// Columns a strategy reads from one table.
#[derive(SimpleObject)]
pub struct PluginInput {
    /// customers, interactions, ties or needs.
    table: String,
    /// The columns (the table's keys always come too).
    columns: Vec<String>,
}

/// One segment of a preview.
#[derive(SimpleObject)]
pub struct PreviewSegment {
    /// Its label.
    label: String,
    /// Customers in it.
    size: i64,
}

/// What a strategy makes of the current population; nothing is saved.
#[derive(SimpleObject)]
pub struct SegmentationPreview {
    /// The plugin that ran.
    strategy: String,
    /// The parameters used (the plugin's defaults with the given ones on top).
    params: Json<serde_json::Value>,
    /// Customers the strategy saw.
    customers: i64,
    /// Customers in at least one segment.
    assigned_customers: i64,
    /// Customers left out because they refused profiling: the strategy never saw them.
    excluded_customers: i64,
    /// Memberships in all (more than the customers when a strategy puts some in several
    /// segments).
    memberships: i64,
    /// The segments, largest first.
    segments: Vec<PreviewSegment>,
    /// What fit learned.
    model: Json<serde_json::Value>,
    /// How long the run took, in milliseconds.
    elapsed_ms: i64,
}

/// The plugin host the server was started with.
pub(crate) fn host<'a>(ctx: &Context<'a>) -> ApiResult<&'a Arc<PluginHost>> {
    ctx.data::<Arc<PluginHost>>()
}

/// Queries about plugins.
#[derive(Default)]
pub struct PluginQuery;

#[Object]
impl PluginQuery {
    /// Every plugin listed in the settings: loaded, refused (with the reason) or disabled.
    async fn plugins(&self, ctx: &Context<'_>) -> ApiResult<Vec<Plugin>> {
        Ok(host(ctx)?.plugins().iter().cloned().map(Plugin).collect())
    }

    /// Runs a strategy over every customer now, without saving anything: fit, then assign
    /// everyone, and report the segments' sizes and the model.
    #[graphql(complexity = "crate::heavy::cost::PREVIEW + child_complexity")]
    async fn preview_segmentation(
        &self,
        ctx: &Context<'_>,
        strategy: String,
        params: Option<Json<serde_json::Value>>,
    ) -> ApiResult<SegmentationPreview> {
        let host = host(ctx)?;
        let store = crate::types::store(ctx)?;
        let _permit = crate::heavy::heavy_permit(ctx).await?;
        let started = std::time::Instant::now();
        let params = params.map(|Json(params)| params);
        let output =
            run_strategy(store, host, &strategy, params.as_ref(), chrono::Utc::now().timestamp_micros())
                .await
                .map_err(api)?;
        let defaults = host.loaded(&strategy).map(|plugin| plugin.default_params.clone()).unwrap_or_default();
        let mut segments: Vec<PreviewSegment> = output
            .sizes
            .into_iter()
            .map(|(label, size)| PreviewSegment { label, size: size as i64 })
            .collect();
        segments.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.label.cmp(&b.label)));
        Ok(SegmentationPreview {
            strategy,
            params: Json(kindred_segment::merged_params(&defaults, params.as_ref())),
            customers: output.customers as i64,
            assigned_customers: output.assigned as i64,
            excluded_customers: output.excluded as i64,
            memberships: output.memberships.len() as i64,
            segments,
            model: Json(output.model),
            elapsed_ms: started.elapsed().as_millis() as i64,
        })
    }
}

//! `kindred demo` and `kindred serve --demo`: generate the demo dataset and import it through
//! the same path as any file.

use crate::demo_segmentations::{DemoSegmentation, demo_segmentations};
use crate::import::describe;
use crate::progress::{Progress, Total};
use kindred_demo::{DemoConfig, FileFormat, write_demo};
use kindred_store::Store;
use kindred_store::import::{Format, ImportKind, ImportOptions, import_with};
use std::path::PathBuf;

/// What demo data to make.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// How many customers.
    pub customers: usize,
    /// The random seed: the same seed gives the same data.
    pub seed: u64,
    /// Where to write each customer's planted community, if anywhere.
    pub planted: Option<PathBuf>,
    /// Share of customers that arrive again with noise (see `kindred demo --duplicates`).
    pub duplicates: f64,
}

/// Generates the dataset into a temporary folder and imports it.
pub async fn load_demo(store: &Store, options: &DemoOptions) -> anyhow::Result<()> {
    let folder = tempfile::tempdir()?;
    let config = DemoConfig {
        customers: options.customers,
        seed: options.seed,
        duplicates: options.duplicates,
        ..DemoConfig::default()
    };
    let path = folder.path().to_path_buf();
    tracing::info!(customers = options.customers, seed = options.seed, "generating demo data");
    let (files, stats) =
        tokio::task::spawn_blocking(move || write_demo(&config, &path, FileFormat::Csv)).await??;
    tracing::info!(?stats, "demo data generated");
    for (kind, file) in [
        (ImportKind::Customers, &files.customers),
        (ImportKind::Needs, &files.needs),
        (ImportKind::Ties, &files.ties),
        (ImportKind::Interactions, &files.interactions),
    ] {
        let input = std::fs::File::open(file)?;
        let size = input.metadata()?.len();
        let progress = Progress::start(&format!("demo: import {kind}"), Some(Total::Bytes(size)));
        let options = ImportOptions { rows_done: Some(progress.rows()), ..ImportOptions::default() };
        let mut rejected = 0u64;
        let summary = import_with(store, kind, Format::Csv, progress.reader(input), options, |error| {
            rejected += 1;
            tracing::warn!(%error, "demo row rejected");
        })
        .await;
        progress.finish();
        let summary = summary?;
        tracing::info!("{}", describe(kind, &summary));
        anyhow::ensure!(rejected == 0, "the demo generator wrote {rejected} invalid {kind} rows");
    }
    if let Some(planted) = &options.planted {
        std::fs::copy(&files.planted, planted)?;
        tracing::info!(path = %planted.display(), "planted communities written");
    }
    Ok(())
}

/// Creates the demo's segmentations ([`demo_segmentations`], with parameters chosen from the
/// data just loaded) with the plugins that are loaded (each under the name the settings give
/// it), so a new dashboard has something to show. A strategy that is not loaded is skipped,
/// with a note in the log.
pub async fn create_demo_segmentations(
    engine: &kindred_engine::Engine,
    host: &kindred_plugin_host::PluginHost,
    store: &Store,
) {
    let segmentations = match demo_segmentations(store).await {
        Ok(segmentations) => segmentations,
        Err(error) => {
            tracing::warn!(%error, "cannot read the demo data to choose its segmentations");
            return;
        }
    };
    let plugins = host.plugins();
    for DemoSegmentation { name, strategy, params } in segmentations {
        let plugin = plugins.iter().find(|plugin| {
            plugin.status == kindred_plugin_host::PluginStatus::Loaded
                && plugin.library.as_ref().is_some_and(|library| library.name == strategy)
        });
        let Some(plugin) = plugin else {
            tracing::info!(
                strategy,
                "no {strategy} plugin is loaded: the demo's \"{name}\" segmentation is skipped"
            );
            continue;
        };
        let new = kindred_store::NewSegmentation {
            name: name.to_owned(),
            strategy: plugin.name.clone(),
            params,
            mode: kindred_store::SegmentationMode::Dynamic,
            refresh_interval_seconds: None,
        };
        match engine.create(new).await {
            Ok(created) => tracing::info!(id = created.id, name, "demo segmentation created"),
            Err(error) => tracing::warn!(%error, name, "cannot create the demo segmentation"),
        }
    }
}

//! `kindred demo` and `kindred serve --demo`: generate the demo dataset and import it through
//! the same path as any file.

use crate::import::describe;
use kindred_demo::{DemoConfig, FileFormat, write_demo};
use kindred_store::Store;
use kindred_store::import::{Format, ImportKind, import};
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
}

/// Generates the dataset into a temporary folder and imports it.
pub async fn load_demo(store: &Store, options: &DemoOptions) -> anyhow::Result<()> {
    let folder = tempfile::tempdir()?;
    let config = DemoConfig { customers: options.customers, seed: options.seed, ..DemoConfig::default() };
    let path = folder.path().to_path_buf();
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
        let mut rejected = 0u64;
        let summary = import(store, kind, Format::Csv, input, |error| {
            rejected += 1;
            tracing::warn!(%error, "demo row rejected");
        })
        .await?;
        tracing::info!("{}", describe(kind, &summary));
        anyhow::ensure!(rejected == 0, "the demo generator wrote {rejected} invalid {kind} rows");
    }
    if let Some(planted) = &options.planted {
        std::fs::copy(&files.planted, planted)?;
        tracing::info!(path = %planted.display(), "planted communities written");
    }
    Ok(())
}

//! `kindred import KIND FILE`: stream a CSV or NDJSON file (or standard input) into the store.

use crate::progress::{Progress, Total};
use kindred_store::Store;
use kindred_store::import::{Format, ImportKind, ImportOptions, ImportSummary, import_with};
use std::io::Write;

/// Imports `path` (or `-` for standard input, read as `format`, CSV by default) with
/// `options`, printing each refused row to standard error (a row naming an erased customer
/// says "erased customer", never the id). Returns the summary.
pub async fn import_file(
    store: &Store,
    kind: ImportKind,
    path: &str,
    format: Option<Format>,
    mut options: ImportOptions,
) -> anyhow::Result<ImportSummary> {
    let mut stderr = std::io::stderr();
    let mut report = move |error: &kindred_store::import::RowError| {
        let _ = writeln!(stderr, "rejected: {error}");
    };
    let label = format!("import {kind}");
    let summary = if path == "-" {
        let progress = Progress::start(&label, None);
        options.rows_done = Some(progress.rows());
        let input = progress.reader(std::io::stdin());
        let summary =
            import_with(store, kind, format.unwrap_or(Format::Csv), input, options, &mut report).await;
        progress.finish();
        summary?
    } else {
        let format = match format {
            Some(format) => format,
            None => Format::from_path(path)?,
        };
        let file = std::fs::File::open(path).map_err(|e| anyhow::anyhow!("cannot open {path}: {e}"))?;
        let size = file.metadata().ok().filter(std::fs::Metadata::is_file).map(|metadata| metadata.len());
        let progress = Progress::start(&label, size.map(Total::Bytes));
        options.rows_done = Some(progress.rows());
        let input = progress.reader(file);
        let summary = import_with(store, kind, format, input, options, &mut report).await;
        progress.finish();
        summary?
    };
    Ok(summary)
}

/// The summary line printed at the end of an import.
pub fn describe(kind: ImportKind, summary: &ImportSummary) -> String {
    let identity = if kind == ImportKind::Customers {
        format!(
            ", merged {}, identifiers set aside {}, invalid values left blank {}",
            summary.merged, summary.identifiers_set_aside, summary.fields_blanked
        )
    } else {
        String::new()
    };
    format!(
        "{kind}: read {}, imported {}, updated {}, unchanged {}, rejected {}, superseded {}, customers created {}{identity}, {:.2} s",
        summary.read,
        summary.imported,
        summary.updated,
        summary.unchanged,
        summary.rejected,
        summary.superseded,
        summary.customers_created,
        summary.seconds
    )
}

//! CSV export of a segment's members (or a whole segmentation's), streamed a page at a time so
//! that a segment of millions never sits in memory: served at `GET /segments/{id}/members.csv`
//! and written by `kindred export`. An export is for marketing: members who refused marketing
//! (`consent_marketing` false) are not in it.

use crate::progress::{Progress, Total};
use futures::Stream;
use kindred_store::{Store, StoreError};
use std::collections::HashMap;

/// Members read per page.
const PAGE: u64 = 2_000;

/// The columns, in order.
pub const HEADER: [&str; 8] =
    ["external_id", "email", "first_name", "last_name", "segmentation", "segment", "score", "since"];

/// What to export: every segment of a segmentation, or one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportTarget {
    /// The segmentation's id.
    pub segmentation_id: i64,
    /// Its name, written in each row.
    pub segmentation_name: String,
    /// One segment's label, or all.
    pub segment: Option<String>,
}

/// Why an export could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A row could not be written as CSV.
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    /// Nothing by that id or name.
    #[error("no {0}")]
    NotFound(String),
}

/// Finds the segmentation by id (or, when `by_name`, also by name) and checks that the segment
/// has members, so that a misspelt label is an error rather than an empty file.
pub async fn resolve(
    store: &Store,
    key: &str,
    segment: Option<&str>,
    by_name: bool,
) -> Result<ExportTarget, ExportError> {
    let found = match key.parse::<i64>() {
        Ok(id) => store.segmentation(id).await?,
        Err(_) => None,
    };
    let found = match found {
        Some(found) => Some(found),
        None if by_name => store.segmentations().await?.into_iter().find(|s| s.name == key),
        None => None,
    };
    let segmentation = found.ok_or_else(|| ExportError::NotFound(format!("segmentation {key:?}")))?;
    if let Some(label) = segment {
        let sizes = store.segment_sizes(segmentation.id).await?;
        if !sizes.iter().any(|(known, _)| known == label) {
            let known: Vec<&str> = sizes.iter().map(|(known, _)| known.as_str()).collect();
            return Err(ExportError::NotFound(format!(
                "segment {label:?} in segmentation {:?} (segments: {})",
                segmentation.name,
                known.join(", ")
            )));
        }
    }
    Ok(ExportTarget {
        segmentation_id: segmentation.id,
        segmentation_name: segmentation.name,
        segment: segment.map(str::to_owned),
    })
}

fn header() -> Result<Vec<u8>, ExportError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(HEADER)?;
    writer.into_inner().map_err(|error| ExportError::Csv(error.into_error().into()))
}

/// Reads the page after `after` and writes it as CSV rows; `None` once there is nothing left.
async fn page(
    store: &Store,
    target: &ExportTarget,
    after: Option<(i64, String)>,
) -> Result<Option<(Chunk, (i64, String))>, ExportError> {
    let after_key = after.as_ref().map(|(id, segment)| (*id, segment.as_str()));
    // Members who refused marketing are left out by the query itself.
    let rows = store
        .marketable_membership_page(target.segmentation_id, target.segment.as_deref(), after_key, PAGE)
        .await?;
    let Some(last) = rows.last() else { return Ok(None) };
    let next = (last.customer_id, last.segment.clone());
    let mut ids: Vec<i64> = rows.iter().map(|row| row.customer_id).collect();
    ids.dedup();
    let customers: HashMap<i64, _> =
        store.customers_by_ids(&ids).await?.into_iter().map(|c| (c.id, c)).collect();
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut written = 0;
    for row in &rows {
        // A customer deleted meanwhile takes their memberships along; skip a straggler.
        let Some(customer) = customers.get(&row.customer_id) else { continue };
        let score = row.score.map(|score| score.to_string()).unwrap_or_default();
        let since = row.since.to_rfc3339();
        writer.write_record([
            spreadsheet_safe(&customer.external_id).as_ref(),
            spreadsheet_safe(customer.email.as_deref().unwrap_or_default()).as_ref(),
            spreadsheet_safe(customer.first_name.as_deref().unwrap_or_default()).as_ref(),
            spreadsheet_safe(customer.last_name.as_deref().unwrap_or_default()).as_ref(),
            spreadsheet_safe(&target.segmentation_name).as_ref(),
            spreadsheet_safe(&row.segment).as_ref(),
            score.as_str(),
            since.as_str(),
        ])?;
        written += 1;
    }
    let bytes = writer.into_inner().map_err(|error| ExportError::Csv(error.into_error().into()))?;
    Ok(Some((Chunk { bytes, rows: written }, next)))
}

/// Text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a tab or carriage
/// return first) gets a leading `'`, so that a name written by one client cannot run in an
/// analyst's spreadsheet.
fn spreadsheet_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Where a streamed export stands.
enum Cursor {
    /// The header is next.
    Header,
    /// The page after this membership (none: the first) is next.
    After(Option<(i64, String)>),
}

/// A chunk of CSV and the rows it holds.
pub struct Chunk {
    /// CSV text.
    pub bytes: Vec<u8>,
    /// Member rows in it (the header is none).
    pub rows: u64,
}

/// The CSV, header first, as a stream of chunks of one page each.
pub fn members_csv(store: Store, target: ExportTarget) -> impl Stream<Item = Result<Chunk, ExportError>> {
    futures::stream::try_unfold(Some(Cursor::Header), move |cursor| {
        let store = store.clone();
        let target = target.clone();
        async move {
            match cursor {
                None => Ok(None),
                Some(Cursor::Header) => {
                    Ok(Some((Chunk { bytes: header()?, rows: 0 }, Some(Cursor::After(None)))))
                }
                Some(Cursor::After(after)) => Ok(page(&store, &target, after)
                    .await?
                    .map(|(chunk, next)| (chunk, Some(Cursor::After(Some(next)))))),
            }
        }
    })
}

/// `kindred export`: writes the CSV to `output`, or standard output, showing progress on
/// standard error; returns the rows written.
pub async fn export_to(
    store: &Store,
    target: ExportTarget,
    output: Option<&std::path::Path>,
) -> anyhow::Result<u64> {
    use futures::TryStreamExt;
    use tokio::io::AsyncWriteExt;
    let mut sink: Box<dyn tokio::io::AsyncWrite + Unpin + Send> = match output {
        Some(path) => Box::new(tokio::fs::File::create(path).await?),
        None => Box::new(tokio::io::stdout()),
    };
    // The segments' sizes count members who refused marketing too: an upper bound.
    let sizes = store.segment_sizes(target.segmentation_id).await?;
    let total: u64 = sizes
        .iter()
        .filter(|(label, _)| target.segment.as_ref().is_none_or(|segment| segment == label))
        .map(|(_, size)| u64::try_from(*size).unwrap_or(0))
        .sum();
    let label = match &target.segment {
        Some(segment) => format!("export {}: {segment}", target.segmentation_name),
        None => format!("export {}", target.segmentation_name),
    };
    let progress = Progress::start(&label, Some(Total::Rows(total)));
    let rows_done = progress.rows();
    let mut chunks = std::pin::pin!(members_csv(store.clone(), target));
    let mut rows = 0;
    let written: anyhow::Result<()> = async {
        while let Some(chunk) = chunks.try_next().await? {
            rows += chunk.rows;
            rows_done.store(rows, std::sync::atomic::Ordering::Relaxed);
            sink.write_all(&chunk.bytes).await?;
        }
        sink.flush().await?;
        Ok(())
    }
    .await;
    progress.finish();
    written.map(|()| rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("Ana"), "Ana");
        assert_eq!(spreadsheet_safe(""), "");
    }
}

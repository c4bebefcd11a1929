//! Reading CSV and NDJSON rows into batches of valid records, on a blocking thread.

use super::columns::ImportKind;
use super::records::{Fields, Record, parse_record};
use super::{ImportError, RowError};
use chrono::NaiveDate;
use std::borrow::Cow;
use std::io::{BufRead, Read};
use tokio::sync::mpsc;

/// The format of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line, with the same field names as the CSV header.
    Ndjson,
}

impl Format {
    /// Tells the format from a file name: `.csv`, `.ndjson` or `.jsonl`.
    pub fn from_path(path: &str) -> Result<Self, ImportError> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            Ok(Format::Csv)
        } else if lower.ends_with(".ndjson") || lower.ends_with(".jsonl") {
            Ok(Format::Ndjson)
        } else {
            Err(ImportError::UnknownFormat { path: path.to_owned() })
        }
    }
}

/// What the reader hands the writer.
pub(crate) enum Chunk {
    /// Valid records with their line numbers, and the rows refused since the last chunk.
    Rows { records: Vec<(u64, Record)>, rejected: Vec<RowError>, read: u64 },
    /// The input cannot be read further.
    Failed(ImportError),
}

/// Records per chunk: large enough for efficient multi-row statements, small enough to keep
/// memory flat.
pub(crate) const CHUNK_ROWS: usize = 10_000;

struct CsvRow<'a> {
    positions: &'a [(&'static str, usize)],
    record: &'a csv::StringRecord,
}

impl Fields for CsvRow<'_> {
    fn get(&self, column: &'static str) -> Option<Cow<'_, str>> {
        let index = self.positions.iter().find(|(name, _)| *name == column)?.1;
        let value = self.record.get(index)?.trim();
        (!value.is_empty()).then_some(Cow::Borrowed(value))
    }
}

struct JsonRow<'a>(&'a serde_json::Map<String, serde_json::Value>);

impl Fields for JsonRow<'_> {
    fn get(&self, column: &'static str) -> Option<Cow<'_, str>> {
        match self.0.get(column)? {
            serde_json::Value::Null => None,
            serde_json::Value::String(text) if text.trim().is_empty() => None,
            serde_json::Value::String(text) => Some(Cow::Borrowed(text.trim())),
            serde_json::Value::Array(items) => {
                let parts: Vec<String> = items
                    .iter()
                    .map(|item| item.as_str().map(str::to_owned).unwrap_or_else(|| item.to_string()))
                    .collect();
                Some(Cow::Owned(parts.join(";")))
            }
            other => Some(Cow::Owned(other.to_string())),
        }
    }
}

/// Collects records and refusals and sends them in chunks.
struct Batcher {
    kind: ImportKind,
    today: NaiveDate,
    records: Vec<(u64, Record)>,
    rejected: Vec<RowError>,
    read: u64,
    sender: mpsc::Sender<Chunk>,
}

impl Batcher {
    fn row(&mut self, line: u64, fields: &impl Fields) -> bool {
        self.read += 1;
        match parse_record(self.kind, fields, self.today) {
            Ok(record) => self.records.push((line, record)),
            Err(errors) => self.rejected.extend(errors.into_iter().map(|error| RowError {
                line,
                column: Some(error.field.to_owned()),
                reason: format!("{:?} {}", error.value, error.reason),
            })),
        }
        self.records.len() < CHUNK_ROWS || self.flush()
    }

    fn reject(&mut self, error: RowError) -> bool {
        self.read += 1;
        self.rejected.push(error);
        self.rejected.len() < CHUNK_ROWS || self.flush()
    }

    /// Sends what was collected; `false` when the writer has gone away.
    fn flush(&mut self) -> bool {
        let chunk = Chunk::Rows {
            records: std::mem::take(&mut self.records),
            rejected: std::mem::take(&mut self.rejected),
            read: std::mem::take(&mut self.read),
        };
        self.records.reserve(CHUNK_ROWS);
        self.sender.blocking_send(chunk).is_ok()
    }

    fn fail(self, error: ImportError) {
        let _ = self.sender.blocking_send(Chunk::Failed(error));
    }
}

/// Reads the whole input, sending chunks until it ends, fails or the writer stops listening.
pub(crate) fn read_all(
    kind: ImportKind,
    format: Format,
    input: impl Read,
    today: NaiveDate,
    sender: mpsc::Sender<Chunk>,
) {
    let mut batcher = Batcher { kind, today, records: Vec::new(), rejected: Vec::new(), read: 0, sender };
    let outcome = match format {
        Format::Csv => read_csv(&mut batcher, input),
        Format::Ndjson => read_ndjson(&mut batcher, input),
    };
    match outcome {
        Ok(()) => {
            batcher.flush();
        }
        Err(error) => {
            batcher.flush();
            batcher.fail(error);
        }
    }
}

fn check_header(
    kind: ImportKind,
    header: &csv::StringRecord,
) -> Result<Vec<(&'static str, usize)>, ImportError> {
    let accepted = kind.columns();
    let mut positions = Vec::new();
    let mut unknown = Vec::new();
    for (index, name) in header.iter().enumerate() {
        let name = name.trim().trim_start_matches('\u{feff}');
        match accepted.iter().find(|column| **column == name) {
            Some(column) => positions.push((*column, index)),
            None => unknown.push(name.to_owned()),
        }
    }
    if !unknown.is_empty() {
        return Err(ImportError::UnknownColumns { unknown, kind, accepted: accepted.join(", ") });
    }
    if let Some(missing) =
        kind.key_columns().iter().find(|key| !positions.iter().any(|(name, _)| name == *key))
    {
        return Err(ImportError::MissingColumn { missing, kind });
    }
    Ok(positions)
}

fn read_csv(batcher: &mut Batcher, input: impl Read) -> Result<(), ImportError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let positions = check_header(batcher.kind, reader.headers()?)?;
    let width = reader.headers()?.len();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line());
                if record.iter().all(|cell| cell.trim().is_empty()) {
                    continue;
                }
                let keep_going = if record.len() != width {
                    batcher.reject(RowError {
                        line,
                        column: None,
                        reason: format!("has {} fields where the header has {width}", record.len()),
                    })
                } else {
                    batcher.row(line, &CsvRow { positions: &positions, record: &record })
                };
                if !keep_going {
                    return Ok(());
                }
            }
            Err(error) => {
                let line = error.position().map_or(0, |p| p.line());
                let reason = match error.kind() {
                    csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_owned(),
                    csv::ErrorKind::Io(_) => return Err(error.into()),
                    _ => error.to_string(),
                };
                if !batcher.reject(RowError { line, column: None, reason }) {
                    return Ok(());
                }
            }
        }
    }
}

fn read_ndjson(batcher: &mut Batcher, input: impl Read) -> Result<(), ImportError> {
    let reader = std::io::BufReader::with_capacity(1 << 16, input);
    let accepted = batcher.kind.columns();
    let keys = batcher.kind.key_columns();
    for (index, line) in reader.split(b'\n').enumerate() {
        let line_number = index as u64 + 1;
        let bytes = line?;
        let keep_going = match std::str::from_utf8(&bytes) {
            Err(_) => batcher.reject(RowError {
                line: line_number,
                column: None,
                reason: "is not valid UTF-8".into(),
            }),
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text) {
                Err(error) => batcher.reject(RowError {
                    line: line_number,
                    column: None,
                    reason: format!("is not a JSON object: {error}"),
                }),
                Ok(object) => {
                    let unknown: Vec<&String> =
                        object.keys().filter(|k| !accepted.contains(&k.as_str())).collect();
                    if let Some(missing) = keys.iter().find(|key| !object.contains_key(**key)) {
                        batcher.reject(RowError {
                            line: line_number,
                            column: Some((*missing).to_owned()),
                            reason: "is missing".into(),
                        })
                    } else if !unknown.is_empty() {
                        batcher.reject(RowError {
                            line: line_number,
                            column: Some(unknown.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")),
                            reason: format!("unknown field(s); accepted: {}", accepted.join(", ")),
                        })
                    } else {
                        batcher.row(line_number, &JsonRow(&object))
                    }
                }
            },
        };
        if !keep_going {
            break;
        }
    }
    Ok(())
}

//! Reading CSV and NDJSON rows into batches of valid records, on a blocking thread.

use super::columns::ImportKind;
use super::csv_records::{CsvItem, CsvRecords, MAX_RECORD_BYTES};
use super::records::{Fields, Record, RowRules, parse_record_keeping};
use super::{ImportError, RowError};
use kindred_domain::{Reason, ValidationError};
use std::borrow::Cow;
use std::collections::HashSet;
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
    Rows {
        records: Vec<(u64, Record)>,
        rejected: Vec<RowError>,
        /// Invalid values of rows kept with those fields blank.
        blanked: Vec<RowError>,
        read: u64,
        superseded: u64,
    },
    /// The input cannot be read further.
    Failed(ImportError),
}

/// Records per chunk: large enough for efficient multi-row statements, small enough to keep
/// memory flat.
pub(crate) const CHUNK_ROWS: usize = 10_000;

/// Ties per chunk. A tie's other end is any customer, so each chunk's rows land all over the
/// tie indexes; a larger chunk (one transaction) writes each index page it dirties once for
/// more rows.
pub(crate) const TIE_CHUNK_ROWS: usize = 300_000;

/// Interactions and needs per chunk when they are staged by `COPY` (PostgreSQL): each chunk
/// pays for emptying its staging table and committing, which larger chunks spread thinner.
pub(crate) const STAGED_CHUNK_ROWS: usize = 50_000;

/// Records per chunk (and so per transaction) for `kind`, `staged` by `COPY` or not.
pub(crate) fn chunk_rows(kind: ImportKind, staged: bool) -> usize {
    match kind {
        ImportKind::Ties => TIE_CHUNK_ROWS,
        ImportKind::Interactions | ImportKind::Needs if staged => STAGED_CHUNK_ROWS,
        _ => CHUNK_ROWS,
    }
}

struct CsvRow<'a> {
    positions: &'a [(&'static str, usize)],
    record: &'a [String],
}

impl Fields for CsvRow<'_> {
    fn get(&self, column: &'static str) -> Option<Cow<'_, str>> {
        let index = self.positions.iter().find(|(name, _)| *name == column)?.1;
        let value = self.record.get(index)?.trim();
        (!value.is_empty()).then_some(Cow::Borrowed(value))
    }
}

/// A row of an NDJSON file, and the columns its kind accepts.
struct JsonRow<'a>(&'a serde_json::Map<String, serde_json::Value>, &'static [&'static str]);

impl Fields for JsonRow<'_> {
    fn get(&self, column: &'static str) -> Option<Cow<'_, str>> {
        match self.0.get(column)? {
            serde_json::Value::Null => None,
            serde_json::Value::String(text) if text.trim().is_empty() => None,
            serde_json::Value::String(text) => Some(Cow::Borrowed(text.trim())),
            serde_json::Value::Array(items) => {
                let parts: Vec<&str> = items.iter().filter_map(serde_json::Value::as_str).collect();
                Some(Cow::Owned(parts.join(";")))
            }
            other => Some(Cow::Owned(other.to_string())),
        }
    }

    fn problems(&self) -> Vec<ValidationError> {
        self.0
            .iter()
            .filter_map(|(name, value)| {
                let column = self.1.iter().find(|c| **c == name)?;
                let list = LIST_COLUMNS.contains(column);
                let wrong = match value {
                    serde_json::Value::Object(_) => Some("an object"),
                    serde_json::Value::Array(_) if !list => Some("an array"),
                    serde_json::Value::Array(items) if !items.iter().all(serde_json::Value::is_string) => {
                        Some("an array with items that are not text")
                    }
                    _ => None,
                }?;
                let expected =
                    if list { "a text or an array of texts" } else { "a text, a number or a boolean" };
                Some(ValidationError::new(column, wrong, Reason::WrongType { expected }))
            })
            .collect()
    }
}

/// Columns that hold a list (`;`-separated in CSV, an array of texts in NDJSON).
const LIST_COLUMNS: [&str; 1] = ["lifestyle"];

/// A 64-bit hash of an external id: two different ids share one about once in 10^12 pairs
/// at ten million customers, far below any file's real duplicates.
fn hash_of(external_id: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(external_id)
}

/// Collects records and refusals and sends them in chunks.
struct Batcher {
    kind: ImportKind,
    /// Records per chunk.
    rows: usize,
    /// Hashes of the customer external ids read so far, to count duplicates (8 bytes a
    /// customer; other kinds keep none).
    seen: HashSet<u64>,
    superseded: u64,
    rules: RowRules,
    records: Vec<(u64, Record)>,
    rejected: Vec<RowError>,
    blanked: Vec<RowError>,
    read: u64,
    sender: mpsc::Sender<Chunk>,
}

impl Batcher {
    fn row(&mut self, line: u64, fields: &impl Fields) -> bool {
        self.read += 1;
        match parse_record_keeping(self.kind, fields, &self.rules) {
            Ok((record, blanked)) => {
                self.blanked.extend(blanked.into_iter().map(|error| RowError {
                    line,
                    column: Some(error.field.to_owned()),
                    reason: format!("{:?} {}; left blank, the row was imported", error.value, error.reason),
                }));
                if let Record::Customer(customer) = &record
                    && !self.seen.insert(hash_of(customer.external_id.as_str()))
                {
                    self.superseded += 1;
                }
                self.records.push((line, record));
            }
            Err(errors) => self.rejected.extend(errors.into_iter().map(|error| RowError {
                line,
                column: Some(error.field.to_owned()),
                reason: format!("{:?} {}", error.value, error.reason),
            })),
        }
        self.records.len() < self.rows || self.flush()
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
            blanked: std::mem::take(&mut self.blanked),
            read: std::mem::take(&mut self.read),
            superseded: std::mem::take(&mut self.superseded),
        };
        self.records.reserve(self.rows.min(CHUNK_ROWS));
        self.sender.blocking_send(chunk).is_ok()
    }

    fn fail(self, error: ImportError) {
        let _ = self.sender.blocking_send(Chunk::Failed(error));
    }
}

/// Reads the whole input, sending chunks of `rows` records until it ends, fails or the writer
/// stops listening.
pub(crate) fn read_all(
    kind: ImportKind,
    format: Format,
    input: impl Read,
    rules: RowRules,
    rows: usize,
    sender: mpsc::Sender<Chunk>,
) {
    let mut batcher = Batcher {
        kind,
        rows,
        seen: HashSet::new(),
        superseded: 0,
        rules,
        records: Vec::new(),
        rejected: Vec::new(),
        blanked: Vec::new(),
        read: 0,
        sender,
    };
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

fn check_header(kind: ImportKind, header: &[String]) -> Result<Vec<(&'static str, usize)>, ImportError> {
    let accepted = kind.columns();
    let mut positions: Vec<(&'static str, usize)> = Vec::new();
    let mut unknown = Vec::new();
    for (index, name) in header.iter().enumerate() {
        let name = name.trim().trim_start_matches('\u{feff}');
        match accepted.iter().find(|column| **column == name) {
            Some(column) if positions.iter().any(|(seen, _)| seen == column) => {
                return Err(ImportError::DuplicateColumn { column });
            }
            Some(column) => positions.push((*column, index)),
            None => {
                unknown.push(kindred_domain::prefix(name, kindred_domain::VALUE_PREFIX_CHARS).into_owned())
            }
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
    let mut records = CsvRecords::new(std::io::BufReader::with_capacity(1 << 16, input));
    let header = match records.next_item()? {
        Some(CsvItem::Record { fields, .. }) => fields,
        Some(_) => return Err(ImportError::BadHeader),
        None => return Ok(()),
    };
    let positions = check_header(batcher.kind, &header)?;
    let width = header.len();
    records.expect_width(width);
    while let Some(item) = records.next_item()? {
        let refused = |line: u64, reason: String| RowError { line, column: None, reason };
        let keep_going = match item {
            CsvItem::Record { fields, .. } if fields.iter().all(|cell| cell.trim().is_empty()) => continue,
            CsvItem::Record { line, fields } if fields.len() != width => batcher
                .reject(refused(line, format!("has {} fields where the header has {width}", fields.len()))),
            CsvItem::Record { line, fields } => {
                batcher.row(line, &CsvRow { positions: &positions, record: &fields })
            }
            CsvItem::NotUtf8 { line } => batcher.reject(refused(line, "is not valid UTF-8".to_owned())),
            CsvItem::TextAfterQuote { line } => batcher.reject(refused(
                line,
                "has text after a closing quote (write \"\" for a quote inside a quoted field)".to_owned(),
            )),
            CsvItem::TooLong { line } => batcher
                .reject(refused(line, format!("is longer than {} MiB: skipped", MAX_RECORD_BYTES >> 20))),
            CsvItem::BadQuote { line, until } => {
                let looked = match until {
                    Some(last) => format!("by line {last}"),
                    None => "by the end of the file".to_owned(),
                };
                batcher.reject(refused(
                    line,
                    format!(
                        "a quoted field opens on this line and is not closed properly {looked}; \
                         this row is skipped and the lines after it are read as rows"
                    ),
                ))
            }
        };
        if !keep_going {
            return Ok(());
        }
    }
    Ok(())
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
                        batcher.row(line_number, &JsonRow(&object, accepted))
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reads `input` whole; returns the rows read, the lines imported and the lines refused.
    fn read(kind: ImportKind, format: Format, input: Vec<u8>) -> (u64, Vec<u64>, Vec<u64>) {
        let (sender, mut receiver) = mpsc::channel(1_024);
        let reader = std::thread::spawn(move || {
            read_all(kind, format, input.as_slice(), RowRules::default(), chunk_rows(kind, false), sender)
        });
        let (mut read, mut kept, mut refused) = (0, Vec::new(), Vec::new());
        while let Some(chunk) = receiver.blocking_recv() {
            if let Chunk::Rows { records, rejected, read: more, .. } = chunk {
                read += more;
                kept.extend(records.iter().map(|(line, _)| *line));
                refused.extend(rejected.iter().map(|error| error.line));
            }
        }
        reader.join().expect("the reader never panics");
        refused.dedup();
        (read, kept, refused)
    }

    /// Text made of what breaks CSV: quotes, commas, line breaks, NUL, long and non-ASCII runs.
    fn csv_like() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("\"".to_owned()),
            Just(",".to_owned()),
            Just("\n".to_owned()),
            Just("\r\n".to_owned()),
            Just("\u{0}".to_owned()),
            Just("\"\"".to_owned()),
            "[a-z0-9@. ]{0,12}",
            "\\PC{0,6}",
        ];
        proptest::collection::vec(piece, 0..80).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn any_csv_is_read_and_every_row_is_kept_or_reported(body in csv_like()) {
            let input = format!("external_id,first_name,city\n{body}");
            let lines = input.lines().count() as u64 + 1;
            let (read, kept, refused) = read(ImportKind::Customers, Format::Csv, input.into_bytes());
            prop_assert_eq!(read, (kept.len() + refused.len()) as u64);
            prop_assert!(kept.iter().chain(&refused).all(|line| *line >= 2 && *line <= lines));
        }

        #[test]
        fn any_bytes_are_read_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            for format in [Format::Csv, Format::Ndjson] {
                let (read, kept, refused) = read(ImportKind::Interactions, format, bytes.clone());
                prop_assert_eq!(read, (kept.len() + refused.len()) as u64);
            }
        }

        #[test]
        fn any_ndjson_line_is_kept_or_reported(lines in proptest::collection::vec(csv_like(), 0..20)) {
            let input: String = lines.iter().map(|line| format!("{}\n", line.replace('\n', " "))).collect();
            let (read, kept, refused) = read(ImportKind::Needs, Format::Ndjson, input.into_bytes());
            prop_assert_eq!(read, (kept.len() + refused.len()) as u64);
        }
    }
}

//! Rows built without per-cell allocations, written as CSV or NDJSON.

use crate::{DemoError, FileFormat};
use std::fmt::{self, Write as _};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::Path;

pub use kindred_domain::{CUSTOMER_COLUMNS, INTERACTION_COLUMNS, NEED_COLUMNS, TIE_COLUMNS};

/// Columns of the planted communities file (always CSV), in order.
pub const PLANTED_COLUMNS: [&str; 2] = ["external_id", "community"];

/// Columns of the duplicates truth file (always CSV): which customer record is a copy of
/// which, and the noise it was given.
pub const DUPLICATE_COLUMNS: [&str; 3] = ["duplicate_external_id", "original_external_id", "noise"];

/// How a cell is written to NDJSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellKind {
    Text,
    Number,
    Bool,
    /// `;`-separated tokens, a JSON array in NDJSON.
    List,
    Empty,
}

/// One row's cells, held in a single reusable buffer.
#[derive(Debug, Default)]
pub(crate) struct Row {
    buffer: String,
    cells: Vec<(CellKind, Range<usize>)>,
}

impl Row {
    /// Empties the row for reuse.
    pub fn clear(&mut self) {
        self.buffer.clear();
        self.cells.clear();
    }

    fn cell(&mut self, kind: CellKind, fill: impl FnOnce(&mut String)) -> &mut Self {
        let start = self.buffer.len();
        fill(&mut self.buffer);
        self.cells.push((kind, start..self.buffer.len()));
        self
    }

    /// A text cell.
    pub fn text(&mut self, value: &str) -> &mut Self {
        self.cell(CellKind::Text, |buffer| buffer.push_str(value))
    }

    /// A text cell written by `fill`.
    pub fn text_with(&mut self, fill: impl FnOnce(&mut String)) -> &mut Self {
        self.cell(CellKind::Text, fill)
    }

    /// A text cell from format arguments.
    pub fn text_fmt(&mut self, args: fmt::Arguments<'_>) -> &mut Self {
        self.cell(CellKind::Text, |buffer| {
            let _ = buffer.write_fmt(args);
        })
    }

    /// A text cell, or an empty one.
    pub fn text_opt(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(value) => self.text(value),
            None => self.empty(),
        }
    }

    /// A number with `decimals` digits after the point.
    pub fn number(&mut self, value: f64, decimals: usize) -> &mut Self {
        self.cell(CellKind::Number, |buffer| {
            let _ = write!(buffer, "{value:.decimals$}");
        })
    }

    /// A number, or an empty cell.
    pub fn number_opt(&mut self, value: Option<f64>, decimals: usize) -> &mut Self {
        match value {
            Some(value) => self.number(value, decimals),
            None => self.empty(),
        }
    }

    /// A whole number.
    pub fn integer(&mut self, value: u64) -> &mut Self {
        self.cell(CellKind::Number, |buffer| {
            let _ = write!(buffer, "{value}");
        })
    }

    /// `true` or `false`.
    pub fn boolean(&mut self, value: bool) -> &mut Self {
        self.cell(CellKind::Bool, |buffer| buffer.push_str(if value { "true" } else { "false" }))
    }

    /// A `;`-separated list of tokens (which must not contain `;`).
    pub fn list<'a>(&mut self, items: impl IntoIterator<Item = &'a str>) -> &mut Self {
        self.cell(CellKind::List, |buffer| {
            for (position, item) in items.into_iter().enumerate() {
                if position > 0 {
                    buffer.push(';');
                }
                buffer.push_str(item);
            }
        })
    }

    /// A blank cell.
    pub fn empty(&mut self) -> &mut Self {
        self.cell(CellKind::Empty, |_| {})
    }

    /// The text of every cell, in order.
    pub fn texts(&self) -> Vec<String> {
        self.values().map(|(_, text)| text.to_owned()).collect()
    }

    /// A row of text cells (blank ones empty) from `texts`, the rest written as `kinds` of
    /// `like` says (numbers stay numbers in NDJSON).
    pub fn refill(&mut self, like: &Row, texts: &[String]) {
        self.clear();
        for ((kind, _), text) in like.cells.iter().zip(texts) {
            let kind = if text.is_empty() { CellKind::Empty } else { *kind };
            self.cell(kind, |buffer| buffer.push_str(text));
        }
    }

    fn values(&self) -> impl Iterator<Item = (CellKind, &str)> {
        self.cells.iter().map(|(kind, range)| (*kind, self.buffer.get(range.clone()).unwrap_or_default()))
    }
}

enum Output {
    Csv(Box<csv::Writer<File>>),
    Ndjson(BufWriter<File>),
}

/// Writes rows with a fixed set of columns to one file.
pub(crate) struct TableWriter {
    output: Output,
    columns: &'static [&'static str],
    line: Vec<u8>,
    rows: u64,
}

const BUFFER: usize = 1 << 18;

impl TableWriter {
    /// Creates `path`, writing the CSV header straight away.
    pub fn create(
        path: &Path,
        format: FileFormat,
        columns: &'static [&'static str],
    ) -> Result<Self, DemoError> {
        let file = File::create(path)?;
        let output = match format {
            FileFormat::Csv => {
                let mut writer = csv::WriterBuilder::new().buffer_capacity(BUFFER).from_writer(file);
                writer.write_record(columns)?;
                Output::Csv(Box::new(writer))
            }
            FileFormat::Ndjson => Output::Ndjson(BufWriter::with_capacity(BUFFER, file)),
        };
        Ok(Self { output, columns, line: Vec::with_capacity(1024), rows: 0 })
    }

    /// Writes one row, which must have one cell per column.
    pub fn write(&mut self, row: &Row) -> Result<(), DemoError> {
        if row.cells.len() != self.columns.len() {
            return Err(DemoError::RowShape { expected: self.columns.len(), found: row.cells.len() });
        }
        match &mut self.output {
            Output::Csv(writer) => writer.write_record(row.values().map(|(_, value)| value))?,
            Output::Ndjson(file) => {
                self.line.clear();
                json_line(&mut self.line, self.columns, row)?;
                file.write_all(&self.line)?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Flushes the file; returns the number of rows written (without the header).
    pub fn finish(self) -> Result<u64, DemoError> {
        match self.output {
            Output::Csv(mut writer) => writer.flush()?,
            Output::Ndjson(mut file) => file.flush()?,
        }
        Ok(self.rows)
    }
}

/// Appends `row` as one JSON object and a newline; blank cells are left out.
fn json_line(line: &mut Vec<u8>, columns: &[&str], row: &Row) -> Result<(), DemoError> {
    line.push(b'{');
    let mut first = true;
    for (column, (kind, value)) in columns.iter().zip(row.values()) {
        if kind == CellKind::Empty {
            continue;
        }
        if !first {
            line.push(b',');
        }
        first = false;
        serde_json::to_writer(&mut *line, column)?;
        line.push(b':');
        match kind {
            CellKind::Text => serde_json::to_writer(&mut *line, value)?,
            CellKind::Number | CellKind::Bool => line.extend_from_slice(value.as_bytes()),
            CellKind::List => {
                line.push(b'[');
                for (position, item) in value.split(';').filter(|item| !item.is_empty()).enumerate() {
                    if position > 0 {
                        line.push(b',');
                    }
                    serde_json::to_writer(&mut *line, item)?;
                }
                line.push(b']');
            }
            CellKind::Empty => {}
        }
    }
    line.extend_from_slice(b"}\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Row {
        let mut row = Row::default();
        row.text("c0000001").text("say \"hi\", ok").number(12.5, 2).boolean(true).list(["a", "b"]).empty();
        row
    }

    #[test]
    fn csv_quotes_and_ndjson_types() {
        let folder = tempfile::tempdir().unwrap();
        let columns: &'static [&'static str] = &["id", "text", "amount", "flag", "tags", "blank"];
        for format in [FileFormat::Csv, FileFormat::Ndjson] {
            let path = folder.path().join("t");
            let mut writer = TableWriter::create(&path, format, columns).unwrap();
            writer.write(&sample()).unwrap();
            assert_eq!(writer.finish().unwrap(), 1);
            let written = std::fs::read_to_string(&path).unwrap();
            let expected = match format {
                FileFormat::Csv => {
                    "id,text,amount,flag,tags,blank\nc0000001,\"say \"\"hi\"\", ok\",12.50,true,a;b,\n"
                }
                FileFormat::Ndjson => concat!(
                    r#"{"id":"c0000001","text":"say \"hi\", ok","amount":12.50,"flag":true,"tags":["a","b"]}"#,
                    "\n"
                ),
            };
            assert_eq!(written, expected);
        }
    }

    #[test]
    fn rows_of_the_wrong_width_are_refused() {
        let folder = tempfile::tempdir().unwrap();
        let mut writer = TableWriter::create(&folder.path().join("t"), FileFormat::Csv, &["a"]).unwrap();
        assert!(matches!(writer.write(&sample()), Err(DemoError::RowShape { expected: 1, found: 6 })));
    }
}

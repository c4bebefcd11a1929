//! PostgreSQL's binary `COPY` format: a header, then one tuple per row (a field count, then
//! each field's length and bytes in network order), then a trailer. Read into [`Cell`]s
//! ([`BinaryRows`]) and written from import rows ([`BinaryWriter`]). Written here because it
//! is a few dozen lines each way and lets a row pass without a copy or an allocation per cell,
//! which no crate of our stack offers for `COPY`.

use crate::row_sink::{Cell, RowSink};
use crate::sqlite_direct::MAX_COLUMNS;

/// The signature every binary `COPY` stream starts with.
const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01 (UTC).
const EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Days from 1970-01-01 to 2000-01-01.
const EPOCH_DAYS: i32 = 10_957;

/// The column types a strategy's tables hold, as they arrive in binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PgType {
    Int8,
    Int4,
    Int2,
    Float8,
    Float4,
    Bool,
    /// `text`, `varchar`, `bpchar`, `name`: UTF-8 bytes.
    Text,
    /// `jsonb`: a version byte, then the JSON text.
    Jsonb,
    /// `json`: the JSON text.
    Json,
    /// `timestamptz` and `timestamp`: microseconds since 2000-01-01.
    Time,
    /// `date`: days since 2000-01-01.
    Date,
}

impl PgType {
    /// The type PostgreSQL calls `name` (as sqlx reports it), if a stream can carry it.
    pub(crate) fn named(name: &str) -> Option<Self> {
        Some(match name {
            "INT8" => Self::Int8,
            "INT4" => Self::Int4,
            "INT2" => Self::Int2,
            "FLOAT8" => Self::Float8,
            "FLOAT4" => Self::Float4,
            "BOOL" => Self::Bool,
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => Self::Text,
            "JSONB" => Self::Jsonb,
            "JSON" => Self::Json,
            "TIMESTAMPTZ" | "TIMESTAMP" => Self::Time,
            "DATE" => Self::Date,
            _ => return None,
        })
    }

    /// The cell `bytes` hold, or why they do not fit the type.
    fn cell(self, bytes: &[u8]) -> Result<Cell<'_>, String> {
        let wrong = || format!("{} bytes are no {self:?} value", bytes.len());
        let fixed = |width: usize| if bytes.len() == width { Ok(()) } else { Err(wrong()) };
        Ok(match self {
            Self::Int8 => {
                fixed(8)?;
                Cell::Integer(i64::from_be_bytes(bytes.try_into().map_err(|_| wrong())?))
            }
            Self::Int4 => {
                fixed(4)?;
                Cell::Integer(i32::from_be_bytes(bytes.try_into().map_err(|_| wrong())?).into())
            }
            Self::Int2 => {
                fixed(2)?;
                Cell::Integer(i16::from_be_bytes(bytes.try_into().map_err(|_| wrong())?).into())
            }
            Self::Float8 => {
                fixed(8)?;
                Cell::Real(f64::from_be_bytes(bytes.try_into().map_err(|_| wrong())?))
            }
            Self::Float4 => {
                fixed(4)?;
                Cell::Real(f32::from_be_bytes(bytes.try_into().map_err(|_| wrong())?).into())
            }
            Self::Bool => {
                fixed(1)?;
                Cell::Integer(i64::from(bytes[0] != 0))
            }
            Self::Text | Self::Json => Cell::Text(text(bytes)?),
            Self::Jsonb => match bytes.split_first() {
                Some((1, json)) => Cell::Text(text(json)?),
                _ => return Err("a jsonb value of an unknown version".to_owned()),
            },
            Self::Time => {
                fixed(8)?;
                let micros = i64::from_be_bytes(bytes.try_into().map_err(|_| wrong())?);
                Cell::Time(micros.saturating_add(EPOCH_MICROS))
            }
            Self::Date => {
                fixed(4)?;
                let days = i32::from_be_bytes(bytes.try_into().map_err(|_| wrong())?);
                Cell::Date(days.saturating_add(EPOCH_DAYS))
            }
        })
    }
}

fn text(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|error| format!("text that is not UTF-8: {error}"))
}

/// Reads a binary `COPY` stream, chunk by chunk (a chunk may end anywhere), and hands each
/// row to a sink.
#[derive(Debug)]
pub(crate) struct BinaryRows {
    types: Vec<PgType>,
    /// Bytes of an incomplete header or row carried over to the next chunk.
    carried: Vec<u8>,
    header_read: bool,
    ended: bool,
}

/// What the front of a buffer holds.
enum Parsed {
    /// Not all of it yet.
    Incomplete,
    /// A row or the header, this many bytes long, handled.
    Consumed(usize),
    /// The trailer.
    End,
}

impl BinaryRows {
    /// A reader of rows with columns of these types (at most [`MAX_COLUMNS`]).
    pub(crate) fn new(types: Vec<PgType>) -> Self {
        Self { types, carried: Vec::new(), header_read: false, ended: false }
    }

    /// Reads `chunk`, handing every row it completes to `sink`.
    pub(crate) fn feed(&mut self, chunk: &[u8], sink: &mut impl RowSink) -> Result<(), String> {
        if self.carried.is_empty() {
            let used = self.parse(chunk, sink)?;
            self.carried.extend_from_slice(&chunk[used..]);
        } else {
            let mut carried = std::mem::take(&mut self.carried);
            carried.extend_from_slice(chunk);
            let used = self.parse(&carried, sink)?;
            carried.drain(..used);
            self.carried = carried;
        }
        Ok(())
    }

    /// Checks that the stream ended with its trailer and nothing after it.
    pub(crate) fn finish(&self) -> Result<(), String> {
        match (self.ended, self.carried.is_empty()) {
            (true, true) => Ok(()),
            (true, false) => Err("bytes after the end of the COPY stream".to_owned()),
            (false, _) => Err("the COPY stream ended before its trailer".to_owned()),
        }
    }

    /// Handles the complete header and rows at the front of `bytes`; returns how many bytes
    /// they took.
    fn parse(&mut self, bytes: &[u8], sink: &mut impl RowSink) -> Result<usize, String> {
        let mut at = 0;
        while !self.ended {
            let parsed = if self.header_read { self.row(&bytes[at..], sink)? } else { header(&bytes[at..])? };
            match parsed {
                Parsed::Incomplete => break,
                Parsed::Consumed(used) => {
                    self.header_read = true;
                    at += used;
                }
                Parsed::End => {
                    self.ended = true;
                    at += 2;
                }
            }
        }
        if self.ended && at < bytes.len() {
            return Err("bytes after the end of the COPY stream".to_owned());
        }
        Ok(at)
    }

    /// One row at the front of `bytes`, handed to `sink` when complete.
    fn row(&self, bytes: &[u8], sink: &mut impl RowSink) -> Result<Parsed, String> {
        let Some(count) = bytes.get(..2) else { return Ok(Parsed::Incomplete) };
        let count = i16::from_be_bytes([count[0], count[1]]);
        if count == -1 {
            return Ok(Parsed::End);
        }
        if usize::try_from(count).ok() != Some(self.types.len()) {
            return Err(format!("a row of {count} fields where {} were asked for", self.types.len()));
        }
        let mut cells = [Cell::Null; MAX_COLUMNS];
        let mut at = 2;
        for (cell, kind) in cells.iter_mut().zip(&self.types) {
            let Some(length) = bytes.get(at..at + 4) else { return Ok(Parsed::Incomplete) };
            let length = i32::from_be_bytes([length[0], length[1], length[2], length[3]]);
            at += 4;
            if length < 0 {
                continue;
            }
            let end = at + length as usize;
            let Some(value) = bytes.get(at..end) else { return Ok(Parsed::Incomplete) };
            *cell = kind.cell(value)?;
            at = end;
        }
        sink.row(&cells[..self.types.len()])?;
        Ok(Parsed::Consumed(at))
    }
}

/// The header at the front of `bytes`.
fn header(bytes: &[u8]) -> Result<Parsed, String> {
    let fixed = SIGNATURE.len() + 8;
    let Some(start) = bytes.get(..fixed) else { return Ok(Parsed::Incomplete) };
    if &start[..SIGNATURE.len()] != SIGNATURE {
        return Err("not a binary COPY stream".to_owned());
    }
    let extension = &start[SIGNATURE.len() + 4..fixed];
    let extension = u32::from_be_bytes([extension[0], extension[1], extension[2], extension[3]]) as usize;
    if bytes.len() < fixed + extension {
        return Ok(Parsed::Incomplete);
    }
    Ok(Parsed::Consumed(fixed + extension))
}

/// Rows written in the binary `COPY` format, ready to send with `COPY ... FROM STDIN`.
#[derive(Debug)]
pub(crate) struct BinaryWriter {
    bytes: Vec<u8>,
}

impl BinaryWriter {
    /// A stream with its header and room for about `rows` rows of `row_bytes` bytes.
    pub(crate) fn new(rows: usize, row_bytes: usize) -> Self {
        let mut bytes = Vec::with_capacity(SIGNATURE.len() + 10 + rows * row_bytes);
        bytes.extend_from_slice(SIGNATURE);
        bytes.extend_from_slice(&[0; 8]);
        Self { bytes }
    }

    /// Starts a row of `fields` fields; each must then be written in order.
    pub(crate) fn row(&mut self, fields: i16) {
        self.bytes.extend_from_slice(&fields.to_be_bytes());
    }

    fn field(&mut self, value: &[u8]) {
        self.bytes.extend_from_slice(&(value.len() as i32).to_be_bytes());
        self.bytes.extend_from_slice(value);
    }

    /// SQL NULL.
    pub(crate) fn null(&mut self) {
        self.bytes.extend_from_slice(&(-1_i32).to_be_bytes());
    }

    /// A `bigint`.
    pub(crate) fn int8(&mut self, value: i64) {
        self.field(&value.to_be_bytes());
    }

    /// A `double precision`, or NULL.
    pub(crate) fn float8(&mut self, value: Option<f64>) {
        match value {
            Some(value) => self.field(&value.to_be_bytes()),
            None => self.null(),
        }
    }

    /// A `text`, or NULL. (Values longer than 1 GiB do not reach here: import rows are
    /// bounded far below.)
    pub(crate) fn text(&mut self, value: Option<&str>) {
        match value {
            Some(value) => self.field(value.as_bytes()),
            None => self.null(),
        }
    }

    /// A `boolean`.
    pub(crate) fn bool(&mut self, value: bool) {
        self.field(&[u8::from(value)]);
    }

    /// A `timestamptz`, from microseconds since 1970-01-01 UTC.
    pub(crate) fn time(&mut self, micros: i64) {
        self.field(&micros.saturating_sub(EPOCH_MICROS).to_be_bytes());
    }

    /// The stream with its trailer.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.bytes.extend_from_slice(&(-1_i16).to_be_bytes());
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Collect(Vec<String>);

    impl RowSink for Collect {
        fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), String> {
            self.0.push(format!("{cells:?}"));
            Ok(())
        }
    }

    fn field(bytes: &[u8]) -> Vec<u8> {
        let mut out = (bytes.len() as i32).to_be_bytes().to_vec();
        out.extend_from_slice(bytes);
        out
    }

    /// A stream of two rows (id, time, amount, text, date, flag), the second mostly NULL.
    fn stream() -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&6_i16.to_be_bytes());
        out.extend(field(&7_i64.to_be_bytes()));
        out.extend(field(&(-EPOCH_MICROS + 1_500_000).to_be_bytes()));
        out.extend(field(&10.5_f64.to_be_bytes()));
        out.extend(field("café".as_bytes()));
        out.extend(field(&1_i32.to_be_bytes()));
        out.extend(field(&[1]));
        out.extend_from_slice(&6_i16.to_be_bytes());
        out.extend(field(&8_i64.to_be_bytes()));
        for _ in 0..5 {
            out.extend_from_slice(&(-1_i32).to_be_bytes());
        }
        out.extend_from_slice(&(-1_i16).to_be_bytes());
        out
    }

    fn types() -> Vec<PgType> {
        ["INT8", "TIMESTAMPTZ", "FLOAT8", "VARCHAR", "DATE", "BOOL"]
            .map(|name| PgType::named(name).unwrap())
            .to_vec()
    }

    const EXPECTED: [&str; 2] = [
        "[Integer(7), Time(1500000), Real(10.5), Text(\"café\"), Date(10958), Integer(1)]",
        "[Integer(8), Null, Null, Null, Null, Null]",
    ];

    #[test]
    fn rows_are_read_whatever_the_chunks() {
        let bytes = stream();
        for size in [1, 2, 3, 7, 19, bytes.len()] {
            let (mut rows, mut sink) = (BinaryRows::new(types()), Collect(Vec::new()));
            for chunk in bytes.chunks(size) {
                rows.feed(chunk, &mut sink).unwrap();
            }
            rows.finish().unwrap();
            assert_eq!(sink.0, EXPECTED, "chunks of {size}");
        }
    }

    #[test]
    fn what_the_writer_writes_the_reader_reads() {
        let mut writer = BinaryWriter::new(2, 64);
        writer.row(6);
        writer.int8(7);
        writer.time(1_500_000);
        writer.float8(Some(10.5));
        writer.text(Some("café"));
        writer.field(&1_i32.to_be_bytes());
        writer.bool(true);
        writer.row(6);
        writer.int8(8);
        writer.null();
        writer.float8(None);
        writer.text(None);
        writer.null();
        writer.null();
        let bytes = writer.finish();
        assert_eq!(bytes, stream());
    }

    #[test]
    fn broken_streams_are_errors_not_guesses() {
        let bytes = stream();
        let mut rows = BinaryRows::new(types());
        rows.feed(&bytes[..bytes.len() - 2], &mut Collect(Vec::new())).unwrap();
        assert!(rows.finish().unwrap_err().contains("before its trailer"));

        let mut rows = BinaryRows::new(types()[..5].to_vec());
        assert!(rows.feed(&bytes, &mut Collect(Vec::new())).unwrap_err().contains("6 fields"));

        let mut rows = BinaryRows::new(types());
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(rows.feed(&trailing, &mut Collect(Vec::new())).is_err());

        let mut rows = BinaryRows::new(types());
        assert!(rows.feed(b"PGCOPY\nnot binary at all", &mut Collect(Vec::new())).is_err());
        assert_eq!(PgType::named("NUMERIC"), None);
        assert!(PgType::Int8.cell(&[0; 4]).is_err(), "a width that does not fit");
    }
}

//! What the server and a plugin worker say to each other, and how it travels. A frame is a
//! JSON header and zero or more payloads, each an Arrow IPC stream (the input tables of fit and
//! assign, the output of assign), written on one Unix socket in both directions.

use crate::description::StrategyDescription;
use crate::tables::TableData;
use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use kindred_plugin_abi::TableId;
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};

/// The largest header accepted (a description with a big schema fits many times over).
const MAX_HEADER: usize = 16 * 1024 * 1024;

/// The largest payload accepted: a batch of tables far larger than any assign batch.
const MAX_PAYLOAD: u64 = 64 * 1024 * 1024 * 1024;

/// The most of a payload's claimed size allocated before its bytes arrive.
const PREALLOCATED: u64 = 256 * 1024 * 1024;

/// The most payloads in one frame (one per input table).
const MAX_PAYLOADS: usize = 16;

/// What the server asks of a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Request {
    /// Create instance `instance` with `params`.
    Create {
        /// The server's number for it.
        instance: u64,
        /// The merged, schema-checked parameters.
        params: serde_json::Value,
    },
    /// Fit instance `instance` on the tables of the payloads (in this order).
    Fit {
        /// The instance.
        instance: u64,
        /// The as-of moment.
        as_of_micros: i64,
        /// The table of each payload.
        tables: Vec<u32>,
        /// When not empty, the worker keeps the tables after fit, cut into assign batches that
        /// begin at these customer ids, for [`Request::AssignBatch`]: the population crosses
        /// the socket once per run.
        #[serde(default)]
        batch_starts: Vec<i64>,
    },
    /// Assign batch `index` of the tables kept at the last fit; the output comes back as a
    /// payload. The worker lets the tables go after the last batch.
    AssignBatch {
        /// The instance.
        instance: u64,
        /// The as-of moment.
        as_of_micros: i64,
        /// The batch.
        index: usize,
    },
    /// Assign the customers of the tables of the payloads; the output comes back as a payload.
    Assign {
        /// The instance.
        instance: u64,
        /// The as-of moment.
        as_of_micros: i64,
        /// The table of each payload.
        tables: Vec<u32>,
    },
    /// What instance `instance` learned.
    Model {
        /// The instance.
        instance: u64,
    },
    /// The fitted state of instance `instance`; it comes back as the one payload.
    SaveState {
        /// The instance.
        instance: u64,
    },
    /// Load the state in the one payload into instance `instance`, fresh from `create`.
    LoadState {
        /// The instance.
        instance: u64,
    },
    /// Drop instance `instance`.
    Destroy {
        /// The instance.
        instance: u64,
    },
}

/// What the library told the worker about itself: the facts the server shows and checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LibraryFacts {
    /// The strategy's name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// The SDK it was built with.
    pub sdk_version: String,
    /// `major.minor` of its ABI.
    pub abi_version: String,
    /// Its description.
    pub description: StrategyDescription,
    /// Whether its instances save and load their fitted state.
    #[serde(default)]
    pub saves_state: bool,
}

/// A failed call, as the worker reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum WireError {
    /// The parameters were refused by the strategy: `(path, message)` each.
    Params {
        /// The violations.
        errors: Vec<(String, String)>,
    },
    /// The strategy returned an error or broke the contract.
    Call {
        /// Why.
        message: String,
    },
    /// The strategy panicked; the instance is disabled.
    Panicked {
        /// The panic message.
        message: String,
    },
}

/// What a worker answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub(crate) enum Reply {
    /// Sent once, first: the library loaded and passed every check.
    Ready {
        /// What it says about itself.
        library: Box<LibraryFacts>,
    },
    /// Sent once, first: the library could not be loaded; the worker then exits.
    Refused {
        /// Why, as the loader says it.
        error: String,
    },
    /// The instance exists and reads these columns (table number, column indexes).
    Created {
        /// The columns it reads.
        requested: Vec<(u32, Vec<usize>)>,
    },
    /// The call succeeded with nothing to return.
    Done,
    /// The output of assign follows as the one payload.
    Assigned,
    /// The saved state follows as the one payload.
    State,
    /// What the instance learned.
    Model {
        /// As JSON.
        model: serde_json::Value,
    },
    /// The call failed.
    Failed {
        /// How.
        error: WireError,
    },
}

/// A frame: its header and its payloads.
#[derive(Debug)]
pub(crate) struct Frame<H> {
    /// The header.
    pub header: H,
    /// The Arrow IPC payloads.
    pub payloads: Vec<Vec<u8>>,
}

/// Writes `header` and `payloads` as one frame.
pub(crate) fn write_frame<H: Serialize>(
    out: &mut impl Write,
    header: &H,
    payloads: &[Vec<u8>],
) -> io::Result<()> {
    let header = serde_json::to_vec(header).map_err(io::Error::other)?;
    let mut head = Vec::with_capacity(8 + header.len());
    head.extend_from_slice(&u32::try_from(header.len()).map_err(io::Error::other)?.to_le_bytes());
    head.extend_from_slice(&header);
    head.extend_from_slice(&u32::try_from(payloads.len()).map_err(io::Error::other)?.to_le_bytes());
    out.write_all(&head)?;
    for payload in payloads {
        out.write_all(&(payload.len() as u64).to_le_bytes())?;
        out.write_all(payload)?;
    }
    out.flush()
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Reads one frame; `UnexpectedEof` when the other side has gone.
pub(crate) fn read_frame<H: for<'de> Deserialize<'de>>(input: &mut impl Read) -> io::Result<Frame<H>> {
    let mut word = [0_u8; 4];
    input.read_exact(&mut word)?;
    let length = u32::from_le_bytes(word) as usize;
    if length > MAX_HEADER {
        return Err(invalid(format!("a frame header of {length} bytes is over the limit")));
    }
    let mut header = vec![0_u8; length];
    input.read_exact(&mut header)?;
    let header =
        serde_json::from_slice(&header).map_err(|error| invalid(format!("a bad frame header: {error}")))?;
    input.read_exact(&mut word)?;
    let count = u32::from_le_bytes(word) as usize;
    if count > MAX_PAYLOADS {
        return Err(invalid(format!("{count} payloads in one frame is over the limit")));
    }
    let mut payloads = Vec::with_capacity(count);
    for _ in 0..count {
        let mut size = [0_u8; 8];
        input.read_exact(&mut size)?;
        let size = u64::from_le_bytes(size);
        if size > MAX_PAYLOAD {
            return Err(invalid(format!("a payload of {size} bytes is over the limit")));
        }
        // Grown as it arrives, never allocated from the claimed size alone.
        let mut payload = Vec::with_capacity(size.min(PREALLOCATED) as usize);
        input.by_ref().take(size).read_to_end(&mut payload)?;
        if payload.len() as u64 != size {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "a payload was cut short"));
        }
        payloads.push(payload);
    }
    Ok(Frame { header, payloads })
}

/// One table as an Arrow IPC stream.
pub(crate) fn encode_table(table: &TableData) -> io::Result<Vec<u8>> {
    encode(&table.schema, &table.batches)
}

/// One batch as an Arrow IPC stream.
pub(crate) fn encode_batch(batch: &RecordBatch) -> io::Result<Vec<u8>> {
    encode(&batch.schema(), std::slice::from_ref(batch))
}

fn encode(schema: &arrow_schema::SchemaRef, batches: &[RecordBatch]) -> io::Result<Vec<u8>> {
    let mut writer = StreamWriter::try_new(Vec::new(), schema).map_err(io::Error::other)?;
    for batch in batches {
        writer.write(batch).map_err(io::Error::other)?;
    }
    writer.into_inner().map_err(io::Error::other)
}

/// Reads the tables of a fit or assign request.
pub(crate) fn decode_tables(tables: &[u32], payloads: Vec<Vec<u8>>) -> io::Result<Vec<TableData>> {
    if tables.len() != payloads.len() {
        return Err(invalid(format!("{} tables named for {} payloads", tables.len(), payloads.len())));
    }
    tables
        .iter()
        .zip(payloads)
        .map(|(number, payload)| {
            let table =
                TableId::from_u32(*number).ok_or_else(|| invalid(format!("no table number {number}")))?;
            let reader = StreamReader::try_new(io::Cursor::new(payload), None).map_err(io::Error::other)?;
            let schema = reader.schema();
            let batches = reader.collect::<Result<Vec<_>, _>>().map_err(io::Error::other)?;
            Ok(TableData { table, schema, batches })
        })
        .collect()
}

/// Reads the output batch of an assign reply: the first batch of the one payload, or an empty
/// batch of its schema. The host checks it like any output.
pub(crate) fn decode_batch(payloads: Vec<Vec<u8>>) -> io::Result<RecordBatch> {
    let payload = payloads
        .into_iter()
        .next()
        .ok_or_else(|| invalid("an assign reply without its output".to_owned()))?;
    let reader = StreamReader::try_new(io::Cursor::new(payload), None).map_err(io::Error::other)?;
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>().map_err(io::Error::other)?;
    match batches.len() {
        0 => Ok(RecordBatch::new_empty(schema)),
        1 => Ok(batches.into_iter().next().unwrap_or_else(|| RecordBatch::new_empty(schema))),
        _ => arrow_select::concat::concat_batches(&schema, &batches).map_err(io::Error::other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, Int64Array};
    use arrow_schema::{DataType, Field, Schema};
    use std::sync::Arc;

    #[test]
    fn frames_carry_headers_and_tables_both_ways() {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let batch =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef])
                .unwrap_or_else(|error| panic!("{error}"));
        let table = TableData { table: TableId::Customers, schema, batches: vec![batch.clone(), batch] };
        let request = Request::Fit { instance: 7, as_of_micros: 42, tables: vec![0], batch_starts: vec![1] };
        let mut wire = Vec::new();
        write_frame(&mut wire, &request, &[encode_table(&table).unwrap_or_default()]).unwrap_or_default();
        let frame: Frame<Request> =
            read_frame(&mut wire.as_slice()).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(frame.header, request);
        let tables = decode_tables(&[0], frame.payloads).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!((tables[0].table, tables[0].rows()), (TableId::Customers, 6));
    }

    #[test]
    fn a_cut_frame_or_an_oversized_header_is_an_error_not_a_panic() {
        let mut wire = Vec::new();
        write_frame(&mut wire, &Reply::Done, &[vec![1, 2, 3]]).unwrap_or_default();
        for cut in 0..wire.len() {
            assert!(read_frame::<Reply>(&mut &wire[..cut]).is_err(), "cut at {cut}");
        }
        let huge = (u32::MAX).to_le_bytes();
        assert!(read_frame::<Reply>(&mut huge.as_slice()).is_err());
    }
}

//! The binary contract between Kindred (the host) and a segmentation strategy plugin.
//!
//! A plugin is a `cdylib` that exports one symbol, [`SYMBOL`] (`kindred_strategy_v1`): an
//! `extern "C" fn() -> *const StrategyDescriptor`. Everything that crosses the boundary is
//! `#[repr(C)]`: plain integers, byte buffers that the side that allocated them frees, and
//! Apache Arrow arrays through the Arrow C Data Interface. No Rust layout (trait objects,
//! `String`, `Vec`) ever crosses it, so the host and a plugin may be built by different
//! compilers and with different allocators.
//!
//! The crate's version is the ABI version. A host refuses a library whose [`MAGIC`] or
//! [`ABI_MAJOR`] differ from its own, or whose minor version is older than it needs. Fields are
//! only ever appended to [`StrategyDescriptor`] and [`FunctionTable`] within a major version;
//! [`StrategyDescriptor::size`] says how much of the descriptor the plugin knows.
//!
//! Plugin authors do not use this crate directly: `kindred-plugin-sdk` implements it.
#![allow(unsafe_code)] // the boundary is `extern "C"` by nature; nothing here dereferences.

use std::ffi::c_void;

pub use arrow_data::ffi::FFI_ArrowArray;
pub use arrow_schema::ffi::FFI_ArrowSchema;

/// The name of the one symbol a plugin exports, NUL-terminated for `dlsym`.
pub const SYMBOL: &[u8] = b"kindred_strategy_v1\0";

/// Marks a Kindred strategy descriptor: the bytes `KINDRED1` read as a little-endian `u64`.
pub const MAGIC: u64 = u64::from_le_bytes(*b"KINDRED1");

/// Breaking changes of the ABI bump this; the host refuses any other major.
pub const ABI_MAJOR: u16 = 1;

/// Backward-compatible additions bump this; the host refuses a minor older than it needs.
pub const ABI_MINOR: u16 = 3;

/// Flag: the plugin was built with `panic = "unwind"`, so its entry points can catch panics.
/// A plugin built with `panic = "abort"` would take the whole server down on a panic; the host
/// refuses it.
pub const FLAG_PANIC_UNWIND: u64 = 1;

/// What the exported symbol is.
pub type EntryPoint = unsafe extern "C" fn() -> *const StrategyDescriptor;

/// How a call ended: one of the constants below. A plain integer rather than a Rust enum, so a
/// value outside the list (from a buggy or newer plugin) is something the host can read and
/// reject instead of undefined behaviour.
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u32);

impl Status {
    /// It worked.
    pub const OK: Status = Status(0);
    /// The strategy refused or failed; `last_error` has the message.
    pub const ERROR: Status = Status(1);
    /// The strategy panicked; `last_error` has the panic message. The host disables the instance.
    pub const PANIC: Status = Status(2);
    /// The host passed something the plugin cannot read (null pointer, bad Arrow data).
    pub const INVALID_INPUT: Status = Status(3);
    /// `create` refused the parameters; `last_error` is the JSON Pointer of the bad value, a
    /// tab, and the reason (`/rules/0/when/op\top "gt" is not valid for text field ...`).
    pub const INVALID_PARAMS: Status = Status(4);
}

/// A UTF-8 string with static lifetime inside the plugin (not NUL-terminated).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct StaticStr {
    /// First byte.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

// SAFETY: a `StaticStr` points at immutable static data.
unsafe impl Sync for StaticStr {}
// SAFETY: as above.
unsafe impl Send for StaticStr {}

/// Bytes the plugin allocated and hands to the host; the host returns them through
/// [`FunctionTable::free_bytes`], which frees them with the plugin's allocator.
#[repr(C)]
#[derive(Debug)]
pub struct OwnedBytes {
    /// First byte, or null for none.
    pub ptr: *mut u8,
    /// Length in bytes.
    pub len: usize,
    /// Capacity of the allocation, as the plugin needs it to free.
    pub capacity: usize,
}

impl OwnedBytes {
    /// No bytes: what the host passes for the plugin to fill.
    pub const fn empty() -> Self {
        Self { ptr: std::ptr::null_mut(), len: 0, capacity: 0 }
    }
}

/// An input table, by number.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableId {
    /// One row per customer.
    Customers = 0,
    /// One row per interaction.
    Interactions = 1,
    /// One row per tie.
    Ties = 2,
    /// One row per need.
    Needs = 3,
    /// Since ABI 1.2. One row per customer of the segmentation being refitted: the segment the
    /// customer holds now, before this fit (empty for a preview, a new segmentation and
    /// `assign`). A strategy that finds its segments reads it to keep their labels stable.
    Segments = 4,
}

impl TableId {
    /// Every table, in number order.
    pub const ALL: [TableId; 5] =
        [TableId::Customers, TableId::Interactions, TableId::Ties, TableId::Needs, TableId::Segments];

    /// The table with this number.
    pub fn from_u32(value: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|table| *table as u32 == value)
    }

    /// The table's name, as strategies ask for it in their description.
    pub fn name(self) -> &'static str {
        match self {
            TableId::Customers => "customers",
            TableId::Interactions => "interactions",
            TableId::Ties => "ties",
            TableId::Needs => "needs",
            TableId::Segments => "segments",
        }
    }
}

/// The record batches of one table. The plugin takes ownership of every array (moving it
/// out and leaving a released one behind, as the C Data Interface prescribes); the host
/// releases any it did not take. The schema is borrowed for the call.
#[repr(C)]
#[derive(Debug)]
pub struct TableBatches {
    /// Which table ([`TableId`] as `u32`).
    pub table: u32,
    /// The schema every batch of this table has: a struct whose fields are the columns.
    pub schema: *const FFI_ArrowSchema,
    /// The batches, each a struct array.
    pub arrays: *mut FFI_ArrowArray,
    /// How many batches.
    pub count: usize,
}

/// The input of a `fit` or `assign` call.
#[repr(C)]
#[derive(Debug)]
pub struct InputTables {
    /// The tables the strategy asked for.
    pub tables: *const TableBatches,
    /// How many.
    pub count: usize,
    /// The moment the data describes, in microseconds since the Unix epoch (UTC); rules
    /// relative to "now" use it.
    pub as_of_micros: i64,
}

/// An opaque strategy instance, owned by the plugin.
pub type Instance = *mut c_void;

/// The functions a plugin provides. Every call may be made from any thread, but never on the
/// same instance from two threads at once. After a call that did not return [`Status::OK`],
/// `last_error` on the same thread gives the message.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FunctionTable {
    /// Writes the strategy's description as JSON (what it does, its parameter JSON Schema,
    /// the tables and columns it reads, the segments it can produce).
    pub describe: unsafe extern "C" fn(out: *mut OwnedBytes) -> Status,
    /// Creates an instance from JSON parameters (`len` bytes at `params`).
    pub create: unsafe extern "C" fn(params: *const u8, len: usize, out: *mut Instance) -> Status,
    /// Learns from the whole population.
    pub fit: unsafe extern "C" fn(instance: Instance, input: *const InputTables) -> Status,
    /// Assigns the customers of the input to segments: writes a struct array with columns
    /// `customer_id` (Int64), `segment` (Utf8) and `score` (nullable Float64).
    pub assign: unsafe extern "C" fn(
        instance: Instance,
        input: *const InputTables,
        out_array: *mut FFI_ArrowArray,
        out_schema: *mut FFI_ArrowSchema,
    ) -> Status,
    /// Writes what `fit` learned, as JSON.
    pub model: unsafe extern "C" fn(instance: Instance, out: *mut OwnedBytes) -> Status,
    /// Writes the message of this thread's last failed call.
    pub last_error: unsafe extern "C" fn(out: *mut OwnedBytes) -> Status,
    /// Frees bytes the plugin handed out.
    pub free_bytes: unsafe extern "C" fn(bytes: OwnedBytes),
    /// Destroys an instance.
    pub destroy: unsafe extern "C" fn(instance: Instance),
    /// Since ABI 1.1. Writes the columns this instance reads, as JSON in the shape of the
    /// description's `inputs` (`{"interactions": ["kind", "text"]}`), when its parameters
    /// narrow what the description lists; `None` reads everything the description lists. The
    /// host reads this field only when the descriptor's `size` covers it.
    pub instance_inputs: Option<unsafe extern "C" fn(instance: Instance, out: *mut OwnedBytes) -> Status>,
    /// Since ABI 1.3. Writes what a fitted instance learned as bytes in the plugin's own format,
    /// for the host to store and hand to [`FunctionTable::load_state`] after a restart. `None`:
    /// the plugin cannot save its state, and its segmentations are refitted at every start.
    pub save_state: Option<unsafe extern "C" fn(instance: Instance, out: *mut OwnedBytes) -> Status>,
    /// Since ABI 1.3. Loads bytes that `save_state` of the same build wrote into an instance
    /// fresh from `create` (with the parameters the saved instance had), which is then fitted
    /// as the saved one was. Present exactly when `save_state` is.
    pub load_state: Option<unsafe extern "C" fn(instance: Instance, state: *const u8, len: usize) -> Status>,
}

/// What the exported symbol returns: who the plugin is and how to call it. Lives as long as
/// the library is loaded.
#[repr(C)]
#[derive(Debug)]
pub struct StrategyDescriptor {
    /// Always [`MAGIC`].
    pub magic: u64,
    /// [`ABI_MAJOR`] of the ABI the plugin was built against.
    pub abi_major: u16,
    /// [`ABI_MINOR`] of the ABI the plugin was built against.
    pub abi_minor: u16,
    /// `size_of::<StrategyDescriptor>()` as the plugin was built: later minors append fields.
    pub size: u32,
    /// Build flags, such as [`FLAG_PANIC_UNWIND`].
    pub flags: u64,
    /// The strategy's name, as operators refer to it.
    pub name: StaticStr,
    /// The plugin's own version.
    pub version: StaticStr,
    /// The version of `kindred-plugin-sdk` it was built with.
    pub sdk_version: StaticStr,
    /// How to call it.
    pub functions: FunctionTable,
}

// SAFETY: the descriptor is immutable static data and its function pointers are thread-safe
// by contract.
unsafe impl Sync for StrategyDescriptor {}

/// The type of an input column, as the host builds it in Arrow.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// `Int64`.
    Int64 = 0,
    /// `Float64`.
    Float64 = 1,
    /// `Utf8`.
    Utf8 = 2,
    /// `Boolean`.
    Boolean = 3,
    /// `Date32` (days since the Unix epoch).
    Date32 = 4,
    /// `Timestamp(Microsecond, "UTC")`.
    TimestampMicros = 5,
    /// `List(Utf8)`: a list of tags.
    Utf8List = 6,
}

impl ColumnKind {
    /// The Arrow type of a column of this kind.
    pub fn data_type(self) -> arrow_schema::DataType {
        use arrow_schema::{DataType, Field, TimeUnit};
        match self {
            ColumnKind::Int64 => DataType::Int64,
            ColumnKind::Float64 => DataType::Float64,
            ColumnKind::Utf8 => DataType::Utf8,
            ColumnKind::Boolean => DataType::Boolean,
            ColumnKind::Date32 => DataType::Date32,
            ColumnKind::TimestampMicros => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ColumnKind::Utf8List => DataType::List(Field::new_list_field(DataType::Utf8, true).into()),
        }
    }
}

/// A column a table offers: its name and type. The first column of each table is its key and
/// is always sent, whatever the strategy asked for.
pub type ColumnSpec = (&'static str, ColumnKind);

/// The columns of `customers`.
pub const CUSTOMER_COLUMNS: &[ColumnSpec] = &[
    ("id", ColumnKind::Int64),
    ("external_id", ColumnKind::Utf8),
    ("birth_date", ColumnKind::Date32),
    ("gender", ColumnKind::Utf8),
    ("income", ColumnKind::Float64),
    ("education", ColumnKind::Utf8),
    ("occupation", ColumnKind::Utf8),
    ("country", ColumnKind::Utf8),
    ("region", ColumnKind::Utf8),
    ("city", ColumnKind::Utf8),
    ("lat", ColumnKind::Float64),
    ("lon", ColumnKind::Float64),
    ("lifestyle", ColumnKind::Utf8List),
    ("consent_marketing", ColumnKind::Boolean),
    ("consent_profiling", ColumnKind::Boolean),
    ("created_at", ColumnKind::TimestampMicros),
];

/// The columns of `interactions`.
pub const INTERACTION_COLUMNS: &[ColumnSpec] = &[
    ("customer_id", ColumnKind::Int64),
    ("occurred_at", ColumnKind::TimestampMicros),
    ("channel", ColumnKind::Utf8),
    ("kind", ColumnKind::Utf8),
    ("amount", ColumnKind::Float64),
    ("currency", ColumnKind::Utf8),
    ("cost_to_serve", ColumnKind::Float64),
    ("text", ColumnKind::Utf8),
];

/// The columns of `ties` (the first two are both keys).
pub const TIE_COLUMNS: &[ColumnSpec] = &[
    ("from_id", ColumnKind::Int64),
    ("to_id", ColumnKind::Int64),
    ("kind", ColumnKind::Utf8),
    ("weight", ColumnKind::Float64),
    ("mutual", ColumnKind::Boolean),
];

/// The columns of `needs`.
pub const NEED_COLUMNS: &[ColumnSpec] = &[
    ("customer_id", ColumnKind::Int64),
    ("tag", ColumnKind::Utf8),
    ("kind", ColumnKind::Utf8),
    ("source", ColumnKind::Utf8),
    ("weight", ColumnKind::Float64),
];

/// The columns of `segments`.
pub const SEGMENT_COLUMNS: &[ColumnSpec] =
    &[("customer_id", ColumnKind::Int64), ("segment", ColumnKind::Utf8)];

impl TableId {
    /// The columns this table offers, key first.
    pub fn columns(self) -> &'static [ColumnSpec] {
        match self {
            TableId::Customers => CUSTOMER_COLUMNS,
            TableId::Interactions => INTERACTION_COLUMNS,
            TableId::Ties => TIE_COLUMNS,
            TableId::Needs => NEED_COLUMNS,
            TableId::Segments => SEGMENT_COLUMNS,
        }
    }

    /// How many leading columns are keys, always sent.
    pub fn key_columns(self) -> usize {
        if self == TableId::Ties { 2 } else { 1 }
    }

    /// The table with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|table| table.name() == name)
    }
}

/// The size of a descriptor built against ABI 1.0: everything before
/// [`FunctionTable::instance_inputs`].
pub const DESCRIPTOR_SIZE_1_0: usize = std::mem::offset_of!(StrategyDescriptor, functions)
    + std::mem::offset_of!(FunctionTable, instance_inputs);

/// The size of a descriptor built against ABI 1.1 or 1.2: everything before
/// [`FunctionTable::save_state`].
pub const DESCRIPTOR_SIZE_1_1: usize =
    std::mem::offset_of!(StrategyDescriptor, functions) + std::mem::offset_of!(FunctionTable, save_state);

/// The columns of an `assign` output, in order.
pub const OUTPUT_COLUMNS: [&str; 3] = ["customer_id", "segment", "score"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_spells_kindred() {
        assert_eq!(&MAGIC.to_le_bytes(), b"KINDRED1");
        assert_eq!(TableId::from_u32(2), Some(TableId::Ties));
        assert_eq!(TableId::from_u32(9), None);
    }

    #[test]
    fn older_descriptors_end_where_the_later_functions_begin() {
        let pointer = std::mem::size_of::<usize>();
        assert_eq!(DESCRIPTOR_SIZE_1_0 + pointer, DESCRIPTOR_SIZE_1_1);
        assert_eq!(DESCRIPTOR_SIZE_1_1 + 2 * pointer, std::mem::size_of::<StrategyDescriptor>());
    }
}

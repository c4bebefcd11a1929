//! Write a Kindred segmentation strategy in safe Rust.
//!
//! A strategy is a `cdylib` crate that depends on this SDK, implements
//! [`SegmentationStrategy`] and calls [`export_strategy!`] once. Kindred loads the library at
//! run time (never linking it), checks its ABI version and build flags, and calls it through a
//! C ABI with Arrow data; this crate hides all of that. docs/PLUGINS.md in the Kindred
//! repository walks through building, configuring and testing a plugin.
//!
//! The life of a strategy instance:
//!
//! 1. [`describe`](SegmentationStrategy::describe) says what it does, which tables and columns
//!    it reads, and which segments it can produce. The JSON Schema of its parameters, with
//!    their defaults, is derived from one type, [`Params`](SegmentationStrategy::Params).
//! 2. [`create`](SegmentationStrategy::create) builds an instance from those parameters, read
//!    from JSON by serde (a value that does not fit is refused with its JSON Pointer).
//! 3. [`fit`](SegmentationStrategy::fit) sees the whole population and learns what it needs
//!    (cut points, communities, model parameters).
//! 4. [`assign`](SegmentationStrategy::assign) puts any batch of customers into segments with
//!    what was learned: the whole population after a fit, or the one customer a new event
//!    touched.
//!
//! # Example
//!
//! A strategy that splits customers by whether they spent over a threshold:
//!
//! ```
//! use kindred_plugin_sdk::{
//!     export_strategy, Assignments, Description, Input, SegmentationStrategy, StrategyResult,
//!     Table,
//! };
//! use schemars::JsonSchema;
//! use serde::{Deserialize, Serialize};
//! use std::collections::HashMap;
//!
//! /// The parameters: their doc comments, types, bounds and defaults become the JSON Schema.
//! #[derive(Deserialize, Serialize, JsonSchema)]
//! #[serde(deny_unknown_fields, default)]
//! pub struct Params {
//!     /// Customers who spent more than this are big spenders.
//!     #[schemars(range(min = 0.0))]
//!     threshold: f64,
//! }
//!
//! impl Default for Params {
//!     fn default() -> Self {
//!         Self { threshold: 1000.0 }
//!     }
//! }
//!
//! /// What an instance keeps: derived so Kindred can store it and load it after a restart.
//! #[derive(Serialize, Deserialize)]
//! pub struct BigSpenders {
//!     threshold: f64,
//! }
//!
//! impl SegmentationStrategy for BigSpenders {
//!     const NAME: &'static str = "big-spenders";
//!     type Params = Params;
//!
//!     fn describe() -> Description {
//!         Description::new("Customers who spent more than a threshold, and the rest.")
//!             .reads(Table::Interactions, &["amount"])
//!             .segments(["big spenders", "others"])
//!     }
//!
//!     fn create(params: Params) -> StrategyResult<Self> {
//!         Ok(Self { threshold: params.threshold })
//!     }
//!
//!     fn fit(&mut self, _population: &Input) -> StrategyResult<()> {
//!         Ok(()) // nothing to learn: the threshold is given
//!     }
//!
//!     fn assign(&self, batch: &Input, out: &mut Assignments) -> StrategyResult<()> {
//!         let mut spent: HashMap<i64, f64> = HashMap::new();
//!         for interactions in batch.interactions() {
//!             let (customers, amounts) = (interactions.customer_id()?, interactions.amount()?);
//!             for row in 0..interactions.len() {
//!                 *spent.entry(customers.value(row)).or_default() += amounts.value(row);
//!             }
//!         }
//!         for id in batch.customer_ids() {
//!             let total = spent.get(&id).copied().unwrap_or(0.0);
//!             let segment = if total > self.threshold { "big spenders" } else { "others" };
//!             out.push(id, segment, Some(total));
//!         }
//!         Ok(())
//!     }
//! }
//!
//! export_strategy!(BigSpenders, state);
//! # fn main() {}
//! ```
//!
//! The SDK checks the example's own behaviour in-process with [`testing::run`]; an author can
//! do the same in unit tests before building the library.
//!
//! # Fitted instances that survive a restart
//!
//! Kindred stores what a refit learned and, when the server starts again, loads it instead of
//! fitting the whole population anew. A strategy opts in with one derive and one word: derive
//! `Serialize` and `Deserialize` on the strategy type (every field it keeps after `fit`; mark
//! caches it can rebuild `#[serde(skip)]`) and export it with `export_strategy!(BigSpenders,
//! state)`. The state is written in MessagePack and read back only by the same build of the
//! library; a strategy exported without `state` is refitted at every start.
//! [`testing::run_reloaded`] checks the round trip in a unit test.

pub mod dates;
mod description;
mod error;
#[doc(hidden)]
pub mod export;
mod input;
mod output;
pub mod params;
pub mod positions;
pub mod rules;
mod state;
pub mod testing;

pub use arrow_array;
pub use arrow_schema;
pub use description::{Description, Reads};
pub use error::{StrategyError, StrategyResult};
pub use input::{Customers, Input, Interactions, Needs, Segments, Ties, column, tags};
pub use kindred_plugin_abi as abi;
pub use kindred_plugin_abi::TableId as Table;
pub use output::{Assignments, output_schema};
pub use params::NoParams;
pub use positions::Positions;
pub use serde_json;

/// The version of this SDK, recorded in every plugin built with it.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A segmentation strategy. Implement it, then call [`export_strategy!`] with the type.
pub trait SegmentationStrategy: Sized + Send + 'static {
    /// The name operators use for the strategy in config and the API (lowercase, `-`).
    const NAME: &'static str;

    /// The parameters, as one type: serde reads them (give defaults with `#[serde(default)]`
    /// and refuse unknown keys with `#[serde(deny_unknown_fields)]`), and schemars derives
    /// their JSON Schema from the same type (doc comments become descriptions;
    /// `#[schemars(range(..))]` and `length(..)` bounds are in it; the defaults are in it when
    /// the type derives `Serialize` too). Kindred checks a client's
    /// parameters against that schema before `create` is called. A strategy without
    /// parameters uses [`NoParams`].
    type Params: serde::de::DeserializeOwned + schemars::JsonSchema;

    /// What the strategy does, what it reads, what it produces.
    fn describe() -> Description;

    /// An instance from its parameters (read from the client's JSON, defaults filled in).
    /// Refuse values the schema cannot express with [`StrategyError::param`], naming the
    /// JSON Pointer.
    fn create(params: Self::Params) -> StrategyResult<Self>;

    /// Learns from the whole population.
    fn fit(&mut self, population: &Input) -> StrategyResult<()>;

    /// Puts each customer of `batch` into segments (none, one or several), with what `fit`
    /// learned.
    fn assign(&self, batch: &Input, out: &mut Assignments) -> StrategyResult<()>;

    /// The columns this instance reads, when its parameters need less than
    /// [`describe`](Self::describe) lists (a strategy that reads what customers wrote only
    /// when asked to listen). Every column must be one `describe` lists; the host refuses an
    /// instance that asks for more. `None`, the default, reads everything `describe` lists.
    fn reads(&self) -> Option<Reads> {
        None
    }

    /// What `fit` learned, as JSON an analyst can read (cut points, communities, fitted
    /// parameters). Nothing by default.
    fn model(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}

/// Exports a [`SegmentationStrategy`] as this library's plugin: generates the
/// `kindred_strategy_v1` symbol and its descriptor (ABI version, name, the crate's version,
/// the SDK version, and whether panics unwind). Call it once, in a `cdylib` crate:
/// `export_strategy!(MyStrategy)`, or `export_strategy!(MyStrategy, state)` for a strategy
/// that derives `Serialize` and `Deserialize`, whose fitted instances Kindred then stores and
/// loads after a restart instead of refitting (see the crate's documentation).
#[macro_export]
macro_rules! export_strategy {
    (@descriptor $strategy:ty, $save:expr, $load:expr) => {
        #[doc(hidden)]
        #[allow(unsafe_code)] // the one symbol Kindred looks up; the SDK holds the unsafe parts
        #[unsafe(no_mangle)]
        pub extern "C" fn kindred_strategy_v1() -> *const $crate::abi::StrategyDescriptor {
            const fn text(value: &'static str) -> $crate::abi::StaticStr {
                $crate::abi::StaticStr { ptr: value.as_ptr(), len: value.len() }
            }
            static DESCRIPTOR: $crate::abi::StrategyDescriptor = $crate::abi::StrategyDescriptor {
                magic: $crate::abi::MAGIC,
                abi_major: $crate::abi::ABI_MAJOR,
                abi_minor: $crate::abi::ABI_MINOR,
                size: ::std::mem::size_of::<$crate::abi::StrategyDescriptor>() as u32,
                flags: if cfg!(panic = "unwind") { $crate::abi::FLAG_PANIC_UNWIND } else { 0 },
                name: text(<$strategy as $crate::SegmentationStrategy>::NAME),
                version: text(env!("CARGO_PKG_VERSION")),
                sdk_version: text($crate::SDK_VERSION),
                functions: $crate::abi::FunctionTable {
                    describe: $crate::export::Entry::<$strategy>::describe,
                    create: $crate::export::Entry::<$strategy>::create,
                    fit: $crate::export::Entry::<$strategy>::fit,
                    assign: $crate::export::Entry::<$strategy>::assign,
                    model: $crate::export::Entry::<$strategy>::model,
                    last_error: $crate::export::last_error,
                    free_bytes: $crate::export::free_bytes,
                    destroy: $crate::export::Entry::<$strategy>::destroy,
                    instance_inputs: Some($crate::export::Entry::<$strategy>::instance_inputs),
                    save_state: $save,
                    load_state: $load,
                },
            };
            &DESCRIPTOR
        }
    };
    ($strategy:ty, state) => {
        $crate::export_strategy!(
            @descriptor $strategy,
            Some($crate::export::Entry::<$strategy>::save_state),
            Some($crate::export::Entry::<$strategy>::load_state)
        );
    };
    ($strategy:ty) => {
        $crate::export_strategy!(@descriptor $strategy, None, None);
    };
}

//! Deterministic demo data for Kindred: customers, interactions, ties and needs, with planted
//! communities that a need-based community detector should find again.
//!
//! Everything is drawn from ChaCha streams keyed by the seed and indexed by customer, so the same
//! [`DemoConfig`] always gives byte-identical files. Rows are written as they are made: memory
//! stays flat apart from a few bytes per customer for community membership.

// Tests may panic on what they did not expect.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod behaviour;
mod config;
mod contact;
mod duplicates;
mod graph;
mod names;
mod needs;
mod people;
mod places;
mod rng;
mod time;
mod vocab;
mod write;

#[cfg(test)]
mod tests;

pub use config::DemoConfig;
pub use write::{
    CUSTOMER_COLUMNS, DUPLICATE_COLUMNS, INTERACTION_COLUMNS, NEED_COLUMNS, PLANTED_COLUMNS, TIE_COLUMNS,
};

use std::fmt;
use std::path::{Path, PathBuf};
use write::{Row, TableWriter};

/// The format of the generated files (the planted communities file is always CSV).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Ndjson,
}

impl FileFormat {
    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Ndjson => "ndjson",
        }
    }
}

/// Paths of the generated files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoFiles {
    /// Customer profiles.
    pub customers: PathBuf,
    /// Interactions of every customer.
    pub interactions: PathBuf,
    /// Ties between customers.
    pub ties: PathBuf,
    /// Needs of customers.
    pub needs: PathBuf,
    /// The hidden truth: `external_id,community` for every customer (always CSV).
    pub planted: PathBuf,
    /// The truth about duplicates: `duplicate_external_id,original_external_id,noise` (always
    /// CSV; only a header when none were asked for).
    pub duplicates: PathBuf,
}

impl DemoFiles {
    /// The file paths inside `folder` for `format`.
    pub fn in_folder(folder: &Path, format: FileFormat) -> Self {
        let file = |name: &str| folder.join(format!("{name}.{}", format.extension()));
        Self {
            customers: file("customers"),
            interactions: file("interactions"),
            ties: file("ties"),
            needs: file("needs"),
            planted: folder.join("planted_communities.csv"),
            duplicates: folder.join("duplicates.csv"),
        }
    }
}

/// Row counts of the generated files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemoStats {
    /// Customers written.
    pub customers: u64,
    /// Interactions written.
    pub interactions: u64,
    /// Ties written.
    pub ties: u64,
    /// Needs written.
    pub needs: u64,
    /// Planted communities.
    pub communities: u64,
    /// Duplicate customer records (counted in `customers` too).
    pub duplicates: u64,
}

/// Why demo data could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The settings make no sense.
    #[error("invalid demo settings: {0}")]
    InvalidConfig(String),
    /// A file could not be written.
    #[error("could not write demo data: {0}")]
    Io(#[from] std::io::Error),
    /// A CSV file could not be written.
    #[error("could not write CSV: {0}")]
    Csv(#[from] csv::Error),
    /// An NDJSON line could not be written.
    #[error("could not write NDJSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A probability distribution refused its parameters.
    #[error("bad distribution parameters: {0}")]
    Distribution(String),
    /// A row did not have one cell per column (a bug).
    #[error("row has {found} cells where the file has {expected} columns")]
    RowShape {
        /// Columns of the file.
        expected: usize,
        /// Cells of the row.
        found: usize,
    },
}

/// A customer's external id, e.g. `c0000042` for index 41.
pub(crate) struct CustomerId(pub usize);

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{:07}", self.0 + 1)
    }
}

/// Everything shared while generating one data set.
pub(crate) struct World {
    pub window: config::Window,
    pub seeds: rng::Seeds,
    pub communities: graph::Communities,
    pub behaviour: behaviour::Params,
}

/// One writer per output file.
struct Writers {
    customers: TableWriter,
    interactions: TableWriter,
    ties: TableWriter,
    needs: TableWriter,
    planted: TableWriter,
    duplicates: TableWriter,
}

impl Writers {
    fn create(files: &DemoFiles, format: FileFormat) -> Result<Self, DemoError> {
        Ok(Self {
            customers: TableWriter::create(&files.customers, format, &CUSTOMER_COLUMNS)?,
            interactions: TableWriter::create(&files.interactions, format, &INTERACTION_COLUMNS)?,
            ties: TableWriter::create(&files.ties, format, &TIE_COLUMNS)?,
            needs: TableWriter::create(&files.needs, format, &NEED_COLUMNS)?,
            planted: TableWriter::create(&files.planted, FileFormat::Csv, &PLANTED_COLUMNS)?,
            duplicates: TableWriter::create(&files.duplicates, FileFormat::Csv, &DUPLICATE_COLUMNS)?,
        })
    }
}

/// Generates the demo data set of `config` into `folder` (created if missing), overwriting files
/// of the same names.
pub fn write_demo(
    config: &DemoConfig,
    folder: &Path,
    format: FileFormat,
) -> Result<(DemoFiles, DemoStats), DemoError> {
    let window = config.window()?;
    std::fs::create_dir_all(folder)?;
    let seeds = rng::Seeds::new(config.seed);
    let communities = graph::Communities::plant(&seeds, config.customers, config.community_size)?;
    let world = World { window, seeds, communities, behaviour: behaviour::Params::new()? };
    let files = DemoFiles::in_folder(folder, format);
    let mut out = Writers::create(&files, format)?;

    let mut row = Row::default();
    let (mut copy, mut truth) = (Row::default(), Row::default());
    let mut held = Vec::new();
    let mut events = Vec::new();
    let mut ties = graph::TieScratch::default();
    for customer in 0..config.customers {
        needs::of_customer(&world, customer, &mut held);
        let traits = people::write_customer(&world, customer, &held, &mut row);
        out.customers.write(&row)?;
        for number in 1..=duplicates::copies(&world, customer, config.duplicates) {
            let noise = duplicates::write_duplicate(&world, customer, number, &row, &mut copy);
            out.customers.write(&copy)?;
            truth.clear();
            truth
                .text(&duplicates::duplicate_id(customer, number))
                .text(&duplicates::original_id(customer))
                .text(&noise);
            out.duplicates.write(&truth)?;
        }

        row.clear();
        row.text_fmt(format_args!("{}", CustomerId(customer))).integer(world.communities.of(customer) as u64);
        out.planted.write(&row)?;

        for need in &held {
            needs::write_row(customer, need, &mut row);
            out.needs.write(&row)?;
        }

        world.communities.ties(&world.seeds, customer, &mut ties);
        for tie in &ties.ties {
            row.clear();
            row.text_fmt(format_args!("{}", CustomerId(customer)))
                .text_fmt(format_args!("{}", CustomerId(tie.to as usize)))
                .text(tie.kind)
                .number(tie.weight, 2)
                .boolean(tie.mutual);
            out.ties.write(&row)?;
        }

        behaviour::events(&world, customer, &traits, &held, &mut events);
        let currency = traits.place.country().currency;
        for (number, event) in events.iter().enumerate() {
            behaviour::write_row(customer, number + 1, event, currency, &mut row);
            out.interactions.write(&row)?;
        }
    }

    let stats = DemoStats {
        customers: out.customers.finish()?,
        interactions: out.interactions.finish()?,
        ties: out.ties.finish()?,
        needs: out.needs.finish()?,
        communities: world.communities.len() as u64,
        duplicates: out.duplicates.finish()?,
    };
    out.planted.finish()?;
    Ok((files, stats))
}

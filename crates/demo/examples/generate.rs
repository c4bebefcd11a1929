//! Writes a demo data set: `generate [--customers] N [--out] DIR [--ndjson] [--seed S]`.
//!
//! For example `cargo run --release -p kindred-demo --example generate -- 1000000 /tmp/demo-1m`.

use kindred_demo::{DemoConfig, FileFormat, write_demo};
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = DemoConfig::default();
    let mut folder = PathBuf::from("demo-data");
    let mut format = FileFormat::Csv;
    let mut positional = 0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--customers" => config.customers = value()?.parse()?,
            "--out" => folder = PathBuf::from(value()?),
            "--seed" => config.seed = value()?.parse()?,
            "--ndjson" => format = FileFormat::Ndjson,
            _ if positional == 0 => {
                config.customers = arg.parse()?;
                positional += 1;
            }
            _ if positional == 1 => {
                folder = PathBuf::from(&arg);
                positional += 1;
            }
            _ => return Err(format!("unexpected argument {arg:?}").into()),
        }
    }
    let started = Instant::now();
    let (files, stats) = write_demo(&config, &folder, format)?;
    println!(
        "{} customers, {} interactions, {} ties, {} needs, {} communities in {:.1?}",
        stats.customers,
        stats.interactions,
        stats.ties,
        stats.needs,
        stats.communities,
        started.elapsed()
    );
    println!("{files:#?}");
    Ok(())
}

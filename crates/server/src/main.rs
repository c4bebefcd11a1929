//! `kindred`: the social CRM server and its command line.

use clap::{Parser, Subcommand, ValueEnum};
use config::Settings;
use demo::DemoOptions;
use kindred_server::{config, demo, export, import, keys_cli, logging, plugins_cli, serve};
use kindred_store::import::{Format, ImportKind, ImportOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// What `kindred --help` says first.
const ABOUT: &str = "Kindred, the social CRM: customers, their interactions on every channel, the ties \
between them and the needs they share, segmented by strategy plugins (demographic, behavioral, \
need-based communities) that stay true as the data changes.";

/// How to begin, after the list of commands.
const AFTER_HELP: &str = "Start here: `kindred serve --demo` fills an empty database with 10,000 \
demo customers and serves the dashboard at http://127.0.0.1:8080/ and GraphQL at /graphql. \
Settings come from ./kindred.toml (or --config FILE) and KINDRED__SECTION__KEY variables; \
see the README.";

/// The command line.
#[derive(Parser)]
#[command(name = "kindred", version, about = ABOUT, after_help = AFTER_HELP)]
struct Cli {
    /// Settings file (default: ./kindred.toml if it exists).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations and serve GraphQL until SIGINT or SIGTERM.
    Serve {
        /// Fill an empty database with demo data first.
        #[arg(long)]
        demo: bool,
        /// Customers in the demo data.
        #[arg(long, default_value_t = 10_000)]
        customers: usize,
        /// Seed of the demo data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Import a CSV or NDJSON file (`-` reads standard input).
    Import {
        /// What the file holds.
        #[arg(value_enum)]
        kind: KindArg,
        /// The file; `.csv`, `.ndjson` or `.jsonl`, or `-`.
        file: String,
        /// Format, when the file name does not tell (standard input defaults to CSV).
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
        /// Re-create erased customers the file names (and remove their tombstones) instead
        /// of refusing their rows.
        #[arg(long)]
        allow_erased: bool,
        /// Import a customer row whose faults are all in optional fields (a birth date that
        /// does not exist, a phone number that is not one) with those fields blank, instead of
        /// refusing it; each value left out is still reported.
        #[arg(long)]
        blank_invalid_fields: bool,
    },
    /// Write a segment's members (or a whole segmentation's) as CSV.
    Export {
        /// The segmentation, by id or name.
        segmentation: String,
        /// Only this segment (its label).
        #[arg(long)]
        segment: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// What the running server has loaded (status, build, errors) and the libraries on disk;
    /// with no server running, what the settings load. `reload` asks the server to read
    /// `[[plugins]]` again.
    Plugins {
        #[command(subcommand)]
        action: Option<PluginsAction>,
        /// The running server's base URL (default: http:// and `server.bind`).
        #[arg(long, global = true, value_name = "URL")]
        server: Option<String>,
        /// An API key for the server, when it requires them (`reload` needs an admin key).
        #[arg(long, global = true, env = "KINDRED_API_KEY", hide_env_values = true)]
        key: Option<String>,
    },
    /// Create, list and revoke API keys.
    Keys {
        #[command(subcommand)]
        action: keys_cli::KeysCommand,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Fill the database with a realistic, deterministic demo dataset.
    Demo {
        /// How many customers.
        #[arg(long, default_value_t = 10_000)]
        customers: usize,
        /// Seed: the same seed gives the same data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Also write each customer's planted community to this CSV file.
        #[arg(long, value_name = "FILE")]
        planted: Option<PathBuf>,
        /// Only write import files (customers, interactions, ties, needs) to this folder,
        /// without touching the database: the benchmark data.
        #[arg(long, value_name = "DIR")]
        write_files: Option<PathBuf>,
        /// Format of the files written with --write-files.
        #[arg(long, value_enum, default_value = "csv")]
        format: FormatArg,
        /// Share of customers (0 to 1) that arrive again from another system with realistic
        /// noise (typos, short names, missing fields, moved house, another email); which
        /// records copy which goes to `duplicates.csv` beside the files.
        #[arg(long, default_value_t = 0.0)]
        duplicates: f64,
    },
    /// Find customers that are one person although they share no identifier (probabilistic
    /// matching over every customer): merge those above identity.auto_merge_probability,
    /// queue those above identity.review_probability for review.
    Resolve {
        /// Report what would be merged and suggested, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Runs one plugin library in this process for a server that isolates it (started by
    /// the server, talking on standard input; not for people).
    #[command(hide = true)]
    PluginWorker {
        /// The plugin's name in the settings.
        #[arg(long)]
        name: String,
        /// The library.
        #[arg(long)]
        library: PathBuf,
        /// Its pinned SHA-256.
        #[arg(long)]
        sha256: Option<String>,
        /// The address-space limit, in megabytes.
        #[arg(long)]
        max_memory_mb: Option<u64>,
    },
}

/// What `kindred plugins` can do besides listing.
#[derive(Subcommand)]
enum PluginsAction {
    /// Ask the running server to read `[[plugins]]` again (as SIGHUP does): rebuilt libraries
    /// are loaded beside the old ones and their segmentations refitted.
    Reload,
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Customers,
    Interactions,
    Ties,
    Needs,
}

impl From<KindArg> for ImportKind {
    fn from(kind: KindArg) -> Self {
        match kind {
            KindArg::Customers => ImportKind::Customers,
            KindArg::Interactions => ImportKind::Interactions,
            KindArg::Ties => ImportKind::Ties,
            KindArg::Needs => ImportKind::Needs,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Csv,
    Ndjson,
}

impl From<FormatArg> for Format {
    fn from(format: FormatArg) -> Self {
        match format {
            FormatArg::Csv => Format::Csv,
            FormatArg::Ndjson => Format::Ndjson,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::PluginWorker { name, library, sha256, max_memory_mb } = cli.command {
        // No settings, no runtime, no logging on standard output: the socket is the interface.
        let options = kindred_plugin_host::worker::WorkerOptions { name, library, sha256, max_memory_mb };
        return ExitCode::from(u8::try_from(kindred_plugin_host::worker::serve(&options)).unwrap_or(1));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // Blocking work still running (a plugin call that cannot be interrupted) must not hold
    // the process: whatever mattered is committed or was never written.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match result {
        Ok(code) => code,
        Err(error) => {
            // One line with every cause, without the backtrace anyhow's Debug form adds:
            // the operator needs the reason, not our call stack.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Schema = cli.command {
        print!("{}", kindred_graphql::sdl());
        return Ok(ExitCode::SUCCESS);
    }
    let settings = Settings::load(cli.config.as_deref())?;
    logging::init(&settings.log);
    match cli.command {
        Command::Schema | Command::PluginWorker { .. } => {}
        Command::Serve { demo, customers, seed } => {
            let demo = demo.then_some(DemoOptions { customers, seed, planted: None, duplicates: 0.0 });
            serve::serve(settings, demo).await?;
        }
        Command::Plugins { action, server, key } => {
            let client = plugins_cli::ServerClient::new(&settings, server, key)?;
            return match action {
                None => plugins_cli::list(&settings, &client).await,
                Some(PluginsAction::Reload) => plugins_cli::reload(&client).await,
            };
        }
        Command::Keys { action } => {
            let store = serve::open_store(&settings).await?;
            let result = keys_cli::run(&store, action).await;
            store.close().await?;
            print!("{}", result?);
        }
        Command::Migrate => {
            serve::open_store(&settings).await?.close().await?;
            println!("migrations applied to {}", settings.database.url);
        }
        Command::Import { kind, file, format, allow_erased, blank_invalid_fields } => {
            // An import writes through one connection at a time; a small pool keeps SQLite's
            // per-connection page caches (and so memory) bounded.
            let mut settings = settings;
            settings.database.max_connections = settings.database.max_connections.min(2);
            let store = serve::open_store(&settings).await?;
            let kind = ImportKind::from(kind);
            let options = ImportOptions {
                allow_erased,
                blank_invalid_fields,
                max_amount: Some(settings.data.max_amount),
                phone_region: settings.identity.phone_region()?,
                ..ImportOptions::default()
            };
            let before = store.last_customer_id().await?;
            let summary = import::import_file(&store, kind, &file, format.map(Format::from), options).await?;
            println!("{}", import::describe(kind, &summary));
            // New customers may be people already known under no shared identifier.
            if kind == ImportKind::Customers && settings.identity.resolve_after_import && summary.imported > 0
            {
                let report =
                    store.resolve_new_identities(settings.identity.matching()?, before, "import").await?;
                println!("{}", identity_report(&report));
            }
            store.close().await?;
        }
        Command::Export { segmentation, segment, output } => {
            let store = serve::open_store(&settings).await?;
            let target = export::resolve(&store, &segmentation, segment.as_deref(), true).await?;
            let rows = export::export_to(&store, target, output.as_deref()).await?;
            if let Some(output) = output {
                eprintln!("wrote {rows} members to {}", output.display());
            }
            store.close().await?;
        }
        Command::Resolve { dry_run } => {
            let store = serve::open_store(&settings).await?;
            // Each stage as it starts, on stderr: a pass over millions takes a while.
            let last = std::sync::Mutex::new("");
            let progress: kindred_store::identity::ResolveProgress =
                std::sync::Arc::new(move |stage, _, total| {
                    let mut last = last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if *last != stage {
                        *last = stage;
                        if total > 0 {
                            eprintln!("resolve: {stage} ({total})")
                        } else {
                            eprintln!("resolve: {stage}")
                        }
                    }
                });
            let matching = settings.identity.matching()?;
            let report = store.resolve_identities_tracked(matching, dry_run, "resolve", progress).await?;
            println!("{}", identity_report(&report));
            store.close().await?;
        }
        Command::Demo { customers, seed, planted, write_files, format, duplicates } => match write_files {
            Some(folder) => {
                let config = kindred_demo::DemoConfig { customers, seed, duplicates, ..Default::default() };
                std::fs::create_dir_all(&folder)?;
                let format = match format {
                    FormatArg::Csv => kindred_demo::FileFormat::Csv,
                    FormatArg::Ndjson => kindred_demo::FileFormat::Ndjson,
                };
                let (_, stats) = kindred_demo::write_demo(&config, &folder, format)?;
                println!("wrote {stats:?} to {}", folder.display());
            }
            None => {
                let store = serve::open_store(&settings).await?;
                demo::load_demo(&store, &DemoOptions { customers, seed, planted, duplicates }).await?;
                store.close().await?;
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}

/// The summary `kindred resolve` prints.
fn identity_report(report: &kindred_store::identity::ResolveReport) -> String {
    let (read, matched, written) = report.seconds;
    format!(
        "{}customers {}, pairs compared {}, blocks too large {}, groups {}, merged {}, suggested {}; \
         read {read:.2} s, matched {matched:.2} s, written {written:.2} s",
        if report.dry_run { "dry run (nothing changed): " } else { "" },
        report.customers,
        report.pairs_compared,
        report.blocks_skipped,
        report.groups,
        report.merged,
        report.suggested,
    )
}

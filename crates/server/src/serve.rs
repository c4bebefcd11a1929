//! `kindred serve`: migrate, optionally fill with demo data, then serve until a signal.

use crate::auth::{Gate, KeyRing};
use crate::config::Settings;
use crate::demo::{DemoOptions, create_demo_segmentations, load_demo};
use crate::http::router;
use crate::state::{AppState, Limits, Shutdown};
use anyhow::Context;
use kindred_graphql::audit::AuditLog;
use kindred_graphql::heavy::HeavyWork;
use kindred_graphql::plugins::PluginSettingsSource;
use kindred_store::{Store, StoreOptions};
use std::sync::Arc;
use std::time::Duration;

/// Opens the store named by the settings and applies migrations.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let options = StoreOptions {
        max_connections: settings.database.max_connections,
        slow_statement: Duration::from_millis(settings.database.slow_statement_ms),
        schema: None,
    };
    let store = Store::connect_with(&settings.database.url, &options)
        .await
        .with_context(|| format!("cannot open the database at {}", settings.database.url))?;
    store.migrate().await.context("cannot apply migrations")?;
    Ok(store.with_identity(settings.identity.policy()?))
}

/// Makes sure this is the only server on a SQLite file: holds an exclusive lock on
/// `<file>.serve.lock` for the life of the process (the system releases it when the process
/// ends, however it ends). SQLite lets one server keep its segments true; several servers
/// need PostgreSQL. `kindred import`, `export` and `keys` do not take it, so they run beside
/// the server. Nothing to hold for PostgreSQL.
fn hold_sqlite_file(url: &str) -> anyhow::Result<Option<std::fs::File>> {
    let Some(path) = kindred_store::sqlite_path(url) else { return Ok(None) };
    let lock_path = std::path::PathBuf::from(format!("{path}.serve.lock"));
    if let Some(folder) = lock_path.parent().filter(|folder| !folder.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).with_context(|| format!("cannot create {}", folder.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another `kindred serve` is already running on the SQLite file {path} (it holds {}): SQLite serves \
             one server; stop the other, give this one another database.url, or run several servers on one \
             PostgreSQL (`kindred import`, `export` and `keys` work beside the running server)",
            lock_path.display()
        ),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(error).with_context(|| format!("cannot lock {}", lock_path.display()))
        }
    }
}

/// Runs the server until SIGINT or SIGTERM.
pub async fn serve(settings: Settings, demo: Option<DemoOptions>) -> anyhow::Result<()> {
    crate::metrics::install();
    let _only_server = hold_sqlite_file(&settings.database.url)?;
    // The port first: a port in use is reported at once, not after migrations and demo data.
    let listener = bind(&settings.server.bind).await?;
    let store = open_store(&settings).await?;
    let mut demo_loaded = false;
    if let Some(demo) = demo {
        if store.count_customers().await? == 0 {
            tracing::info!(customers = demo.customers, "empty database: loading demo data");
            load_demo(&store, &demo).await?;
            demo_loaded = true;
        } else {
            tracing::info!("database has customers: demo data not loaded");
        }
    }
    let plugins = crate::plugins::load_plugins(&settings).await;
    let gate_settings = settings.gate()?;
    let engine = kindred_engine::Engine::start(store.clone(), plugins.clone(), settings.engine()?)
        .await
        .context("cannot start the segmentation engine")?;
    if demo_loaded {
        create_demo_segmentations(&engine, &plugins, &store).await;
    }
    let (audit, audit_writer) = AuditLog::start(store.clone());
    let heavy = HeavyWork::new(settings.heavy()?);
    let reread = settings.clone();
    let plugin_settings = PluginSettingsSource(Arc::new(move || {
        reread.reload_plugins().map_err(|error| format!("cannot read the settings again: {error:#}"))
    }));
    tokio::spawn(crate::plugins::reload_on_hangup(engine.clone(), plugin_settings.clone()));
    let schema = kindred_graphql::build_server_schema(
        store.clone(),
        plugins,
        Some(engine.clone()),
        audit,
        heavy.clone(),
        kindred_graphql::InputRules {
            max_amount: settings.data.max_amount,
            phone_region: settings.identity.phone_region()?,
            auto_merge_probability: settings.identity.auto_merge_probability,
            review_probability: settings.identity.review_probability,
        },
        plugin_settings,
    );
    let limits = Limits {
        max_body_bytes: settings.server.max_body_bytes,
        timeout: Duration::from_secs(settings.server.request_timeout_secs),
    };
    let (stop, shutdown) = Shutdown::new();
    let gate = Gate::new(gate_settings, KeyRing::new(store.clone()));
    let app = router(AppState { store: store.clone(), schema, shutdown, gate, limits, heavy });
    let address = listener.local_addr()?;
    tracing::info!(%address, database = %settings.database.url, "kindred is serving the dashboard at http://{address}/ and GraphQL at http://{address}/graphql");
    if gate_settings.enabled {
        let active = store.api_keys().await?.iter().filter(|key| key.revoked_at.is_none()).count();
        tracing::info!(keys = active, "API keys are required (Authorization: Bearer <key>)");
        if active == 0 {
            tracing::warn!(
                "there is no API key yet: create one with `kindred keys create --role admin --name NAME`"
            );
        }
    } else {
        tracing::warn!(
            %address,
            "authentication is off: anyone who can reach {address} can read and change everything \
             (allowed only on a loopback address; set auth.enabled = true to require API keys)"
        );
    }
    let grace = Duration::from_secs(settings.server.shutdown_grace_secs);
    let stopping_engine = engine.clone();
    let stopping = async move {
        shutdown_signal().await;
        exit_after(grace);
        // Refits stop between plugin calls; their memberships stay as they were.
        stopping_engine.cancel_all();
        let _ = stop.send(true);
    };
    let header_read_timeout = Duration::from_secs(settings.server.header_read_timeout_secs);
    crate::listen::serve(listener, app, header_read_timeout, grace, stopping).await;
    tracing::info!("shutting down");
    engine.leave().await;
    audit_writer.finish().await;
    store.close().await?;
    Ok(())
}

/// Makes sure the process ends `grace` after a stop signal, whatever is still running: a
/// plugin call cannot be interrupted, so one that has not returned by then is abandoned with
/// the process. Everything written so far is committed; nothing half-written is (every write
/// is one transaction).
fn exit_after(grace: Duration) {
    let watchdog = std::thread::Builder::new().name("shutdown-deadline".to_owned()).spawn(move || {
        std::thread::sleep(grace);
        eprintln!(
            "error: still busy {grace:?} after the stop signal (server.shutdown_grace_secs): exiting now"
        );
        std::process::exit(1);
    });
    if let Err(error) = watchdog {
        tracing::warn!(%error, "cannot start the shutdown deadline");
    }
}

/// Listens on `address`, with one clear line when that cannot be done.
async fn bind(address: &str) -> anyhow::Result<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(address).await {
        Ok(listener) => Ok(listener),
        Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => {
            anyhow::bail!("{address} is in use: set server.bind or KINDRED__SERVER__BIND")
        }
        Err(error) if error.kind() == std::io::ErrorKind::PermissionDenied => {
            anyhow::bail!(
                "{address} may not be used by this user ({error}): set server.bind or KINDRED__SERVER__BIND"
            )
        }
        Err(error) => {
            anyhow::bail!("cannot listen on {address} ({error}): set server.bind or KINDRED__SERVER__BIND")
        }
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}

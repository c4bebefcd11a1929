//! A harness for end-to-end tests: runs the real `kindred` binary in a temporary folder and
//! talks GraphQL to it. `cargo test --workspace` builds the binary before any test runs
//! (the server crate's own integration tests make cargo build it).

mod browser;
pub mod databases;
pub mod metrics;
mod receiver;
mod subscription;
mod test_tls;
pub use browser::Browser;
pub use receiver::{Received, Receiver};
pub use subscription::Subscription;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `kindred` binary next to this test executable.
pub fn kindred_binary() -> PathBuf {
    let binary = build_folder().join(format!("kindred{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: run the tests with `cargo test --workspace`, which builds it",
        binary.display()
    );
    binary
}

/// The folder cargo builds into for this test run (`target/<profile>`).
pub fn build_folder() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> (a test) or target/<profile>/<bin> (a bench binary)
    let folder = exe.parent().expect("target folder");
    let profile = if folder.ends_with("deps") { folder.parent().expect("target folder") } else { folder };
    profile.to_path_buf()
}

/// The packages whose libraries the end-to-end tests load: the in-tree plugins and the
/// deliberately wrong fixtures.
const PLUGIN_PACKAGES: [&str; 7] = [
    "kindred-plugin-demographic",
    "kindred-plugin-behavioral",
    "kindred-plugin-need-based",
    "kindred-fixture-no-symbol",
    "kindred-fixture-other-abi",
    "kindred-fixture-bad-output",
    "kindred-fixture-misbehaving",
];

/// Builds the plugin libraries once per test process. `cargo test` builds the workspace's
/// libraries for testing but does not link `cdylib`s; this asks cargo (the one running the
/// tests, which has released its lock by now) to build them, into the same folder.
fn build_plugins() {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let mut command = Command::new(cargo);
        command.arg("build").arg("--manifest-path").arg(manifest).arg("--quiet");
        for package in PLUGIN_PACKAGES {
            command.args(["-p", package]);
        }
        if build_folder().file_name().is_some_and(|name| name == "release") {
            command.arg("--release");
        }
        let status = command.status().expect("run cargo build for the plugins");
        assert!(status.success(), "building the plugin libraries failed");
    });
}

/// A plugin library built from the workspace, by library name (`kindred_demographic`).
pub fn plugin_library(name: &str) -> PathBuf {
    build_plugins();
    let path = build_folder().join(format!(
        "{}{name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(path.exists(), "{} is missing: run the tests with `cargo test --workspace`", path.display());
    path
}

/// A `[[plugins]]` entry for a settings file.
pub fn plugin_entry(name: &str, path: &Path, extra: &str) -> String {
    format!("[[plugins]]\nname = {name:?}\npath = {:?}\n{extra}\n", path.display().to_string())
}

/// `[[plugins]]` entries for the three real strategies, under their own names.
pub fn real_plugins() -> String {
    [
        plugin_entry("demographic", &plugin_library("kindred_demographic"), ""),
        plugin_entry("behavioral", &plugin_library("kindred_behavioral"), ""),
        plugin_entry("need-based", &plugin_library("kindred_need_based"), ""),
    ]
    .concat()
}

/// A folder with a database (SQLite in the folder, or a PostgreSQL database of its own) that
/// `kindred` commands share.
pub struct Workspace {
    folder: tempfile::TempDir,
    database_url: String,
    /// The loopback port its server listens on, which its commands reach it at.
    port: u16,
    /// The PostgreSQL database created for it, dropped with it: (server URL, database).
    postgres: Option<(String, String)>,
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

impl Workspace {
    /// A fresh folder; the database is created in it on first use.
    pub fn new() -> Self {
        let folder = tempfile::tempdir().expect("temp dir");
        let database_url = format!("sqlite://{}/data/kindred.db", folder.path().display());
        Self { folder, database_url, port: free_port(), postgres: None }
    }

    /// A fresh folder whose commands use a new PostgreSQL database on the server of
    /// `KINDRED_TEST_POSTGRES_URL` (dropped with the workspace), or `None` when it is not set
    /// (said on standard error; CI requires it).
    pub async fn on_postgres(test: &str) -> Option<Self> {
        use sea_orm::ConnectionTrait;
        let url = databases::postgres_url(test)?;
        let name = databases::unique_name("kindred_e2e", test);
        let admin = sea_orm::Database::connect(&url).await.expect("connect to PostgreSQL");
        admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create a database");
        let (server, _) = url.rsplit_once('/').expect("a PostgreSQL URL names a database");
        let mut workspace = Self::new();
        workspace.database_url = format!("{server}/{name}");
        workspace.postgres = Some((url, name));
        Some(workspace)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.folder.path()
    }

    /// Writes a file into the folder and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, contents).expect("write file");
        path
    }

    /// A `kindred` command running in the folder against its database.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(kindred_binary());
        command
            .args(args)
            .current_dir(self.path())
            .env("KINDRED__DATABASE__URL", &self.database_url)
            .env("KINDRED__SERVER__BIND", format!("127.0.0.1:{}", self.port))
            .env("KINDRED__LOG__LEVEL", "warn")
            .env_remove("RUST_LOG");
        command
    }

    /// Runs a command to the end.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run kindred")
    }

    /// Runs `kindred keys create` and returns the key it printed.
    pub fn create_key(&self, role: &str, name: &str) -> String {
        let output = self.run(&["keys", "create", "--role", role, "--name", name]);
        assert!(output.status.success(), "keys create failed: {}", String::from_utf8_lossy(&output.stderr));
        let printed = String::from_utf8(output.stdout).expect("utf-8");
        printed.lines().next().expect("the key is printed first").trim().to_owned()
    }

    /// Starts `kindred serve` on the workspace's loopback port (where its other commands
    /// reach it) and waits until it is ready.
    pub async fn serve(&self, extra: &[&str]) -> Server {
        let port = self.port;
        let mut args = vec!["serve"];
        args.extend_from_slice(extra);
        let child = self
            .command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start kindred serve");
        let server = Server { child, base: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new() };
        server.wait_ready(Duration::from_secs(60)).await;
        server
    }
}

impl Workspace {
    /// Starts another `kindred serve` on the workspace's database, on a port of its own, with
    /// `env` set (say `KINDRED__CLUSTER__SERVER_ID`), and waits until it is ready: one of
    /// several servers sharing one PostgreSQL.
    pub async fn serve_replica(&self, env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let mut command = self.command(&["serve"]);
        command.env("KINDRED__SERVER__BIND", format!("127.0.0.1:{port}"));
        for (name, value) in env {
            command.env(name, value);
        }
        let child =
            command.stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().expect("start kindred serve");
        let server = Server { child, base: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new() };
        server.wait_ready(Duration::from_secs(60)).await;
        server
    }
}

pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// A running `kindred serve`, stopped when dropped.
pub struct Server {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Server {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn wait_ready(&self, limit: Duration) {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(response) = self.http.get(format!("{}/ready", self.base)).send().await
                && response.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("kindred serve was not ready within {limit:?}");
    }

    /// Sends a GraphQL request and returns the whole JSON response.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.http
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("send GraphQL request")
            .json()
            .await
            .expect("GraphQL response is JSON")
    }

    /// Sends a GraphQL request with `key` as bearer token (none: no header); returns the HTTP
    /// status, the `Retry-After` header and the JSON body.
    pub async fn graphql_with_key(
        &self,
        key: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (u16, Option<String>, Value) {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.expect("send GraphQL request");
        let status = response.status().as_u16();
        let retry = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = response.json().await.unwrap_or(Value::Null);
        (status, retry, body)
    }

    /// Sends `GET path` with `key` as bearer token (none: no header); returns the HTTP status
    /// and the body as text.
    pub async fn get(&self, path: &str, key: Option<&str>) -> (u16, String) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.expect("send GET request");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// Like [`graphql`](Self::graphql), but fails on errors and returns `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let response = self.graphql(query, variables).await;
        assert!(response.get("errors").is_none(), "GraphQL errors: {response}");
        response["data"].clone()
    }

    /// Kills the process with SIGKILL, as a crash or `kill -9` does (nothing runs after),
    /// and waits for it to be gone.
    pub fn kill_hard(mut self) {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-KILL", &pid]).status();
        assert!(killed.is_ok_and(|status| status.success()), "kill -9 {pid} failed");
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited cleanly.
    pub fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let Some((url, name)) = self.postgres.take() else { return };
        // A runtime of its own on a thread of its own: a drop may run inside a test's runtime.
        let dropped = std::thread::spawn(move || {
            use sea_orm::ConnectionTrait;
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let admin = sea_orm::Database::connect(&url).await.ok()?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
                    .ok()
            })
        });
        let _ = dropped.join();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Creates the DYNAMIC behavioral segmentation "big spenders" (customers who spent over 1,000
/// on purchases in the last year) on `server`; returns its id.
pub async fn create_big_spenders(server: &Server) -> String {
    let params = json!({ "method": "rules", "rules": [{ "label": "big spenders", "when": {
        "agg": "sum", "of": "amount", "where": { "kind": "purchase" }, "within_days": 365, "op": "gt", "value": 1000 } }] });
    let input = json!({ "i": { "name": "big spenders", "strategy": "behavioral", "params": params, "mode": "DYNAMIC" } });
    let create = "mutation($i: CreateSegmentationInput!) { createSegmentation(input: $i) { id } }";
    let created = server.data(create, input).await;
    created["createSegmentation"]["id"].as_str().expect("id").to_owned()
}

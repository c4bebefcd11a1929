//! `kindred plugins` and `kindred plugins reload`: ask the running server (GraphQL over HTTP
//! at `server.bind`), and compare what it runs with the libraries on disk.

use crate::config::Settings;
use crate::plugins::{any_refused, describe, load_plugins};
use anyhow::Context;
use kindred_plugin_host::sha256_hex;
use serde_json::{Value, json};
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

/// What the server is asked for `kindred plugins`.
const PLUGINS_QUERY: &str = "{ plugins { name status strategy version abiVersion sdkVersion path sha256 \
loadedFrom buildsLoaded error description failures { count lastError } } }";

/// What the server is asked for `kindred plugins reload`.
const RELOAD_MUTATION: &str =
    "mutation { reloadPlugins { plugins { name outcome sha256 error } refittedSegmentations } }";

/// The longest the command line waits for the server's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// How the command line reaches the running server.
pub struct ServerClient {
    endpoint: String,
    key: Option<String>,
    http: reqwest::Client,
}

/// Why the server's answer is not there.
enum Unanswered {
    /// Nothing listens there.
    NoServer(String),
    /// A server answered with a refusal or errors.
    Refused(String),
}

/// `http://` + the address a client on this machine reaches `bind` at (a wildcard bind is
/// reached on loopback).
fn base_url(bind: &str) -> anyhow::Result<String> {
    let address: SocketAddr =
        bind.parse().with_context(|| format!("server.bind: {bind:?} is not host:port"))?;
    let ip = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    Ok(format!("http://{}", SocketAddr::new(ip, address.port())))
}

impl ServerClient {
    /// A client of the server at `server` (a base URL), else at the settings' `server.bind`,
    /// sending `key` as the bearer token when given.
    pub fn new(settings: &Settings, server: Option<String>, key: Option<String>) -> anyhow::Result<Self> {
        let base = match server {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => base_url(&settings.server.bind)?,
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(ANSWER_TIMEOUT)
            .build()
            .context("cannot build an HTTP client")?;
        Ok(Self { endpoint: format!("{base}/graphql"), key, http })
    }

    async fn graphql(&self, query: &str) -> Result<Value, Unanswered> {
        let mut request = self.http.post(&self.endpoint).json(&json!({ "query": query }));
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|error| {
            if error.is_connect() {
                Unanswered::NoServer(format!("no server answers at {}", self.endpoint))
            } else if error.is_timeout() {
                Unanswered::Refused(format!(
                    "{} did not answer within {} s; what it was asked may still be under way (see its log)",
                    self.endpoint,
                    ANSWER_TIMEOUT.as_secs()
                ))
            } else {
                Unanswered::Refused(format!("{}: {error}", self.endpoint))
            }
        })?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|error| {
            Unanswered::Refused(format!("{}: {status}, not a GraphQL answer: {error}", self.endpoint))
        })?;
        if let Some(errors) = body.get("errors").and_then(Value::as_array).filter(|errors| !errors.is_empty())
        {
            let messages: Vec<String> = errors
                .iter()
                .map(|error| {
                    let code = error.pointer("/extensions/code").and_then(Value::as_str).unwrap_or("ERROR");
                    format!("{code}: {}", error.get("message").and_then(Value::as_str).unwrap_or("?"))
                })
                .collect();
            let hint = if status == reqwest::StatusCode::UNAUTHORIZED {
                " (pass an API key with --key or KINDRED_API_KEY)"
            } else {
                ""
            };
            return Err(Unanswered::Refused(format!(
                "{} answered {status}: {}{hint}",
                self.endpoint,
                messages.join("; ")
            )));
        }
        body.get("data")
            .cloned()
            .ok_or_else(|| Unanswered::Refused(format!("{} answered {status} without data", self.endpoint)))
    }
}

fn text<'a>(value: &'a Value, field: &str) -> Option<&'a str> {
    value.get(field).and_then(Value::as_str)
}

/// `kindred plugins`: what the running server has loaded, and the libraries on disk; or,
/// with no server running, what these settings load (in this process).
pub async fn list(settings: &Settings, client: &ServerClient) -> anyhow::Result<ExitCode> {
    let running = match client.graphql(PLUGINS_QUERY).await {
        Ok(data) => data.get("plugins").and_then(Value::as_array).cloned().unwrap_or_default(),
        Err(Unanswered::NoServer(why)) => {
            println!("{why}; what these settings load:\n");
            let host = load_plugins(settings).await;
            let plugins = host.plugins();
            print!("{}", describe(&plugins));
            if any_refused(&plugins) {
                eprintln!("error: a plugin the settings enable was refused (see its error above)");
                return Ok(ExitCode::FAILURE);
            }
            return Ok(ExitCode::SUCCESS);
        }
        Err(Unanswered::Refused(why)) => {
            eprintln!("error: {why}");
            print!("{}", on_disk(settings, &[]));
            return Ok(ExitCode::FAILURE);
        }
    };
    print!("{}", server_view(&running, &client.endpoint));
    print!("{}", on_disk(settings, &running));
    let refused = running.iter().any(|plugin| text(plugin, "status") == Some("REFUSED"));
    if refused {
        eprintln!("error: the server refused a plugin the settings enable (see its error above)");
    }
    Ok(if refused { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// The plugins the server runs, one block each.
fn server_view(plugins: &[Value], endpoint: &str) -> String {
    let mut out = format!("the server at {endpoint} runs:\n");
    if plugins.is_empty() {
        out.push_str("  no plugins\n");
    }
    for plugin in plugins {
        let field = |name| text(plugin, name).unwrap_or("-");
        let _ = writeln!(out, "{}  {}\n  path: {}", field("name"), field("status"), field("path"));
        if let Some(strategy) = text(plugin, "strategy") {
            let _ = writeln!(
                out,
                "  strategy: {strategy} {} (ABI {}, SDK {})\n  {}",
                field("version"),
                field("abiVersion"),
                field("sdkVersion"),
                field("description")
            );
            let builds = plugin.get("buildsLoaded").and_then(Value::as_i64).unwrap_or(0);
            let _ = writeln!(
                out,
                "  build: sha256 {} from {} ({builds} in process)",
                field("sha256"),
                field("loadedFrom")
            );
        }
        if let Some(failures) =
            plugin.pointer("/failures/count").and_then(Value::as_i64).filter(|count| *count > 0)
        {
            let last = plugin.pointer("/failures/lastError").and_then(Value::as_str).unwrap_or("");
            let _ = writeln!(out, "  failed calls: {failures} (last: {last})");
        }
        if let Some(error) = text(plugin, "error") {
            let _ = writeln!(out, "  error: {error}");
        }
    }
    out
}

/// The libraries the settings name, read now, against the builds the server runs.
fn on_disk(settings: &Settings, running: &[Value]) -> String {
    let mut out = String::from("\non disk (the settings as they are now):\n");
    if settings.plugins.is_empty() {
        out.push_str("  no plugins are listed in the settings ([[plugins]])\n");
    }
    for config in &settings.plugins {
        let path = config.resolved_path(&settings.base_dir);
        let serving = running.iter().find(|plugin| text(plugin, "name") == Some(config.name.as_str()));
        let note = match (sha256_hex(&path), serving.and_then(|plugin| text(plugin, "sha256"))) {
            (Err(error), _) => format!("cannot be read: {error}"),
            (Ok(hash), _) if !config.enabled => format!("sha256 {hash}, disabled in the settings"),
            (Ok(hash), Some(serving)) if serving == hash => {
                format!("sha256 {hash}, the build the server runs")
            }
            (Ok(hash), Some(_)) => {
                format!("sha256 {hash}, NOT the build the server runs: `kindred plugins reload` loads it")
            }
            (Ok(hash), None) if serving.is_some() => {
                format!("sha256 {hash}; the server runs no build of it: `kindred plugins reload` tries again")
            }
            (Ok(hash), None) if running.is_empty() => format!("sha256 {hash}"),
            (Ok(hash), None) => {
                format!("sha256 {hash}; not in the server's list: `kindred plugins reload` loads it")
            }
        };
        let _ = writeln!(out, "{}  {}\n  {note}", config.name, path.display());
    }
    out
}

/// `kindred plugins reload`: asks the running server to read `[[plugins]]` again.
pub async fn reload(client: &ServerClient) -> anyhow::Result<ExitCode> {
    let data = match client.graphql(RELOAD_MUTATION).await {
        Ok(data) => data,
        Err(Unanswered::NoServer(why)) => {
            eprintln!("error: {why}: start it with `kindred serve`, which loads the plugins as they are");
            return Ok(ExitCode::FAILURE);
        }
        Err(Unanswered::Refused(why)) => {
            eprintln!("error: {why}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let reloaded = data.get("reloadPlugins").cloned().unwrap_or_default();
    let plugins = reloaded.get("plugins").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut failed = false;
    for plugin in &plugins {
        let outcome = text(plugin, "outcome").unwrap_or("?");
        failed |= matches!(outcome, "KEPT" | "REFUSED");
        print!("{}  {outcome}", text(plugin, "name").unwrap_or("?"));
        if let Some(hash) = text(plugin, "sha256") {
            print!("  sha256 {hash}");
        }
        println!();
        if let Some(error) = text(plugin, "error") {
            println!("  error: {error}");
        }
    }
    let refitted: Vec<&str> = reloaded
        .get("refittedSegmentations")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !refitted.is_empty() {
        println!("refitting segmentations {} with the reloaded plugins", refitted.join(", "));
    }
    if failed {
        eprintln!("error: a plugin's new build or settings were refused (see its error above)");
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_bind_is_reached_on_loopback() {
        assert_eq!(base_url("0.0.0.0:8080").unwrap(), "http://127.0.0.1:8080");
        assert_eq!(base_url("[::]:9000").unwrap(), "http://[::1]:9000");
        assert_eq!(base_url("10.1.2.3:80").unwrap(), "http://10.1.2.3:80");
        assert!(base_url("localhost").is_err());
    }
}

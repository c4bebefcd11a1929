//! The third-party path: the template at examples/strategy-template, outside the workspace,
//! built on its own like an author would, is loaded by the real server and segments; the same
//! template built with panic = "abort" is refused.

use kindred_e2e::{Workspace, build_folder, plugin_entry};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds the template with extra cargo arguments and copies the library to `into`.
fn build_template(extra: &[&str], into: &Path) -> PathBuf {
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/strategy-template");
    // Its own target folder: the template is its own workspace with its own lock file.
    let target = build_folder().join("../strategy-template");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .arg("build")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(template.join("Cargo.toml"))
        .args(extra)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("run cargo build for the template");
    assert!(status.success(), "building the template failed");
    let name = format!("{}favourite_channel{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    std::fs::copy(target.join("debug").join(&name), into).expect("copy the template library");
    into.to_path_buf()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_template_builds_loads_and_segments() {
    let workspace = Workspace::new();
    let unwinding = build_template(&[], &workspace.path().join("libfavourite.so"));
    let aborting = build_template(
        &["--config", "profile.dev.panic=\"abort\""],
        &workspace.path().join("libaborting.so"),
    );
    // Relative paths start at the settings file's folder.
    let settings = [
        plugin_entry("favourite-channel", Path::new("libfavourite.so"), ""),
        plugin_entry("aborting", Path::new("libaborting.so"), ""),
    ]
    .concat();
    workspace.write("kindred.toml", &settings);
    assert!(unwinding.exists() && aborting.exists());

    let server = workspace.serve(&["--demo", "--customers", "200"]).await;
    let plugins = server.data("{ plugins { name status error strategy } }", json!({})).await;
    let plugins = plugins["plugins"].as_array().expect("plugins").clone();
    assert_eq!(plugins[0]["status"], "LOADED", "{plugins:?}");
    assert_eq!(plugins[0]["strategy"], "favourite-channel");
    assert_eq!(plugins[1]["status"], "REFUSED", "{plugins:?}");
    let error = plugins[1]["error"].as_str().unwrap_or_default();
    assert!(error.contains("panic strategy") && error.contains("panic = \"abort\""), "{error}");

    let preview = server
        .data(
            "{ previewSegmentation(strategy: \"favourite-channel\", params: {window_days: 3650}) { customers excludedCustomers segments { label size } } }",
            json!({}),
        )
        .await;
    let preview = &preview["previewSegmentation"];
    // Every demo customer is seen, but those who refused profiling.
    let seen = preview["customers"].as_i64().expect("customers");
    let excluded = preview["excludedCustomers"].as_i64().expect("excluded customers");
    assert_eq!(seen + excluded, 200, "{preview}");
    assert!(seen > 0 && excluded > 0, "{preview}");
    let labels: Vec<&str> = preview["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .filter_map(|s| s["label"].as_str())
        .collect();
    assert!(
        labels.iter().any(|label| ["store", "web", "email", "social", "support"].contains(label)),
        "{labels:?}"
    );
    assert!(server.terminate());
}

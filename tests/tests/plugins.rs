//! Plugins end to end: the real server loads the real strategy libraries named in its
//! settings, refuses wrong ones with a clear reason, runs strategies, and keeps serving when a
//! plugin misbehaves.

use kindred_e2e::{Workspace, plugin_entry, plugin_library};
use serde_json::{Value, json};

const PLUGINS: &str =
    "{ plugins { name strategy version abiVersion sdkVersion status error path paramsSchema } }";
const PREVIEW: &str = "query($s: String!, $p: JSON) { previewSegmentation(strategy: $s, params: $p) { customers excludedCustomers assignedCustomers memberships segments { label size } model } }";

fn by_name<'a>(plugins: &'a Value, name: &str) -> &'a Value {
    plugins
        .as_array()
        .and_then(|all| all.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("no plugin {name} in {plugins}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn real_plugins_load_and_wrong_ones_are_refused() {
    let workspace = Workspace::new();
    let demographic = plugin_library("kindred_demographic");
    let copy = workspace.path().join("libdemographic_copy.so");
    std::fs::copy(&demographic, &copy).expect("copy the demographic library");
    let settings = [
        plugin_entry("demographic", &demographic, ""),
        plugin_entry("behavioral", &plugin_library("kindred_behavioral"), "params = { window_days = 180 }"),
        plugin_entry("need-based", &plugin_library("kindred_need_based"), ""),
        plugin_entry("ghost", &workspace.path().join("libghost.so"), ""),
        plugin_entry("off", &demographic, "enabled = false"),
        plugin_entry("pinned", &demographic, &format!("sha256 = \"{}\"", "0".repeat(64))),
        plugin_entry("no-symbol", &plugin_library("kindred_fixture_no_symbol"), ""),
        plugin_entry("future", &plugin_library("kindred_fixture_other_abi"), ""),
        plugin_entry("bad-defaults", &demographic, "params = { dimensions = [\"age\", 7] }"),
        plugin_entry("twin", &copy, ""),
    ]
    .concat();
    workspace.write("kindred.toml", &settings);

    // Refused plugins are listed with their reason, and the command fails so scripts notice.
    let listing = workspace.run(&["plugins"]);
    assert_eq!(listing.status.code(), Some(1), "kindred plugins must fail when one is refused: {listing:?}");
    assert!(String::from_utf8_lossy(&listing.stderr).contains("was refused"), "{listing:?}");
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains("demographic  LOADED") && listing.contains("ghost  REFUSED"), "{listing}");
    assert!(listing.contains("off  DISABLED"), "{listing}");
    // Only loaded and disabled ones: success.
    let fine = workspace.write(
        "fine.toml",
        &[
            plugin_entry("demographic", &demographic, ""),
            plugin_entry("off", &demographic, "enabled = false"),
        ]
        .concat(),
    );
    let listing = workspace.run(&["plugins", "--config", &fine.to_string_lossy()]);
    assert!(listing.status.success(), "{listing:?}");

    let server = workspace.serve(&["--demo", "--customers", "300"]).await;
    let plugins = server.data(PLUGINS, json!({})).await["plugins"].clone();
    for name in ["demographic", "behavioral", "need-based"] {
        let plugin = by_name(&plugins, name);
        assert_eq!(plugin["status"], "LOADED", "{plugin}");
        assert_eq!(plugin["abiVersion"], "1.3");
        assert!(plugin["paramsSchema"].is_object(), "{plugin}");
    }
    let refused = |name: &str, needle: &str| {
        let plugin = by_name(&plugins, name);
        assert_eq!(plugin["status"], "REFUSED", "{plugin}");
        let error = plugin["error"].as_str().unwrap_or_default();
        assert!(error.contains(needle), "{name}: {error:?} should mention {needle:?}");
    };
    refused("ghost", "libghost.so: no such file");
    refused("pinned", "sha256 expected 0000");
    refused("no-symbol", "no symbol kindred_strategy_v1");
    refused("future", "ABI major version: expected 1 (ABI 1.3), found 2 (ABI 2.0)");
    // Operator mistakes are refused at load, not at the first client call.
    refused(
        "bad-defaults",
        "default params in the settings do not match the strategy's schema: /dimensions/1",
    );
    refused(
        "twin",
        &format!("strategy \"demographic\" is already loaded from another file, {}", demographic.display()),
    );
    assert_eq!(by_name(&plugins, "off")["status"], "DISABLED");

    // The libraries are mapped into the server process: loaded dynamically, not linked, each
    // from a copy named by its SHA-256 (the file in target/ may be rebuilt under it).
    let maps =
        std::fs::read_to_string(format!("/proc/{}/maps", server.pid())).expect("read the server's maps");
    let loaded = server.data("{ plugins { name sha256 loadedFrom } }", json!({})).await["plugins"].clone();
    for (name, library) in [
        ("demographic", "kindred_demographic"),
        ("behavioral", "kindred_behavioral"),
        ("need-based", "kindred_need_based"),
    ] {
        let plugin = by_name(&loaded, name);
        let sha256 = kindred_plugin_host::sha256_hex(&plugin_library(library)).expect("hash the library");
        assert_eq!(plugin["sha256"], sha256.as_str(), "{plugin}");
        let from = plugin["loadedFrom"].as_str().expect("loaded from");
        assert!(from.ends_with(&format!("-{sha256}.so")), "{from}");
        assert!(maps.contains(from), "{from} is not mapped");
        assert!(
            !maps.contains(&plugin_library(library).display().to_string()),
            "the file itself is not mapped"
        );
    }

    // Customers of the demo who refused profiling are left out: strategies see the rest.
    let profiled =
        server.data(PREVIEW, json!({ "s": "demographic" })).await["previewSegmentation"]["customers"]
            .as_i64()
            .expect("customers");
    for strategy in ["demographic", "behavioral", "need-based"] {
        let preview = server.data(PREVIEW, json!({ "s": strategy })).await["previewSegmentation"].clone();
        assert_eq!(preview["customers"], profiled, "{preview}");
        assert_eq!(preview["excludedCustomers"], 300 - profiled, "{preview}");
        let sizes: i64 = preview["segments"]
            .as_array()
            .expect("segments")
            .iter()
            .map(|s| s["size"].as_i64().unwrap_or(0))
            .sum();
        assert_eq!(sizes, profiled, "every customer in exactly one segment: {preview}");
    }
    // Bands put every customer of the demo data in exactly one segment.
    let bands = "{ previewSegmentation(strategy: \"demographic\", params: {dimensions: [\"age\", \"gender\", {field: \"income\", quantiles: 4}, \"lifestyle\"]}) { customers assignedCustomers memberships segments { label size } model } }";
    let bands = server.data(bands, json!({})).await["previewSegmentation"].clone();
    assert_eq!(
        (bands["assignedCustomers"].as_i64(), bands["memberships"].as_i64()),
        (Some(profiled), Some(profiled)),
        "{bands}"
    );
    assert!(bands["segments"].as_array().is_some_and(|s| s.len() > 10), "{bands}");
    assert_eq!(bands["model"]["dimensions"][2]["cut_points"].as_array().map(Vec::len), Some(3), "{bands}");
    let behavioral = server.data(PREVIEW, json!({ "s": "behavioral" })).await;
    assert_eq!(
        behavioral["previewSegmentation"]["model"]["window_days"], 180,
        "default params from the settings"
    );
    // Every behavioral method over HTTP: each customer gets exactly one segment.
    for params in [
        json!({ "method": "value" }),
        json!({ "method": "clv", "time_unit": "week", "horizon": 26 }),
        json!({ "method": "rules", "rules": [
            { "label": "big spenders", "when": { "agg": "sum", "of": "amount", "where": { "kind": "purchase" }, "within_days": 365, "op": "gt", "value": 1000 } },
            { "label": "unhappy", "when": { "all": [
                { "agg": "count", "where": { "kind": "support_ticket" }, "within_days": 90, "op": "ge", "value": 3 },
                { "agg": "count", "where": { "kind": "purchase" }, "within_days": 180, "op": "eq", "value": 0 } ] } }
        ] }),
    ] {
        let preview =
            server.data(PREVIEW, json!({ "s": "behavioral", "p": params })).await["previewSegmentation"]
                .clone();
        assert_eq!(preview["assignedCustomers"], profiled, "{params}: {preview}");
        assert_eq!(preview["memberships"], profiled, "{params}: {preview}");
        let ignored = if params["method"] == "value" { Value::Null } else { json!(["window_days"]) };
        assert_eq!(preview["model"]["ignored_params"], ignored, "the default window_days: {preview}");
    }
    let clv = json!({ "method": "clv" });
    let model =
        server.data(PREVIEW, json!({ "s": "behavioral", "p": clv })).await["previewSegmentation"]["model"]
            .clone();
    for key in ["r", "alpha", "a", "b", "log_likelihood", "converged"] {
        assert!(model["bg_nbd"].get(key).is_some(), "{key}: {model}");
    }
    let bad = json!({ "method": "rules", "rules": [{ "label": "x", "when": { "agg": "median", "op": "gt", "value": 1 } }] });
    let response = server.graphql(PREVIEW, json!({ "s": "behavioral", "p": bad })).await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "VALIDATION", "{response}");
    assert_eq!(response["errors"][0]["extensions"]["errors"][0]["path"], "/rules/0/when/agg", "{response}");
    assert!(server.terminate(), "clean shutdown");
}

#[tokio::test(flavor = "multi_thread")]
async fn misbehaving_plugins_fail_their_call_and_the_server_goes_on() {
    let workspace = Workspace::new();
    let settings = [
        plugin_entry("misbehaving", &plugin_library("kindred_fixture_misbehaving"), ""),
        plugin_entry("bad-output", &plugin_library("kindred_fixture_bad_output"), ""),
        plugin_entry("demographic", &plugin_library("kindred_demographic"), ""),
    ]
    .concat();
    workspace.write("kindred.toml", &settings);
    let server = workspace.serve(&["--demo", "--customers", "50"]).await;

    let failure = |response: Value| -> (String, String, Value) {
        let error = &response["errors"][0];
        let code = error["extensions"]["code"].as_str().unwrap_or_default().to_owned();
        (code, error["message"].as_str().unwrap_or_default().to_owned(), error["extensions"].clone())
    };

    let (code, message, extensions) =
        failure(server.graphql(PREVIEW, json!({ "s": "misbehaving", "p": { "mode": "explode" } })).await);
    assert_eq!(code, "VALIDATION", "{message}");
    assert_eq!(extensions["errors"][0]["path"], "/mode", "{extensions}");
    let (code, message, _) = failure(server.graphql(PREVIEW, json!({ "s": "misbehaving" })).await);
    assert!(code == "VALIDATION" && message.contains("mode"), "{code}: {message}");

    let (code, message, _) = failure(
        server.graphql(PREVIEW, json!({ "s": "misbehaving", "p": { "mode": "panic_in_fit" } })).await,
    );
    assert_eq!(code, "PLUGIN_FAILED");
    assert!(
        message.contains("fit panicked") && message.contains("fixture panics in fit as asked"),
        "{message}"
    );

    let (code, message, _) = failure(
        server.graphql(PREVIEW, json!({ "s": "misbehaving", "p": { "mode": "error_in_fit" } })).await,
    );
    assert!(code == "PLUGIN_FAILED" && message.contains("fixture fails in fit as asked"), "{message}");

    let (code, message, _) = failure(
        server.graphql(PREVIEW, json!({ "s": "misbehaving", "p": { "mode": "foreign_customer" } })).await,
    );
    assert!(
        code == "PLUGIN_FAILED" && message.contains("customer -42, who is not in the batch"),
        "{message}"
    );

    let (code, message, _) = failure(
        server.graphql(PREVIEW, json!({ "s": "misbehaving", "p": { "mode": "wider_inputs" } })).await,
    );
    assert!(
        code == "PLUGIN_FAILED" && message.contains("interactions.text, which the description does not list"),
        "{message}"
    );

    // bad-output is built as an ABI 1.0 plugin (no `instance_inputs`): it loads and is called.
    let (code, message, _) = failure(server.graphql(PREVIEW, json!({ "s": "bad-output" })).await);
    assert!(code == "PLUGIN_FAILED" && message.contains("output schema must be"), "{message}");

    // A strategy's own check of its parameters (here a rule tree) is a VALIDATION error too,
    // with the JSON path of the bad node.
    let bad_tree = json!({ "method": "rules", "rules": [{ "label": "x", "when": { "all": [{ "field": "gender", "op": "gt", "value": "f" }] } }] });
    let (code, message, extensions) =
        failure(server.graphql(PREVIEW, json!({ "s": "demographic", "p": bad_tree })).await);
    assert_eq!(code, "VALIDATION", "{message}");
    assert_eq!(extensions["errors"][0]["path"], "/rules/0/when/all/0/op", "{extensions}");
    assert!(message.contains("not valid for text field"), "{message}");

    // After all that, the same plugin and the others still work, and so does the rest.
    // Of the 50 demo customers, those who refused profiling are left out.
    let ok = server.data(PREVIEW, json!({ "s": "misbehaving", "p": { "mode": "ok" } })).await;
    let preview = &ok["previewSegmentation"];
    let profiled = 50 - preview["excludedCustomers"].as_i64().expect("excluded customers");
    assert_eq!(preview["segments"][0]["size"], profiled, "{ok}");
    let ages = server.data(PREVIEW, json!({ "s": "demographic" })).await;
    assert_eq!(ages["previewSegmentation"]["customers"], profiled);
    let customers = server.data("{ customers(first: 1) { edges { node { id } } } }", json!({})).await;
    assert!(customers["customers"]["edges"][0]["node"]["id"].is_string(), "{customers}");
    assert!(server.terminate(), "clean shutdown");
}

//! The invariants of docs/ARCHITECTURE.md that the code's shape can show, checked on every test
//! run: which crate may depend on which (arrows only point down), which third-party crates
//! only one layer may know, and that no crate's top-level modules depend on each other in a
//! cycle. Read from the manifests and sources, so a change that breaks one fails here.
#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every member of the workspace that ships: its folder and its package name.
const SHIPPED: [(&str, &str); 16] = [
    ("crates/calendar", "kindred-calendar"),
    ("crates/matching", "kindred-matching"),
    ("crates/domain", "kindred-domain"),
    ("migrations", "kindred-migrations"),
    ("crates/store", "kindred-store"),
    ("crates/plugin-abi", "kindred-plugin-abi"),
    ("crates/plugin-sdk", "kindred-plugin-sdk"),
    ("crates/plugin-output", "kindred-plugin-output"),
    ("crates/plugin-host", "kindred-plugin-host"),
    ("crates/engine", "kindred-engine"),
    ("crates/graphql", "kindred-graphql"),
    ("crates/demo", "kindred-demo"),
    ("crates/server", "kindred-server"),
    ("plugins/demographic", "kindred-plugin-demographic"),
    ("plugins/behavioral", "kindred-plugin-behavioral"),
    ("plugins/need-based", "kindred-plugin-need-based"),
];

/// The names in the `[dependencies]` table of a manifest (not dev or build dependencies).
fn dependencies(folder: &str) -> BTreeSet<String> {
    let manifest = std::fs::read_to_string(root().join(folder).join("Cargo.toml")).unwrap();
    let mut inside = false;
    let mut names = BTreeSet::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == "[dependencies]";
        } else if inside && !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['=', '.', ' ']).next().unwrap_or_default();
            names.insert(name.to_owned());
        }
    }
    names
}

fn kindred_dependencies(folder: &str) -> BTreeSet<String> {
    dependencies(folder).into_iter().filter(|name| name.starts_with("kindred-")).collect()
}

#[test]
fn arrows_between_crates_only_point_down() {
    // What each crate may depend on: anything missing here is an arrow pointing up or sideways.
    let allowed: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("kindred-calendar", &[][..]),
        ("kindred-matching", &[][..]),
        ("kindred-domain", &[][..]),
        ("kindred-migrations", &[][..]),
        ("kindred-store", &["kindred-domain", "kindred-migrations", "kindred-matching"][..]),
        ("kindred-plugin-abi", &[][..]),
        ("kindred-plugin-sdk", &["kindred-plugin-abi", "kindred-plugin-output", "kindred-calendar"][..]),
        ("kindred-plugin-output", &["kindred-plugin-abi"][..]),
        (
            "kindred-plugin-host",
            &["kindred-plugin-abi", "kindred-plugin-output", "kindred-store", "kindred-calendar"][..],
        ),
        ("kindred-engine", &["kindred-plugin-host", "kindred-store"][..]),
        (
            "kindred-graphql",
            &["kindred-engine", "kindred-plugin-host", "kindred-store", "kindred-domain"][..],
        ),
        ("kindred-demo", &["kindred-domain", "kindred-calendar"][..]),
        (
            "kindred-server",
            &[
                "kindred-graphql",
                "kindred-engine",
                "kindred-plugin-host",
                "kindred-store",
                "kindred-domain",
                "kindred-demo",
                "kindred-matching",
            ][..],
        ),
        ("kindred-plugin-demographic", &["kindred-plugin-sdk"][..]),
        ("kindred-plugin-behavioral", &["kindred-plugin-sdk"][..]),
        ("kindred-plugin-need-based", &["kindred-plugin-sdk"][..]),
    ]);
    for (folder, package) in SHIPPED {
        let wrong: Vec<String> = kindred_dependencies(folder)
            .into_iter()
            .filter(|dependency| !allowed[package].contains(&dependency.as_str()))
            .collect();
        assert!(wrong.is_empty(), "{package} depends on {wrong:?}: see docs/ARCHITECTURE.md");
    }
}

#[test]
fn each_outside_concern_is_known_by_one_layer() {
    // (third-party crate, the shipped packages that may depend on it)
    let owners: [(&str, &[&str]); 7] = [
        ("async-graphql", &["kindred-graphql", "kindred-server"]),
        ("axum", &["kindred-server"]),
        ("config", &["kindred-server"]),
        ("clap", &["kindred-server"]),
        ("libloading", &["kindred-plugin-host"]),
        ("rusqlite", &["kindred-store"]),
        ("sea-orm", &["kindred-store"]),
    ];
    for (outside, may) in owners {
        for (folder, package) in SHIPPED {
            if dependencies(folder).contains(outside) {
                assert!(
                    may.contains(&package),
                    "{package} depends on {outside}, which only {may:?} may know"
                );
            }
        }
    }
}

/// The top-level modules of `src` and the other top-level modules each one names through
/// `crate::` (test modules and comments left out).
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = vec![src.to_path_buf()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|entry| entry.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|extension| extension != "rs") {
            continue;
        }
        let relative = path.strip_prefix(src).unwrap();
        let top = relative.components().next().unwrap().as_os_str().to_string_lossy();
        let top = top.trim_end_matches(".rs").to_owned();
        if top == "lib" || top == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
        let named = graph.entry(top.clone()).or_default();
        for line in code.lines().filter(|line| !line.trim_start().starts_with("//")) {
            for (at, _) in line.match_indices("crate::") {
                let rest = &line[at + "crate::".len()..];
                let modules: Vec<&str> = match rest.strip_prefix('{') {
                    Some(group) => group.split('}').next().unwrap_or_default().split(',').collect(),
                    None => vec![rest],
                };
                for module in modules {
                    let name: String = module
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != top {
                        named.insert(name);
                    }
                }
            }
        }
    }
    graph
}

/// A cycle in `graph`, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|seen| seen == node) {
            let mut found = path[start..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten().filter(|next| graph.contains_key(*next)) {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_crate_has_a_module_cycle() {
    for (folder, package) in SHIPPED {
        let graph = module_graph(&root().join(folder).join("src"));
        if let Some(found) = cycle(&graph) {
            panic!("{package}: modules depend on each other in a cycle: {}", found.join(" -> "));
        }
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let graph = BTreeMap::from([
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["c".to_owned()])),
        ("c".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]);
    assert_eq!(cycle(&graph).map(|found| found.len()), Some(4));
    let layered = BTreeMap::from([
        ("a".to_owned(), BTreeSet::from(["b".to_owned(), "c".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["c".to_owned()])),
        ("c".to_owned(), BTreeSet::new()),
    ]);
    assert_eq!(cycle(&layered), None);
}

#[test]
fn the_module_reader_sees_every_module_of_a_crate() {
    let graph = module_graph(&root().join("crates/engine/src"));
    for module in ["engine", "state", "refit", "realtime", "feed", "schedule", "tracker"] {
        assert!(graph.contains_key(module), "{module}: {graph:?}");
    }
    assert!(graph["refit"].contains("state"), "{graph:?}");
}

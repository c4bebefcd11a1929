//! The `kindred` command line without a server. Having an integration test here also makes
//! `cargo test --workspace` build the `kindred` binary before any test runs, which the
//! end-to-end tests in `tests/` start.
#![allow(missing_docs, clippy::unwrap_used)]

use std::process::Command;

fn kindred(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kindred")).args(args).output().unwrap()
}

#[test]
fn schema_prints_the_sdl_without_a_database() {
    let output = kindred(&["schema"]);
    assert!(output.status.success());
    let sdl = String::from_utf8(output.stdout).unwrap();
    assert!(sdl.contains("type Customer"));
    assert!(sdl.contains("upsertCustomer(input: CustomerInput!, allowErased: Boolean): Customer!"));
}

#[test]
fn unknown_import_kind_is_refused_with_the_accepted_ones() {
    let output = kindred(&["import", "orders", "x.csv"]);
    assert!(!output.status.success());
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(error.contains("orders") && error.contains("customers"), "{error}");
}

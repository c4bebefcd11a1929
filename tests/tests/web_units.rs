//! The dashboard's own unit tests (`web/test`, Node's built-in test runner), run as part of
//! `cargo test --workspace` so one command runs every test. Node.js is needed for this test
//! only; the dashboard itself ships built, inside the binary.

use std::path::Path;
use std::process::Command;

#[test]
fn dashboard_unit_tests_pass() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web");
    if !web.join("node_modules").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&web)
            .status()
            .expect("run npm ci in web/ (Node.js and npm are needed for the dashboard's tests)");
        assert!(status.success(), "npm ci in web/ failed");
    }
    let output = Command::new("node")
        .args(["--test", "test/"])
        .current_dir(&web)
        .output()
        .expect("run node --test in web/");
    assert!(
        output.status.success(),
        "the dashboard's unit tests failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

//! An operator's first minutes with the real binary: `--help` says what Kindred is, a port in
//! use is one clear line and exit code 1, and long commands run off a terminal print no bar
//! (their summary, and nothing a log would mangle).

use kindred_e2e::Workspace;

#[test]
fn help_introduces_kindred() {
    let work = Workspace::new();
    let help = work.run(&["--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("social CRM"), "{text}");
    assert!(text.contains("kindred serve --demo"), "{text}");
    assert!(!text.contains("HTTP server"), "the crate's description is not an introduction: {text}");
}

#[test]
fn a_port_in_use_is_one_clear_line() {
    let work = Workspace::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("address").to_string();
    let output = work.command(&["serve"]).env("KINDRED__SERVER__BIND", &address).output().expect("run");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!("error: {address} is in use: set server.bind or KINDRED__SERVER__BIND");
    let errors: Vec<&str> = stderr.lines().filter(|line| line.starts_with("error:")).collect();
    assert_eq!(errors, [expected.as_str()], "{stderr}");
    assert!(!stderr.contains("Caused by") && !stderr.contains("backtrace"), "{stderr}");
}

#[test]
fn an_import_off_a_terminal_prints_its_summary_and_no_bar() {
    let work = Workspace::new();
    let mut rows = String::from("external_id,email\n");
    for n in 0..2_000 {
        rows.push_str(&format!("c{n},c{n}@example.com\n"));
    }
    let file = work.write("customers.csv", &rows);
    let output = work.run(&["import", "customers", &file.to_string_lossy()]);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("read 2000, imported 2000"), "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\r'),
        "no terminal control off a terminal: {stderr:?}"
    );
}

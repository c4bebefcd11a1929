//! The README's table of error codes is the table in `ErrorCode`, row for row.

use kindred_graphql::ErrorCode;

/// The rows of the README's table of codes (after its header and separator).
fn readme_rows() -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).expect("the README");
    let header = "| Code | HTTP | Meaning |";
    let table = readme.split_once(header).map(|(_, rest)| rest).expect("the README's table of codes");
    table.lines().skip(2).take_while(|line| line.starts_with('|')).map(str::to_owned).collect()
}

#[test]
fn the_readme_lists_every_code_as_the_table_does() {
    let expected: Vec<String> = ErrorCode::ALL
        .into_iter()
        .map(|code| {
            let statuses: Vec<String> = code.statuses().iter().map(u16::to_string).collect();
            let http =
                if statuses.is_empty() { " ".to_owned() } else { format!(" {} ", statuses.join(" / ")) };
            format!("| `{code}` |{http}| {} |", code.meaning())
        })
        .collect();
    assert_eq!(readme_rows(), expected);
}

//! The probabilistic pass against SQLite and PostgreSQL, on the demo generator's customers
//! with duplicates (typos, swapped letters, short first names, missing fields, moved house,
//! another email) whose truth the generator writes: precision and recall of the pairs it
//! merges, the merges in the merge log with field evidence, and the review queue (a rejected
//! pair is never suggested again).
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use kindred_demo::{DemoConfig, FileFormat, write_demo};
use kindred_matching::Settings;
use kindred_store::Store;
use kindred_store::import::{Format, ImportKind, ImportOptions, import_with};
use std::collections::{BTreeSet, HashMap};

/// Every pair (lower external id first) within each group.
fn pairs_of(groups: &[Vec<String>]) -> BTreeSet<(String, String)> {
    let mut pairs = BTreeSet::new();
    for group in groups {
        for (at, a) in group.iter().enumerate() {
            for b in &group[at + 1..] {
                pairs.insert(if a < b { (a.clone(), b.clone()) } else { (b.clone(), a.clone()) });
            }
        }
    }
    pairs
}

/// The generator's truth as groups of external ids that are one person.
fn truth(path: &std::path::Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut groups: HashMap<String, Vec<String>> = HashMap::new();
    for line in text.lines().skip(1) {
        let mut cells = line.split(',');
        let (duplicate, original) = (cells.next().unwrap().to_owned(), cells.next().unwrap().to_owned());
        groups.entry(original.clone()).or_insert_with(|| vec![original]).push(duplicate);
    }
    groups.into_values().collect()
}

on_both!(the_pass_finds_generated_duplicates_precisely, |store: &Store| {
    let store = store.clone();
    async move {
        let folder = tempfile::tempdir().unwrap();
        let config = DemoConfig { customers: 3_000, duplicates: 0.1, ..DemoConfig::default() };
        let (files, stats) = write_demo(&config, folder.path(), FileFormat::Csv).unwrap();
        assert!(stats.duplicates > 250, "{stats:?}");
        let input = std::fs::File::open(&files.customers).unwrap();
        import_with(&store, ImportKind::Customers, Format::Csv, input, ImportOptions::default(), |_| {})
            .await
            .unwrap();
        let mut names = HashMap::new();
        for record in store.match_records().await.unwrap() {
            names.insert(record.id, store.customer(record.id).await.unwrap().unwrap().external_id);
        }

        let dry = store.resolve_identities(Settings::default(), true, "test").await.unwrap();
        assert!(dry.merges.is_empty(), "a dry run merges nothing");
        let found: Vec<Vec<String>> =
            dry.planned.iter().map(|ids| ids.iter().map(|id| names[id].clone()).collect()).collect();
        let (expected, predicted) = (pairs_of(&truth(&files.duplicates)), pairs_of(&found));
        let right = predicted.intersection(&expected).count() as f64;
        let precision = right / predicted.len().max(1) as f64;
        let recall = right / expected.len() as f64;
        eprintln!(
            "precision {precision:.4}, recall {recall:.4}, pairs {}, suggested {}",
            dry.pairs_compared, dry.suggested
        );
        assert!(precision >= 0.99, "precision {precision}");
        // The demo's customers carry names, birth date, email and city only (no phone, postcode
        // or address yet): a copy with a new name form, no birth date and another email is
        // beyond any matcher's reach. Measured: 0.80.
        assert!(recall >= 0.75, "recall {recall}");

        let report = store.resolve_identities(Settings::default(), false, "resolver").await.unwrap();
        assert_eq!(report.merged, dry.merged);
        assert_eq!(store.count_customers().await.unwrap() as usize, names.len() - report.merged);
        let log = store.merge_log(None, 5).await.unwrap();
        assert_eq!(log[0].reason, "probabilistic");
        assert!(log[0].evidence["probability"].as_f64().unwrap() >= 0.99, "{}", log[0].evidence);
        assert!(log[0].evidence["fields"].as_array().unwrap().iter().any(|f| f["field"] == "last_name"));

        // The review queue: reject one, accept one; a second pass suggests neither again.
        let queue = store.duplicate_suggestions(0.0, None, 100).await.unwrap();
        if queue.len() >= 2 {
            let (rejected, _) = store.decide_suggestion(queue[0].id, false, "reviewer").await.unwrap();
            assert_eq!(rejected.status, "rejected");
            let (_, merge) = store.decide_suggestion(queue[1].id, true, "reviewer").await.unwrap();
            assert!(merge.is_some());
            store.resolve_identities(Settings::default(), false, "resolver").await.unwrap();
            let again = store.duplicate_suggestions(0.0, None, 1000).await.unwrap();
            let pair = |s: &kindred_store::entity::duplicate_suggestion::Model| (s.customer_a, s.customer_b);
            assert!(!again.iter().any(|s| pair(s) == pair(&queue[0]) || pair(s) == pair(&queue[1])));
            assert!(store.decide_suggestion(queue[0].id, true, "reviewer").await.is_err(), "decided once");
        }
    }
});

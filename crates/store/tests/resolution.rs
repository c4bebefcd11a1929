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
use std::collections::{BTreeSet, HashMap, HashSet};

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
        // Each customer's external ids: its own and those of any copy the import merged into it
        // on a shared identifier (none here: the copies come from the same system under other
        // ids, which the one-id-per-origin limit keeps apart, so the import sets their shared
        // phone or email aside and the pass decides).
        let mut names: HashMap<i64, Vec<String>> = HashMap::new();
        for record in store.match_records().await.unwrap() {
            let ids = store.identifiers(record.id).await.unwrap().into_iter();
            let ids = ids.filter(|identifier| identifier.kind == "external_id");
            names.insert(record.id, ids.map(|identifier| identifier.value).collect());
        }
        let merged_at_import = names.values().filter(|ids| ids.len() > 1).count();

        let dry = store.resolve_identities(Settings::default(), true, "test").await.unwrap();
        assert!(dry.merges.is_empty(), "a dry run merges nothing");
        let planned: HashSet<i64> = dry.planned.iter().flatten().copied().collect();
        let found: Vec<Vec<String>> = dry
            .planned
            .iter()
            .map(|ids| ids.iter().flat_map(|id| names[id].clone()).collect())
            .chain(names.iter().filter(|(id, _)| !planned.contains(id)).map(|(_, ids)| ids.clone()))
            .collect();
        let (expected, predicted) = (pairs_of(&truth(&files.duplicates)), pairs_of(&found));
        let right = predicted.intersection(&expected).count() as f64;
        let precision = right / predicted.len().max(1) as f64;
        let recall = right / expected.len() as f64;
        eprintln!(
            "precision {precision:.4}, recall {recall:.4}, merged at import {merged_at_import}, pairs {}, suggested {}",
            dry.pairs_compared, dry.suggested
        );
        assert!(precision >= 0.99, "precision {precision}");
        // Measured 0.982: the copies missed moved house and lost their email, phone and birth
        // date at once.
        assert!(recall >= 0.95, "recall {recall}");

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

on_both!(a_resolve_job_runs_alone_and_records_how_it_ended, |store: &Store| {
    let store = store.clone();
    async move {
        let job = store.start_resolve_job(true, Some("admin"), &test_lease()).await.unwrap();
        assert_eq!((job.status, job.stage.as_str()), (kindred_store::JobStatus::Running, "starting"));
        let refused = store.start_resolve_job(false, Some("other"), &test_lease()).await;
        assert!(matches!(refused, Err(kindred_store::StoreError::Conflict(_))), "{refused:?}");
        store.resolve_job_progress(job.id, "comparing", 40, 100).await.unwrap();
        let running = store.resolve_job(job.id).await.unwrap().unwrap();
        assert_eq!((running.stage.as_str(), running.done, running.total), ("comparing", 40, 100));
        store
            .finish_resolve_job(
                job.id,
                kindred_store::JobStatus::Succeeded,
                Some("{\"merged\":0}".into()),
                None,
            )
            .await
            .unwrap();
        store.resolve_job_progress(job.id, "late", 1, 1).await.unwrap();
        let ended = store.resolve_job(job.id).await.unwrap().unwrap();
        assert_eq!((ended.status, ended.stage.as_str()), (kindred_store::JobStatus::Succeeded, "done"));
        assert!(ended.finished_at.is_some() && ended.result.is_some());

        // A job a stopped server left running is failed at the next start; one ended stays.
        let left = store.start_resolve_job(false, None, &test_lease()).await.unwrap();
        assert_eq!(
            store
                .fail_interrupted_resolve_jobs(chrono::Utc::now() + chrono::Duration::hours(1))
                .await
                .unwrap(),
            1
        );
        let jobs = store.resolve_jobs(10).await.unwrap();
        assert_eq!(jobs.iter().map(|job| job.id).collect::<Vec<_>>(), vec![left.id, job.id]);
        assert_eq!(jobs[0].status, kindred_store::JobStatus::Failed);
        assert_eq!(jobs[1].status, kindred_store::JobStatus::Succeeded);
    }
});

/// A lease held by these tests for five minutes.
fn test_lease() -> kindred_store::Lease {
    kindred_store::Lease {
        holder: "test".to_owned(),
        until: chrono::Utc::now() + chrono::Duration::minutes(5),
    }
}

on_both!(blocked_values_say_nothing_to_the_probabilistic_pass, |store: &Store| {
    let store = store.clone();
    async move {
        let text = "external_id,first_name,last_name,email\n\
                    t1,Tess,Ng,test@example.com\n\
                    t2,Theo,Ng,test@example.com\n\
                    a1,Ana,Lima,ana@x.org\n";
        let input = std::io::Cursor::new(text.as_bytes().to_vec());
        import_with(&store, ImportKind::Customers, Format::Csv, input, ImportOptions::default(), |_| {})
            .await
            .unwrap();
        let records = store.match_records().await.unwrap();
        let emails: Vec<Option<&str>> =
            records.iter().map(|record| record.get(kindred_matching::Field::Email)).collect();
        assert_eq!(emails.iter().filter(|email| email.is_some()).count(), 1, "only Ana's counts: {emails:?}");
    }
});

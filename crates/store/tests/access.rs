//! API keys and the audit log against SQLite and PostgreSQL: a key is found by its prefix,
//! names are unique, revoking keeps the row and the time; audit records come back newest
//! first, filtered and paged.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use chrono::{Duration, Utc};
use kindred_store::{AuditFilter, NewApiKey, NewAuditEntry, Store};

fn key(name: &str, prefix: &str) -> NewApiKey {
    NewApiKey {
        name: name.to_owned(),
        role: kindred_store::Role::Analyst,
        prefix: prefix.to_owned(),
        hash: "$argon2id$x".to_owned(),
    }
}

on_both!(keys_are_found_by_prefix_and_revoked, |store: &Store| {
    let store = store.clone();
    async move {
        let created = store.create_api_key(&key("dashboard", "abcd1234")).await.unwrap();
        assert_eq!((created.name.as_str(), created.revoked_at), ("dashboard", None));
        let error = store.create_api_key(&key("dashboard", "ffff0000")).await.unwrap_err();
        assert!(error.is_conflict(), "a second key with the same name: {error}");
        store.create_api_key(&key("loader", "bbbb2222")).await.unwrap();

        let found = store.api_key_by_prefix("abcd1234").await.unwrap().unwrap();
        assert_eq!(found.id, created.id);
        assert!(store.api_key_by_prefix("nothing0").await.unwrap().is_none());

        let at = Utc::now();
        store.touch_api_key(created.id, at).await.unwrap();
        let touched = store.api_key(created.id).await.unwrap().unwrap();
        assert!(touched.last_used_at.is_some());

        let revoked = store.revoke_api_key("dashboard").await.unwrap().unwrap();
        let first = revoked.revoked_at.expect("revoked");
        let again = store.revoke_api_key("abcd1234").await.unwrap().unwrap();
        assert_eq!(again.revoked_at, Some(first), "revoking by prefix again keeps the first time");
        assert!(store.revoke_api_key("nobody").await.unwrap().is_none());
        let names: Vec<String> = store.api_keys().await.unwrap().into_iter().map(|k| k.name).collect();
        assert_eq!(names, ["dashboard", "loader"], "revoked keys stay listed");
    }
});

on_both!(audit_records_come_back_newest_first, |store: &Store| {
    let store = store.clone();
    async move {
        let start = Utc::now() - Duration::minutes(10);
        let entries: Vec<NewAuditEntry> = (0..7)
            .map(|n| NewAuditEntry {
                at: start + Duration::minutes(n),
                key_name: Some(if n % 2 == 0 { "loader" } else { "editor" }.to_owned()),
                role: kindred_store::Role::Editor,
                action: if n < 5 { "upsertCustomer" } else { "createSegmentation" }.to_owned(),
                target: Some(format!("customer {n}")),
                outcome: "ok".to_owned(),
            })
            .collect();
        store.record_audit(&entries).await.unwrap();
        let all = store.audit_entries(&AuditFilter::default(), None, 100).await.unwrap();
        assert_eq!(all.len(), 7);
        assert!(all.windows(2).all(|pair| pair[0].id > pair[1].id), "newest first");
        let page = store.audit_entries(&AuditFilter::default(), Some(all[2].id), 2).await.unwrap();
        assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), [all[3].id, all[4].id]);
        let filter = AuditFilter {
            key_name: Some("loader".to_owned()),
            action: Some("upsertCustomer".to_owned()),
            since: None,
        };
        let mine = store.audit_entries(&filter, None, 100).await.unwrap();
        assert_eq!(mine.len(), 3, "entries 0, 2 and 4");
        let recent = AuditFilter { since: Some(start + Duration::minutes(5)), ..Default::default() };
        assert_eq!(store.audit_entries(&recent, None, 100).await.unwrap().len(), 2);
    }
});

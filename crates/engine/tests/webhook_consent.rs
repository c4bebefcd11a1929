//! The webhook sender against a receiver on loopback, on SQLite and PostgreSQL: events queued
//! for a customer who then withdraws marketing consent are withheld, never sent, while other
//! customers' events arrive, and the webhook's counts say so.
#![allow(missing_docs, clippy::unwrap_used)]

use chrono::NaiveDate;
use kindred_domain::CustomerDraft;
use kindred_e2e::databases::TestDatabase;
use kindred_engine::{Engine, EngineSettings, WebhookSettings};
use kindred_plugin_host::PluginHost;
use kindred_store::{ChangeReason, DeliveryCounts, Member, MembershipDiff, NewSegmentation, Store};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A receiver that answers each POST with the next status of `script` (then 200) and hands
/// over the external ids of the events in each body.
async fn receiver(script: Vec<u16>) -> (String, mpsc::UnboundedReceiver<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (sender, bodies) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut script = script.into_iter();
        while let Ok((stream, _)) = listener.accept().await {
            let mut stream = BufReader::new(stream);
            let mut line = String::new();
            let mut length = 0;
            let _ = stream.read_line(&mut line).await;
            loop {
                line.clear();
                if stream.read_line(&mut line).await.unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = stream.read_exact(&mut body).await;
            let status = script.next().unwrap_or(200);
            let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = stream.get_mut().write_all(answer.as_bytes()).await;
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let ids = body["events"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|event| event["externalId"].as_str().unwrap_or_default().to_owned())
                .collect();
            let _ = sender.send(ids);
        }
    });
    (url, bodies)
}

async fn customer(store: &Store, external_id: &str, marketing: Option<bool>) -> i64 {
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let draft = CustomerDraft {
        external_id: external_id.to_owned(),
        consent_marketing: marketing,
        ..Default::default()
    };
    store.upsert_customer(draft.validate(today).unwrap()).await.unwrap().0.id
}

fn entered(customers: &[i64]) -> MembershipDiff {
    let entered = customers
        .iter()
        .map(|id| Member { customer_id: *id, segment: "a".to_owned(), score: None })
        .collect();
    MembershipDiff { entered, ..Default::default() }
}

async fn withdrawn_consent_is_honoured_at_send_time(store: Store) {
    let ana = customer(&store, "ana", Some(true)).await;
    let bo = customer(&store, "bo", None).await;
    let cy = customer(&store, "cy", Some(true)).await;
    let new = NewSegmentation {
        name: "tiers".to_owned(),
        strategy: "behavioral".to_owned(),
        params: serde_json::json!({}),
        // Static: no refit on schedule adds or removes anything while the test runs.
        mode: kindred_store::SegmentationMode::Static,
        refresh_interval_seconds: None,
    };
    let id = store.create_segmentation(&new).await.unwrap().id;
    // The first attempt fails, so the events are still queued when bo withdraws consent.
    let (url, mut bodies) = receiver(vec![500]).await;
    let hook = store.create_webhook(id, &url, "a-secret-of-16-chars").await.unwrap();
    store.apply_membership_diff(id, &entered(&[ana, bo]), ChangeReason::Manual, None, None).await.unwrap();

    let settings = EngineSettings {
        refit_on_start: false,
        webhooks: WebhookSettings {
            // Long enough that bo's withdrawal always lands before the retry, even on a
            // loaded machine.
            first_retry: Duration::from_secs(5),
            max_retry: Duration::from_secs(5),
            poll: Duration::from_millis(20),
            ..Default::default()
        },
        ..Default::default()
    };
    let host = Arc::new(PluginHost::load(&[], std::path::Path::new(".")));
    let _engine = Engine::start(store.clone(), host, settings).await.unwrap();

    let first = tokio::time::timeout(Duration::from_secs(10), bodies.recv()).await.unwrap().unwrap();
    assert_eq!(first, ["ana", "bo"], "the first attempt, before the withdrawal, carries both");
    customer(&store, "bo", Some(false)).await;
    store.apply_membership_diff(id, &entered(&[cy]), ChangeReason::Manual, None, None).await.unwrap();

    let done = DeliveryCounts { pending: 0, delivered: 2, failed: 0, withheld: 1 };
    let started = Instant::now();
    let mut received: Vec<String> = Vec::new();
    loop {
        while let Ok(ids) = bodies.try_recv() {
            received.extend(ids);
        }
        if store.delivery_counts(hook.id).await.unwrap() == done {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "counts: {:?}",
            store.delivery_counts(hook.id).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Nothing more comes.
    if let Ok(Some(ids)) = tokio::time::timeout(Duration::from_millis(700), bodies.recv()).await {
        received.extend(ids);
    }
    received.sort();
    assert_eq!(received, ["ana", "cy"], "bo's event is never sent after the withdrawal");
    let withheld =
        store.deliveries(hook.id, Some(kindred_store::DeliveryStatus::Withheld), 10).await.unwrap();
    assert_eq!(withheld.iter().map(|d| d.customer_id).collect::<BTreeSet<_>>(), BTreeSet::from([bo]));
    assert_eq!(withheld[0].attempts, 1, "the failed attempt before the withdrawal is kept");
}

#[tokio::test]
async fn sqlite() {
    let (store, database) = TestDatabase::sqlite().await;
    withdrawn_consent_is_honoured_at_send_time(store).await;
    database.remove().await;
}

#[tokio::test]
async fn postgres() {
    let Some((store, database)) = TestDatabase::postgres("withdrawn_consent_is_honoured_at_send_time").await
    else {
        return;
    };
    withdrawn_consent_is_honoured_at_send_time(store).await;
    database.remove().await;
}

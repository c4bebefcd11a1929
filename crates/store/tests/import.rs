//! Bulk import against SQLite and PostgreSQL: bad rows are reported and skipped, a second
//! import changes nothing.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use kindred_store::Store;
use kindred_store::import::{
    ERASED_REASON, Format, ImportError, ImportKind, ImportOptions, RowError, import, import_with,
};

async fn run(
    store: &Store,
    kind: ImportKind,
    format: Format,
    text: &str,
) -> (kindred_store::import::ImportSummary, Vec<RowError>) {
    let mut errors = Vec::new();
    let input = std::io::Cursor::new(text.to_owned().into_bytes());
    let summary = import(store, kind, format, input, |e| errors.push(e.clone())).await.unwrap();
    (summary, errors)
}

const CUSTOMERS: &str = "external_id,email,birth_date,income,country,lifestyle\n\
c1,ana@example.com,1990-01-01,50000,PT,outdoor;vegan\n\
c2,not-an-email,1985-05-05,,DE,\n\
c3,bo@example.com,2999-01-01,-5,FR,\n\
\n\
c4,,,,,\n";

on_both!(customers_import_reports_bad_rows_and_is_idempotent, |store: &Store| {
    let store = store.clone();
    async move {
        let (summary, errors) = run(&store, ImportKind::Customers, Format::Csv, CUSTOMERS).await;
        assert_eq!((summary.read, summary.imported, summary.rejected), (4, 2, 2));
        let described: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(described.len(), 3, "{described:?}");
        assert!(described[0].starts_with("line 3, column email:"), "{described:?}");
        assert!(described[1].starts_with("line 4, column birth_date:"), "{described:?}");
        assert!(described[2].starts_with("line 4, column income:"), "{described:?}");
        assert_eq!(store.count_customers().await.unwrap(), 2);

        let (again, _) = run(&store, ImportKind::Customers, Format::Csv, CUSTOMERS).await;
        assert_eq!((again.imported, again.updated, again.unchanged, again.rejected), (0, 0, 2, 2));
    }
});

on_both!(interactions_import_creates_customers_and_dedupes, |store: &Store| {
    let store = store.clone();
    async move {
        let text = "customer_external_id,occurred_at,kind,amount,currency,source_id\n\
                    a,2025-01-01T10:00:00Z,purchase,10.5,EUR,\n\
                    a,2025-01-01T10:00:00Z,purchase,10.5,EUR,\n\
                    b,2025-01-02,visit,,,s-9\n\
                    b,yesterday,visit,,,\n\
                    c,2025-01-03,purchase,5,XYZ,\n";
        let (summary, errors) = run(&store, ImportKind::Interactions, Format::Csv, text).await;
        assert_eq!(
            (summary.read, summary.imported, summary.unchanged, summary.rejected, summary.customers_created),
            (5, 2, 1, 2, 2)
        );
        assert_eq!(errors[0].column.as_deref(), Some("occurred_at"));
        assert_eq!(errors[1].column.as_deref(), Some("currency"));
        let (again, _) = run(&store, ImportKind::Interactions, Format::Csv, text).await;
        assert_eq!((again.imported, again.unchanged, again.customers_created), (0, 3, 0));
    }
});

on_both!(every_field_of_an_interaction_arrives_as_read_across_chunks, |store: &Store| {
    let store = store.clone();
    async move {
        // More rows than one chunk holds, so several chunks (on PostgreSQL, several COPYs
        // into the staging table) are written; text with a tab, a quote, a newline and a
        // backslash; every optional field set on some rows and empty on others.
        let mut text = String::from(
            "customer_external_id,occurred_at,channel,kind,amount,currency,cost_to_serve,text,source_id\n",
        );
        let rows = 20_003;
        for n in 0..rows {
            let customer = format!("cust-{}", n % 997);
            let at = format!(
                "2025-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                n % 12 + 1,
                n % 28 + 1,
                n % 24,
                n % 60,
                n % 59,
                n % 1000
            );
            if n % 3 == 0 {
                text.push_str(&format!(
                    "{customer},{at},web,purchase,{}.25,EUR,1.5,\"tab\there \"\"quoted\"\"\nback\\slash é {n}\",src-{n}\n",
                    n % 500
                ));
            } else {
                text.push_str(&format!("{customer},{at},,visit,,,,,\n"));
            }
        }
        let (summary, errors) = run(&store, ImportKind::Interactions, Format::Csv, &text).await;
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!((summary.read, summary.imported, summary.customers_created), (rows, rows, 997));
        let stored = store.scan_interactions(i64::MIN, 100_000).await.unwrap();
        assert_eq!(stored.len() as u64, rows);
        let first = &stored[0];
        assert_eq!(first.occurred_at.to_rfc3339(), "2025-01-01T00:00:00+00:00");
        assert_eq!((first.channel.as_deref(), first.kind.as_str()), (Some("web"), "purchase"));
        assert_eq!(
            (first.amount, first.currency.as_deref(), first.cost_to_serve),
            (Some(0.25), Some("EUR"), Some(1.5))
        );
        assert_eq!(first.text.as_deref(), Some("tab\there \"quoted\"\nback\\slash é 0"));
        assert_eq!((first.source_id.as_deref(), first.arrived_under.as_deref()), (Some("src-0"), None));
        let second = &stored[1];
        assert_eq!(second.occurred_at.to_rfc3339(), "2025-02-02T01:01:01.001+00:00");
        assert_eq!((second.channel.as_deref(), second.kind.as_str()), (None, "visit"));
        assert_eq!((second.amount, second.currency.as_deref(), second.cost_to_serve), (None, None, None));
        assert_eq!((second.text.as_deref(), second.source_id.as_deref()), (None, None));
        // Ids follow the file's order, and each row is its customer's.
        assert!(stored.windows(2).all(|pair| pair[0].id < pair[1].id));
        let last = stored.last().unwrap();
        let customer = store.customer(last.customer_id).await.unwrap().unwrap();
        assert_eq!(customer.external_id, format!("cust-{}", (rows - 1) % 997));

        let (again, _) = run(&store, ImportKind::Interactions, Format::Csv, &text).await;
        assert_eq!((again.imported, again.unchanged, again.customers_created), (0, rows, 0));
    }
});

on_both!(a_source_id_of_another_customer_is_refused_with_its_line, |store: &Store| {
    let store = store.clone();
    async move {
        let first = "customer_external_id,occurred_at,kind,source_id\na,2025-01-01,visit,src-1\n";
        run(&store, ImportKind::Interactions, Format::Csv, first).await;
        // New rows around a row whose source id is a's: on PostgreSQL the chunk is first
        // written unscreened, meets the stored row, and is written again screened.
        let second = "customer_external_id,occurred_at,kind,source_id\n\
                      c,2025-01-02,visit,src-2\n\
                      b,2025-01-03,visit,src-1\n\
                      a,2025-01-01,visit,src-1\n\
                      c,2025-01-04,visit,\n";
        let (summary, errors) = run(&store, ImportKind::Interactions, Format::Csv, second).await;
        assert_eq!((summary.read, summary.imported, summary.unchanged, summary.rejected), (4, 2, 1, 1));
        assert_eq!(summary.customers_created, 1, "c only: b's one row was refused");
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].line, errors[0].column.as_deref()), (3, Some("source_id")));
        assert_eq!(errors[0].reason, kindred_store::import::SOURCE_ID_CONFLICT);
        assert!(store.customer_by_external_id("b").await.unwrap().is_none());
        // A fresh file afterwards is written the fast way again, and in full.
        let third = "customer_external_id,occurred_at,kind,source_id\nd,2025-01-05,visit,src-3\n";
        let (summary, errors) = run(&store, ImportKind::Interactions, Format::Csv, third).await;
        assert!(errors.is_empty());
        assert_eq!(summary.imported, 1);
    }
});

on_both!(ndjson_ties_and_needs, |store: &Store| {
    let store = store.clone();
    async move {
        let ties = "{\"from_external_id\":\"a\",\"to_external_id\":\"b\",\"weight\":0.5}\n\
                    {\"from_external_id\":\"a\",\"to_external_id\":\"a\"}\n\
                    {\"from_external_id\":\"a\",\"to_external_id\":\"c\",\"colour\":\"red\"}\n\
                    not json\n";
        let (summary, errors) = run(&store, ImportKind::Ties, Format::Ndjson, ties).await;
        assert_eq!((summary.read, summary.imported, summary.rejected), (4, 1, 3));
        assert_eq!(errors[0].line, 2);
        assert_eq!(errors[1].column.as_deref(), Some("colour"));
        assert_eq!(errors[2].line, 4);

        let needs = "{\"customer_external_id\":\"a\",\"tag\":\"coffee\",\"kind\":\"passion\",\"weight\":0.8}\n\
                     {\"customer_external_id\":\"b\",\"tag\":\"coffee\",\"kind\":\"wish\"}\n";
        let (summary, errors) = run(&store, ImportKind::Needs, Format::Ndjson, needs).await;
        assert_eq!((summary.imported, summary.rejected), (1, 1));
        assert_eq!(errors[0].column.as_deref(), Some("kind"));
        let updated = needs.replace("0.8", "0.9");
        let (summary, _) = run(&store, ImportKind::Needs, Format::Ndjson, &updated).await;
        assert_eq!((summary.imported, summary.updated), (0, 1));
    }
});

on_both!(unknown_csv_columns_stop_the_import_before_any_row, |store: &Store| {
    let store = store.clone();
    async move {
        let input = std::io::Cursor::new(b"external_id,shoe_size\nc1,42\n".to_vec());
        let error = import(&store, ImportKind::Customers, Format::Csv, input, |_| {}).await.unwrap_err();
        assert!(matches!(&error, ImportError::UnknownColumns { unknown, .. } if unknown == &["shoe_size"]));
        assert!(error.to_string().contains("shoe_size"));
        assert_eq!(store.count_customers().await.unwrap(), 0);
    }
});

/// Every stored tie as (from, to, kind, weight, mutual), by external id, in order.
async fn stored_ties(store: &Store) -> Vec<(String, String, String, f64, bool)> {
    let customers = store.scan_customers(i64::MIN, 1_000).await.unwrap();
    let name = |id: i64| customers.iter().find(|c| c.id == id).unwrap().external_id.clone();
    let mut ties: Vec<_> = store
        .scan_ties(i64::MIN, 1_000)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (name(t.from_id), name(t.to_id), t.kind, t.weight, t.mutual))
        .collect();
    ties.sort_by(|a, b| a.partial_cmp(b).unwrap());
    ties
}

fn tie(from: &str, to: &str, kind: &str, weight: f64, mutual: bool) -> (String, String, String, f64, bool) {
    (from.to_owned(), to.to_owned(), kind.to_owned(), weight, mutual)
}

/// The customers (by external id) in the queue of touched customers, sorted; the queue is
/// consumed, as the write worker does.
async fn take_queued(store: &Store) -> Vec<String> {
    let queued = store.queued_changes(1_000).await.unwrap();
    assert_eq!(queued.rows.len(), queued.customers.len(), "each customer once per chunk: {queued:?}");
    let consumed = kindred_store::Consumed { changes: queued.rows, ..Default::default() };
    store.apply_membership_diffs(&[], kindred_store::ChangeReason::Write, &consumed).await.unwrap();
    let mut names: Vec<String> =
        store.customers_by_ids(&queued.customers).await.unwrap().into_iter().map(|c| c.external_id).collect();
    names.sort();
    names
}

on_both!(ties_import_is_idempotent_and_a_mutual_tie_has_no_direction, |store: &Store| {
    let store = store.clone();
    async move {
        let ties = "from_external_id,to_external_id,kind,weight,mutual\n\
                    b,a,friend,0.5,true\n\
                    a,b,friend,0.6,\n\
                    a,c,follows,0.3,false\n\
                    c,a,follows,0.3,false\n\
                    c,b,colleague,0.7,true\n";
        let (summary, errors) = run(&store, ImportKind::Ties, Format::Csv, ties).await;
        assert!(errors.is_empty(), "{errors:?}");
        // b-a and a-b mutual are one tie: the later row lays over the earlier one.
        assert_eq!(
            (summary.read, summary.imported, summary.updated, summary.unchanged, summary.customers_created),
            (5, 4, 0, 1, 3)
        );
        let first = vec![
            tie("a", "b", "friend", 0.6, true),
            tie("a", "c", "follows", 0.3, false),
            tie("b", "c", "colleague", 0.7, true),
            tie("c", "a", "follows", 0.3, false),
        ];
        assert_eq!(stored_ties(&store).await, first);
        assert_eq!(take_queued(&store).await, ["a", "b", "c"]);

        // The same file again changes nothing and writes nothing to the change feed.
        let (again, errors) = run(&store, ImportKind::Ties, Format::Csv, ties).await;
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!((again.imported, again.updated, again.unchanged, again.customers_created), (0, 0, 5, 0));
        assert_eq!(stored_ties(&store).await, first);
        assert!(take_queued(&store).await.is_empty());

        // A new weight given from the other end updates the mutual tie; another kind between
        // the same two is another tie; a directed tie made mutual is updated.
        let changes = "from_external_id,to_external_id,kind,weight,mutual\n\
                       a,b,friend,0.9,true\n\
                       b,a,colleague,0.4,true\n\
                       a,c,follows,0.3,true\n";
        let (summary, errors) = run(&store, ImportKind::Ties, Format::Csv, changes).await;
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!((summary.imported, summary.updated, summary.unchanged), (1, 2, 0));
        assert_eq!(
            stored_ties(&store).await,
            [
                tie("a", "b", "colleague", 0.4, true),
                tie("a", "b", "friend", 0.9, true),
                tie("a", "c", "follows", 0.3, true),
                tie("b", "c", "colleague", 0.7, true),
                tie("c", "a", "follows", 0.3, false),
            ]
        );
        assert_eq!(take_queued(&store).await, ["a", "b", "c"]);
        let (again, _) = run(&store, ImportKind::Ties, Format::Csv, changes).await;
        assert_eq!((again.imported, again.updated, again.unchanged), (0, 0, 3));
    }
});

on_both!(ties_rows_are_refused_with_their_line_and_column, |store: &Store| {
    let store = store.clone();
    async move {
        let ties = "from_external_id,to_external_id,kind,weight,mutual\n\
                    a,a,friend,,\n\
                    a,b,enemy,,\n\
                    a,b,friend,1.5,\n\
                    a,,friend,,\n\
                    a,b,friend,0.5,maybe\n\
                    a,b,friend,0.5,true\n\
                    a,b\n";
        let (summary, errors) = run(&store, ImportKind::Ties, Format::Csv, ties).await;
        let refused: Vec<(u64, Option<&str>)> =
            errors.iter().map(|e| (e.line, e.column.as_deref())).collect();
        assert_eq!(
            refused,
            [
                (2, Some("to_external_id")),
                (3, Some("kind")),
                (4, Some("weight")),
                (5, Some("to_external_id")),
                (6, Some("mutual")),
                (8, None),
            ]
        );
        assert_eq!(
            (summary.read, summary.imported, summary.rejected, summary.customers_created),
            (7, 1, 6, 2)
        );
        assert_eq!(stored_ties(&store).await, [tie("a", "b", "friend", 0.5, true)]);
    }
});

/// Input that stops at `pause_at` bytes until `resume` is told, so a test can act between
/// two chunks of an import.
struct Paused {
    data: Vec<u8>,
    at: usize,
    pause_at: usize,
    resume: Option<std::sync::mpsc::Receiver<()>>,
}

impl std::io::Read for Paused {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.pause_at
            && let Some(resume) = self.resume.take()
        {
            let _ = resume.recv();
        }
        let end = if self.resume.is_some() { self.pause_at } else { self.data.len() };
        let n = buf.len().min(end - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Imports 10,000 interactions (one chunk) then, once `between` ran, a second chunk; all of
/// them name "x" every tenth row, so "x" is cached by the first chunk.
async fn import_around(
    store: &Store,
    between: impl std::future::Future<Output = ()>,
) -> (Result<kindred_store::import::ImportSummary, String>, Vec<RowError>) {
    let row = |n: u32| {
        let who = if n.is_multiple_of(10) { "x".to_owned() } else { format!("c{}", n % 500) };
        format!("{who},2025-01-01T00:00:00Z,purchase,{n}\n")
    };
    let mut text = String::from("customer_external_id,occurred_at,kind,amount\n");
    text.extend((0..10_000).map(row));
    let pause_at = text.len();
    text.extend((10_000..10_100).map(row));
    let (resume, wait) = std::sync::mpsc::channel();
    let input = Paused { data: text.into_bytes(), at: 0, pause_at, resume: Some(wait) };
    let rows_done = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let options =
        ImportOptions { rows_done: Some(rows_done.clone()), chunk_rows: Some(10_000), ..Default::default() };
    let task = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut errors = Vec::new();
            let summary = import_with(&store, ImportKind::Interactions, Format::Csv, input, options, |e| {
                errors.push(e.clone())
            })
            .await;
            (summary.map_err(|e| e.to_string()), errors)
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while rows_done.load(std::sync::atomic::Ordering::Relaxed) < 10_000 {
        assert!(std::time::Instant::now() < deadline, "the first chunk was not written within a minute");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    between.await;
    resume.send(()).unwrap();
    task.await.unwrap()
}

/// Rows whose customer does not exist (none, ever).
async fn orphans(store: &Store) -> i64 {
    use sea_orm::ConnectionTrait;
    let sql = "SELECT COUNT(*) FROM interactions i LEFT JOIN customers c ON c.id = i.customer_id WHERE c.id IS NULL";
    let row = store.connection().query_one_raw(sea_orm::Statement::from_string(store.backend(), sql)).await;
    row.unwrap().unwrap().try_get_by_index(0).unwrap()
}

on_both!(a_customer_erased_during_an_import_is_refused_after, |store: &Store| {
    let store = store.clone();
    async move {
        let erase = async {
            let x = store.customer_by_external_id("x").await.unwrap().unwrap();
            store.erase_customer(x.id).await.unwrap().unwrap();
        };
        let (summary, errors) = import_around(&store, erase).await;
        let summary = summary.unwrap();
        // The second chunk's ten rows naming "x" are refused, not written with its old id.
        assert_eq!((summary.read, summary.imported, summary.rejected), (10_100, 10_090, 10));
        assert!(errors.iter().all(|e| e.reason == ERASED_REASON && e.line > 10_001), "{errors:?}");
        assert!(store.customer_by_external_id("x").await.unwrap().is_none());
        assert_eq!(orphans(&store).await, 0);
    }
});

on_both!(a_customer_deleted_during_an_import_leaves_no_row_without_its_customer, |store: &Store| {
    let store = store.clone();
    async move {
        let delete = async {
            let x = store.customer_by_external_id("x").await.unwrap().unwrap();
            assert!(store.delete_customer(x.id).await.unwrap());
        };
        let (summary, errors) = import_around(&store, delete).await;
        // Looked up again and created anew, as a fresh import would: on SQLite because the
        // import saw customers change, on PostgreSQL because the database refused the stale id
        // and the chunk was written again.
        let summary = summary.unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!((summary.imported, summary.rejected, summary.customers_created), (10_100, 0, 452));
        let x = store.customer_by_external_id("x").await.unwrap().unwrap();
        assert_eq!(store.all_interactions_of(&[x.id]).await.unwrap().len(), 10);
        assert_eq!(orphans(&store).await, 0);
    }
});

on_both!(contact_fields_are_imported_normalised_with_the_default_phone_region, |store: &Store| {
    let store = store.clone();
    async move {
        let file = "external_id,phone,address_line1,address_line2,postcode\n\
            k1,030 1234567,Hauptstr. 5,,10115\n\
            k2,+44 20 7946 0958,10 Downing St,Flat 2,sw1a  2aa\n\
            k3,12,,,\n\
            k4,,,,?\n";
        let region = kindred_domain::PhoneRegion::parse("identity.default_phone_region", "DE").unwrap();
        let options = ImportOptions { phone_region: Some(region), ..ImportOptions::default() };
        let mut errors = Vec::new();
        let input = std::io::Cursor::new(file.as_bytes().to_vec());
        let summary = import_with(&store, ImportKind::Customers, Format::Csv, input, options, |e| {
            errors.push(e.clone())
        })
        .await
        .unwrap();
        assert_eq!((summary.imported, summary.rejected), (2, 2), "{errors:?}");
        let described: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(described[0].starts_with("line 4, column phone:"), "{described:?}");
        assert!(described[1].starts_with("line 5, column postcode:"), "{described:?}");
        let k1 = store.customer_by_external_id("k1").await.unwrap().unwrap();
        assert_eq!(
            (k1.phone.as_deref(), k1.address_line1.as_deref(), k1.address_line2.as_deref()),
            (Some("+49301234567"), Some("Hauptstr. 5"), None)
        );
        let k2 = store.customer_by_external_id("k2").await.unwrap().unwrap();
        assert_eq!((k2.phone.as_deref(), k2.postcode.as_deref()), (Some("+442079460958"), Some("SW1A 2AA")));
        // Without the region, the national number is refused.
        let (_, errors) =
            run(&store, ImportKind::Customers, Format::Csv, "external_id,phone\nk5,030 1234567\n").await;
        assert_eq!(errors.len(), 1, "{errors:?}");
    }
});

on_both!(invalid_optional_fields_can_be_left_blank_keeping_the_row, |store: &Store| {
    let store = store.clone();
    async move {
        let file = "external_id,first_name,birth_date,phone,lat,lon\n\
            b1,Ana,1956-02-31,+44 20 7946 0958,,\n\
            b2,Ben,1970-01-01,12,91.5,3.2\n\
            ,Cy,1980-01-01,,,\n\
            b4,Dee,1990-05-06,,,\n";
        // As before: a row with any invalid value is refused.
        let (summary, errors) = run(&store, ImportKind::Customers, Format::Csv, file).await;
        assert_eq!((summary.imported, summary.rejected, summary.fields_blanked), (1, 3, 0), "{errors:?}");
        // Asked to, the faulty optional values are left out and the rows kept; a row without
        // an external id is still refused.
        let options = ImportOptions { blank_invalid_fields: true, ..ImportOptions::default() };
        let mut errors = Vec::new();
        let input = std::io::Cursor::new(file.as_bytes().to_vec());
        let summary = import_with(&store, ImportKind::Customers, Format::Csv, input, options, |e| {
            errors.push(e.to_string())
        })
        .await
        .unwrap();
        assert_eq!((summary.imported, summary.unchanged, summary.rejected), (2, 1, 1), "{errors:?}");
        assert_eq!(summary.fields_blanked, 3, "{errors:?}");
        assert!(
            errors.iter().any(|e| e.starts_with("line 2, column birth_date:") && e.contains("left blank"))
        );
        assert!(errors.iter().any(|e| e.starts_with("line 3, column phone:") && e.contains("left blank")));
        assert!(errors.iter().any(|e| e.starts_with("line 3, column lat:") && e.contains("left blank")));
        assert!(
            errors.iter().any(|e| e.starts_with("line 4, column external_id:") && !e.contains("left blank"))
        );
        let ana = store.customer_by_external_id("b1").await.unwrap().unwrap();
        assert_eq!((ana.first_name.as_deref(), ana.birth_date), (Some("Ana"), None));
        assert_eq!(ana.phone.as_deref(), Some("+442079460958"));
        let ben = store.customer_by_external_id("b2").await.unwrap().unwrap();
        assert_eq!((ben.phone.as_deref(), ben.lat, ben.lon), (None, None, None));
        assert_eq!(ben.birth_date.map(|d| d.to_string()).as_deref(), Some("1970-01-01"));
    }
});

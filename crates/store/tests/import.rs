//! Bulk import against SQLite and PostgreSQL: bad rows are reported and skipped, a second
//! import changes nothing.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use kindred_store::Store;
use kindred_store::import::{Format, ImportError, ImportKind, RowError, import};

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

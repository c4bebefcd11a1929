//! GraphQL input coercion takes any JSON variables without panicking: every request is
//! answered with data or with errors, and a refused value is repeated only in part.
#![allow(missing_docs, clippy::unwrap_used)]

use async_graphql::{Request, Variables};
use kindred_graphql::{build_schema, request_loader};
use kindred_store::Store;
use proptest::prelude::*;
use serde_json::Value;

/// JSON of any shape, with text that breaks naive code (control characters, long runs).
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|n| serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)),
        "\\PC{0,30}|[\\x00-\\x1f]{0,3}|x{300}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::hash_map("[a-zA-Z]{1,12}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

const QUERIES: [&str; 3] = [
    "mutation($input: CustomerInput!) { upsertCustomer(input: $input) { id } }",
    "mutation($input: InteractionInput!) { recordInteraction(input: $input) { id } }",
    "query($first: Int, $filter: CustomerFilterInput) { customers(first: $first, filter: $filter) { edges { cursor } } }",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn any_variables_are_coerced_or_refused(input in json(), first in json(), which in 0usize..3) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let folder = tempfile::tempdir().unwrap();
            let store = Store::connect(&format!("sqlite://{}/k.db", folder.path().display())).await.unwrap();
            store.migrate().await.unwrap();
            let schema = build_schema(store.clone(), Default::default(), None);
            let variables = serde_json::json!({ "input": input, "first": first, "filter": input });
            let request = Request::new(QUERIES[which]).variables(Variables::from_json(variables)).data(request_loader(&store));
            let response = schema.execute(request).await;
            prop_assert!(!response.errors.is_empty() || response.data != async_graphql::Value::Null);
            for error in &response.errors {
                prop_assert!(error.message.len() < 2_000, "{}", error.message.len());
            }
            Ok(())
        })?;
    }
}

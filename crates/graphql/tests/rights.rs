//! A person's rights over the GraphQL API on a real SQLite store: the export document, the
//! erasure receipt (counts, no personal data), NOT_FOUND afterwards, and erased customers
//! refused by every write that would re-create them unless `allowErased`.
#![allow(missing_docs, clippy::unwrap_used)]

use async_graphql::{Request, Response, Variables};
use kindred_graphql::{KindredSchema, build_schema, request_loader};
use kindred_store::Store;
use serde_json::{Value, json};

struct Api {
    store: Store,
    schema: KindredSchema,
    _folder: tempfile::TempDir,
}

impl Api {
    async fn new() -> Self {
        let folder = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}/k.db", folder.path().display())).await.unwrap();
        store.migrate().await.unwrap();
        let schema = build_schema(store.clone(), Default::default(), None);
        Self { store, schema, _folder: folder }
    }

    async fn run(&self, query: &str, variables: Value) -> Response {
        let request =
            Request::new(query).variables(Variables::from_json(variables)).data(request_loader(&self.store));
        self.schema.execute(request).await
    }

    async fn data(&self, query: &str, variables: Value) -> Value {
        let response = self.run(query, variables).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        response.data.into_json().unwrap()
    }

    async fn error(&self, query: &str, variables: Value) -> Value {
        let response = self.run(query, variables).await;
        assert!(!response.errors.is_empty(), "expected an error");
        serde_json::to_value(&response.errors[0]).unwrap()
    }
}

const UPSERT: &str = "mutation($input: CustomerInput!, $allow: Boolean) { \
    upsertCustomer(input: $input, allowErased: $allow) { id externalId } }";
const EXPORT: &str = "query($id: ID!) { exportCustomerData(id: $id) }";
const ERASE: &str = "mutation($id: ID!) { eraseCustomer(id: $id) { erasureId customerId erasedAt \
    interactions ties needs memberships historyEvents webhookEvents sentWebhookEvents modelMentions } }";

#[tokio::test]
async fn export_then_erase_then_refuse_unless_asked() {
    let api = Api::new().await;
    let input = json!({ "externalId": "ana-1", "email": "ana@example.com", "firstName": "Ana" });
    let created = api.data(UPSERT, json!({ "input": input })).await;
    let id = created["upsertCustomer"]["id"].as_str().unwrap().to_owned();
    api.data(
        "mutation { recordInteraction(input: { customerExternalId: \"ana-1\", occurredAt: \"2026-01-02\", amount: 5 }) { id } \
         addTie(input: { fromExternalId: \"bo-2\", toExternalId: \"ana-1\", mutual: false }) { id } \
         addNeed(input: { customerExternalId: \"ana-1\", tag: \"chess\", source: \"inferred\" }) { id } }",
        json!({}),
    )
    .await;

    let export = api.data(EXPORT, json!({ "id": id })).await["exportCustomerData"].clone();
    assert_eq!(export["customer"]["externalId"], "ana-1");
    assert_eq!(export["customer"]["email"], "ana@example.com");
    assert_eq!(export["interactions"].as_array().unwrap().len(), 1);
    assert_eq!(export["ties"][0]["direction"], "INCOMING");
    assert_eq!(export["ties"][0]["otherExternalId"], "bo-2");
    assert_eq!(export["needs"][0]["source"], "inferred");
    for key in ["memberships", "membershipHistory", "pendingWebhookEvents"] {
        assert!(export[key].is_array(), "{key}");
    }
    assert!(export["exportedAt"].is_string());

    let receipt = api.data(ERASE, json!({ "id": id })).await["eraseCustomer"].clone();
    assert_eq!(receipt["customerId"], id.as_str());
    assert_eq!(
        (receipt["interactions"].as_i64(), receipt["ties"].as_i64(), receipt["needs"].as_i64()),
        (Some(1), Some(1), Some(1))
    );
    let text = receipt.to_string();
    assert!(!text.contains("ana") && !text.contains("example.com"), "personal data in {text}");

    for (query, variables) in [(EXPORT, json!({ "id": id })), (ERASE, json!({ "id": id }))] {
        assert_eq!(api.error(query, variables).await["extensions"]["code"], "NOT_FOUND");
    }
    let found = api
        .data(
            "query($id: ID) { customer(id: $id) { id } byExternal: customer(externalId: \"ana-1\") { id } \
        customers(filter: { email: \"ana@example.com\" }) { edges { node { id } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(found, json!({ "customer": null, "byExternal": null, "customers": { "edges": [] } }));

    let refused = api.error(UPSERT, json!({ "input": { "externalId": "ana-1" } })).await;
    assert_eq!(refused["extensions"]["code"], "CONFLICT");
    assert_eq!(refused["extensions"]["field"], "externalId");
    assert!(!refused["message"].as_str().unwrap().contains("ana-1"));
    let refused = api
        .error(
            "mutation { addTie(input: { fromExternalId: \"bo-2\", toExternalId: \"ana-1\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        (refused["extensions"]["code"].as_str(), refused["extensions"]["field"].as_str()),
        (Some("CONFLICT"), Some("toExternalId"))
    );
    let refused = api
        .error("mutation { recordInteraction(input: { customerExternalId: \"ana-1\", occurredAt: \"2026-01-03\" }) { id } }", json!({}))
        .await;
    assert_eq!(refused["extensions"]["field"], "customerExternalId");
    let refused = api
        .error(
            "mutation { addNeed(input: { customerExternalId: \"ana-1\", tag: \"go\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(refused["extensions"]["field"], "customerExternalId");
    assert!(api.store.customer_by_external_id("ana-1").await.unwrap().is_none());

    let back = api.data(UPSERT, json!({ "input": { "externalId": "ana-1" }, "allow": true })).await;
    assert_ne!(back["upsertCustomer"]["id"], id.as_str());
    assert!(!api.store.is_erased("ana-1").await.unwrap());
}

//! The GraphQL API over a real SQLite store: batching, errors and limits.
#![allow(missing_docs, clippy::unwrap_used)]

use async_graphql::{Request, Response, Variables};
use kindred_domain::{CustomerDraft, InteractionDraft, NeedDraft, TieDraft};
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

    async fn seed(&self, customers: usize) {
        let today = chrono::Utc::now().date_naive();
        for n in 0..customers {
            let id = format!("c{n:03}");
            let draft =
                CustomerDraft { external_id: id.clone(), city: Some("Porto".into()), ..Default::default() };
            self.store.upsert_customer(draft.validate(today).unwrap()).await.unwrap();
            for day in 1..=3 {
                let interaction = InteractionDraft {
                    customer_external_id: id.clone(),
                    occurred_at: format!("2025-01-0{day}"),
                    amount: Some(day as f64),
                    ..Default::default()
                };
                self.store.record_interaction(&interaction.validate().unwrap()).await.unwrap();
            }
            let friend = format!("c{:03}", (n + 1) % customers);
            let tie = TieDraft { from_external_id: id.clone(), to_external_id: friend, ..Default::default() };
            self.store.add_tie(&tie.validate().unwrap()).await.unwrap();
            let need = NeedDraft { customer_external_id: id, tag: "coffee".into(), ..Default::default() };
            self.store.add_need(&need.validate().unwrap()).await.unwrap();
        }
    }
}

const NESTED: &str = "query($first: Int) { customers(first: $first) { edges { node { externalId \
    interactions(first: 2) { edges { node { amount customer { externalId } } } pageInfo { hasNextPage } } \
    ties { edges { node { kind from { externalId } to { externalId } } } } \
    needs { edges { node { tag } } } } } pageInfo { hasNextPage endCursor } } }";

#[tokio::test]
async fn nested_fields_cost_one_query_each_whatever_the_number_of_customers() {
    let api = Api::new().await;
    api.seed(30).await;
    let statements = |api: &Api| api.store.statement_count();

    let before = statements(&api);
    let small = api.data(NESTED, json!({"first": 3})).await;
    let for_three = statements(&api) - before;

    let before = statements(&api);
    let large = api.data(NESTED, json!({"first": 30})).await;
    let for_thirty = statements(&api) - before;

    assert_eq!(small["customers"]["edges"].as_array().unwrap().len(), 3);
    let edges = large["customers"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 30);
    let first = &edges[0]["node"];
    assert_eq!(first["interactions"]["edges"].as_array().unwrap().len(), 2);
    assert_eq!(first["interactions"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(first["interactions"]["edges"][0]["node"]["amount"], 3.0, "newest first");
    assert_eq!(first["ties"]["edges"].as_array().unwrap().len(), 2, "a tie shows at both ends");
    assert_eq!(first["needs"]["edges"][0]["node"]["tag"], "coffee");
    // customers + interactions + ties + needs, and the customers that interactions and ties
    // point to (one batch per field at most, two when the loader does not merge them).
    assert!((4..=6).contains(&for_three), "{for_three} statements for 3 customers");
    assert!((4..=6).contains(&for_thirty), "{for_thirty} statements for 30 customers");
}

#[tokio::test]
async fn customers_are_paged_with_cursors_and_filters() {
    let api = Api::new().await;
    api.seed(5).await;
    let query = "query($after: String) { customers(first: 2, after: $after, filter: {city: \"Porto\", needTag: \"coffee\"}) \
                 { edges { node { externalId } } pageInfo { hasNextPage endCursor } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = api.data(query, json!({"after": after})).await;
        for edge in page["customers"]["edges"].as_array().unwrap() {
            seen.push(edge["node"]["externalId"].as_str().unwrap().to_owned());
        }
        if page["customers"]["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["customers"]["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, ["c000", "c001", "c002", "c003", "c004"]);
    let none =
        api.data("{ customers(filter: {country: \"DE\"}) { edges { node { id } } } }", json!({})).await;
    assert_eq!(none["customers"]["edges"], json!([]));
}

#[tokio::test]
async fn mutations_write_and_validation_errors_name_the_field() {
    let api = Api::new().await;
    let upsert = "mutation($input: CustomerInput!) { upsertCustomer(input: $input) { id externalId email lifestyle } }";
    let created = api
        .data(
            upsert,
            json!({"input": {"externalId": "x1", "email": "X@Example.com", "lifestyle": ["Outdoor"]}}),
        )
        .await;
    assert_eq!(created["upsertCustomer"]["email"], "x@example.com");
    assert_eq!(created["upsertCustomer"]["lifestyle"], json!(["outdoor"]));

    let error = api.error(upsert, json!({"input": {"externalId": "x1", "email": "nope"}})).await;
    assert_eq!(error["extensions"]["code"], "VALIDATION");
    assert_eq!(error["extensions"]["field"], "email");
    assert!(error["message"].as_str().unwrap().contains("nope"));

    let record = "mutation($input: InteractionInput!) { recordInteraction(input: $input) { kind amount currency customer { externalId } } }";
    let error = api
        .error(
            record,
            json!({"input": {"customerExternalId": "x1", "occurredAt": "2025-01-01", "amount": -3}}),
        )
        .await;
    assert_eq!(error["extensions"]["field"], "amount");
    let recorded = api
        .data(record, json!({"input": {"customerExternalId": "x1", "occurredAt": "2025-01-01", "amount": 3, "currency": "eur"}}))
        .await;
    assert_eq!(
        recorded["recordInteraction"],
        json!({"kind": "purchase", "amount": 3.0, "currency": "EUR", "customer": {"externalId": "x1"}})
    );

    let tie = "mutation { addTie(input: {fromExternalId: \"x1\", toExternalId: \"x1\"}) { id } }";
    let error = api.error(tie, json!({})).await;
    assert_eq!(error["extensions"]["field"], "toExternalId");
    api.data(
        "mutation { addTie(input: {fromExternalId: \"x1\", toExternalId: \"x2\", weight: 0.3}) { weight } }",
        json!({}),
    )
    .await;
    let removed =
        api.data("mutation { removeTie(fromExternalId: \"x2\", toExternalId: \"x1\") }", json!({})).await;
    assert_eq!(removed["removeTie"], true);
    api.data(
        "mutation { addNeed(input: {customerExternalId: \"x1\", tag: \"Home Barista\"}) { tag } }",
        json!({}),
    )
    .await;
    let removed = api
        .data("mutation { removeNeed(customerExternalId: \"x1\", tag: \"home barista\") }", json!({}))
        .await;
    assert_eq!(removed["removeNeed"], true);

    let id = created["upsertCustomer"]["id"].as_str().unwrap().to_owned();
    let deleted = api.data("mutation($id: ID!) { deleteCustomer(id: $id) }", json!({"id": id})).await;
    assert_eq!(deleted["deleteCustomer"], id);
    let error = api.error("mutation($id: ID!) { deleteCustomer(id: $id) }", json!({"id": id})).await;
    assert_eq!(error["extensions"]["code"], "NOT_FOUND");
    let gone = api.data("query($id: ID) { customer(id: $id) { id } }", json!({"id": id})).await;
    assert_eq!(gone["customer"], Value::Null);
}

#[tokio::test]
async fn reused_source_id_is_a_conflict() {
    let api = Api::new().await;
    let record = "mutation($c: String!) { recordInteraction(input: {customerExternalId: $c, occurredAt: \"2025-01-01\", sourceId: \"s1\"}) { id } }";
    api.data(record, json!({"c": "a"})).await;
    let error = api.error(record, json!({"c": "b"})).await;
    assert_eq!(error["extensions"]["code"], "CONFLICT");
}

#[tokio::test]
async fn limits_refuse_large_pages_and_deep_or_costly_queries() {
    let api = Api::new().await;
    let error = api.error("{ customers(first: 1000) { edges { node { id } } } }", json!({})).await;
    assert_eq!(error["extensions"]["code"], "VALIDATION");
    assert_eq!(error["extensions"]["field"], "first");

    let deep = "{ customers(first: 1) { edges { node { ties(first: 1) { edges { node { from { ties(first: 1) { edges { node { from { ties(first: 1) { edges { node { id } } } } } } } } } } } } } } }";
    let error = api.error(deep, json!({})).await;
    assert!(error["message"].as_str().unwrap().contains("too deep"), "{error}");

    let costly = "{ customers(first: 100) { edges { node { interactions(first: 100) { edges { node { id kind amount } } } } } } }";
    let error = api.error(costly, json!({})).await;
    assert!(error["message"].as_str().unwrap().contains("too complex"), "{error}");
}

#[test]
fn the_schema_has_the_public_contract() {
    let sdl = kindred_graphql::sdl();
    for needle in [
        "customer(id: ID, externalId: String): Customer",
        "customers(first: Int, after: String, filter: CustomerFilterInput): CustomerConnection!",
        "upsertCustomer(input: CustomerInput!, allowErased: Boolean): Customer!",
        "recordInteraction(input: InteractionInput!): Interaction!",
        "deleteCustomer(id: ID!): ID!",
        "exportCustomerData(id: ID!): JSON!",
        "eraseCustomer(id: ID!, dryRun: Boolean! = false): ErasureReceipt!",
        "mergeCustomers(ids: [ID!]!, survivor: ID!): [MergeEntry!]!",
        "unmergeCustomer(mergeId: ID!): UnmergeResult!",
        "mergeLog(first: Int! = 100, after: ID): [MergeEntry!]!",
        "stats: Stats!",
        "members(segment: String!, first: Int, after: String, search: String): SegmentMemberConnection!",
        "links: [SegmentLink!]!",
    ] {
        assert!(sdl.contains(needle), "missing {needle:?}");
    }
}

#[tokio::test]
async fn stats_searched_members_and_segment_links() {
    let api = Api::new().await;
    api.seed(4).await;
    let stats = api.data("{ stats { customers interactions ties needs } }", json!({})).await;
    assert_eq!(stats["stats"], json!({"customers": 4, "interactions": 12, "ties": 4, "needs": 4}));

    let new = kindred_store::NewSegmentation {
        name: "rings".into(),
        strategy: "need-based".into(),
        params: json!({}),
        mode: kindred_store::SegmentationMode::Static,
        refresh_interval_seconds: None,
    };
    let segmentation = api.store.create_segmentation(&new).await.unwrap();
    let mut entered = Vec::new();
    for (n, segment) in ["a", "a", "b", "b"].into_iter().enumerate() {
        let customer = api.store.customer_by_external_id(&format!("c{n:03}")).await.unwrap().unwrap();
        entered.push(kindred_store::Member {
            customer_id: customer.id,
            segment: segment.into(),
            score: None,
        });
    }
    let diff = kindred_store::MembershipDiff { entered, ..Default::default() };
    api.store
        .apply_membership_diff(segmentation.id, &diff, kindred_store::ChangeReason::Manual, None, None)
        .await
        .unwrap();

    let query = "query($id: ID!, $search: String, $after: String) { segmentation(id: $id) { \
                 links { a b ties weight } \
                 members(segment: \"a\", first: 1, after: $after, search: $search) { \
                 edges { node { customer { externalId } } } pageInfo { hasNextPage endCursor } } } }";
    let id = segmentation.id.to_string();
    let page = api.data(query, json!({"id": id, "search": " C00 "})).await;
    let segmentation_json = &page["segmentation"];
    // The ring c000-c001-c002-c003-c000: a-a once, a-b twice (c001-c002, c003-c000), b-b once.
    assert_eq!(
        segmentation_json["links"],
        json!([
            {"a": "a", "b": "b", "ties": 2, "weight": 2.0},
            {"a": "a", "b": "a", "ties": 1, "weight": 1.0},
            {"a": "b", "b": "b", "ties": 1, "weight": 1.0}
        ])
    );
    let members = &segmentation_json["members"];
    assert_eq!(members["edges"][0]["node"]["customer"]["externalId"], "c000");
    assert_eq!(members["pageInfo"]["hasNextPage"], true);
    let after = members["pageInfo"]["endCursor"].clone();
    let next = api.data(query, json!({"id": id, "search": "c00", "after": after})).await;
    let members = &next["segmentation"]["members"];
    assert_eq!(members["edges"][0]["node"]["customer"]["externalId"], "c001");
    assert_eq!(members["pageInfo"]["hasNextPage"], false);
    let only = api.data(query, json!({"id": id, "search": "c001"})).await;
    let edges = only["segmentation"]["members"]["edges"].as_array().unwrap().clone();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["node"]["customer"]["externalId"], "c001");
}

#[tokio::test]
async fn contact_fields_are_normalised_and_filterable() {
    let api = Api::new().await;
    let upsert = "mutation($input: CustomerInput!) { upsertCustomer(input: $input) { phone addressLine1 addressLine2 postcode } }";
    let input = json!({"input": {"externalId": "p1", "phone": "+44 20 7946 0958", "addressLine1": " 10 Downing St ",
        "addressLine2": "Flat 2", "postcode": "sw1a   2aa"}});
    let created = api.data(upsert, input).await;
    assert_eq!(
        created["upsertCustomer"],
        json!({"phone": "+442079460958", "addressLine1": "10 Downing St", "addressLine2": "Flat 2", "postcode": "SW1A 2AA"})
    );
    // Without a default region, a national number cannot be read: refused, naming the field.
    let error = api.error(upsert, json!({"input": {"externalId": "p2", "phone": "020 7946 0958"}})).await;
    assert_eq!(
        (error["extensions"]["code"].as_str(), error["extensions"]["field"].as_str()),
        (Some("VALIDATION"), Some("phone"))
    );
    // A write that leaves them out keeps them.
    let kept = api.data(upsert, json!({"input": {"externalId": "p1", "city": "London"}})).await;
    assert_eq!(kept["upsertCustomer"]["phone"], "+442079460958");

    let find = "query($f: CustomerFilterInput) { customers(first: 5, filter: $f) { edges { node { externalId } } } }";
    for filter in [json!({"phone": "+44 (20) 7946-0958"}), json!({"postcode": "Sw1A 2aA"})] {
        let found = api.data(find, json!({"f": filter})).await;
        assert_eq!(found["customers"]["edges"], json!([{"node": {"externalId": "p1"}}]), "{filter}");
    }
    let error = api.error(find, json!({"f": {"phone": "not a number"}})).await;
    assert_eq!(error["extensions"]["field"], "phone");
}

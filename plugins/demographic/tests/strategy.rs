//! The demographic strategy on a small fixture: exact segments for bands and rules.
#![allow(missing_docs, clippy::unwrap_used)]

use kindred_demographic::Demographic;
use kindred_plugin_sdk::arrow_array::builder::{ListBuilder, StringBuilder};
use kindred_plugin_sdk::arrow_array::cast::AsArray;
use kindred_plugin_sdk::arrow_array::types::Int64Type;
use kindred_plugin_sdk::arrow_array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use kindred_plugin_sdk::serde_json::{Value, json};
use kindred_plugin_sdk::{Input, Table, testing};
use std::collections::HashMap;
use std::sync::Arc;

const DAY: i64 = 86_400_000_000;
/// 2026-11-23.
const AS_OF: i64 = 20_780 * DAY;

/// Five customers:
/// 1: born 1996-01-01 (30), female, income 30,000, Lisbon, vegan
/// 2: born 1981-06-15 (45), male, income 90,000, Madrid, gamer
/// 3: no birth date, no gender, income 50,000, Porto, no lifestyle
/// 4: born 2007-03-03 (19), female, no income, Paris, vegan and outdoor
/// 5: born 1950-11-24 (75, turning 76 tomorrow), male, income 10,000, Lisbon, outdoor
fn input() -> Input {
    let mut lifestyle = ListBuilder::new(StringBuilder::new());
    for tags in [vec!["vegan"], vec!["gamer"], vec![], vec!["outdoor", "vegan"], vec!["outdoor"]] {
        tags.iter().for_each(|tag| lifestyle.values().append_value(tag));
        lifestyle.append(!tags.is_empty());
    }
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5]))),
        (
            "birth_date",
            Arc::new(Date32Array::from(vec![Some(9_496), Some(4_183), None, Some(13_575), Some(-6_978)])),
        ),
        (
            "gender",
            Arc::new(StringArray::from(vec![
                Some("female"),
                Some("male"),
                None,
                Some("female"),
                Some("male"),
            ])),
        ),
        (
            "income",
            Arc::new(Float64Array::from(vec![
                Some(30_000.0),
                Some(90_000.0),
                Some(50_000.0),
                None,
                Some(10_000.0),
            ])),
        ),
        ("country", Arc::new(StringArray::from(vec!["PT", "ES", "PT", "FR", "PT"]))),
        ("city", Arc::new(StringArray::from(vec!["Lisbon", "Madrid", "Porto", "Paris", "Lisbon"]))),
        ("lat", Arc::new(Float64Array::from(vec![38.72, 40.42, 41.15, 48.86, 38.72]))),
        ("lon", Arc::new(Float64Array::from(vec![-9.14, -3.70, -8.61, 2.35, -9.14]))),
        ("lifestyle", Arc::new(lifestyle.finish())),
    ];
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    Input::new(HashMap::from([(Table::Customers, vec![batch])]), AS_OF)
}

fn segments(params: Value) -> (Vec<(i64, String)>, Value) {
    let (output, model) =
        testing::run::<Demographic>(&params, &input()).unwrap_or_else(|error| panic!("{error}"));
    let ids = output.column(0).as_primitive::<Int64Type>();
    let labels = output.column(1).as_string::<i32>();
    let rows = (0..output.num_rows()).map(|row| (ids.value(row), labels.value(row).to_owned())).collect();
    (rows, model)
}

fn labels(params: Value) -> Vec<String> {
    segments(params).0.into_iter().map(|(_, label)| label).collect()
}

#[test]
fn bands_combine_dimensions_and_keep_unknowns() {
    let params =
        json!({ "method": "bands", "dimensions": ["age", "gender", { "field": "income", "quantiles": 2 }] });
    let (rows, model) = segments(params);
    let labels: Vec<&str> = rows.iter().map(|(_, label)| label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "25-34 · female · income Q1",
            "45-54 · male · income Q2",
            "age unknown · gender unknown · income Q2",
            "18-24 · female · income unknown",
            "65+ · male · income Q1",
        ]
    );
    assert_eq!(rows.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [1, 2, 3, 4, 5], "one segment each");
    assert_eq!(model["as_of"], "2026-11-23");
    assert_eq!(model["dimensions"][2]["cut_points"], json!([50000.0]));
}

#[test]
fn explicit_edges_lifestyle_and_places() {
    let params = json!({ "dimensions": [{ "field": "age", "edges": [30, 60] }, "country", { "field": "lifestyle", "tags": ["vegan", "outdoor"] }] });
    assert_eq!(
        labels(params),
        [
            "30-59 · PT · vegan",
            "30-59 · ES · other lifestyle",
            "age unknown · PT · lifestyle unknown",
            "under 30 · FR · vegan",
            "60+ · PT · outdoor",
        ]
    );
    let params = json!({ "dimensions": [{ "field": "income", "edges": [20000, 60000] }, "city"] });
    assert_eq!(
        labels(params),
        [
            "income 20000-60000 · Lisbon",
            "income 60000+ · Madrid",
            "income 20000-60000 · Porto",
            "income unknown · Paris",
            "income under 20000 · Lisbon",
        ]
    );
}

#[test]
fn ages_follow_the_as_of_date() {
    assert_eq!(labels(json!({ "as_of": "2026-11-24" }))[4], "65+");
    let later = segments(json!({ "dimensions": [{ "field": "age", "edges": [76] }], "as_of": "2026-11-24" }));
    assert_eq!(later.0[4].1, "76+", "the birthday counts on the day");
    assert_eq!(later.1["as_of"], "2026-11-24");
    let before = segments(json!({ "dimensions": [{ "field": "age", "edges": [76] }] }));
    assert_eq!(before.0[4].1, "under 76");
}

#[test]
fn rules_first_match_or_every_match() {
    let rules = json!([
        { "label": "young urban", "when": { "all": [{ "field": "age", "op": "lt", "value": 35 }, { "field": "city", "op": "in", "value": ["Lisbon", "Paris"] }] } },
        { "label": "near Lisbon", "when": { "field": "location", "op": "within_km", "value": { "lat": 38.72, "lon": -9.14, "km": 10 } } },
        { "label": "vegan", "when": { "field": "lifestyle", "op": "contains", "value": "vegan" } }
    ]);
    let first = labels(json!({ "method": "rules", "rules": rules }));
    assert_eq!(first, ["young urban", "other", "other", "young urban", "near Lisbon"]);
    let every = segments(json!({ "method": "rules", "rules": rules, "multi": true })).0;
    let expected: Vec<(i64, String)> = [
        (1, "young urban"),
        (1, "near Lisbon"),
        (1, "vegan"),
        (2, "other"),
        (3, "other"),
        (4, "young urban"),
        (4, "vegan"),
        (5, "near Lisbon"),
    ]
    .into_iter()
    .map(|(id, label)| (id, label.to_owned()))
    .collect();
    assert_eq!(every, expected);
}

#[test]
fn bad_params_name_their_path() {
    let error =
        |params: Value| testing::create::<Demographic>(&params).expect_err("refused").message().to_owned();
    let message = error(
        json!({ "method": "rules", "rules": [{ "label": "x", "when": { "all": [{ "field": "gender", "op": "gt", "value": "f" }] } }] }),
    );
    assert!(
        message.starts_with("params /rules/0/when/all/0/op: op \"gt\" is not valid for text field"),
        "{message}"
    );
    let message = error(
        json!({ "method": "rules", "rules": [{ "label": "x", "when": { "field": "shoe", "op": "eq", "value": 1 } }] }),
    );
    assert!(message.contains("/rules/0/when/field: unknown field \"shoe\""), "{message}");
    let message = error(json!({ "dimensions": ["age", { "field": "income", "quantiles": 1 }] }));
    assert!(message.contains("/dimensions/1/quantiles"), "{message}");
    assert!(error(json!({ "as_of": "yesterday" })).contains("/as_of"));
}

#[test]
fn the_schema_is_derived_from_the_params_type() {
    let schema = kindred_plugin_sdk::params::schema_of::<kindred_demographic::Params>();
    println!("{schema:#}");
    let properties = &schema["properties"];
    assert_eq!(properties["method"]["default"], "bands", "{schema}");
    assert_eq!(
        properties["dimensions"]["default"],
        kindred_plugin_sdk::serde_json::json!(["age"]),
        "{schema}"
    );
    assert_eq!(properties["dimensions"]["minItems"], 1, "{schema}");
    assert_eq!(schema["additionalProperties"], false);
    assert!(!schema.to_string().contains("$ref"), "{schema}");
}

#[test]
fn quantile_bands_come_back_from_the_saved_state() {
    let params = json!({ "dimensions": [{ "field": "income", "quantiles": 2 }, "age"] });
    let (fitted, model) = testing::run::<Demographic>(&params, &input()).unwrap();
    let (reloaded, reloaded_model) = testing::run_reloaded::<Demographic>(&params, &input()).unwrap();
    assert_eq!(fitted, reloaded);
    assert_eq!(model, reloaded_model);
}

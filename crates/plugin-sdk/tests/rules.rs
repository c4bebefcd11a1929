//! The rule language: every op on a small fixture, nesting, and errors with their paths.
#![allow(missing_docs, clippy::unwrap_used)]

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, StringArray, TimestampMicrosecondArray,
};
use kindred_plugin_sdk::rules::{Condition, FieldType, Fields, RuleColumns};
use serde_json::{Value, json};
use std::sync::Arc;

const DAY: i64 = 86_400_000_000;
/// 2026-11-23, midnight UTC.
const AS_OF: i64 = 20_780 * DAY;

fn fields() -> Fields {
    Fields::new()
        .with("age", FieldType::Number)
        .with("income", FieldType::Number)
        .with("gender", FieldType::Text)
        .with("country", FieldType::Text)
        .with("consent", FieldType::Boolean)
        .with("birth_date", FieldType::Date)
        .with("created_at", FieldType::Timestamp)
        .with("lifestyle", FieldType::Tags)
        .with("location", FieldType::Location)
}

/// Four customers: 0 a 30-year-old woman in Lisbon, 1 a 45-year-old man in Madrid with no
/// income, 2 someone in Porto with nothing else known, 3 a 19-year-old in France with no place.
fn columns() -> RuleColumns {
    let mut tags = ListBuilder::new(StringBuilder::new());
    for row in [Some(vec!["vegan", "outdoor"]), Some(vec!["gamer"]), None, Some(vec![])] {
        match row {
            Some(values) => {
                values.iter().for_each(|tag| tags.values().append_value(tag));
                tags.append(true);
            }
            None => tags.append(false),
        }
    }
    let array = |a: ArrayRef| a;
    RuleColumns::new(4)
        .with("age", array(Arc::new(Float64Array::from(vec![Some(30.0), Some(45.0), None, Some(19.0)]))))
        .with(
            "income",
            array(Arc::new(Float64Array::from(vec![Some(50_000.0), None, Some(80_000.0), Some(20_000.0)]))),
        )
        .with(
            "gender",
            array(Arc::new(StringArray::from(vec![Some("female"), Some("male"), None, Some("non_binary")]))),
        )
        .with("country", array(Arc::new(StringArray::from(vec!["PT", "ES", "PT", "FR"]))))
        .with("consent", array(Arc::new(BooleanArray::from(vec![Some(true), Some(false), None, Some(true)]))))
        // 1996-01-01, 1981-06-15, none, 2007-03-03
        .with(
            "birth_date",
            array(Arc::new(Date32Array::from(vec![Some(9_496), Some(4_183), None, Some(13_575)]))),
        )
        .with(
            "created_at",
            array(Arc::new(
                TimestampMicrosecondArray::from(vec![
                    AS_OF - 10 * DAY,
                    AS_OF - 400 * DAY,
                    AS_OF - 100 * DAY,
                    AS_OF - DAY,
                ])
                .with_timezone("UTC"),
            )),
        )
        .with("lifestyle", array(Arc::new(tags.finish())))
        .with_location(
            "location",
            Arc::new(Float64Array::from(vec![Some(38.72), Some(40.42), Some(41.15), None])),
            Arc::new(Float64Array::from(vec![Some(-9.14), Some(-3.70), Some(-8.61), None])),
        )
}

fn matching(tree: Value) -> Vec<usize> {
    let condition =
        Condition::parse(&tree, &fields(), "/when").unwrap_or_else(|error| panic!("{tree}: {error}"));
    let matched = condition.evaluate(&columns(), AS_OF).unwrap();
    matched.set_indices().collect()
}

fn leaf(field: &str, op: &str, value: Value) -> Vec<usize> {
    matching(json!({ "field": field, "op": op, "value": value }))
}

#[test]
fn numbers() {
    assert_eq!(leaf("age", "eq", json!(30)), [0]);
    assert_eq!(leaf("age", "ne", json!(30)), [1, 3], "a missing value never matches a comparison");
    assert_eq!(leaf("age", "lt", json!(30)), [3]);
    assert_eq!(leaf("age", "le", json!(30)), [0, 3]);
    assert_eq!(leaf("age", "gt", json!(30)), [1]);
    assert_eq!(leaf("age", "ge", json!(45)), [1]);
    assert_eq!(leaf("age", "between", json!([19, 30])), [0, 3]);
    assert_eq!(leaf("age", "in", json!([19, 45])), [1, 3]);
    assert_eq!(leaf("age", "not_in", json!([19])), [0, 1]);
    assert_eq!(leaf("age", "exists", Value::Null), [0, 1, 3]);
    assert_eq!(leaf("age", "missing", Value::Null), [2]);
}

#[test]
fn texts_and_booleans() {
    assert_eq!(leaf("gender", "eq", json!("female")), [0]);
    assert_eq!(leaf("gender", "ne", json!("female")), [1, 3]);
    assert_eq!(leaf("gender", "in", json!(["female", "male"])), [0, 1]);
    assert_eq!(leaf("gender", "not_in", json!(["male"])), [0, 3]);
    assert_eq!(leaf("gender", "contains", json!("male")), [0, 1]);
    assert_eq!(leaf("gender", "starts_with", json!("non")), [3]);
    assert_eq!(leaf("gender", "missing", Value::Null), [2]);
    assert_eq!(leaf("consent", "eq", json!(true)), [0, 3]);
    assert_eq!(leaf("consent", "ne", json!(true)), [1]);
    assert_eq!(leaf("consent", "exists", Value::Null), [0, 1, 3]);
}

#[test]
fn dates_and_times_absolute_and_relative() {
    assert_eq!(leaf("birth_date", "lt", json!("1990-01-01")), [1]);
    assert_eq!(leaf("birth_date", "eq", json!("1996-01-01")), [0]);
    assert_eq!(leaf("birth_date", "between", json!(["1990-01-01", "2000-12-31"])), [0]);
    assert_eq!(leaf("birth_date", "ge", json!("now-20y")), [3]);
    assert_eq!(leaf("created_at", "ge", json!("now-30d")), [0, 3]);
    assert_eq!(leaf("created_at", "lt", json!("now-365d")), [1]);
    assert_eq!(leaf("created_at", "between", json!(["now-200d", "now-50d"])), [2]);
    assert_eq!(leaf("created_at", "gt", json!("2025-11-01T00:00:00+01:00")), [0, 2, 3]);
    assert_eq!(leaf("created_at", "le", json!("now")), [0, 1, 2, 3]);
    // The same tree drifts with the as-of moment: 300 days later nobody joined in the last 30.
    let tree = json!({ "field": "created_at", "op": "ge", "value": "now-30d" });
    let condition = Condition::parse(&tree, &fields(), "").unwrap();
    assert_eq!(condition.evaluate(&columns(), AS_OF + 300 * DAY).unwrap().count_set_bits(), 0);
}

#[test]
fn tags_and_places() {
    assert_eq!(leaf("lifestyle", "contains", json!("vegan")), [0]);
    assert_eq!(leaf("lifestyle", "in", json!(["gamer", "outdoor"])), [0, 1]);
    assert_eq!(leaf("lifestyle", "not_in", json!(["vegan"])), [1, 2, 3]);
    assert_eq!(leaf("lifestyle", "exists", Value::Null), [0, 1, 3]);
    assert_eq!(leaf("lifestyle", "missing", Value::Null), [2]);
    let lisbon = |km: f64| json!({ "lat": 38.7223, "lon": -9.1393, "km": km });
    assert_eq!(leaf("location", "within_km", lisbon(50.0)), [0]);
    assert_eq!(
        leaf("location", "within_km", lisbon(400.0)),
        [0, 2],
        "Porto is about 275 km away, Madrid 500"
    );
    assert_eq!(leaf("location", "missing", Value::Null), [3]);
}

#[test]
fn nesting() {
    let tree = json!({ "all": [
        { "field": "country", "op": "eq", "value": "PT" },
        { "not": { "field": "income", "op": "lt", "value": 60000 } }
    ]});
    assert_eq!(matching(tree), [2]);
    let tree = json!({ "any": [
        { "all": [{ "field": "age", "op": "lt", "value": 25 }, { "field": "consent", "op": "eq", "value": true }] },
        { "not": { "any": [{ "field": "country", "op": "in", "value": ["PT", "FR"] }] } }
    ]});
    assert_eq!(matching(tree), [1, 3]);
    assert_eq!(matching(json!({ "all": [] })), [0, 1, 2, 3]);
    assert_eq!(matching(json!({ "any": [] })), Vec::<usize>::new());
}

fn refused(tree: Value) -> (String, String) {
    let error = Condition::parse(&tree, &fields(), "/rules/0/when").expect_err("refused");
    (error.path, error.reason)
}

#[test]
fn bad_trees_name_the_node_and_why() {
    let (path, reason) = refused(json!({ "field": "shoe_size", "op": "eq", "value": 42 }));
    assert_eq!(path, "/rules/0/when/field");
    assert!(reason.contains("unknown field \"shoe_size\""), "{reason}");

    let (path, reason) = refused(json!({ "all": [{ "field": "gender", "op": "lt", "value": "m" }] }));
    assert_eq!(path, "/rules/0/when/all/0/op");
    assert!(reason.contains("not valid for text field \"gender\""), "{reason}");

    let (path, reason) = refused(json!({ "field": "age", "op": "eq", "value": "thirty" }));
    assert_eq!((path.as_str(), reason.as_str()), ("/rules/0/when/value", "expected a number"));

    let (path, _) = refused(
        json!({ "all": [{ "field": "age", "op": "exists" }, { "any": [{ "field": "age", "op": "between", "value": [1] }] }] }),
    );
    assert_eq!(path, "/rules/0/when/all/1/any/0/value");

    let (path, reason) = refused(json!({ "field": "created_at", "op": "ge", "value": "now-3x" }));
    assert_eq!(path, "/rules/0/when/value");
    assert!(reason.contains("unit"), "{reason}");

    let (path, _) = refused(json!({ "field": "birth_date", "op": "lt", "value": "2025-02-30" }));
    assert_eq!(path, "/rules/0/when/value");

    let (path, _) =
        refused(json!({ "field": "location", "op": "within_km", "value": { "lat": 99, "lon": 0, "km": 1 } }));
    assert_eq!(path, "/rules/0/when/value/lat");

    let (path, _) = refused(json!({ "not": { "field": "age", "op": "eq", "value": 1 }, "all": [] }));
    assert_eq!(path, "/rules/0/when");

    let (path, _) = refused(json!([1, 2]));
    assert_eq!(path, "/rules/0/when");
}

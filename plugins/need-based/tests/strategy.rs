//! The need-based strategy on a small fixture: two circles of friends with their own needs, a
//! pair too small to be a community, a loner; labels by lift, summaries, and the vote that
//! places a new or changed customer.
#![allow(missing_docs, clippy::unwrap_used)]

use kindred_need_based::NeedBased;
use kindred_plugin_sdk::arrow_array::cast::AsArray;
use kindred_plugin_sdk::arrow_array::types::Int64Type;
use kindred_plugin_sdk::arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use kindred_plugin_sdk::serde_json::{Value, json};
use kindred_plugin_sdk::{Assignments, Input, SegmentationStrategy, Table, testing};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

fn input(customers: &[i64], ties: &[(i64, i64, &str)], needs: &[(i64, &str)]) -> Input {
    let customer_columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(customers.iter().copied().collect::<Int64Array>())),
        ("external_id", Arc::new(customers.iter().map(|id| Some(format!("c{id}"))).collect::<StringArray>())),
    ];
    let tie_columns: Vec<(&str, ArrayRef)> = vec![
        ("from_id", Arc::new(ties.iter().map(|t| t.0).collect::<Int64Array>())),
        ("to_id", Arc::new(ties.iter().map(|t| t.1).collect::<Int64Array>())),
        ("kind", Arc::new(ties.iter().map(|t| Some(t.2)).collect::<StringArray>())),
        ("weight", Arc::new(ties.iter().map(|_| Some(1.0)).collect::<Float64Array>())),
    ];
    let need_columns: Vec<(&str, ArrayRef)> = vec![
        ("customer_id", Arc::new(needs.iter().map(|n| n.0).collect::<Int64Array>())),
        ("tag", Arc::new(needs.iter().map(|n| Some(n.1)).collect::<StringArray>())),
        ("weight", Arc::new(needs.iter().map(|_| Some(1.0)).collect::<Float64Array>())),
    ];
    Input::new(
        HashMap::from([
            (Table::Customers, vec![RecordBatch::try_from_iter(customer_columns).unwrap()]),
            (Table::Ties, vec![RecordBatch::try_from_iter(tie_columns).unwrap()]),
            (Table::Needs, vec![RecordBatch::try_from_iter(need_columns).unwrap()]),
        ]),
        0,
    )
}

/// Runners 1-12 (a ring of friends with chords), bakers 21-32 likewise,
/// a pair 41-42, a loner 50. Everyone likes coffee; runners and bakers have their own needs.
/// Customers, ties (from, to, kind) and needs (customer, tag).
type Fixture = (Vec<i64>, Vec<(i64, i64, &'static str)>, Vec<(i64, &'static str)>);

fn fixture() -> Fixture {
    let mut customers: Vec<i64> = (1..=12).chain(21..=32).collect();
    customers.extend([41, 42, 50]);
    let mut ties = Vec::new();
    for base in [0, 20] {
        for i in 1..=12 {
            for (step, kind) in [(1, "friend"), (2, "friend"), (3, "colleague"), (5, "household")] {
                ties.push((base + i, base + (i + step - 1) % 12 + 1, kind));
            }
        }
    }
    ties.push((12, 21, "follows")); // one weak tie between the circles
    ties.push((41, 42, "friend"));
    let mut needs = Vec::new();
    for id in 1..=12 {
        needs.push((id, "coffee"));
        needs.push((id, "trail running"));
        if id % 2 == 0 {
            needs.push((id, "injury prevention"));
        }
    }
    for id in 21..=32 {
        needs.push((id, "coffee"));
        needs.push((id, "sourdough"));
    }
    (customers, ties, needs)
}

fn segments(params: Value) -> (BTreeMap<i64, String>, Value) {
    let (customers, ties, needs) = fixture();
    let (output, model) = testing::run::<NeedBased>(&params, &input(&customers, &ties, &needs)).unwrap();
    let ids = output.column(0).as_primitive::<Int64Type>();
    let labels = output.column(1).as_string::<i32>();
    ((0..output.num_rows()).map(|row| (ids.value(row), labels.value(row).to_owned())).collect(), model)
}

#[test]
fn circles_become_communities_named_by_their_needs() {
    let (labels, model) = segments(json!({ "min_size": 5 }));
    assert_eq!(labels[&1], "trail running · injury prevention", "{model}");
    assert!((2..=12).all(|id| labels[&id] == labels[&1]));
    assert_eq!(labels[&21], "sourdough", "coffee is everyone's: no lift: {model}");
    assert!((22..=32).all(|id| labels[&id] == labels[&21]));
    assert_eq!(
        (labels[&41].as_str(), labels[&42].as_str(), labels[&50].as_str()),
        ("small groups", "small groups", "unconnected")
    );
    assert_eq!(model["communities"], 2);
    assert!(model["modularity"].as_f64().unwrap() > 0.3, "{model}");
    let runners = model["summaries"].as_array().unwrap().iter().find(|s| s["label"] == labels[&1]).unwrap();
    assert_eq!(runners["size"], 12);
    assert_eq!(runners["top_needs"][0]["need"], "trail running");
    assert_eq!(runners["top_needs"][0]["share"], 1.0);
    assert!(runners["internal_tie_share"].as_f64().unwrap() > 0.9);
    assert_eq!(runners["influencers"].as_array().unwrap().len(), 3);
}

#[test]
fn the_same_seed_gives_the_same_communities() {
    assert_eq!(
        segments(json!({ "min_size": 5, "seed": 9 })).0,
        segments(json!({ "min_size": 5, "seed": 9 })).0
    );
}

#[test]
fn a_new_or_changed_customer_joins_by_the_vote_of_its_ties_and_needs() {
    let (customers, ties, needs) = fixture();
    let mut strategy = NeedBased::create(&json!({ "min_size": 5 })).unwrap();
    strategy.fit(&input(&customers, &ties, &needs)).unwrap();
    let assign = |customers: &[i64], ties: &[(i64, i64, &str)], needs: &[(i64, &str)]| {
        let mut out = Assignments::new();
        strategy.assign(&input(customers, ties, needs), &mut out).unwrap();
        let output = out.finish();
        output.column(1).as_string::<i32>().value(0).to_owned()
    };
    // A newcomer befriends two bakers.
    assert_eq!(assign(&[60], &[(60, 21, "friend"), (22, 60, "friend")], &[]), "sourdough");
    // Another says nothing but that they run trails and fear injuries.
    assert_eq!(
        assign(&[61], &[], &[(61, "trail running"), (61, "injury prevention")]),
        "trail running · injury prevention"
    );
    // The loner, unchanged, stays unconnected; with a runner friend now, joins the runners.
    assert_eq!(assign(&[50], &[], &[]), "unconnected");
    assert_eq!(assign(&[50], &[(50, 3, "household")], &[]), "trail running · injury prevention");
    // A baker seen by fit, unchanged, keeps its community.
    let baker_ties: Vec<_> = ties.iter().copied().filter(|t| t.0 == 25 || t.1 == 25).collect();
    let baker_needs: Vec<_> = needs.iter().copied().filter(|n| n.0 == 25).collect();
    assert_eq!(assign(&[25], &baker_ties, &baker_needs), "sourdough");
}

#[test]
fn bad_params_name_their_path() {
    for (params, path) in [
        (json!({ "resolution": 0 }), "/resolution"),
        (json!({ "needs_share": 2 }), "/needs_share"),
        (json!({ "tie_factors": { "friend": -1 } }), "/tie_factors/friend"),
        (json!({ "use_ties": false, "use_needs": false }), "/use_needs"),
        (json!({ "min_size": 0 }), "/min_size"),
    ] {
        let error = NeedBased::create(&params).err().unwrap_or_else(|| panic!("{params} accepted"));
        assert_eq!(error.param_path().map(|(path, _)| path), Some(path), "{params}");
    }
}

//! The need-based strategy on a small fixture: two circles of friends with their own needs, a
//! pair too small to be a community, a loner; labels by lift, summaries, and the vote that
//! places a new or changed customer.
#![allow(missing_docs, clippy::unwrap_used)]

use kindred_need_based::NeedBased;
use kindred_plugin_sdk::arrow_array::cast::AsArray;
use kindred_plugin_sdk::arrow_array::types::Int64Type;
use kindred_plugin_sdk::arrow_array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use kindred_plugin_sdk::serde_json::{Value, json};
use kindred_plugin_sdk::{Assignments, Input, SegmentationStrategy, Table, testing};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The moment listening tests describe.
const AS_OF_MICROS: i64 = 1_790_000_000_000_000;
const DAY_MICROS: i64 = 86_400_000_000;

/// A text a customer wrote: (customer, kind, days before `AS_OF_MICROS`, text).
type Text = (i64, &'static str, i64, &'static str);

fn input(customers: &[i64], ties: &[(i64, i64, &str)], needs: &[(i64, &str)]) -> Input {
    input_with_texts(customers, ties, needs, &[])
}

fn input_with_texts(
    customers: &[i64],
    ties: &[(i64, i64, &str)],
    needs: &[(i64, &str)],
    texts: &[Text],
) -> Input {
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
    let interaction_columns: Vec<(&str, ArrayRef)> = vec![
        ("customer_id", Arc::new(texts.iter().map(|t| t.0).collect::<Int64Array>())),
        (
            "occurred_at",
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    texts.iter().map(|t| AS_OF_MICROS - t.2 * DAY_MICROS),
                )
                .with_timezone("UTC"),
            ),
        ),
        ("kind", Arc::new(texts.iter().map(|t| Some(t.1)).collect::<StringArray>())),
        ("text", Arc::new(texts.iter().map(|t| Some(t.3)).collect::<StringArray>())),
    ];
    Input::new(
        HashMap::from([
            (Table::Customers, vec![RecordBatch::try_from_iter(customer_columns).unwrap()]),
            (Table::Ties, vec![RecordBatch::try_from_iter(tie_columns).unwrap()]),
            (Table::Needs, vec![RecordBatch::try_from_iter(need_columns).unwrap()]),
            (Table::Interactions, vec![RecordBatch::try_from_iter(interaction_columns).unwrap()]),
        ]),
        AS_OF_MICROS,
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
    let mut strategy = testing::create::<NeedBased>(&json!({ "min_size": 5 })).unwrap();
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
        (json!({ "listen": "yes" }), "/listen"),
        (json!({ "listen": true, "vocabulary": { "a/b": ["ok", "?!"] } }), "/vocabulary/a~1b/1"),
        (json!({ "listen": true, "vocabulary": { "x": "trail" } }), "/vocabulary/x"),
        (json!({ "listen": true, "listen_kinds": [] }), "/listen_kinds"),
        (json!({ "listen": true, "listen_half_life_days": 0 }), "/listen_half_life_days"),
        (json!({ "listen": true, "listen_min_weight": 1 }), "/listen_min_weight"),
    ] {
        let error =
            testing::create::<NeedBased>(&params).err().unwrap_or_else(|| panic!("{params} accepted"));
        assert_eq!(error.param_path().map(|(path, _)| path), Some(path), "{params}");
    }
}

fn labels_with_texts(params: &Value, texts: &[Text]) -> (BTreeMap<i64, String>, Value) {
    let (customers, ties, needs) = fixture();
    let population = input_with_texts(&customers, &ties, &needs, texts);
    let (output, model) = testing::run::<NeedBased>(params, &population).unwrap();
    let ids = output.column(0).as_primitive::<Int64Type>();
    let labels = output.column(1).as_string::<i32>();
    ((0..output.num_rows()).map(|row| (ids.value(row), labels.value(row).to_owned())).collect(), model)
}

const RUNNERS: &str = "trail running · injury prevention";

#[test]
fn a_customer_who_writes_about_a_need_joins_the_community_that_shares_it() {
    let texts: [Text; 3] = [
        (50, "post", 3, "Trail running before work, best way to start the day"),
        (50, "review", 20, "Great shoes for trail running, no blisters"),
        (50, "ticket", 1, "My sourdough starter kit arrived broken"), // tickets are not read
    ];
    let listen = json!({ "min_size": 5, "listen": true });
    let (labels, model) = labels_with_texts(&listen, &texts);
    assert_eq!(labels[&50], RUNNERS, "{model}");
    let listening = &model["graph"]["listening"];
    assert_eq!(listening["texts_read"], 2, "{listening}");
    assert_eq!(listening["customers_gained"], 1, "{listening}");
    assert_eq!(listening["top_gained"][0], json!({ "need": "trail running", "customers": 1 }));
    // Without listening, the same customer has nothing to go on.
    let (labels, model) = labels_with_texts(&json!({ "min_size": 5 }), &texts);
    assert_eq!(labels[&50], "unconnected");
    assert!(model["graph"].get("listening").is_none(), "{model}");
}

#[test]
fn old_and_future_texts_fade_or_wait_and_the_vocabulary_and_hashtags_are_heard() {
    let old: [Text; 2] = [
        (50, "post", 3_650, "trail running every day"), // twenty half-lives ago
        (50, "post", -5, "trail running tomorrow"),     // after the data's moment
    ];
    let (labels, model) = labels_with_texts(&json!({ "min_size": 5, "listen": true }), &old);
    assert_eq!(labels[&50], "unconnected", "{model}");
    assert_eq!(model["graph"]["listening"]["texts_read"], 1);
    let vocabulary =
        json!({ "min_size": 5, "listen": true, "vocabulary": { "sourdough": ["levain", "crumb"] } });
    let texts: [Text; 2] =
        [(50, "post", 1, "My levain finally doubled"), (50, "mention", 2, "What a crumb! #Sourdough")];
    let (labels, model) = labels_with_texts(&vocabulary, &texts);
    assert_eq!(labels[&50], "sourdough", "{model}");
}

#[test]
fn assign_hears_what_a_new_customer_wrote_and_reads_text_only_when_listening() {
    let (customers, ties, needs) = fixture();
    let quiet = testing::create::<NeedBased>(&json!({})).unwrap();
    assert!(!quiet.reads().unwrap().columns().contains_key("interactions"));
    let mut strategy = testing::create::<NeedBased>(&json!({ "min_size": 5, "listen": true })).unwrap();
    assert_eq!(strategy.reads().unwrap().columns()["interactions"], ["occurred_at", "kind", "text"]);
    strategy.fit(&input_with_texts(&customers, &ties, &needs, &[])).unwrap();
    let assign = |customers: &[i64], texts: &[Text]| {
        let mut out = Assignments::new();
        strategy.assign(&input_with_texts(customers, &[], &[], texts), &mut out).unwrap();
        out.finish().column(1).as_string::<i32>().value(0).to_owned()
    };
    assert_eq!(assign(&[70], &[(70, "post", 0, "New here. #TrailRunning #InjuryPrevention")]), RUNNERS);
    assert_eq!(assign(&[71], &[(71, "post", 0, "Nothing to say")]), "unconnected");
}

/// A refit sees the segments of the fit it replaces: a community found again keeps its label
/// while its needs still name it; a label its needs no longer support is not kept.
#[test]
fn a_community_found_again_keeps_its_label() {
    let (customers, ties, needs) = fixture();
    let mut input = input(&customers, &ties, &needs);
    let mut previous: Vec<(i64, &str)> =
        (1..=12).map(|id| (id, "trail running · injury prevention (5)")).collect();
    previous.extend((21..=32).map(|id| (id, "chess")));
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("customer_id", Arc::new(previous.iter().map(|p| p.0).collect::<Int64Array>())),
        ("segment", Arc::new(previous.iter().map(|p| Some(p.1)).collect::<StringArray>())),
    ];
    input = input.with_table(Table::Segments, vec![RecordBatch::try_from_iter(columns).unwrap()]);
    let (output, model) = testing::run::<NeedBased>(&json!({ "min_size": 5 }), &input).unwrap();
    let ids = output.column(0).as_primitive::<Int64Type>();
    let labels = output.column(1).as_string::<i32>();
    let labels: BTreeMap<i64, &str> =
        (0..output.num_rows()).map(|row| (ids.value(row), labels.value(row))).collect();
    assert_eq!(labels[&1], "trail running · injury prevention (5)", "{model}");
    assert_eq!(labels[&21], "sourdough", "{model}");
}

/// `groups` planted circles of `size` customers, each pair inside tied with probability
/// `inside`, plus one random tie per two customers; returns the labels' NMI with the circles
/// and how many segments there are.
fn planted_circles(groups: usize, size: usize, inside: f64) -> (f64, usize) {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(groups as u64);
    let n = groups * size;
    let customers: Vec<i64> = (1..=n as i64).collect();
    let mut ties: Vec<(i64, i64, &str)> = Vec::new();
    for group in 0..groups {
        let first = (group * size) as i64 + 1;
        for a in first..first + size as i64 {
            for b in a + 1..first + size as i64 {
                if rng.random::<f64>() < inside {
                    ties.push((a, b, "friend"));
                }
            }
        }
    }
    for _ in 0..n / 2 {
        let (a, b) = (rng.random_range(1..=n as i64), rng.random_range(1..=n as i64));
        if a != b {
            ties.push((a, b, "follows"));
        }
    }
    let (output, _) = testing::run::<NeedBased>(&json!({}), &input(&customers, &ties, &[])).unwrap();
    let ids = output.column(0).as_primitive::<Int64Type>();
    let labels = output.column(1).as_string::<i32>();
    let mut numbers: HashMap<&str, usize> = HashMap::new();
    let (mut found, mut truth) = (Vec::new(), Vec::new());
    for row in 0..output.num_rows() {
        let next = numbers.len();
        found.push(*numbers.entry(labels.value(row)).or_insert(next));
        truth.push((ids.value(row) as usize - 1) / size);
    }
    (kindred_need_based::communities::nmi::nmi(&found, &truth), numbers.len())
}

/// Communities are not merged as the customer base grows (modularity's resolution limit):
/// the same circles are found among 2,400 customers and among 24,000.
#[test]
fn circles_are_found_whatever_the_size_of_the_base() {
    for groups in [200, 2_000] {
        let (score, _) = planted_circles(groups, 12, 0.35);
        assert!(score > 0.95, "{groups} circles: NMI {score}");
    }
}

#[test]
fn communities_and_their_labels_come_back_from_the_saved_state() {
    let (customers, ties, needs) = fixture();
    let population = input(&customers, &ties, &needs);
    let params = json!({ "min_size": 5 });
    let (fitted, model) = testing::run::<NeedBased>(&params, &population).unwrap();
    let (reloaded, reloaded_model) = testing::run_reloaded::<NeedBased>(&params, &population).unwrap();
    assert_eq!(fitted, reloaded);
    assert_eq!(model, reloaded_model);
}

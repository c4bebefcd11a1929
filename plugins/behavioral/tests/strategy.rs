//! The behavioral strategy on small fixtures: exact RFM scores with ties, value tiers, every
//! kind of window rule, lifetime value, and re-scoring one changed customer without a refit.
#![allow(missing_docs, clippy::unwrap_used)]

use kindred_behavioral::Behavioral;
use kindred_plugin_sdk::arrow_array::cast::AsArray;
use kindred_plugin_sdk::arrow_array::types::{Float64Type, Int64Type};
use kindred_plugin_sdk::arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use kindred_plugin_sdk::serde_json::{Value, json};
use kindred_plugin_sdk::{Assignments, Input, SegmentationStrategy, Table, testing};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

const DAY: i64 = 86_400_000_000;
/// 2026-11-23.
const AS_OF: i64 = 20_780 * DAY;

/// An interaction: customer, days before as-of (negative: after it), channel, kind, amount,
/// cost to serve.
type Event = (i64, i64, &'static str, &'static str, Option<f64>, Option<f64>);

fn input(customers: &[(i64, &str)], events: &[Event]) -> Input {
    let customer_columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(customers.iter().map(|(id, _)| *id).collect::<Int64Array>())),
        ("external_id", Arc::new(customers.iter().map(|(_, ext)| Some(*ext)).collect::<StringArray>())),
    ];
    let interaction_columns: Vec<(&str, ArrayRef)> = vec![
        ("customer_id", Arc::new(events.iter().map(|e| e.0).collect::<Int64Array>())),
        (
            "occurred_at",
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(events.iter().map(|e| AS_OF - e.1 * DAY))
                    .with_timezone("UTC"),
            ),
        ),
        ("channel", Arc::new(events.iter().map(|e| Some(e.2)).collect::<StringArray>())),
        ("kind", Arc::new(events.iter().map(|e| Some(e.3)).collect::<StringArray>())),
        ("amount", Arc::new(events.iter().map(|e| e.4).collect::<Float64Array>())),
        ("cost_to_serve", Arc::new(events.iter().map(|e| e.5).collect::<Float64Array>())),
    ];
    Input::new(
        HashMap::from([
            (Table::Customers, vec![RecordBatch::try_from_iter(customer_columns).unwrap()]),
            (Table::Interactions, vec![RecordBatch::try_from_iter(interaction_columns).unwrap()]),
        ]),
        AS_OF,
    )
}

fn rows(output: &RecordBatch) -> Vec<(i64, String, Option<f64>)> {
    let ids = output.column(0).as_primitive::<Int64Type>();
    let labels = output.column(1).as_string::<i32>();
    let scores = output.column(2).as_primitive::<Float64Type>();
    (0..output.num_rows())
        .map(|row| {
            (ids.value(row), labels.value(row).to_owned(), (!scores.is_null(row)).then(|| scores.value(row)))
        })
        .collect()
}

fn run(params: Value, input: &Input) -> (Vec<(i64, String, Option<f64>)>, Value) {
    let (output, model) =
        testing::run::<Behavioral>(&params, input).unwrap_or_else(|error| panic!("{error}"));
    (rows(&output), model)
}

const RFM_CUSTOMERS: [(i64, &str); 8] =
    [(1, "c01"), (2, "c02"), (3, "c03"), (4, "c04"), (5, "c05"), (6, "c06"), (7, "c07"), (8, "c08")];

/// Seven buyers with ties in every dimension, and one customer who never bought.
fn rfm_events() -> Vec<Event> {
    let buy = |customer, days, amount| (customer, days, "web", "purchase", Some(amount), None);
    let ticket = |customer, days| (customer, days, "support", "support_ticket", None, Some(5.0));
    vec![
        buy(1, 10, 100.0),
        buy(1, 40, 50.0),
        buy(2, 10, 150.0),
        buy(3, 200, 20.0),
        buy(3, -5, 1_000.0), // after as-of: ignored
        buy(4, 5, 300.0),
        buy(4, 6, 300.0),
        buy(4, 7, 300.0),
        buy(5, 10, 60.0),
        buy(5, 20, 90.0),
        buy(6, 400, 500.0),
        buy(7, 60, 10.0),
        buy(7, 61, 10.0),
        buy(7, 62, 10.0),
        buy(7, 63, 10.0),
        (8, 3, "web", "visit", None, None),
        ticket(8, 5),
        ticket(8, 15),
        ticket(8, 25),
    ]
}

#[test]
fn rfm_scores_follow_ntile_with_ties_broken_by_external_id() {
    let (rows, model) = run(json!({ "method": "rfm" }), &input(&RFM_CUSTOMERS, &rfm_events()));
    // R by days desc: c06 c03 | c07 c01 | c02 | c05 | c04. F asc: c02 c03 | c06 c01 | c05 | c04 | c07.
    // M asc: c03 c07 | c01 c02 | c05 | c06 | c04.
    let expected = [
        (1, "Hibernating", Some(222.0)),
        (2, "About to Sleep", Some(312.0)),
        (3, "Lost", Some(111.0)),
        (4, "Champions", Some(545.0)),
        (5, "Loyal", Some(433.0)),
        (6, "At Risk", Some(124.0)),
        (7, "At Risk", Some(251.0)),
        (8, "No purchases", None),
    ];
    let found: Vec<(i64, &str, Option<f64>)> =
        rows.iter().map(|(id, label, score)| (*id, label.as_str(), *score)).collect();
    assert_eq!(found, expected);
    assert_eq!(model["buyers"], 7);
    assert_eq!(model["as_of"], "2026-11-23T00:00:00Z");
    assert_eq!(model["cut_points"]["monetary"][0], json!({ "value": 40.0, "external_id": "c07" }));
    assert_eq!(model["cut_points"]["recency_days"][0], json!({ "value": 200.0, "external_id": "c03" }));
}

#[test]
fn parameters_of_other_methods_are_ignored_and_shown() {
    let (_, model) = run(
        json!({ "method": "rfm", "horizon": 10, "window_days": 30 }),
        &input(&RFM_CUSTOMERS, &rfm_events()),
    );
    assert_eq!(model["ignored_params"], json!(["horizon"]));
    assert_eq!(model["window_days"], 30);
}

#[test]
fn an_rfm_window_drops_older_purchases() {
    let (rows, _) =
        run(json!({ "method": "rfm", "window_days": 365 }), &input(&RFM_CUSTOMERS, &rfm_events()));
    let c06 = rows.iter().find(|(id, _, _)| *id == 6).unwrap();
    assert_eq!(c06.1, "No purchases");
}

#[test]
fn one_changed_customer_is_rescored_with_what_fit_learned() {
    let population = input(&RFM_CUSTOMERS, &rfm_events());
    let mut strategy = testing::create::<Behavioral>(&json!({ "method": "rfm" })).unwrap();
    strategy.fit(&population).unwrap();
    // c03 buys for 1,000 yesterday: only c03 is in the batch.
    let mut events: Vec<Event> = rfm_events().into_iter().filter(|event| event.0 == 3).collect();
    events.push((3, 1, "store", "purchase", Some(1_000.0), None));
    let mut out = Assignments::new();
    strategy.assign(&input(&[(3, "c03")], &events), &mut out).unwrap();
    assert_eq!(rows(&out.finish()), [(3, "Champions".to_owned(), Some(535.0))]);
}

#[test]
fn value_tiers_split_by_cumulative_profit() {
    let customers: Vec<(i64, &str)> =
        (1..=8).map(|id| (id, ["v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8"][id as usize - 1])).collect();
    let buy = |customer, days, amount, cost| (customer, days, "store", "purchase", Some(amount), Some(cost));
    let events = vec![
        buy(1, 3, 520.0, 20.0),
        buy(2, 30, 300.0, 0.0),
        buy(3, 40, 150.0, 10.0),
        (3, 35, "store", "refund", Some(40.0), None),
        buy(4, 100, 60.0, 0.0),
        buy(5, 364, 40.0, 0.0),
        (6, 10, "phone", "support_ticket", None, Some(30.0)),
        buy(8, 400, 2_000.0, 0.0),
    ];
    let (rows, model) = run(json!({ "method": "value" }), &input(&customers, &events));
    let expected = [
        (1, "Top 50% of profit", 500.0),
        (2, "Next 30% of profit", 300.0),
        (3, "Next 15% of profit", 100.0),
        (4, "Next 15% of profit", 60.0),
        (5, "Last 5% of profit", 40.0),
        (6, "Loss-making", -30.0),
        (7, "Last 5% of profit", 0.0),
        (8, "Last 5% of profit", 0.0),
    ];
    let found: Vec<(i64, &str, f64)> =
        rows.iter().map(|(id, label, score)| (*id, label.as_str(), score.unwrap())).collect();
    assert_eq!(found, expected);
    assert_eq!(model["tiers"]["total"], 1_000.0);

    let (rows, _) = run(
        json!({ "method": "value", "window_days": 30, "tiers": [{ "label": "Gold", "share": 0.7 }, { "label": "Rest" }] }),
        &input(&customers, &events),
    );
    let labels: Vec<&str> = rows.iter().map(|(_, label, _)| label.as_str()).collect();
    // In the last 30 days v1 makes 500 of 800: it takes v2 too to reach 70%.
    assert_eq!(labels, ["Gold", "Gold", "Rest", "Rest", "Rest", "Loss-making", "Rest", "Rest"]);
}

/// Which customers each label went to.
fn members(rows: &[(i64, String, Option<f64>)]) -> BTreeMap<String, BTreeSet<i64>> {
    let mut members: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for (id, label, _) in rows {
        members.entry(label.clone()).or_default().insert(*id);
    }
    members
}

#[test]
fn window_rules_read_one_line_each() {
    let params = json!({ "method": "rules", "rules": [
        { "label": "big spenders", "when": {"agg": "sum", "of": "amount", "where": {"kind": "purchase"}, "within_days": 365, "op": "gt", "value": 800} },
        { "label": "unhappy", "when": {"all": [{"agg": "count", "where": {"kind": "support_ticket"}, "within_days": 90, "op": "ge", "value": 3}, {"agg": "count", "where": {"kind": "purchase"}, "within_days": 180, "op": "eq", "value": 0}]} }
    ]});
    let (rows, model) = run(params, &input(&RFM_CUSTOMERS, &rfm_events()));
    let members = members(&rows);
    assert_eq!(members["big spenders"], BTreeSet::from([4]));
    assert_eq!(members["unhappy"], BTreeSet::from([8]));
    assert_eq!(members["other"], BTreeSet::from([1, 2, 3, 5, 6, 7]));
    assert_eq!(model["rules"][1]["reads"].as_array().unwrap().len(), 2);
    // A rule that reads one aggregate scores its members by it; one that reads two does not.
    let score = |id: i64| rows.iter().find(|(row, _, _)| *row == id).and_then(|(_, _, score)| *score);
    assert_eq!(score(4), Some(900.0), "customer 4 spent 3 x 300 in the window");
    assert_eq!((score(8), score(1)), (None, None));
}

#[test]
fn every_aggregate_kind() {
    let rule = |label: &str, when: Value| json!({ "label": label, "when": when });
    let purchases = json!({"kind": "purchase"});
    let params = json!({ "method": "rules", "multi": true, "otherwise": "none", "rules": [
        rule("avg 75", json!({"agg": "avg", "of": "amount", "where": purchases, "op": "eq", "value": 75})),
        rule("min 10", json!({"agg": "min", "of": "amount", "where": purchases, "op": "eq", "value": 10})),
        rule("max 500+", json!({"agg": "max", "of": "amount", "op": "ge", "value": 500})),
        rule("last 200 days ago", json!({"agg": "days_since_last", "where": purchases, "op": "eq", "value": 200})),
        rule("first 61-100 days ago", json!({"agg": "days_since_first", "where": purchases, "op": "between", "value": [61, 100]})),
        rule("support channel", json!({"agg": "count", "where": {"channel": ["support", "phone"]}, "op": "ge", "value": 3})),
        rule("cost 15", json!({"agg": "sum", "of": "cost_to_serve", "within_days": 30, "op": "eq", "value": 15})),
        rule("never bought", json!({"agg": "avg", "of": "amount", "where": purchases, "op": "missing"})),
        rule("not recent", json!({"not": {"agg": "count", "where": purchases, "within_days": 30, "op": "gt", "value": 0}})),
    ]});
    let members = members(&run(params, &input(&RFM_CUSTOMERS, &rfm_events())).0);
    let expect =
        |label: &str, ids: &[i64]| assert_eq!(members[label], ids.iter().copied().collect(), "{label}");
    expect("avg 75", &[1, 5]);
    expect("min 10", &[7]);
    expect("max 500+", &[6]);
    expect("last 200 days ago", &[3]);
    expect("first 61-100 days ago", &[7]);
    expect("support channel", &[8]);
    expect("cost 15", &[8]);
    expect("never bought", &[8]);
    expect("not recent", &[3, 6, 7, 8]);
    assert_eq!(members["none"], BTreeSet::from([2, 4]));
}

#[test]
fn bad_params_name_their_path() {
    let cases = [
        (
            json!({ "method": "rules", "rules": [{ "label": "x", "when": {"agg": "median", "op": "gt", "value": 1} }] }),
            "/rules/0/when/agg",
        ),
        (
            json!({ "method": "rules", "rules": [{ "label": "x", "when": {"agg": "sum", "op": "gt", "value": 1} }] }),
            "/rules/0/when/of",
        ),
        (
            json!({ "method": "rules", "rules": [{ "label": "x", "when": {"all": [{"field": "age", "op": "gt", "value": 1}]} }] }),
            "/rules/0/when/all/0/field",
        ),
        (
            json!({ "method": "rules", "rules": [{ "label": "x", "when": {"agg": "count", "op": "contains", "value": 1} }] }),
            "/rules/0/when/op",
        ),
        (
            json!({ "method": "rules", "rules": [{ "label": "x", "when": {"agg": "count", "where": {"kind": 3}, "op": "gt", "value": 1} }] }),
            "/rules/0/when/where/kind",
        ),
        (
            json!({ "method": "rules", "rules": [{ "label": "x", "when": {"agg": "count", "within_days": 0, "op": "gt", "value": 1} }] }),
            "/rules/0/when/within_days",
        ),
        (json!({ "method": "clv", "time_unit": "month" }), "/time_unit"),
        (json!({ "method": "clv", "score": "revenue" }), "/score"),
        (json!({ "method": "rfm", "as_of": "yesterday" }), "/as_of"),
        (json!({ "method": "median" }), "/method"),
    ];
    for (params, path) in cases {
        let error =
            testing::create::<Behavioral>(&params).err().unwrap_or_else(|| panic!("{params} was accepted"));
        assert_eq!(error.param_path().map(|(path, _)| path), Some(path), "{params}: {}", error.message());
    }
}

/// Customers buying by the BG/NBD story, one purchase a day at most, over two years.
fn simulated_buyers() -> (Vec<(i64, String)>, Vec<Event>) {
    let mut customers = Vec::new();
    let mut events = Vec::new();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut uniform = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1_u64 << 53) as f64
    };
    for id in 1..=3_000_i64 {
        customers.push((id, format!("s{id:05}")));
        if id % 10 == 0 {
            continue; // never bought
        }
        let first = 30 + (uniform() * 700.0) as i64; // days before as-of
        let rate = 0.005 + uniform() * 0.1; // purchases a day
        let dropout = uniform() * 0.3;
        let mut day = first as f64;
        events.push((id, first, "web", "purchase", Some(20.0 + uniform() * 60.0), None));
        loop {
            day -= -(1.0 - uniform()).ln() / rate;
            if day < 0.0 {
                break;
            }
            events.push((id, day as i64, "web", "purchase", Some(20.0 + uniform() * 60.0), None));
            if uniform() < dropout {
                break;
            }
        }
    }
    (customers, events)
}

#[test]
fn lifetime_value_fits_both_models_and_labels_every_customer() {
    let (customers, mut events) = simulated_buyers();
    // A loyal customer who bought every week for a year, then went silent for a year.
    let mut customers: Vec<(i64, &str)> = customers.iter().map(|(id, ext)| (*id, ext.as_str())).collect();
    customers.push((9_001, "gone"));
    events.extend((0..52).map(|week| (9_001, 365 + week * 7, "store", "purchase", Some(50.0), None)));
    let population = input(&customers, &events);
    let (rows, model) = run(json!({ "method": "clv", "time_unit": "week", "horizon": 52 }), &population);
    for key in ["r", "alpha", "a", "b", "log_likelihood", "converged"] {
        assert!(!model["bg_nbd"][key].is_null(), "bg_nbd.{key} missing: {model}");
    }
    for key in ["p", "q", "v", "log_likelihood", "converged"] {
        assert!(!model["gamma_gamma"][key].is_null(), "gamma_gamma.{key} missing: {model}");
    }
    assert_eq!(model["bg_nbd"]["converged"], true, "{model}");
    assert_eq!(model["gamma_gamma"]["converged"], true, "{model}");
    assert_eq!(rows.len(), customers.len(), "one segment each");
    let labels: BTreeMap<i64, &str> = rows.iter().map(|(id, label, _)| (*id, label.as_str())).collect();
    assert_eq!(labels[&10], "No purchases");
    assert_eq!(labels[&9_001], "Likely lost");
    let allowed = [
        "No purchases",
        "Likely lost",
        "At risk",
        "Top 50% of expected value",
        "Next 30% of expected value",
        "Next 15% of expected value",
        "Last 5% of expected value",
    ];
    assert!(labels.values().all(|label| allowed.contains(label)));
    // Tiers are ordered by expected value: each tier's lowest is above the next one's highest.
    let tiers = &allowed[3..];
    let range = |tier: &str| {
        let scores: Vec<f64> =
            rows.iter().filter(|(_, label, _)| label == tier).filter_map(|(_, _, score)| *score).collect();
        assert!(!scores.is_empty(), "{tier} is empty");
        (scores.iter().copied().fold(f64::INFINITY, f64::min), scores.iter().copied().fold(0.0, f64::max))
    };
    for pair in tiers.windows(2) {
        assert!(range(pair[0]).0 >= range(pair[1]).1, "{} overlaps {}", pair[0], pair[1]);
    }
    assert!(rows.iter().all(|(_, _, score)| score.is_none_or(|score| score.is_finite() && score >= 0.0)));

    // The same customers scored by probability alive and by expected purchases instead.
    let (alive, model) = run(json!({ "method": "clv", "score": "probability_alive" }), &population);
    assert_eq!(model["score"], "probability_alive");
    let gone = alive.iter().find(|(id, _, _)| *id == 9_001).and_then(|(_, _, score)| *score).unwrap();
    assert!(gone < 0.3, "{gone}");
    assert!(alive.iter().filter_map(|(_, _, score)| *score).all(|p| (0.0..=1.0).contains(&p)));
    let (purchases, _) = run(json!({ "method": "clv", "score": "expected_purchases" }), &population);
    let labels_of = |rows: &[(i64, String, Option<f64>)]| {
        rows.iter().map(|(_, label, _)| label.clone()).collect::<Vec<_>>()
    };
    assert_eq!(labels_of(&purchases), labels_of(&alive), "the score does not change the segments");
}

#[test]
fn assigning_one_customer_alone_gives_what_the_whole_run_gave() {
    let (customers, events) = simulated_buyers();
    let customers: Vec<(i64, &str)> = customers.iter().map(|(id, ext)| (*id, ext.as_str())).collect();
    let population = input(&customers, &events);
    for params in [
        json!({ "method": "rfm", "window_days": 365 }),
        json!({ "method": "value" }),
        json!({ "method": "clv" }),
        json!({ "method": "rules", "rules": [{ "label": "regular", "when": {"agg": "count", "within_days": 90, "op": "ge", "value": 2} }] }),
    ] {
        let mut strategy = testing::create::<Behavioral>(&params).unwrap();
        strategy.fit(&population).unwrap();
        let mut out = Assignments::new();
        strategy.assign(&population, &mut out).unwrap();
        let whole = rows(&out.finish());
        for (id, external_id) in customers.iter().step_by(97) {
            let own: Vec<Event> = events.iter().filter(|event| event.0 == *id).copied().collect();
            let mut out = Assignments::new();
            strategy.assign(&input(&[(*id, external_id)], &own), &mut out).unwrap();
            let alone = rows(&out.finish());
            let expected: Vec<_> = whole.iter().filter(|row| row.0 == *id).cloned().collect();
            assert_eq!(alone, expected, "{params}: customer {external_id}");
        }
    }
}

/// Runs `params` on `population` twice: fitted, and loaded from the state the fitted instance
/// saved (as after a restart); both must assign and describe alike.
fn assert_survives_a_restart(params: Value, population: &Input) {
    let fitted = testing::run::<Behavioral>(&params, population).unwrap_or_else(|error| panic!("{error}"));
    let reloaded =
        testing::run_reloaded::<Behavioral>(&params, population).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(rows(&fitted.0), rows(&reloaded.0), "{params}");
    assert_eq!(fitted.1, reloaded.1, "{params}");
}

#[test]
fn every_method_assigns_alike_from_its_saved_state() {
    let population = input(&RFM_CUSTOMERS, &rfm_events());
    assert_survives_a_restart(json!({ "method": "rfm" }), &population);
    assert_survives_a_restart(json!({ "method": "value", "window_days": 3650 }), &population);
    let rules = json!({ "method": "rules", "rules": [
        { "label": "big spenders", "when": {"agg": "sum", "of": "amount", "where": {"kind": "purchase"}, "within_days": 365, "op": "gt", "value": 800} }
    ]});
    assert_survives_a_restart(rules, &population);
    let (customers, events) = simulated_buyers();
    let customers: Vec<(i64, &str)> = customers.iter().map(|(id, ext)| (*id, ext.as_str())).collect();
    assert_survives_a_restart(json!({ "method": "clv", "horizon": 52 }), &input(&customers, &events));
}

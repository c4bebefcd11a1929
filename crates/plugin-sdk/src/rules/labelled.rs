//! Rules with labels, and the customer loop every rule-based strategy shares: each customer
//! goes to the first rule that matches (every one, with `multi`), or to a default segment.

use super::{Condition, Fields};
use crate::{Assignments, StrategyError, StrategyResult};
use arrow_buffer::BooleanBuffer;
use serde_json::Value;

/// A condition and the segment of the customers it matches.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LabelledRule {
    /// The segment.
    pub label: String,
    /// Who is in it.
    pub when: Condition,
}

/// A rule: the label of its segment and the condition of its members.
// Read into a `LabelledRule` by `LabelledRule::from_params`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleParam {
    /// The segment of the customers the rule matches.
    #[schemars(length(min = 1))]
    pub label: String,
    /// Who matches: a field test such as `{"field": "age", "op": "ge", "value": 30}`, or
    /// `{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}`.
    pub when: Value,
}

impl RuleParam {
    /// The label, trimmed; an error at `{at}/{index}/label` when it is blank.
    pub fn trimmed_label(&self, at: &str, index: usize) -> StrategyResult<String> {
        let label = self.label.trim();
        if label.is_empty() {
            return Err(StrategyError::param(format!("{at}/{index}/label"), "must be a label"));
        }
        Ok(label.to_owned())
    }
}

impl LabelledRule {
    /// Reads the `rules` parameter (at JSON Pointer `at`) over `fields`: every label trimmed
    /// and not blank, every condition valid; errors name the pointer of the bad value.
    pub fn from_params(rules: &[RuleParam], fields: &Fields, at: &str) -> StrategyResult<Vec<Self>> {
        if rules.is_empty() {
            return Err(StrategyError::param(at, "must be a non-empty list of {label, when}"));
        }
        rules
            .iter()
            .enumerate()
            .map(|(index, rule)| {
                let label = rule.trimmed_label(at, index)?;
                let when = Condition::parse(&rule.when, fields, &format!("{at}/{index}/when"))?;
                Ok(Self { label, when })
            })
            .collect()
    }
}

/// Puts customer `ids[row]` in the segment of the first of `rules` whose `hits` (one per rule,
/// evaluated over the same rows) holds at `row` — in every such segment with `multi` — or in
/// `otherwise` when none does. `score(rule, row)` is the score of a membership by rule `rule`.
pub fn assign_by_rules(
    ids: &[i64],
    rules: &[LabelledRule],
    hits: &[BooleanBuffer],
    multi: bool,
    otherwise: &str,
    score: impl Fn(usize, usize) -> Option<f64>,
    out: &mut Assignments,
) {
    for (row, id) in ids.iter().enumerate() {
        let mut matched = false;
        for (index, (rule, hits)) in rules.iter().zip(hits).enumerate() {
            if hits.value(row) {
                out.push(*id, &rule.label, score(index, row));
                matched = true;
                if !multi {
                    break;
                }
            }
        }
        if !matched {
            out.push(*id, otherwise, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{FieldType, Fields, RuleColumns};
    use arrow_array::cast::AsArray;
    use arrow_array::{ArrayRef, Float64Array};
    use serde_json::json;
    use std::sync::Arc;

    fn rule(label: &str, when: Value) -> LabelledRule {
        let fields = Fields::new().with("x", FieldType::Number);
        LabelledRule {
            label: label.to_owned(),
            when: Condition::parse(&when, &fields, "/when").expect("rule"),
        }
    }

    fn assigned(multi: bool) -> Vec<(i64, String)> {
        let rules = [
            rule("high", json!({"field": "x", "op": "ge", "value": 5})),
            rule("odd", json!({"field": "x", "op": "in", "value": [1, 5]})),
        ];
        let columns =
            RuleColumns::new(3).with("x", Arc::new(Float64Array::from(vec![1.0, 5.0, 2.0])) as ArrayRef);
        let hits: Vec<BooleanBuffer> =
            rules.iter().map(|rule| rule.when.evaluate(&columns, 0).expect("hits")).collect();
        let mut out = Assignments::new();
        assign_by_rules(&[10, 11, 12], &rules, &hits, multi, "other", |_, _| None, &mut out);
        let batch = out.finish();
        let ids = batch.column(0).as_primitive::<arrow_array::types::Int64Type>();
        let labels = batch.column(1).as_string::<i32>();
        (0..batch.num_rows()).map(|row| (ids.value(row), labels.value(row).to_owned())).collect()
    }

    #[test]
    fn first_match_wins_unless_multi_and_the_rest_is_otherwise() {
        let single = assigned(false);
        assert_eq!(single, [(10, "odd".to_owned()), (11, "high".to_owned()), (12, "other".to_owned())]);
        let multi = assigned(true);
        assert_eq!(
            multi,
            [
                (10, "odd".to_owned()),
                (11, "high".to_owned()),
                (11, "odd".to_owned()),
                (12, "other".to_owned())
            ]
        );
    }

    #[test]
    fn a_blank_label_names_its_place() {
        let rule = |label: &str| RuleParam { label: label.to_owned(), when: json!({}) };
        let error = rule("  ").trimmed_label("/rules", 2).expect_err("blank");
        assert!(error.to_string().contains("/rules/2/label"), "{error}");
        assert_eq!(rule(" vip ").trimmed_label("/rules", 0).ok().as_deref(), Some("vip"));
    }
}

//! The need-based strategy: groups of customers connected by ties, each labelled by the need
//! most of its members share. (Issue 6 replaces the grouping with Leiden communities over ties
//! and shared needs.)

pub mod communities;

use kindred_plugin_sdk::serde_json::{Value, json};
use kindred_plugin_sdk::{
    Assignments, Description, Input, SegmentationStrategy, StrategyError, StrategyResult, Table,
    export_strategy,
};
use std::collections::{BTreeMap, HashMap};

/// Connected groups of the tie graph, named by their most shared need.
#[derive(Debug, Clone, Default)]
pub struct NeedBased {
    min_size: usize,
    /// The label of each customer's group, learned in fit.
    labels: HashMap<i64, String>,
    /// Members per label.
    sizes: BTreeMap<String, usize>,
}

/// Union-find over customer ids, with path halving.
#[derive(Default)]
struct Groups {
    parent: HashMap<i64, i64>,
}

impl Groups {
    fn root(&mut self, mut id: i64) -> i64 {
        loop {
            let parent = *self.parent.entry(id).or_insert(id);
            if parent == id {
                return id;
            }
            let grand = *self.parent.entry(parent).or_insert(parent);
            self.parent.insert(id, grand);
            id = grand;
        }
    }

    fn join(&mut self, a: i64, b: i64) {
        let (a, b) = (self.root(a), self.root(b));
        if a != b {
            self.parent.insert(a.max(b), a.min(b));
        }
    }
}

impl SegmentationStrategy for NeedBased {
    const NAME: &'static str = "need-based";

    fn describe() -> Description {
        Description::new("Need-based segments: customers connected by ties, labelled by the need their group shares most.")
            .params_schema(json!({
                "type": "object",
                "properties": {
                    "min_size": { "type": "integer", "minimum": 1, "description": "Groups smaller than this are \"small groups\" (default 3)." }
                },
                "additionalProperties": false
            }))
            .reads(Table::Ties, &[])
            .reads(Table::Needs, &["tag"])
    }

    fn create(params: &Value) -> StrategyResult<Self> {
        let min_size = match params.get("min_size") {
            None => 3,
            Some(value) => value
                .as_u64()
                .filter(|size| *size >= 1)
                .and_then(|size| usize::try_from(size).ok())
                .ok_or_else(|| StrategyError::param("/min_size", "must be a whole number, at least 1"))?,
        };
        Ok(Self { min_size, ..Self::default() })
    }

    fn fit(&mut self, population: &Input) -> StrategyResult<()> {
        let mut groups = Groups::default();
        for ties in population.ties() {
            let (from, to) = (ties.from_id()?, ties.to_id()?);
            for row in 0..ties.len() {
                groups.join(from.value(row), to.value(row));
            }
        }
        let mut members: HashMap<i64, Vec<i64>> = HashMap::new();
        for id in population.customer_ids() {
            if groups.parent.contains_key(&id) {
                let root = groups.root(id);
                members.entry(root).or_default().push(id);
            }
        }
        let mut needs: HashMap<i64, Vec<String>> = HashMap::new();
        for batch in population.needs() {
            let (ids, tags) = (batch.customer_id()?, batch.tag()?);
            for row in 0..batch.len() {
                needs.entry(ids.value(row)).or_default().push(tags.value(row).to_owned());
            }
        }
        self.labels.clear();
        self.sizes.clear();
        for (root, group) in members {
            let label = if group.len() < self.min_size {
                "small groups".to_owned()
            } else {
                let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
                for id in &group {
                    for tag in needs.get(id).into_iter().flatten() {
                        *counts.entry(tag).or_default() += 1;
                    }
                }
                // Most shared need first; ties broken by name, so the label is stable.
                let top = counts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)));
                match top {
                    Some((tag, _)) => format!("{tag} (group {root})"),
                    None => format!("group {root}"),
                }
            };
            *self.sizes.entry(label.clone()).or_default() += group.len();
            for id in group {
                self.labels.insert(id, label.clone());
            }
        }
        Ok(())
    }

    fn assign(&self, batch: &Input, out: &mut Assignments) -> StrategyResult<()> {
        for id in batch.customer_ids() {
            let label = self.labels.get(&id).map_or("unconnected", String::as_str);
            out.push(id, label, None);
        }
        Ok(())
    }

    fn model(&self) -> Value {
        json!({ "min_size": self.min_size, "groups": self.sizes })
    }
}

export_strategy!(NeedBased);

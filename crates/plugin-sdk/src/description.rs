//! What a strategy says about itself: its purpose, parameters, inputs and segments.

use crate::Table;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A strategy's description, as the host reads it (and the `plugins` API shows it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Description {
    /// What the strategy does, in a sentence or two.
    pub summary: String,
    /// The JSON Schema of the parameters `create` accepts, so clients can build a form and
    /// the host can check parameters before creating anything. The SDK derives it from the
    /// strategy's [`Params`](crate::SegmentationStrategy::Params) type when it exports the
    /// description; a value set here is replaced.
    pub params_schema: serde_json::Value,
    /// The columns read from each table, by table name. The key columns are always sent.
    pub inputs: BTreeMap<String, Vec<String>>,
    /// The segments the strategy can produce, when they are known in advance; empty when they
    /// come from the data (communities, quantile bands).
    pub segments: Vec<String>,
}

impl Description {
    /// A description with this summary, no parameters and no inputs yet.
    pub fn new(summary: impl Into<String>) -> Self {
        Self {
            summary: summary.into(),
            params_schema: serde_json::json!({ "type": "object" }),
            inputs: BTreeMap::new(),
            segments: Vec::new(),
        }
    }

    /// Asks for `columns` of `table` (besides its key columns, which always come).
    pub fn reads(mut self, table: Table, columns: &[&str]) -> Self {
        add_columns(&mut self.inputs, table, columns);
        self
    }

    /// Names the segments the strategy can produce.
    pub fn segments<S: Into<String>>(mut self, segments: impl IntoIterator<Item = S>) -> Self {
        self.segments = segments.into_iter().map(Into::into).collect();
        self
    }

    /// Checks that every table and column asked for exists; the host checks it too.
    pub fn check_inputs(&self) -> Result<(), String> {
        for (table_name, columns) in &self.inputs {
            let table =
                Table::from_name(table_name).ok_or_else(|| format!("unknown input table {table_name:?}"))?;
            for column in columns {
                if !table.columns().iter().any(|(name, _)| name == column) {
                    return Err(format!("table {table_name:?} has no column {column:?}"));
                }
            }
        }
        Ok(())
    }
}

fn add_columns(inputs: &mut BTreeMap<String, Vec<String>>, table: Table, columns: &[&str]) {
    let entry = inputs.entry(table.name().to_owned()).or_default();
    for column in columns {
        if !entry.iter().any(|known| known == column) {
            entry.push((*column).to_owned());
        }
    }
}

/// The columns one instance reads, when its parameters need less than its [`Description`]
/// lists: see [`crate::SegmentationStrategy::reads`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Reads(BTreeMap<String, Vec<String>>);

impl Reads {
    /// Nothing but the customers' ids.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also reads `columns` of `table` (besides its key columns, which always come).
    pub fn table(mut self, table: Table, columns: &[&str]) -> Self {
        add_columns(&mut self.0, table, columns);
        self
    }

    /// The columns by table name.
    pub fn columns(&self) -> &BTreeMap<String, Vec<String>> {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_merged_and_checked() {
        let description = Description::new("s")
            .reads(Table::Interactions, &["amount", "kind"])
            .reads(Table::Interactions, &["amount"]);
        assert_eq!(description.inputs["interactions"], ["amount", "kind"]);
        assert_eq!(description.check_inputs(), Ok(()));
        let wrong = Description::new("s").reads(Table::Ties, &["colour"]);
        assert!(wrong.check_inputs().is_err_and(|error| error.contains("colour")));
    }

    #[test]
    fn reads_serialise_as_the_description_inputs_do() {
        let reads = Reads::new().table(Table::Ties, &["weight"]).table(Table::Ties, &["weight", "kind"]);
        assert_eq!(
            serde_json::to_value(&reads).expect("json"),
            serde_json::json!({"ties": ["weight", "kind"]})
        );
    }
}

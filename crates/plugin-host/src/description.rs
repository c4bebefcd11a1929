//! A strategy's description as the host reads it from `describe` (JSON).

use kindred_plugin_abi::TableId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a strategy says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyDescription {
    /// What it does.
    pub summary: String,
    /// JSON Schema of its parameters.
    pub params_schema: serde_json::Value,
    /// Columns it reads, by table name.
    #[serde(default)]
    pub inputs: BTreeMap<String, Vec<String>>,
    /// Segments it can produce, when known in advance.
    #[serde(default)]
    pub segments: Vec<String>,
}

impl StrategyDescription {
    /// Parses and checks a description: every table and column must exist.
    pub fn parse(json: &[u8]) -> Result<Self, String> {
        let description: Self =
            serde_json::from_slice(json).map_err(|error| format!("description is not valid: {error}"))?;
        description.requested_columns()?;
        jsonschema::validator_for(&description.params_schema)
            .map_err(|error| format!("params_schema is not a valid JSON Schema: {error}"))?;
        Ok(description)
    }

    /// For each table asked for, the indexes (into [`TableId::columns`]) of the columns to
    /// send: its keys, then what was asked, in table order.
    pub fn requested_columns(&self) -> Result<Vec<(TableId, Vec<usize>)>, String> {
        requested(&self.inputs)
    }

    /// As [`Self::requested_columns`], for an instance whose parameters narrow the inputs:
    /// every column in `narrowed` must be one the description lists, so the description stays
    /// the most a strategy can read.
    pub fn narrowed_columns(
        &self,
        narrowed: &BTreeMap<String, Vec<String>>,
    ) -> Result<Vec<(TableId, Vec<usize>)>, String> {
        for (table, columns) in narrowed {
            let listed = self.inputs.get(table);
            for column in columns {
                if !listed.is_some_and(|listed| listed.contains(column)) {
                    return Err(format!(
                        "the instance asks for {table}.{column}, which the description does not list"
                    ));
                }
            }
        }
        requested(narrowed)
    }
}

/// The column indexes to send for `inputs` (table name to column names); see
/// [`StrategyDescription::requested_columns`].
fn requested(inputs: &BTreeMap<String, Vec<String>>) -> Result<Vec<(TableId, Vec<usize>)>, String> {
    let mut tables = Vec::new();
    for (table_name, columns) in inputs {
        let table =
            TableId::from_name(table_name).ok_or_else(|| format!("unknown input table {table_name:?}"))?;
        let offered = table.columns();
        for column in columns {
            if !offered.iter().any(|(name, _)| name == column) {
                return Err(format!("table {table_name:?} has no column {column:?}"));
            }
        }
        let chosen = (0..offered.len())
            .filter(|index| *index < table.key_columns() || columns.iter().any(|c| c == offered[*index].0))
            .collect();
        tables.push((table, chosen));
    }
    // Customers always come: they say who is in the batch.
    if !tables.iter().any(|(table, _)| *table == TableId::Customers) {
        tables.push((TableId::Customers, vec![0]));
    }
    tables.sort_by_key(|(table, _)| *table as u32);
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_always_come_and_unknown_columns_are_refused() {
        let description = StrategyDescription::parse(
            br#"{"summary":"s","params_schema":{},"inputs":{"interactions":["amount"]}}"#,
        )
        .expect("valid");
        let columns = description.requested_columns().expect("known columns");
        assert_eq!(columns, vec![(TableId::Customers, vec![0]), (TableId::Interactions, vec![0, 4])]);
        let error =
            StrategyDescription::parse(br#"{"summary":"s","params_schema":{},"inputs":{"ties":["colour"]}}"#)
                .expect_err("unknown column");
        assert!(error.contains("colour"), "{error}");
        let error = StrategyDescription::parse(br#"{"summary":"s","params_schema":{"type":"nonsense"}}"#)
            .expect_err("bad schema");
        assert!(error.contains("params_schema"), "{error}");
    }

    #[test]
    fn an_instance_may_narrow_but_not_widen_its_inputs() {
        let description = StrategyDescription::parse(
            br#"{"summary":"s","params_schema":{},"inputs":{"ties":["weight"],"interactions":["kind","text"]}}"#,
        )
        .expect("valid");
        let narrowed = BTreeMap::from([("ties".to_owned(), vec!["weight".to_owned()])]);
        let columns = description.narrowed_columns(&narrowed).expect("a subset");
        assert_eq!(columns, vec![(TableId::Customers, vec![0]), (TableId::Ties, vec![0, 1, 3])]);
        let widened = BTreeMap::from([("interactions".to_owned(), vec!["amount".to_owned()])]);
        let error = description.narrowed_columns(&widened).expect_err("not listed");
        assert!(error.contains("interactions.amount"), "{error}");
    }
}

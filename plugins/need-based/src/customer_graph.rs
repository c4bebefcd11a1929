//! The customers of an input as nodes: their ties weighted by kind, their needs, and where
//! they live.

use crate::affinity::NeedTable;
use crate::listening::{Heard, Listener, ListeningStats};
use crate::settings::Settings;
use kindred_plugin_sdk::arrow_array::Array as _;
use kindred_plugin_sdk::arrow_array::cast::AsArray as _;
use kindred_plugin_sdk::{Input, Positions, StrategyResult};
use std::collections::HashMap;

/// The segments of the previous fit: each node's previous segment (an index into `labels`),
/// if it had one.
#[derive(Debug, Clone, Default)]
pub struct Previous {
    /// Previous segment of each node.
    pub of_node: Vec<Option<u32>>,
    /// The previous segments' labels.
    pub labels: Vec<String>,
}

/// The customers of an input as graph nodes, and the edges between them.
#[derive(Debug, Clone)]
pub struct CustomerGraph {
    /// Customer id of each node.
    pub ids: Vec<i64>,
    /// External id of each node.
    pub external_ids: Vec<String>,
    /// Node of each customer id.
    pub nodes: Positions,
    /// Each node's needs.
    pub needs: NeedTable,
    /// Tie edges (from, to, weight × kind factor).
    pub tie_edges: Vec<(u32, u32, f64)>,
    /// City of each node, as an index into `cities` ([`NO_CITY`] when not known).
    pub city_of: Vec<u32>,
    /// City names, by index.
    pub cities: Vec<String>,
    /// The segments of the fit this one replaces, when the host gave them.
    pub previous: Previous,
    /// What listening heard, when it is on.
    pub listening: Option<Listening>,
}

/// Listening in a fit: the listener (kept for assign), what it heard, and what that added.
#[derive(Debug, Clone)]
pub struct Listening {
    /// The listener, knowing the population's need tags.
    pub listener: Listener,
    /// What each customer said.
    pub heard: Heard,
    /// What it added to the declared needs.
    pub stats: ListeningStats,
}

/// A node's city is not known.
pub const NO_CITY: u32 = u32::MAX;

impl CustomerGraph {
    /// Reads customers, ties and needs from `input`; ties to customers outside it are left out.
    pub fn of(input: &Input, settings: &Settings) -> StrategyResult<Self> {
        let mut ids = Vec::new();
        let mut external_ids = Vec::new();
        let (mut city_of, mut cities, mut city_index) = (Vec::new(), Vec::new(), HashMap::new());
        for batch in input.customers() {
            let (id, external) = (batch.id()?, batch.external_id()?);
            // Where customers live only describes communities: an input without it is read.
            let city = batch.batch().column_by_name("city").and_then(|column| column.as_string_opt::<i32>());
            for row in 0..batch.len() {
                ids.push(id.value(row));
                external_ids.push(if external.is_null(row) {
                    String::new()
                } else {
                    external.value(row).to_owned()
                });
                let name = city.filter(|city| !city.is_null(row)).map(|city| city.value(row).trim());
                city_of.push(match name {
                    Some(name) if !name.is_empty() => {
                        *city_index.entry(name.to_owned()).or_insert_with(|| {
                            cities.push(name.to_owned());
                            (cities.len() - 1) as u32
                        })
                    }
                    _ => NO_CITY,
                });
            }
        }
        let nodes = Positions::new(&ids);
        let mut tie_edges = Vec::new();
        if settings.use_ties {
            for batch in input.ties() {
                let (from, to, kinds, weights) =
                    (batch.from_id()?, batch.to_id()?, batch.kind()?, batch.weight()?);
                for row in 0..batch.len() {
                    let (Some(a), Some(b)) = (nodes.get(from.value(row)), nodes.get(to.value(row))) else {
                        continue;
                    };
                    let weight = if weights.is_null(row) { 1.0 } else { weights.value(row) };
                    let kind = if kinds.is_null(row) { "" } else { kinds.value(row) };
                    let weight = weight * settings.tie_factor(kind);
                    if a != b && weight > 0.0 {
                        tie_edges.push((a as u32, b as u32, weight));
                    }
                }
            }
        }
        let mut needs = NeedTable::new(ids.len());
        let mut index = HashMap::new();
        for batch in input.needs() {
            let (customers, tags, weights) = (batch.customer_id()?, batch.tag()?, batch.weight()?);
            for row in 0..batch.len() {
                if let Some(node) = nodes.get(customers.value(row)) {
                    let weight = if weights.is_null(row) { 1.0 } else { weights.value(row) };
                    needs.add(node, tags.value(row), weight, &mut index);
                }
            }
        }
        let listening = match &settings.listening() {
            Some(listen) => {
                let listener = Listener::new(needs.tags.iter().map(String::as_str), listen);
                let heard = listener.hear(input, &nodes, ids.len())?;
                let stats = add_heard(&mut needs, &heard, &mut index);
                Some(Listening { listener, heard, stats })
            }
            None => None,
        };
        let previous = previous_segments(input, &nodes, ids.len())?;
        Ok(Self { ids, external_ids, nodes, needs, tie_edges, city_of, cities, previous, listening })
    }
}

/// Each node's segment in the segmentation being refitted (its first, should it have several).
fn previous_segments(input: &Input, nodes: &Positions, count: usize) -> StrategyResult<Previous> {
    let mut previous = Previous { of_node: vec![None; count], labels: Vec::new() };
    let mut index: HashMap<String, u32> = HashMap::new();
    for batch in input.segments() {
        let (customers, segments) = (batch.customer_id()?, batch.segment()?);
        for row in 0..batch.len() {
            let Some(node) = nodes.get(customers.value(row)) else { continue };
            if previous.of_node[node].is_some() || segments.is_null(row) {
                continue;
            }
            let label = segments.value(row);
            let at = match index.get(label) {
                Some(at) => *at,
                None => {
                    previous.labels.push(label.to_owned());
                    index.insert(label.to_owned(), (previous.labels.len() - 1) as u32);
                    (previous.labels.len() - 1) as u32
                }
            };
            previous.of_node[node] = Some(at);
        }
    }
    Ok(previous)
}

/// Adds heard needs to the declared ones (a need both declared and heard keeps the larger
/// weight) and counts what listening added.
fn add_heard(needs: &mut NeedTable, heard: &Heard, index: &mut HashMap<String, u32>) -> ListeningStats {
    let mut stats = ListeningStats { texts_read: heard.texts_read, ..ListeningStats::default() };
    let mut gained: HashMap<&str, usize> = HashMap::new();
    for (node, list) in heard.by_position.iter().enumerate() {
        if list.is_empty() {
            continue;
        }
        stats.customers_heard += 1;
        let mut any = false;
        for (need, weight) in list {
            let tag = heard.tags[*need as usize].as_str();
            let declared =
                index.get(tag).is_some_and(|known| needs.by_node[node].iter().any(|(n, _)| n == known));
            if !declared {
                any = true;
                stats.needs_gained += 1;
                *gained.entry(tag).or_default() += 1;
            }
            needs.add(node, tag, *weight, index);
        }
        stats.customers_gained += usize::from(any);
    }
    let mut top: Vec<(String, usize)> =
        gained.into_iter().map(|(tag, count)| (tag.to_owned(), count)).collect();
    top.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top.truncate(10);
    stats.top_gained = top;
    stats
}

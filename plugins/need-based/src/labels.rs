//! Labels that tell communities apart and stay put across refits.
//!
//! A community is named by its most over-represented needs. When several share that name, each
//! gets what distinguishes it: the city most of its members live in, or else the next need
//! over-represented in it; only communities nothing tells apart are numbered, the largest
//! first. A community that is the same as one of the previous fit (most of its members were
//! there, and most of that community's members are here) keeps that community's label, as long
//! as the needs the label names are still over-represented in it.

use crate::customer_graph::Previous;
use crate::summaries::Summary;
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, HashMap, HashSet};

/// For each community of `membership` (`0..summaries.len()`; other values are no community),
/// the label of the previous segment it is the same as, if any: each holds more than half of
/// the other's members, and the label still starts with the community's needs.
pub fn kept_labels(
    summaries: &[Option<Summary>],
    membership: &[usize],
    previous: &Previous,
) -> Vec<Option<String>> {
    let count = summaries.len();
    let mut sizes = vec![0_usize; count];
    let mut previous_sizes = vec![0_usize; previous.labels.len()];
    let mut overlap: FxHashMap<(usize, u32), usize> = FxHashMap::default();
    for (node, community) in membership.iter().enumerate() {
        let before = previous.of_node.get(node).copied().flatten();
        if let Some(before) = before {
            previous_sizes[before as usize] += 1;
        }
        if *community < count {
            sizes[*community] += 1;
            if let Some(before) = before {
                *overlap.entry((*community, before)).or_default() += 1;
            }
        }
    }
    let mut kept = vec![None; count];
    for ((community, before), shared) in overlap {
        let label = &previous.labels[before as usize];
        let Some(summary) = &summaries[community] else { continue };
        let base = &summary.label;
        let same_needs = label == base
            || [" in ", " · ", " ("]
                .iter()
                .any(|sep| label.strip_prefix(base.as_str()).is_some_and(|r| r.starts_with(sep)));
        if 2 * shared > sizes[community] && 2 * shared > previous_sizes[before as usize] && same_needs {
            kept[community] = Some(label.clone());
        }
    }
    kept
}

/// Labels the summaries: a community the same as a previous one keeps its label (`kept`, from
/// [`kept_labels`]); the others that share a label are told apart (see the module's
/// documentation). `min_lift` is the lift a need needs to name a community.
pub fn distinguish(summaries: &mut [Option<Summary>], kept: &[Option<String>], min_lift: f64) {
    let mut taken: HashSet<String> = kept.iter().flatten().cloned().collect();
    let mut renamed: Vec<(usize, String)> = Vec::new();
    let mut by_label: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (community, summary) in summaries.iter().enumerate() {
        match (summary, kept.get(community).cloned().flatten()) {
            (Some(_), Some(label)) => renamed.push((community, label)),
            (Some(summary), None) => by_label.entry(summary.label.clone()).or_default().push(community),
            (None, _) => {}
        }
    }
    // A name only one community has, and no kept label took, is its own.
    by_label.retain(|base, group| {
        let alone = group.len() == 1 && !taken.contains(base);
        if alone {
            taken.insert(base.clone());
        }
        !alone
    });
    for (base, mut group) in by_label {
        group.sort_by_key(|community| {
            (std::cmp::Reverse(summaries[*community].as_ref().map_or(0, |s| s.size)), *community)
        });
        let city = |community: usize| summaries[community].as_ref().and_then(|s| s.city.clone()).map(|c| c.0);
        let extra = |community: usize| {
            summaries[community].as_ref().and_then(|summary| {
                summary
                    .top_needs
                    .iter()
                    .filter(|(need, _, lift)| {
                        *lift >= min_lift && !base.split(" · ").any(|named| named == need)
                    })
                    .map(|(need, _, _)| need.clone())
                    .next()
            })
        };
        let mut cities: HashMap<String, usize> = HashMap::new();
        let mut extras: HashMap<String, usize> = HashMap::new();
        for community in &group {
            if let Some(city) = city(*community) {
                *cities.entry(city).or_default() += 1;
            }
            if let Some(need) = extra(*community) {
                *extras.entry(need).or_default() += 1;
            }
        }
        let mut numbered = 0;
        for community in group {
            let by_city = city(community).filter(|c| cities[c] == 1).map(|c| format!("{base} in {c}"));
            let by_need = extra(community).filter(|n| extras[n] == 1).map(|n| format!("{base} · {n}"));
            let distinct = [by_city, by_need].into_iter().flatten().find(|label| !taken.contains(label));
            let label = match distinct {
                Some(label) => label,
                None => loop {
                    numbered += 1;
                    let label = if numbered == 1 { base.clone() } else { format!("{base} ({numbered})") };
                    if !taken.contains(&label) {
                        break label;
                    }
                },
            };
            taken.insert(label.clone());
            renamed.push((community, label));
        }
    }
    for (community, label) in renamed {
        if let Some(summary) = summaries[community].as_mut() {
            summary.label = label;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(label: &str, size: usize, needs: &[(&str, f64)], city: Option<&str>) -> Option<Summary> {
        Some(Summary {
            label: label.to_owned(),
            size,
            top_needs: needs.iter().map(|(need, lift)| ((*need).to_owned(), 0.5, *lift)).collect(),
            internal_tie_share: None,
            influencers: Vec::new(),
            city: city.map(|c| (c.to_owned(), 0.8)),
        })
    }

    #[test]
    fn the_same_needs_are_told_apart_by_city_then_by_another_need_then_by_number() {
        let hiking = [("hiking", 5.0), ("birdwatching", 4.0)];
        let mut summaries = vec![
            summary("hiking · birdwatching", 40, &hiking, Some("Lyon")),
            summary("hiking · birdwatching", 30, &[hiking[0], hiking[1], ("kayaking", 3.0)], Some("Paris")),
            summary("hiking · birdwatching", 20, &[hiking[0], hiking[1], ("chess", 2.0)], Some("Paris")),
            summary("hiking · birdwatching", 35, &hiking, None),
            summary("hiking · birdwatching", 10, &hiking, None),
            summary("sourdough", 25, &[("sourdough", 6.0)], Some("Lyon")),
            None,
        ];
        distinguish(&mut summaries, &[], 1.5);
        let labels: Vec<&str> = summaries.iter().flatten().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "hiking · birdwatching in Lyon",
                "hiking · birdwatching · kayaking",
                "hiking · birdwatching · chess",
                "hiking · birdwatching",
                "hiking · birdwatching (2)",
                "sourdough",
            ]
        );
    }

    #[test]
    fn the_same_community_keeps_its_label_while_its_needs_name_it() {
        let hiking = [("hiking", 5.0), ("birdwatching", 4.0)];
        let mut summaries = vec![
            summary("hiking · birdwatching", 4, &hiking, None),
            summary("hiking · birdwatching", 4, &hiking, None),
            summary("sourdough", 2, &[("sourdough", 6.0)], None),
        ];
        // Nodes 0-3 were "(2)", 4-7 the bare label: found now in the other order.
        let previous = Previous {
            of_node: [1, 1, 1, 1, 0, 0, 0, 0, 2, 2].into_iter().map(Some).collect(),
            labels: vec!["hiking · birdwatching".into(), "hiking · birdwatching (2)".into(), "chess".into()],
        };
        let membership = [0, 0, 0, 1, 1, 1, 1, 1, 2, 2];
        let kept = kept_labels(&summaries, &membership, &previous);
        assert_eq!(
            kept,
            [Some("hiking · birdwatching (2)".to_owned()), Some("hiking · birdwatching".to_owned()), None],
            "the bakers were \"chess\": their needs no longer say so"
        );
        distinguish(&mut summaries, &kept, 1.5);
        let labels: Vec<&str> = summaries.iter().flatten().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["hiking · birdwatching (2)", "hiking · birdwatching", "sourdough"]);
    }
}

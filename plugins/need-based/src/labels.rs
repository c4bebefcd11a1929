//! Labels that tell communities apart and stay put across refits.
//!
//! A community is named by its most over-represented needs. When several share that name, each
//! gets what distinguishes it: the city most of its members live in, or else the next need
//! over-represented in it; only communities nothing tells apart are numbered, the largest
//! first. A community that is the same as one of the previous fit (most of its members were
//! there, and most of that community's members are here) keeps that community's label, as long
//! as the needs the label names are still over-represented in it.

use crate::summaries::Summary;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Tells apart the summaries that share a label (see the module's documentation).
/// `min_lift` is the lift a need needs to name a community.
pub fn distinguish(summaries: &mut [Option<Summary>], min_lift: f64) {
    let mut by_label: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (community, summary) in summaries.iter().enumerate() {
        if let Some(summary) = summary {
            by_label.entry(summary.label.clone()).or_default().push(community);
        }
    }
    let mut taken: HashSet<String> = by_label.keys().cloned().collect();
    let mut renamed: Vec<(usize, String)> = Vec::new();
    for (base, mut group) in by_label.into_iter().filter(|(_, group)| group.len() > 1) {
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
                None => {
                    numbered += 1;
                    let mut label = if numbered == 1 { base.clone() } else { format!("{base} ({numbered})") };
                    while numbered > 1 && taken.contains(&label) {
                        numbered += 1;
                        label = format!("{base} ({numbered})");
                    }
                    label
                }
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
        distinguish(&mut summaries, 1.5);
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
}

//! Listening: needs heard in what customers write.
//!
//! The text of the interaction kinds asked for (posts, reviews and mentions by default) is
//! read for three signals: hashtags (`#TrailRunning` is the need `trail_running`, an unknown
//! hashtag a need of its own), the words of each known need tag (`trail running`), and the
//! vocabulary's words and phrases. Each text counts once per need it mentions, discounted by
//! its age (halved every `half_life_days`); a customer's heard weight for a need is
//! `s / (1 + s)` of that recency-weighted count `s`, so one fresh mention weighs 0.5, three
//! 0.75, and old ones fade below `min_weight` and are dropped.

use crate::settings::ListenSettings;
use kindred_plugin_sdk::arrow_array::Array as _;
use kindred_plugin_sdk::serde_json::{Value, json};
use kindred_plugin_sdk::{Input, Positions, StrategyResult};
use std::collections::{HashMap, HashSet};

const MICROS_PER_DAY: f64 = 86_400_000_000.0;

/// Hears needs in text, with the needs it knows.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Listener {
    /// Known need tags, by index.
    tags: Vec<String>,
    /// First word of a phrase → (the phrase's words, need).
    phrases: HashMap<String, Vec<(Vec<String>, u32)>>,
    /// A known tag's letters and digits, lowercase → need: what a hashtag is matched on.
    squashed: HashMap<String, u32>,
    kinds: HashSet<String>,
    half_life_days: f64,
    min_weight: f64,
}

/// What was heard: each customer's needs and weights, by position.
#[derive(Debug, Clone, Default)]
pub struct Heard {
    /// Need tags by index: the listener's, then hashtags it did not know.
    pub tags: Vec<String>,
    /// Each customer's heard needs (index into `tags`, weight).
    pub by_position: Vec<Vec<(u32, f64)>>,
    /// Texts read.
    pub texts_read: usize,
}

/// The lowercase words of `text`: runs of letters and digits.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty()).map(str::to_lowercase)
}

/// `text`'s letters and digits, lowercase, in one word.
fn squash(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

impl Listener {
    /// A listener for the `known` need tags (those customers declared) and the vocabulary's.
    pub fn new<'a>(known: impl IntoIterator<Item = &'a str>, settings: &ListenSettings) -> Self {
        let mut listener = Self {
            tags: Vec::new(),
            phrases: HashMap::new(),
            squashed: HashMap::new(),
            kinds: settings.kinds.iter().cloned().collect(),
            half_life_days: settings.half_life_days,
            min_weight: settings.min_weight,
        };
        let mut index: HashMap<String, u32> = HashMap::new();
        let vocabulary = settings.vocabulary.iter().map(|(tag, phrases)| (tag.as_str(), phrases.as_slice()));
        let tags = known.into_iter().map(|tag| (tag, &[][..])).chain(vocabulary);
        for (tag, phrases) in tags {
            let need = *index.entry(tag.to_owned()).or_insert_with(|| {
                listener.tags.push(tag.to_owned());
                (listener.tags.len() - 1) as u32
            });
            listener.squashed.entry(squash(tag)).or_insert(need);
            for phrase in std::iter::once(tag).chain(phrases.iter().map(String::as_str)) {
                listener.add_phrase(phrase, need);
            }
        }
        listener
    }

    fn add_phrase(&mut self, phrase: &str, need: u32) {
        let phrase: Vec<String> = words(phrase).collect();
        let Some(first) = phrase.first() else { return };
        let list = self.phrases.entry(first.clone()).or_default();
        if !list.iter().any(|(known, at)| *known == phrase && *at == need) {
            list.push((phrase, need));
        }
    }

    /// The needs one text mentions, each once; hashtags this listener does not know get an
    /// index after its tags, recorded in `unknown`.
    fn mentions(&self, text: &str, unknown: &mut Vec<String>, out: &mut Vec<u32>) {
        out.clear();
        let words: Vec<String> = words(text).collect();
        for (at, word) in words.iter().enumerate() {
            for (phrase, need) in self.phrases.get(word).into_iter().flatten() {
                if words[at..].starts_with(phrase) {
                    out.push(*need);
                }
            }
        }
        for (start, _) in text.match_indices('#') {
            let body: String =
                text[start + 1..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let key = squash(&body);
            if key.chars().count() < 2 || !key.chars().any(char::is_alphabetic) {
                continue;
            }
            let need = match self.squashed.get(&key) {
                Some(need) => *need,
                None => match unknown.iter().position(|tag| *tag == key) {
                    Some(at) => (self.tags.len() + at) as u32,
                    None => {
                        unknown.push(key);
                        (self.tags.len() + unknown.len() - 1) as u32
                    }
                },
            };
            out.push(need);
        }
        out.sort_unstable();
        out.dedup();
    }

    /// What the customers of `input` (at `positions`, `customers` of them) said about their
    /// needs, up to the input's moment: texts after it are not read.
    pub fn hear(&self, input: &Input, positions: &Positions, customers: usize) -> StrategyResult<Heard> {
        let as_of = input.as_of_micros();
        let mut signals: Vec<Vec<(u32, f64)>> = vec![Vec::new(); customers];
        let mut unknown = Vec::new();
        let mut mentioned = Vec::new();
        let mut texts_read = 0;
        for batch in input.interactions() {
            let (owners, times, kinds, texts) =
                (batch.customer_id()?, batch.occurred_at()?, batch.kind()?, batch.text()?);
            for row in 0..batch.len() {
                if texts.is_null(row) || kinds.is_null(row) || times.is_null(row) {
                    continue;
                }
                let age_micros = as_of - times.value(row);
                if age_micros < 0 || !self.kinds.contains(kinds.value(row)) {
                    continue;
                }
                let Some(at) = positions.get(owners.value(row)) else { continue };
                texts_read += 1;
                self.mentions(texts.value(row), &mut unknown, &mut mentioned);
                let recency = 0.5_f64.powf(age_micros as f64 / MICROS_PER_DAY / self.half_life_days);
                for need in &mentioned {
                    let signal = &mut signals[at];
                    match signal.iter_mut().find(|(known, _)| known == need) {
                        Some((_, sum)) => *sum += recency,
                        None => signal.push((*need, recency)),
                    }
                }
            }
        }
        for signal in &mut signals {
            signal.retain_mut(|(_, sum)| {
                *sum /= 1.0 + *sum;
                *sum >= self.min_weight
            });
            signal.sort_unstable_by_key(|(need, _)| *need);
        }
        let mut tags = self.tags.clone();
        tags.extend(unknown);
        Ok(Heard { tags, by_position: signals, texts_read })
    }
}

/// What listening added in a fit, for the model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListeningStats {
    /// Texts read.
    pub texts_read: usize,
    /// Customers with at least one heard need.
    pub customers_heard: usize,
    /// Customers who gained a need they had not declared.
    pub customers_gained: usize,
    /// (customer, need) pairs heard that were not declared.
    pub needs_gained: usize,
    /// The needs gained most often, with how many customers gained each.
    pub top_gained: Vec<(String, usize)>,
}

impl ListeningStats {
    /// The stats as the model shows them.
    pub fn to_json(&self) -> Value {
        json!({
            "texts_read": self.texts_read,
            "customers_heard": self.customers_heard,
            "customers_gained": self.customers_gained,
            "needs_gained": self.needs_gained,
            "top_gained": self.top_gained.iter().map(|(need, customers)| json!({ "need": need, "customers": customers })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn listener(known: &[&str], vocabulary: &[(&str, &[&str])]) -> Listener {
        let settings = ListenSettings {
            vocabulary: vocabulary
                .iter()
                .map(|(tag, phrases)| ((*tag).to_owned(), phrases.iter().map(|p| (*p).to_owned()).collect()))
                .collect::<BTreeMap<_, _>>(),
            kinds: vec!["post".to_owned()],
            half_life_days: 30.0,
            min_weight: 0.25,
        };
        Listener::new(known.iter().copied(), &settings)
    }

    fn heard(listener: &Listener, text: &str) -> Vec<String> {
        let (mut unknown, mut out) = (Vec::new(), Vec::new());
        listener.mentions(text, &mut unknown, &mut out);
        let tags: Vec<String> = listener.tags.iter().cloned().chain(unknown).collect();
        out.iter().map(|need| tags[*need as usize].clone()).collect()
    }

    #[test]
    fn tags_words_phrases_and_hashtags_are_heard_once_per_text() {
        let listener =
            listener(&["trail_running", "yoga"], &[("injury_prevention", &["shin splints", "Physio"])]);
        assert_eq!(heard(&listener, "Trail running again! #TrailRunning #trail_running"), ["trail_running"]);
        assert_eq!(heard(&listener, "My shin splints are back, off to the physio."), ["injury_prevention"]);
        assert_eq!(heard(&listener, "Yoga, then #VanLife and more #vanlife"), ["yoga", "vanlife"]);
        assert!(
            heard(&listener, "running on a trail, splints of the shin? #1 #a").is_empty(),
            "words in order only"
        );
        assert_eq!(heard(&listener, "Shin-splints: injury prevention"), ["injury_prevention"]);
    }
}

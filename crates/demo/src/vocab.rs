//! Vocabularies: needs and passions, lifestyles, jobs and the words customers write.

/// How a need tag is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NeedClass {
    /// A pastime: an `interest`, or a `passion` when held strongly.
    Hobby,
    /// A problem to solve: a `need`.
    Need,
    /// A job to be done in life: a `job`.
    Job,
}

/// One tag of the need vocabulary.
pub(crate) struct NeedTag {
    /// Lowercase token, as stored.
    pub tag: &'static str,
    /// Plain words for texts.
    pub phrase: &'static str,
    pub class: NeedClass,
    /// Lifestyle token of people who hold it.
    pub lifestyle: &'static str,
}

const fn tag(tag: &'static str, phrase: &'static str, class: NeedClass, lifestyle: &'static str) -> NeedTag {
    NeedTag { tag, phrase, class, lifestyle }
}

use NeedClass::{Hobby, Job, Need};

/// The need vocabulary, grouped by theme (see [`THEMES`]).
pub(crate) const NEEDS: &[NeedTag] = &[
    // Running and fitness.
    tag("trail_running", "trail running", Hobby, "outdoorsy"),
    tag("marathon_training", "marathon training", Hobby, "active"),
    tag("injury_prevention", "avoiding running injuries", Need, "active"),
    tag("strength_training", "strength training", Hobby, "gym_goer"),
    tag("yoga", "yoga", Hobby, "mindful"),
    tag("cycling_commute", "cycling to work", Hobby, "commuter_cyclist"),
    // Outdoors.
    tag("hiking", "hiking", Hobby, "outdoorsy"),
    tag("camping", "camping", Hobby, "outdoorsy"),
    tag("climbing", "climbing", Hobby, "adventurous"),
    tag("birdwatching", "birdwatching", Hobby, "nature_lover"),
    tag("skiing", "skiing", Hobby, "winter_sports"),
    // Food and drink.
    tag("home_barista", "making espresso at home", Hobby, "coffee_lover"),
    tag("specialty_coffee", "specialty coffee", Hobby, "coffee_lover"),
    tag("vegan_cooking", "vegan cooking", Hobby, "plant_based"),
    tag("meal_prep", "meal prep for busy weeks", Need, "busy"),
    tag("baking", "baking bread", Hobby, "foodie"),
    tag("wine_tasting", "wine tasting", Hobby, "foodie"),
    tag("craft_beer", "craft beer", Hobby, "foodie"),
    tag("bbq_grilling", "grilling", Hobby, "foodie"),
    // Home.
    tag("first_home", "buying our first home", Job, "homeowner"),
    tag("home_renovation", "renovating the house", Job, "homeowner"),
    tag("smart_home", "smart home gadgets", Hobby, "tech_savvy"),
    tag("gardening", "gardening", Hobby, "green_thumb"),
    tag("interior_design", "interior design", Hobby, "design_lover"),
    tag("diy_repair", "fixing things myself", Need, "handy"),
    // Family and pets.
    tag("new_parent", "being a new parent", Job, "parent"),
    tag("toddler_sleep", "getting a toddler to sleep", Need, "parent"),
    tag("school_supplies", "back to school shopping", Need, "parent"),
    tag("family_travel", "travelling with kids", Job, "parent"),
    tag("dog_training", "training our dog", Need, "pet_owner"),
    tag("cat_care", "looking after our cat", Need, "pet_owner"),
    // Money.
    tag("retirement_planning", "planning for retirement", Job, "planner"),
    tag("budgeting", "sticking to a budget", Need, "budget_conscious"),
    tag("investing_basics", "learning to invest", Job, "planner"),
    tag("debt_payoff", "paying off debt", Job, "budget_conscious"),
    tag("tax_filing", "doing my taxes", Job, "planner"),
    // Work.
    tag("remote_work", "working from home", Need, "remote_worker"),
    tag("career_change", "changing careers", Job, "ambitious"),
    tag("small_business", "running a small business", Job, "entrepreneur"),
    tag("freelancing", "freelancing", Job, "entrepreneur"),
    tag("job_search", "finding a new job", Job, "ambitious"),
    // Tech and making.
    tag("gaming", "gaming", Hobby, "gamer"),
    tag("photography", "photography", Hobby, "creative"),
    tag("home_office_setup", "setting up a home office", Need, "remote_worker"),
    tag("podcasting", "podcasting", Hobby, "creative"),
    tag("3d_printing", "3d printing", Hobby, "maker"),
    // Wellness.
    tag("sleep_improvement", "sleeping better", Need, "health_conscious"),
    tag("stress_relief", "managing stress", Need, "mindful"),
    tag("skincare", "skincare", Hobby, "self_care"),
    tag("healthy_aging", "healthy ageing", Need, "health_conscious"),
    tag("mindfulness", "mindfulness", Hobby, "mindful"),
    // Travel.
    tag("city_breaks", "city breaks", Hobby, "traveller"),
    tag("backpacking", "backpacking", Hobby, "adventurous"),
    tag("business_travel", "travelling for work", Need, "frequent_flyer"),
    tag("language_learning", "learning a language", Job, "curious"),
    // Style.
    tag("sustainable_fashion", "sustainable fashion", Hobby, "eco_conscious"),
    tag("sneaker_collecting", "collecting sneakers", Hobby, "trendsetter"),
    tag("vintage_clothing", "vintage clothing", Hobby, "eco_conscious"),
    // Leisure.
    tag("book_club", "our book club", Hobby, "bookworm"),
    tag("board_games", "board games", Hobby, "social"),
    tag("music_production", "making music", Hobby, "creative"),
    tag("knitting", "knitting", Hobby, "crafty"),
];

/// Start of each theme in [`NEEDS`]; a theme runs to the next start.
pub(crate) const THEMES: &[usize] = &[0, 6, 11, 19, 25, 31, 36, 41, 46, 51, 55, 58, 62];

/// The `[start, end)` range in [`NEEDS`] of the theme holding `need`.
pub(crate) fn theme_of(need: usize) -> (usize, usize) {
    let position = THEMES.partition_point(|start| *start <= need);
    let start = THEMES[position.saturating_sub(1)];
    (start, THEMES.get(position).copied().unwrap_or(NEEDS.len()))
}

/// Lifestyle tokens not tied to any need.
pub(crate) const LIFESTYLES: &[&str] = &[
    "urban",
    "suburban",
    "rural",
    "early_riser",
    "night_owl",
    "minimalist",
    "eco_conscious",
    "tech_savvy",
    "budget_conscious",
    "premium_buyer",
    "social",
    "homebody",
    "deal_hunter",
];

/// Education levels, lowest first.
pub(crate) const EDUCATION: &[&str] = &["none", "secondary", "vocational", "bachelor", "master", "doctorate"];

/// Share of adults at each level of [`EDUCATION`].
pub(crate) const EDUCATION_SHARE: &[f64] = &[0.03, 0.30, 0.22, 0.28, 0.14, 0.03];

/// An occupation and the lowest education level (index into [`EDUCATION`]) usual for it.
pub(crate) struct Occupation {
    pub name: &'static str,
    pub min_education: usize,
    pub weight: f64,
}

const fn job(name: &'static str, min_education: usize, weight: f64) -> Occupation {
    Occupation { name, min_education, weight }
}

/// Occupations of working-age customers.
pub(crate) const OCCUPATIONS: &[Occupation] = &[
    job("warehouse_worker", 0, 1.0),
    job("driver", 0, 1.0),
    job("homemaker", 0, 0.6),
    job("shop_assistant", 1, 1.5),
    job("civil_servant", 1, 1.0),
    job("entrepreneur", 1, 0.5),
    job("electrician", 2, 0.8),
    job("mechanic", 2, 0.8),
    job("chef", 2, 0.6),
    job("nurse", 2, 1.0),
    job("sales_manager", 2, 0.8),
    job("designer", 2, 0.5),
    job("teacher", 3, 1.0),
    job("accountant", 3, 0.8),
    job("software_engineer", 3, 1.0),
    job("marketing_specialist", 3, 0.7),
    job("consultant", 3, 0.6),
    job("architect", 4, 0.3),
    job("lawyer", 4, 0.4),
    job("physician", 4, 0.4),
    job("researcher", 5, 0.5),
];

/// Things customers post about themselves; `{}` is a need in plain words.
pub(crate) const POSTS: &[&str] = &[
    "Spent the whole weekend on {} and loved it.",
    "Any tips for {}? I am just getting started.",
    "Honestly {} has changed my routine for the better.",
    "Three months into {} and still learning every day.",
    "Who else is into {}? Looking for people nearby.",
];

/// Things customers say about the brand.
pub(crate) const MENTIONS: &[&str] = &[
    "Best shop I know for anything to do with {}.",
    "Shout out to the team for helping me with {}.",
    "Does anyone know if they still stock gear for {}?",
];

/// Reviews of something bought.
pub(crate) const REVIEWS: &[&str] = &[
    "Five stars. Exactly what I needed for {}.",
    "Good quality and fast delivery, great for {}.",
    "Works fine for {} but the price is a bit high.",
    "Disappointed: not really suited to {}.",
];

/// Support requests.
pub(crate) const TICKETS: &[&str] = &[
    "My order for {} has not arrived yet, the tracking has not changed in days.",
    "The item I bought for {} arrived damaged. Can I get a replacement?",
    "Wrong size for {}, how do I exchange it?",
    "I was charged twice for my order for {}.",
];

/// Words used when a customer has no need to talk about.
pub(crate) const GENERIC_PHRASE: &str = "everyday shopping";

#[cfg(test)]
mod tests {
    use super::*;

    fn is_token(value: &str) -> bool {
        !value.is_empty()
            && value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-".contains(c))
    }

    #[test]
    fn vocabularies_are_lowercase_tokens() {
        assert!((55..=70).contains(&NEEDS.len()));
        assert_eq!(THEMES.last(), Some(&NEEDS.len()));
        for need in NEEDS {
            assert!(is_token(need.tag) && is_token(need.lifestyle), "{}", need.tag);
        }
        assert!(LIFESTYLES.iter().chain(EDUCATION).all(|t| is_token(t)));
        assert!(OCCUPATIONS.iter().all(|o| is_token(o.name) && o.min_education < EDUCATION.len()));
        let mut tags: Vec<_> = NEEDS.iter().map(|n| n.tag).collect();
        tags.sort_unstable();
        tags.dedup();
        assert_eq!(tags.len(), NEEDS.len());
    }

    #[test]
    fn themes_cover_their_needs() {
        assert_eq!(theme_of(0), (0, 6));
        assert_eq!(theme_of(5), (0, 6));
        assert_eq!(theme_of(6), (6, 11));
        assert_eq!(theme_of(NEEDS.len() - 1), (58, 62));
        for template in POSTS.iter().chain(MENTIONS).chain(REVIEWS).chain(TICKETS) {
            assert_eq!(template.matches("{}").count(), 1, "{template}");
        }
    }
}

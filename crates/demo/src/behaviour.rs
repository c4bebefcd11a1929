//! Interactions: a buy-till-you-die purchase process plus visits, tickets, reviews and posts.
//!
//! Each customer buys at a rate λ ~ Gamma and, after every purchase, silently drops out with a
//! probability p ~ Beta (BG/NBD). Around purchases come refunds, reviews and support tickets;
//! visits happen while the customer is active, and some customers post on social media.

use crate::needs::HeldNeed;
use crate::people::Traits;
use crate::rng::{self, Purpose, chance, normal, uniform, wait};
use crate::time::write_timestamp;
use crate::vocab::{GENERIC_PHRASE, MENTIONS, POSTS, REVIEWS, TICKETS};
use crate::write::Row;
use crate::{CustomerId, DemoError, World};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Gamma};

/// Population-level distributions of behaviour.
#[derive(Debug, Clone)]
pub(crate) struct Params {
    /// Purchases per year.
    purchase_rate: Gamma<f64>,
    /// Chance of dropping out after each purchase.
    dropout: Beta<f64>,
    /// Posts per year of customers who post.
    post_rate: Gamma<f64>,
}

impl Params {
    /// The distributions used for every customer.
    pub fn new() -> Result<Self, DemoError> {
        let error = |error: &dyn std::fmt::Display| DemoError::Distribution(error.to_string());
        Ok(Self {
            purchase_rate: Gamma::new(1.6, 2.3).map_err(|e| error(&e))?,
            dropout: Beta::new(1.4, 7.0).map_err(|e| error(&e))?,
            post_rate: Gamma::new(1.0, 1.8).map_err(|e| error(&e))?,
        })
    }
}

/// Kinds of interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Purchase,
    Refund,
    SupportTicket,
    Post,
    Mention,
    Review,
    Visit,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Purchase => "purchase",
            Kind::Refund => "refund",
            Kind::SupportTicket => "support_ticket",
            Kind::Post => "post",
            Kind::Mention => "mention",
            Kind::Review => "review",
            Kind::Visit => "visit",
        }
    }
}

/// One interaction, before it is written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Event {
    /// Unix seconds.
    pub at: i64,
    pub kind: Kind,
    pub channel: &'static str,
    pub amount: Option<f64>,
    pub cost: Option<f64>,
    /// A text template and the phrase to put in it.
    pub text: Option<(&'static str, &'static str)>,
}

/// Local hour-of-day weights: quiet nights, a lunch bump and a busy evening.
const HOURS: [f64; 24] = [
    0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 3.0, 2.5, 2.5, 3.0, 3.5, 4.0, 4.5, 4.0,
    3.0, 2.0, 1.0,
];

fn pick(rng: &mut ChaCha8Rng, choices: &[(&'static str, f64)]) -> &'static str {
    choices[rng::weighted(rng, choices, |c| c.1)].0
}

/// Builds one customer's events, day by day within the window.
struct Timeline<'a> {
    rng: ChaCha8Rng,
    world: &'a World,
    utc_offset: i64,
    needs: &'a [HeldNeed],
    events: &'a mut Vec<Event>,
}

impl Timeline<'_> {
    /// Adds an event `day` days into the window; `false` when it falls outside and is dropped.
    fn add(
        &mut self,
        day: f64,
        kind: Kind,
        channel: &'static str,
        amount: Option<f64>,
        cost: Option<f64>,
    ) -> bool {
        if !(0.0..self.world.window.days()).contains(&day) {
            return false;
        }
        let hour = rng::weighted(&mut self.rng, &HOURS, |w| *w) as i64;
        let local = hour * 3600 + rng::index(&mut self.rng, 3600) as i64;
        let at = self.world.window.at(day, local - self.utc_offset * 3600);
        let cost = cost.map(rng::cents);
        self.events.push(Event { at, kind, channel, amount, cost, text: None });
        true
    }

    /// Gives the last event a text from `templates` about one of the customer's needs.
    fn say(&mut self, templates: &[&'static str]) {
        let template = templates[rng::index(&mut self.rng, templates.len())];
        let phrase = if self.needs.is_empty() {
            GENERIC_PHRASE
        } else {
            self.needs[rng::weighted(&mut self.rng, self.needs, |n| n.weight)].tag().phrase
        };
        if let Some(event) = self.events.last_mut() {
            event.text = Some((template, phrase));
        }
    }

    /// Adds events at the given yearly `rate` over `[from, to)` days.
    fn poisson(&mut self, from: f64, to: f64, rate: f64, mut add: impl FnMut(&mut Self, f64)) {
        let mut day = from + wait(&mut self.rng, rate / 365.25);
        while day < to {
            add(self, day);
            day += wait(&mut self.rng, rate / 365.25);
        }
    }
}

fn purchase(line: &mut Timeline<'_>, day: f64, spend: f64) {
    let channel = pick(&mut line.rng, &[("web", 0.58), ("store", 0.37), ("phone", 0.05)]);
    let amount = rng::cents((spend * (0.35 * normal(&mut line.rng)).exp()).max(0.5));
    let cost = match channel {
        "web" => uniform(&mut line.rng, 3.5, 7.5),
        "store" => uniform(&mut line.rng, 0.4, 1.2),
        _ => uniform(&mut line.rng, 5.0, 9.0),
    };
    line.add(day, Kind::Purchase, channel, Some(amount), Some(cost));
    if chance(&mut line.rng, 0.05) {
        let refunded =
            if chance(&mut line.rng, 0.75) { amount } else { amount * uniform(&mut line.rng, 0.2, 0.8) };
        let (channel, cost) = if channel == "store" {
            ("store", uniform(&mut line.rng, 1.0, 3.0))
        } else {
            ("web", uniform(&mut line.rng, 5.0, 12.0))
        };
        let later = day + uniform(&mut line.rng, 2.0, 30.0);
        line.add(later, Kind::Refund, channel, Some(rng::cents(refunded)), Some(cost));
    }
    if chance(&mut line.rng, 0.15) {
        let channel = pick(&mut line.rng, &[("web", 0.85), ("facebook", 0.15)]);
        let later = day + uniform(&mut line.rng, 3.0, 20.0);
        if line.add(later, Kind::Review, channel, None, None) {
            line.say(REVIEWS);
        }
    }
    if chance(&mut line.rng, 0.07) {
        let later = day + uniform(&mut line.rng, 1.0, 10.0);
        ticket(line, later);
    }
}

fn ticket(line: &mut Timeline<'_>, day: f64) {
    let channel = pick(&mut line.rng, &[("support", 0.5), ("email", 0.3), ("phone", 0.2)]);
    let cost = match channel {
        "support" => uniform(&mut line.rng, 3.0, 8.0),
        "email" => uniform(&mut line.rng, 2.5, 6.0),
        _ => uniform(&mut line.rng, 8.0, 18.0),
    };
    if line.add(day, Kind::SupportTicket, channel, None, Some(cost)) {
        line.say(TICKETS);
    }
}

/// Fills `out` with the interactions of `customer`, in time order.
pub(crate) fn events(
    world: &World,
    customer: usize,
    traits: &Traits,
    needs: &[HeldNeed],
    out: &mut Vec<Event>,
) {
    out.clear();
    let mut rng = world.seeds.rng(Purpose::Behaviour, customer as u64);
    let days = world.window.days();
    // A third were already customers before the window opened.
    let acquired =
        if chance(&mut rng, 0.33) { uniform(&mut rng, -730.0, 0.0) } else { uniform(&mut rng, 0.0, days) };
    let yearly = world.behaviour.purchase_rate.sample(&mut rng);
    let dropout = world.behaviour.dropout.sample(&mut rng);
    let spend = 38.0 * traits.income_ratio.powf(0.4) * (0.5 * normal(&mut rng)).exp();
    let posts = if chance(&mut rng, 0.35) { world.behaviour.post_rate.sample(&mut rng) } else { 0.0 };
    let email_clicks = if traits.consent_marketing { 1.0 } else { 0.0 };
    let utc_offset = traits.place.country().utc_offset;
    let mut line = Timeline { rng, world, utc_offset, needs, events: out };

    let mut day = acquired;
    let mut active_until = days;
    while day < days {
        purchase(&mut line, day, spend);
        if chance(&mut line.rng, dropout) {
            active_until = day;
            break;
        }
        day += wait(&mut line.rng, yearly / 365.25);
    }
    let from = acquired.max(0.0);
    let until = active_until.min(days);
    line.poisson(from, until, 0.6 * yearly + 1.5, |line, day| {
        let channel = pick(&mut line.rng, &[("web", 0.75), ("store", 0.25)]);
        let cost = if channel == "web" {
            uniform(&mut line.rng, 0.01, 0.05)
        } else {
            uniform(&mut line.rng, 0.2, 0.6)
        };
        line.add(day, Kind::Visit, channel, None, Some(cost));
    });
    line.poisson(from, until, email_clicks, |line, day| {
        let cost = uniform(&mut line.rng, 0.01, 0.03);
        line.add(day, Kind::Visit, "email", None, Some(cost));
    });
    line.poisson(from, until, 0.15, ticket);
    line.poisson(from, days, posts, |line, day| {
        let channel = pick(&mut line.rng, &[("instagram", 0.5), ("facebook", 0.3), ("twitter", 0.2)]);
        if line.add(day, Kind::Post, channel, None, None) {
            line.say(POSTS);
        }
    });
    line.poisson(from, days, posts * 0.25, |line, day| {
        let channel = pick(&mut line.rng, &[("twitter", 0.5), ("instagram", 0.4), ("facebook", 0.1)]);
        if line.add(day, Kind::Mention, channel, None, None) {
            line.say(MENTIONS);
        }
    });
    out.sort_by_key(|event| event.at);
}

/// Fills `row` with the interactions-file row of the `number`th event of `customer`.
pub(crate) fn write_row(customer: usize, number: usize, event: &Event, currency: &str, row: &mut Row) {
    row.clear();
    row.text_fmt(format_args!("{}", CustomerId(customer)))
        .text_with(|out| write_timestamp(out, event.at))
        .text(event.channel)
        .text(event.kind.as_str())
        .number_opt(event.amount, 2)
        .text_opt(event.amount.map(|_| currency))
        .number_opt(event.cost, 2);
    match event.text {
        Some((template, phrase)) => row.text_with(|out| {
            let (before, after) = template.split_once("{}").unwrap_or((template, ""));
            out.push_str(before);
            out.push_str(phrase);
            out.push_str(after);
        }),
        None => row.empty(),
    };
    row.text_fmt(format_args!("demo-{:07}-{number:03}", customer + 1));
}

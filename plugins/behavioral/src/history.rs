//! What each customer did up to the as-of moment, summed per customer from the
//! `interactions` columns in one pass.

use crate::customers::CustomerList;
use kindred_plugin_sdk::arrow_array::Array as _;
use kindred_plugin_sdk::{Input, StrategyResult};

/// Microseconds in a day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The kind of interaction that is a purchase.
pub const PURCHASE: &str = "purchase";

/// The kind of interaction that gives money back.
pub const REFUND: &str = "refund";

/// The interactions that count: from `since` (inclusive, if set) to `as_of` (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Nothing after this moment counts (microseconds since the epoch).
    pub as_of: i64,
    /// Nothing before this moment counts.
    pub since: Option<i64>,
}

impl Window {
    /// The `days` days up to `as_of`, or all time up to it.
    pub fn new(as_of: i64, days: Option<i64>) -> Self {
        Self { as_of, since: days.map(|days| as_of.saturating_sub(days.saturating_mul(MICROS_PER_DAY))) }
    }

    /// Whether a moment falls inside.
    #[inline]
    pub fn contains(&self, at: i64) -> bool {
        at <= self.as_of && self.since.is_none_or(|since| at >= since)
    }
}

/// Purchases per customer in a window.
#[derive(Debug, Clone)]
pub struct Purchases {
    /// Moment of the last purchase (`None`: no purchase).
    pub last: Vec<Option<i64>>,
    /// Number of purchases.
    pub count: Vec<u32>,
    /// Sum of their amounts (a missing amount counts as 0).
    pub amount: Vec<f64>,
}

/// Sums the purchases of `customers` in `window`.
pub fn purchases(input: &Input, customers: &CustomerList, window: Window) -> StrategyResult<Purchases> {
    let n = customers.len();
    let mut summary = Purchases { last: vec![None; n], count: vec![0; n], amount: vec![0.0; n] };
    for batch in input.interactions() {
        let (ids, times, kinds, amounts) =
            (batch.customer_id()?, batch.occurred_at()?, batch.kind()?, batch.amount()?);
        for row in 0..batch.len() {
            let at = times.value(row);
            if !window.contains(at) || kinds.is_null(row) || kinds.value(row) != PURCHASE {
                continue;
            }
            let Some(position) = customers.position(ids.value(row)) else { continue };
            summary.count[position] += 1;
            if !amounts.is_null(row) {
                summary.amount[position] += amounts.value(row);
            }
            let last = &mut summary.last[position];
            *last = Some(last.map_or(at, |last| last.max(at)));
        }
    }
    Ok(summary)
}

/// Profit per customer in `window`: purchase amounts, minus refunded amounts, minus the cost
/// to serve of every interaction.
pub fn profit(input: &Input, customers: &CustomerList, window: Window) -> StrategyResult<Vec<f64>> {
    let mut profit = vec![0.0; customers.len()];
    for batch in input.interactions() {
        let (ids, times, kinds) = (batch.customer_id()?, batch.occurred_at()?, batch.kind()?);
        let (amounts, costs) = (batch.amount()?, batch.cost_to_serve()?);
        for row in 0..batch.len() {
            if !window.contains(times.value(row)) {
                continue;
            }
            let Some(position) = customers.position(ids.value(row)) else { continue };
            let amount = if amounts.is_null(row) { 0.0 } else { amounts.value(row) };
            let kind = if kinds.is_null(row) { "" } else { kinds.value(row) };
            profit[position] += match kind {
                PURCHASE => amount,
                REFUND => -amount,
                _ => 0.0,
            };
            if !costs.is_null(row) {
                profit[position] -= costs.value(row);
            }
        }
    }
    Ok(profit)
}

/// One customer's purchases counted once per day: what the lifetime-value models read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PurchaseDays {
    /// Day of the first purchase (days since the epoch).
    pub first_day: i64,
    /// Day of the last purchase.
    pub last_day: i64,
    /// Days with a purchase after the first one (repeat purchases).
    pub repeat_days: u32,
    /// Spend on those repeat days.
    pub repeat_spend: f64,
    /// Spend on every purchase day, the first included.
    pub total_spend: f64,
}

/// The purchase days of every customer up to `as_of` (`None`: never bought).
pub fn purchase_days(
    input: &Input,
    customers: &CustomerList,
    as_of: i64,
) -> StrategyResult<Vec<Option<PurchaseDays>>> {
    // Bucket (day, amount) by customer with a counting sort, then sort each customer's few
    // purchases by day: linear in the number of purchases, no hashing.
    let n = customers.len();
    let mut per_customer = vec![0_u32; n + 1];
    let mut found = Vec::new();
    for batch in input.interactions() {
        let (ids, times, kinds, amounts) =
            (batch.customer_id()?, batch.occurred_at()?, batch.kind()?, batch.amount()?);
        for row in 0..batch.len() {
            let at = times.value(row);
            if at > as_of || kinds.is_null(row) || kinds.value(row) != PURCHASE {
                continue;
            }
            let Some(position) = customers.position(ids.value(row)) else { continue };
            let amount = if amounts.is_null(row) { 0.0 } else { amounts.value(row) };
            found.push((position as u32, at.div_euclid(MICROS_PER_DAY), amount));
            per_customer[position + 1] += 1;
        }
    }
    for position in 0..n {
        per_customer[position + 1] += per_customer[position];
    }
    let starts = per_customer.clone();
    let mut next = per_customer;
    let mut ordered = vec![(0_i64, 0.0_f64); found.len()];
    for (position, day, amount) in found {
        let slot = &mut next[position as usize];
        ordered[*slot as usize] = (day, amount);
        *slot += 1;
    }
    let mut days = Vec::with_capacity(n);
    for position in 0..n {
        let purchases = &mut ordered[starts[position] as usize..starts[position + 1] as usize];
        if purchases.is_empty() {
            days.push(None);
            continue;
        }
        purchases.sort_unstable_by_key(|(day, _)| *day);
        let first_day = purchases[0].0;
        let mut summary = PurchaseDays {
            first_day,
            last_day: first_day,
            repeat_days: 0,
            repeat_spend: 0.0,
            total_spend: 0.0,
        };
        for (day, amount) in purchases.iter() {
            summary.total_spend += amount;
            if *day != first_day {
                summary.repeat_spend += amount;
                if *day != summary.last_day {
                    summary.repeat_days += 1;
                    summary.last_day = *day;
                }
            }
        }
        days.push(Some(summary));
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_include_both_ends() {
        let window = Window::new(10 * MICROS_PER_DAY, Some(3));
        assert!(window.contains(7 * MICROS_PER_DAY));
        assert!(window.contains(10 * MICROS_PER_DAY));
        assert!(!window.contains(7 * MICROS_PER_DAY - 1));
        assert!(!window.contains(10 * MICROS_PER_DAY + 1));
        assert!(Window::new(0, None).contains(i64::MIN));
    }
}

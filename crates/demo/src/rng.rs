//! Seeded random streams, one per customer (or community) and purpose, plus small sampling helpers.
//!
//! Every customer draws from its own ChaCha stream keyed by `(seed, purpose)` with the customer's
//! index as the stream number, so what a customer gets never depends on generation order.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a random stream is used for; each purpose has its own key.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Purpose {
    /// Community sizes and the shuffle that assigns customers.
    Plan,
    /// A community's characteristic needs and home place.
    Community,
    /// A customer's demographics.
    People,
    /// A customer's needs.
    Needs,
    /// A customer's strong ties inside its community.
    Strong,
    /// A customer's weak ties across communities.
    Weak,
    /// A customer's interactions.
    Behaviour,
    /// Duplicate records of a customer and their noise.
    Duplicates,
    /// A customer's phone and address.
    Contact,
    /// A customer's less common given or family name.
    Names,
}

const PURPOSES: usize = 10;

/// The keys of every random stream of one data set.
#[derive(Debug, Clone)]
pub(crate) struct Seeds {
    keys: [[u8; 32]; PURPOSES],
}

/// SplitMix64: spreads a 64-bit state into well-mixed outputs.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Seeds {
    /// Derives one key per purpose from `seed`.
    pub fn new(seed: u64) -> Self {
        let mut keys = [[0u8; 32]; PURPOSES];
        for (purpose, key) in keys.iter_mut().enumerate() {
            let mut state = seed ^ (purpose as u64 + 1).wrapping_mul(0xA076_1D64_78BD_642F);
            for chunk in key.chunks_exact_mut(8) {
                chunk.copy_from_slice(&splitmix(&mut state).to_le_bytes());
            }
        }
        Self { keys }
    }

    /// The random stream for `purpose` and `index`.
    pub fn rng(&self, purpose: Purpose, index: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::from_seed(self.keys[purpose as usize]);
        rng.set_stream(index);
        rng
    }
}

/// `true` with probability `p`.
pub(crate) fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// A uniform number in `[low, high)`.
pub(crate) fn uniform(rng: &mut ChaCha8Rng, low: f64, high: f64) -> f64 {
    low + (high - low) * rng.random::<f64>()
}

/// A uniform index below `len` (0 when `len` is 0).
pub(crate) fn index(rng: &mut ChaCha8Rng, len: usize) -> usize {
    if len == 0 { 0 } else { rng.random_range(0..len) }
}

/// A standard normal draw (mean 0, standard deviation 1).
pub(crate) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    rng.sample(rand_distr::StandardNormal)
}

/// An index into `items` drawn in proportion to `weight`.
pub(crate) fn weighted<T>(rng: &mut ChaCha8Rng, items: &[T], weight: impl Fn(&T) -> f64) -> usize {
    let total: f64 = items.iter().map(&weight).sum();
    let mut target = rng.random::<f64>() * total;
    for (position, item) in items.iter().enumerate() {
        target -= weight(item);
        if target < 0.0 {
            return position;
        }
    }
    items.len().saturating_sub(1)
}

/// Waiting time until the next event of a Poisson process with `rate` events per unit time.
pub(crate) fn wait(rng: &mut ChaCha8Rng, rate: f64) -> f64 {
    if rate <= 0.0 {
        return f64::INFINITY;
    }
    -(1.0 - rng.random::<f64>()).ln() / rate
}

/// `value` rounded to cents (or hundredths), never negative.
pub(crate) fn cents(value: f64) -> f64 {
    ((value * 100.0).round() / 100.0).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let seeds = Seeds::new(7);
        let draw = |purpose, index| seeds.rng(purpose, index).random::<u64>();
        assert_eq!(draw(Purpose::People, 3), draw(Purpose::People, 3));
        assert_ne!(draw(Purpose::People, 3), draw(Purpose::People, 4));
        assert_ne!(draw(Purpose::People, 3), draw(Purpose::Needs, 3));
        assert_ne!(draw(Purpose::People, 3), Seeds::new(8).rng(Purpose::People, 3).random::<u64>());
    }

    #[test]
    fn weighted_choice_follows_weights() {
        let mut rng = Seeds::new(1).rng(Purpose::Plan, 0);
        let mut counts = [0u32; 3];
        for _ in 0..10_000 {
            counts[weighted(&mut rng, &[1.0, 0.0, 3.0], |w| *w)] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((2_200..2_800).contains(&counts[0]), "{counts:?}");
    }
}

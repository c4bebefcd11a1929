//! Running a strategy in-process, for authors' unit tests and for benchmarks.

use crate::{Assignments, Input, SegmentationStrategy, StrategyResult};
use arrow_array::RecordBatch;

/// Creates `S` from `params`, fits it on `population` and assigns `population`, as the host
/// does, but in-process: returns the output batch and the model.
pub fn run<S: SegmentationStrategy>(
    params: &serde_json::Value,
    population: &Input,
) -> StrategyResult<(RecordBatch, serde_json::Value)> {
    let mut strategy = S::create(params)?;
    strategy.fit(population)?;
    let mut out = Assignments::new();
    strategy.assign(population, &mut out)?;
    Ok((out.finish(), strategy.model()))
}

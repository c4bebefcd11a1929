//! Probabilistic record linkage: finds the records that are one person although they share no
//! identifier (a typo in the email, a nickname, a moved house) and explains each decision.
//!
//! Pure: [`MatchRecord`]s in, [`Decisions`] out, no IO. The pipeline ([`run`]):
//! 1. candidate pairs from several blocking keys, never all pairs ([`blocking`]);
//! 2. each field of a pair graded (exact, close, somewhat, different, or missing) with
//!    Jaro-Winkler and the optimal-string-alignment (restricted Damerau-Levenshtein) distance
//!    from `strsim`, each pair once, on every core ([`compare`]);
//! 3. Fellegi-Sunter match weights whose u probabilities come from random pairs and whose m
//!    probabilities are estimated by EM over the candidate pairs, without labels; exact
//!    agreement on a common name counts for less than on a rare one ([`model`]);
//! 4. clusters from the pairs above the merge threshold, where a weak link may only attach a
//!    single record and no cluster grows past a size, so no long chain of weak links forms
//!    ([`cluster`]).

mod agreeing;
pub mod blocking;
pub mod cluster;
pub mod compare;
mod frequency;
mod location;
pub mod model;
mod name_dependence;
mod pipeline;
mod random;
pub mod record;

pub use pipeline::{Decisions, FieldEvidence, Progress, ScoredPair, Settings, Stage, run, run_with_progress};
pub use record::{Field, MatchRecord};

//! Identity: the identifiers that tell whether two records are one person (external ids by
//! origin, emails, phones, social handles), normalised; the rules of deterministic matching
//! (blocked values, limits per kind, priorities); and the resolution of one incoming record
//! against the identifiers already known. No IO: the store looks identifiers up and applies
//! what [`resolve`] decides.

mod identifier;
mod resolve;
mod rules;
mod survivorship;

pub use identifier::{Identifier, IdentifierClass, IdentifierKind};
pub use resolve::{Decision, Outcome, Resolution, resolve};
pub use rules::{DEFAULT_BLOCKED, IdentityRules, RuleError};
pub use survivorship::{Side, Survivorship, merged_consent};

/// Everything identity resolution is configured with (`[identity]`).
#[derive(Debug, Clone, Default)]
pub struct IdentityPolicy {
    /// Blocked values, limits and priorities of automatic matching.
    pub rules: IdentityRules,
    /// Which values survive a merge.
    pub survivorship: Survivorship,
}

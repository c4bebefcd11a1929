//! Identity: the identifiers that tell whether two records are one person (external ids by
//! origin, emails, phones, social handles), normalised; the rules of deterministic matching
//! (blocked values, limits per kind, priorities); and the resolution of one incoming record
//! against the identifiers already known. No IO: the store looks identifiers up and applies
//! what [`resolve`] decides.

mod identifier;
mod resolve;
mod rules;

pub use identifier::{Identifier, IdentifierClass, IdentifierKind};
pub use resolve::{Decision, Outcome, Resolution, resolve};
pub use rules::{DEFAULT_BLOCKED, IdentityRules, RuleError};

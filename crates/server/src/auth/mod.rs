//! Authentication and abuse limits: API keys (made by `kindred keys`), the gate in front of
//! every API endpoint, and the per-key rate limit.

pub mod gate;
pub mod origin;
pub mod ring;

pub use gate::{Gate, GateSettings, authenticate};
pub use origin::same_machine;
pub use ring::KeyRing;

//! Community detection: the customer graph and the Leiden algorithm over it, and how close a
//! partition is to another (normalised mutual information).

pub mod density;
pub mod graph;
pub mod leiden;
pub mod nmi;

//! GraphQL object types over store rows: customers and what hangs off them, segmentations,
//! their segments, members, jobs, analytics and webhooks. The roots (queries, mutations,
//! subscriptions) sit above and return these.

pub(crate) mod analytics;
mod customer;
mod identity;
mod interaction;
mod need;
pub(crate) mod segmentation;
mod tie;
pub(crate) mod webhook;

pub(crate) use customer::{Customer, customer_page};
pub(crate) use identity::{Identifier, MergeEntry};
pub(crate) use interaction::Interaction;
pub(crate) use need::Need;
pub(crate) use tie::Tie;

pub(crate) use crate::context::{loader, store};

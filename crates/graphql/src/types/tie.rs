//! `Tie`: a relationship between two customers.

use super::{Customer, loader};
use crate::error::ApiResult;
use crate::loaders::CustomerKey;
use async_graphql::{ID, Object};
use kindred_store::entity::tie;

/// A relationship between two customers.
pub(crate) struct Tie(pub tie::Model);

#[Object]
impl Tie {
    /// Kindred's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Where it starts (for a mutual tie, either end).
    async fn from(&self, ctx: &async_graphql::Context<'_>) -> ApiResult<Option<Customer>> {
        Ok(loader(ctx)?.load_one(CustomerKey(self.0.from_id)).await?.map(Customer))
    }
    /// Where it ends.
    async fn to(&self, ctx: &async_graphql::Context<'_>) -> ApiResult<Option<Customer>> {
        Ok(loader(ctx)?.load_one(CustomerKey(self.0.to_id)).await?.map(Customer))
    }
    /// follows, friend, referred, household, colleague or conversation.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// Strength, 0..1.
    async fn weight(&self) -> f64 {
        self.0.weight
    }
    /// Whether it goes both ways.
    async fn mutual(&self) -> bool {
        self.0.mutual
    }
}

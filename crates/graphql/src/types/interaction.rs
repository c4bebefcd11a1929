//! `Interaction`: something a customer did or said on a channel.

use super::{Customer, loader};
use crate::error::ApiResult;
use crate::loaders::CustomerKey;
use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};
use kindred_store::entity::interaction;

/// Something a customer did or said on a channel.
pub(crate) struct Interaction(pub interaction::Model);

#[Object]
impl Interaction {
    /// Kindred's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Who.
    async fn customer(&self, ctx: &async_graphql::Context<'_>) -> ApiResult<Option<Customer>> {
        Ok(loader(ctx)?.load_one(CustomerKey(self.0.customer_id)).await?.map(Customer))
    }
    /// When.
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    /// Where: web, email, store, phone, support or a social network.
    async fn channel(&self) -> Option<&str> {
        self.0.channel.as_deref()
    }
    /// What: purchase, refund, support_ticket, post, mention, review, visit...
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// Money involved.
    async fn amount(&self) -> Option<f64> {
        self.0.amount
    }
    /// ISO 4217 currency of the amount.
    async fn currency(&self) -> Option<&str> {
        self.0.currency.as_deref()
    }
    /// What serving it cost.
    async fn cost_to_serve(&self) -> Option<f64> {
        self.0.cost_to_serve
    }
    /// What the customer wrote or said.
    async fn text(&self) -> Option<&str> {
        self.0.text.as_deref()
    }
    /// Its id in the source system.
    async fn source_id(&self) -> Option<&str> {
        self.0.source_id.as_deref()
    }
}

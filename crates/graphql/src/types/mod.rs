//! GraphQL object types over store rows.

mod customer;
mod interaction;
mod need;
mod tie;

pub(crate) use customer::{Customer, customer_page};
pub(crate) use interaction::Interaction;
pub(crate) use need::Need;
pub(crate) use tie::Tie;

use crate::error::ApiResult;
use crate::loaders::StoreLoader;
use async_graphql::Context;
use async_graphql::dataloader::DataLoader;

/// The request's loader.
pub(crate) fn loader<'a>(ctx: &Context<'a>) -> ApiResult<&'a DataLoader<StoreLoader>> {
    ctx.data::<DataLoader<StoreLoader>>()
}

/// The store.
pub(crate) fn store<'a>(ctx: &Context<'a>) -> ApiResult<&'a kindred_store::Store> {
    ctx.data::<kindred_store::Store>()
}

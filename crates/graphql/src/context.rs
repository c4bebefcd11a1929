//! What a request's context holds, and the one way each resolver reaches it: the store, the
//! request's loader, the engine and the plugin host.

use crate::error::ApiResult;
use crate::loaders::StoreLoader;
use async_graphql::Context;
use async_graphql::dataloader::DataLoader;
use kindred_engine::Engine;
use kindred_plugin_host::PluginHost;
use std::sync::Arc;

/// The request's loader.
pub(crate) fn loader<'a>(ctx: &Context<'a>) -> ApiResult<&'a DataLoader<StoreLoader>> {
    ctx.data::<DataLoader<StoreLoader>>()
}

/// The store.
pub(crate) fn store<'a>(ctx: &Context<'a>) -> ApiResult<&'a kindred_store::Store> {
    ctx.data::<kindred_store::Store>()
}

/// The engine, which a server always has; a schema built without one can only read.
pub(crate) fn engine<'a>(ctx: &Context<'a>) -> ApiResult<&'a Engine> {
    ctx.data::<Engine>()
}

/// The plugin host.
pub(crate) fn host<'a>(ctx: &Context<'a>) -> ApiResult<&'a Arc<PluginHost>> {
    ctx.data::<Arc<PluginHost>>()
}

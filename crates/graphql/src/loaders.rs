//! Batch loading for one request: customers by id, and a page of each child list.

use async_graphql::dataloader::Loader;
use kindred_store::entity::{customer, interaction, need, tie};
use kindred_store::{InteractionCursor, Store};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

/// Loads from the store in batches; one instance lives for one request.
pub struct StoreLoader {
    store: Store,
}

impl StoreLoader {
    /// A loader over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

/// A customer by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CustomerKey(pub i64);

/// One page of a customer's children: which customer, how many (one more than shown, to
/// tell whether there is a next page) and after which cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageKey<C> {
    /// The customer whose children these are.
    pub customer_id: i64,
    /// How many to load.
    pub limit: u64,
    /// Where the page starts.
    pub after: Option<C>,
}

/// Where a page of ties starts: after this tie id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TieAfter(pub i64);

/// Where a page of needs starts: after this need id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NeedAfter(pub i64);

/// Why a load failed, shared by every field waiting on it.
pub type LoadError = Arc<kindred_store::StoreError>;

impl Loader<CustomerKey> for StoreLoader {
    type Value = customer::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[CustomerKey]) -> Result<HashMap<CustomerKey, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = self.store.customers_by_ids(&ids).await.map_err(Arc::new)?;
        Ok(rows.into_iter().map(|row| (CustomerKey(row.id), row)).collect())
    }
}

/// How many customers refused profiling: asked by every segmentation of a request, counted
/// once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefusedProfilingKey;

impl Loader<RefusedProfilingKey> for StoreLoader {
    type Value = u64;
    type Error = LoadError;

    async fn load(
        &self,
        _keys: &[RefusedProfilingKey],
    ) -> Result<HashMap<RefusedProfilingKey, Self::Value>, Self::Error> {
        let refused = self.store.count_refused_profiling().await.map_err(Arc::new)?;
        Ok(HashMap::from([(RefusedProfilingKey, refused)]))
    }
}

/// Groups page keys that share limit and cursor, so each group is one statement.
fn groups<C: Copy + Eq + Hash>(keys: &[PageKey<C>]) -> HashMap<(u64, Option<C>), Vec<i64>> {
    let mut groups: HashMap<(u64, Option<C>), Vec<i64>> = HashMap::new();
    for key in keys {
        groups.entry((key.limit, key.after)).or_default().push(key.customer_id);
    }
    groups
}

macro_rules! page_loader {
    ($cursor:ty, $model:ty, $method:ident, $to_store:expr) => {
        impl Loader<PageKey<$cursor>> for StoreLoader {
            type Value = Vec<$model>;
            type Error = LoadError;

            async fn load(
                &self,
                keys: &[PageKey<$cursor>],
            ) -> Result<HashMap<PageKey<$cursor>, Self::Value>, Self::Error> {
                let mut out = HashMap::with_capacity(keys.len());
                for ((limit, after), ids) in groups(keys) {
                    let mut pages =
                        self.store.$method(&ids, limit, after.map($to_store)).await.map_err(Arc::new)?;
                    for customer_id in ids {
                        let page = pages.remove(&customer_id).unwrap_or_default();
                        out.insert(PageKey { customer_id, limit, after }, page);
                    }
                }
                Ok(out)
            }
        }
    };
}

page_loader!(InteractionCursor, interaction::Model, interactions_of, |c: InteractionCursor| c);
page_loader!(TieAfter, tie::Model, ties_of, |c: TieAfter| c.0);
page_loader!(NeedAfter, need::Model, needs_of, |c: NeedAfter| c.0);

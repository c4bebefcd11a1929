//! Queries: one customer, a filtered page of customers, or how many rows each table holds.

use crate::context::store;
use crate::error::{ApiError, ApiResult, api};
use crate::pagination::{id_cursor, page_size, parse_id_cursor};
use crate::types::Customer;
use async_graphql::connection::Connection;
use async_graphql::{ID, InputObject, Object, SimpleObject};
use kindred_domain::{Phone, Reason, ValidationError};
use kindred_store::CustomerFilter;

/// Which customers to list; every field given must match.
#[derive(InputObject, Default)]
pub(crate) struct CustomerFilterInput {
    /// Email address, any case.
    email: Option<String>,
    /// Two-letter country code.
    country: Option<String>,
    /// City.
    city: Option<String>,
    /// Phone number, international or national in `identity.default_phone_region`.
    phone: Option<String>,
    /// Postal code, any case and spacing.
    postcode: Option<String>,
    /// A lifestyle tag.
    lifestyle: Option<String>,
    /// A need tag.
    need_tag: Option<String>,
}

/// How many rows each table of customer data holds.
#[derive(SimpleObject, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Customers.
    pub customers: i64,
    /// Interactions.
    pub interactions: i64,
    /// Ties.
    pub ties: i64,
    /// Needs.
    pub needs: i64,
}

/// Parses an `ID` argument into Kindred's numeric id.
pub(crate) fn parse_id(field: &'static str, id: &ID) -> Result<i64, ApiError> {
    id.parse::<i64>().map_err(|_| ValidationError::new(field, id.as_str(), Reason::NotANumber).into())
}

/// The entry points for reading customers and their counts.
#[derive(Default)]
pub struct QueryRoot;

#[Object]
impl QueryRoot {
    /// One customer, by Kindred id or by external id (give one).
    async fn customer(
        &self,
        ctx: &async_graphql::Context<'_>,
        id: Option<ID>,
        external_id: Option<String>,
    ) -> ApiResult<Option<Customer>> {
        let store = store(ctx)?;
        let found = match (id, external_id) {
            (Some(id), None) => store.customer(parse_id("id", &id).map_err(api)?).await,
            (None, Some(external_id)) => store.customer_by_external_id(&external_id).await,
            _ => {
                let reason = Reason::Incomplete { needs: "exactly one of id and externalId" };
                return Err(api(ValidationError::new("id", "", reason)));
            }
        };
        Ok(found.map_err(api)?.map(Customer))
    }

    /// Customers in a stable order (by id), a page at a time, optionally filtered.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity")]
    async fn customers(
        &self,
        ctx: &async_graphql::Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<CustomerFilterInput>,
    ) -> ApiResult<Connection<String, Customer>> {
        let limit = page_size(first).map_err(api)?;
        let after = parse_id_cursor(after.as_deref()).map_err(api)?;
        let filter = filter.unwrap_or_default();
        let region = ctx.data_opt::<crate::InputRules>().and_then(|rules| rules.phone_region);
        let phone =
            filter.phone.as_deref().map(|raw| Phone::parse("phone", raw, region)).transpose().map_err(api)?;
        let filter = CustomerFilter {
            email: filter.email,
            country: filter.country,
            city: filter.city,
            phone: phone.map(|phone| phone.as_str().to_owned()),
            postcode: filter.postcode,
            lifestyle: filter.lifestyle,
            need_tag: filter.need_tag,
        };
        let rows = store(ctx)?.list_customers(&filter, after, limit + 1).await.map_err(api)?;
        Ok(crate::types::customer_page(rows, limit, after.is_some(), |row| id_cursor(row.id)))
    }

    /// How many customers, interactions, ties and needs are stored (one statement).
    async fn stats(&self, ctx: &async_graphql::Context<'_>) -> ApiResult<Stats> {
        let counts = store(ctx)?.counts().await.map_err(api)?;
        Ok(Stats {
            customers: counts.customers,
            interactions: counts.interactions,
            ties: counts.ties,
            needs: counts.needs,
        })
    }
}

//! `Customer`: a person the business serves, with pages of their interactions, ties and needs.

use super::{Interaction, Need, Tie, loader};
use crate::error::{ApiResult, api};
use crate::loaders::{NeedAfter, PageKey, TieAfter};
use crate::pagination::{
    id_cursor, interaction_cursor, page_size, parse_id_cursor, parse_interaction_cursor,
};
use async_graphql::connection::{Connection, Edge};
use async_graphql::{ID, Json, Object};
use chrono::{DateTime, NaiveDate, Utc};
use kindred_store::InteractionCursor;
use kindred_store::entity::customer;

/// A person the business serves.
pub(crate) struct Customer(pub customer::Model);

/// Builds a connection from a page loaded with one extra row.
fn connection<T, N>(
    mut rows: Vec<T>,
    limit: u64,
    has_previous: bool,
    cursor: impl Fn(&T) -> String,
    node: impl Fn(T) -> N,
) -> Connection<String, N>
where
    N: async_graphql::OutputType,
{
    let has_next = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let mut page = Connection::new(has_previous, has_next);
    page.edges.extend(rows.into_iter().map(|row| Edge::new(cursor(&row), node(row))));
    page
}

/// A page of customers.
pub(crate) fn customer_page(
    rows: Vec<customer::Model>,
    limit: u64,
    has_previous: bool,
    cursor: impl Fn(&customer::Model) -> String,
) -> Connection<String, Customer> {
    connection(rows, limit, has_previous, cursor, Customer)
}

#[Object]
impl Customer {
    /// Kindred's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Every identifier the customer is known by (external ids with their origin, emails,
    /// phones, social handles), with when each was first and last seen.
    async fn identifiers(&self, ctx: &async_graphql::Context<'_>) -> ApiResult<Vec<super::Identifier>> {
        let rows = super::store(ctx)?.identifiers(self.0.id).await.map_err(api)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
    /// External ids of customers merged into this one: imports and `customer(externalId:)`
    /// naming them find this customer.
    async fn aliases(&self, ctx: &async_graphql::Context<'_>) -> ApiResult<Vec<String>> {
        let rows = super::store(ctx)?.identifiers(self.0.id).await.map_err(api)?;
        Ok(rows
            .into_iter()
            .filter(|row| row.kind == "external_id" && row.value != self.0.external_id)
            .map(|row| row.value)
            .collect())
    }
    /// The merges this customer took part in, as survivor or absorbed, oldest first.
    async fn merge_history(&self, ctx: &async_graphql::Context<'_>) -> ApiResult<Vec<super::MergeEntry>> {
        let rows = super::store(ctx)?.merge_history(self.0.id).await.map_err(api)?;
        Ok(rows.into_iter().map(super::MergeEntry).collect())
    }
    /// The segments the customer is in now, in every segmentation.
    async fn memberships(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> ApiResult<Vec<super::segmentation::Membership>> {
        let rows = super::store(ctx)?.customer_memberships(self.0.id).await.map_err(api)?;
        Ok(rows.into_iter().map(super::segmentation::Membership).collect())
    }
    /// Every segment the customer entered or left, newest first.
    async fn membership_history(
        &self,
        ctx: &async_graphql::Context<'_>,
        #[graphql(default = 50)] first: i32,
    ) -> ApiResult<Vec<super::segmentation::MembershipEvent>> {
        let limit = page_size(Some(first)).map_err(api)?;
        let rows = super::store(ctx)?.customer_history(self.0.id, limit).await.map_err(api)?;
        Ok(rows.into_iter().map(super::segmentation::MembershipEvent).collect())
    }
    /// The id in the system the customer came from.
    async fn external_id(&self) -> &str {
        &self.0.external_id
    }
    /// Email address (lowercase).
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// Given name.
    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }
    /// Family name.
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    /// Date of birth.
    async fn birth_date(&self) -> Option<NaiveDate> {
        self.0.birth_date
    }
    /// Gender: female, male, non_binary or other.
    async fn gender(&self) -> Option<&str> {
        self.0.gender.as_deref()
    }
    /// Yearly income.
    async fn income(&self) -> Option<f64> {
        self.0.income
    }
    /// Highest education reached.
    async fn education(&self) -> Option<&str> {
        self.0.education.as_deref()
    }
    /// Occupation.
    async fn occupation(&self) -> Option<&str> {
        self.0.occupation.as_deref()
    }
    /// ISO 3166-1 alpha-2 country code.
    async fn country(&self) -> Option<&str> {
        self.0.country.as_deref()
    }
    /// Region or state.
    async fn region(&self) -> Option<&str> {
        self.0.region.as_deref()
    }
    /// City.
    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }
    /// Phone number, in E.164 (`+49301234567`).
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// Street address, first line.
    async fn address_line1(&self) -> Option<&str> {
        self.0.address_line1.as_deref()
    }
    /// Street address, second line.
    async fn address_line2(&self) -> Option<&str> {
        self.0.address_line2.as_deref()
    }
    /// Postal code, in upper case.
    async fn postcode(&self) -> Option<&str> {
        self.0.postcode.as_deref()
    }
    /// Latitude in degrees.
    async fn lat(&self) -> Option<f64> {
        self.0.lat
    }
    /// Longitude in degrees.
    async fn lon(&self) -> Option<f64> {
        self.0.lon
    }
    /// Lifestyle and values tags.
    async fn lifestyle(&self) -> Vec<String> {
        self.0.lifestyle_tags()
    }
    /// Whether the customer agreed to marketing (null: not recorded).
    async fn consent_marketing(&self) -> Option<bool> {
        self.0.consent_marketing
    }
    /// Whether the customer agreed to profiling (null: not recorded).
    async fn consent_profiling(&self) -> Option<bool> {
        self.0.consent_profiling
    }
    /// Handles on social networks, by network.
    async fn social_handles(&self) -> Json<serde_json::Value> {
        Json(self.0.social_handles.clone().unwrap_or_else(|| serde_json::json!({})))
    }
    /// Free attributes.
    async fn attributes(&self) -> Json<serde_json::Value> {
        Json(self.0.attributes.clone().unwrap_or_else(|| serde_json::json!({})))
    }
    /// When Kindred first stored the customer.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the profile last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// The customer's interactions, newest first.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity")]
    async fn interactions(
        &self,
        ctx: &async_graphql::Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, Interaction>> {
        let limit = page_size(first).map_err(api)?;
        let cursor = parse_interaction_cursor(after.as_deref()).map_err(api)?;
        let key = PageKey { customer_id: self.0.id, limit: limit + 1, after: cursor };
        let rows = loader(ctx)?.load_one(key).await?.unwrap_or_default();
        Ok(connection(
            rows,
            limit,
            cursor.is_some(),
            |row| interaction_cursor(InteractionCursor { occurred_at: row.occurred_at, id: row.id }),
            Interaction,
        ))
    }

    /// The customer's ties, at either end, oldest first.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity")]
    async fn ties(
        &self,
        ctx: &async_graphql::Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, Tie>> {
        let limit = page_size(first).map_err(api)?;
        let cursor = parse_id_cursor(after.as_deref()).map_err(api)?;
        let key = PageKey { customer_id: self.0.id, limit: limit + 1, after: cursor.map(TieAfter) };
        let rows = loader(ctx)?.load_one(key).await?.unwrap_or_default();
        Ok(connection(rows, limit, cursor.is_some(), |row| id_cursor(row.id), Tie))
    }

    /// The customer's needs, in the order they were added.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity")]
    async fn needs(
        &self,
        ctx: &async_graphql::Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, Need>> {
        let limit = page_size(first).map_err(api)?;
        let cursor = parse_id_cursor(after.as_deref()).map_err(api)?;
        let key = PageKey { customer_id: self.0.id, limit: limit + 1, after: cursor.map(NeedAfter) };
        let rows = loader(ctx)?.load_one(key).await?.unwrap_or_default();
        Ok(connection(rows, limit, cursor.is_some(), |row| id_cursor(row.id), Need))
    }
}

//! A row of `customers`: one person the business serves.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub external_id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub birth_date: Option<Date>,
    pub gender: Option<String>,
    #[sea_orm(column_type = "Double", nullable)]
    pub income: Option<f64>,
    pub education: Option<String>,
    pub occupation: Option<String>,
    pub country: Option<String>,
    pub region: Option<String>,
    pub city: Option<String>,
    #[sea_orm(column_type = "Double", nullable)]
    pub lat: Option<f64>,
    #[sea_orm(column_type = "Double", nullable)]
    pub lon: Option<f64>,
    /// Lifestyle tags joined by `;`, sorted; `NULL` when there are none.
    pub lifestyle: Option<String>,
    pub consent_marketing: Option<bool>,
    pub consent_profiling: Option<bool>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub social_handles: Option<Json>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub attributes: Option<Json>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// In E.164.
    pub phone: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub postcode: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The lifestyle tags as a list.
    pub fn lifestyle_tags(&self) -> Vec<String> {
        self.lifestyle
            .as_deref()
            .map(|tags| tags.split(';').filter(|tag| !tag.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

//! Customers, interactions, ties and needs, with the indexes their hot paths use.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates the four core tables.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0001_core_tables"
    }
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
    ExternalId,
    Email,
    FirstName,
    LastName,
    BirthDate,
    Gender,
    Income,
    Education,
    Occupation,
    Country,
    Region,
    City,
    Lat,
    Lon,
    Lifestyle,
    ConsentMarketing,
    ConsentProfiling,
    SocialHandles,
    Attributes,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Interactions {
    Table,
    Id,
    CustomerId,
    OccurredAt,
    Channel,
    Kind,
    Amount,
    Currency,
    CostToServe,
    Text,
    SourceId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Ties {
    Table,
    Id,
    FromId,
    ToId,
    Kind,
    Weight,
    Mutual,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Needs {
    Table,
    Id,
    CustomerId,
    Tag,
    Kind,
    Source,
    Weight,
    CreatedAt,
    UpdatedAt,
}

fn created_at<T: IntoIden>(column: T) -> ColumnDef {
    timestamp_with_time_zone(column).default(Expr::current_timestamp()).take()
}

fn customer_fk<T: IntoIden + 'static>(
    name: &str,
    table: T,
    column: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(Customers::Table, Customers::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

// The trait's signature elides SchemaManager's lifetime; async_trait needs ours to match.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Customers::Table)
                    .col(big_pk_auto(Customers::Id))
                    .col(string(Customers::ExternalId).unique_key())
                    .col(string_null(Customers::Email))
                    .col(string_null(Customers::FirstName))
                    .col(string_null(Customers::LastName))
                    .col(date_null(Customers::BirthDate))
                    .col(string_null(Customers::Gender))
                    .col(double_null(Customers::Income))
                    .col(string_null(Customers::Education))
                    .col(string_null(Customers::Occupation))
                    .col(string_null(Customers::Country))
                    .col(string_null(Customers::Region))
                    .col(string_null(Customers::City))
                    .col(double_null(Customers::Lat))
                    .col(double_null(Customers::Lon))
                    .col(text_null(Customers::Lifestyle))
                    .col(boolean_null(Customers::ConsentMarketing))
                    .col(boolean_null(Customers::ConsentProfiling))
                    .col(json_binary_null(Customers::SocialHandles))
                    .col(json_binary_null(Customers::Attributes))
                    .col(created_at(Customers::CreatedAt))
                    .col(created_at(Customers::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, column) in
            [("idx_customers_email", Customers::Email), ("idx_customers_country_city", Customers::Country)]
        {
            let mut index = Index::create().name(name).table(Customers::Table).col(column).to_owned();
            if name == "idx_customers_country_city" {
                index.col(Customers::City);
            }
            manager.create_index(index).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Interactions::Table)
                    .col(big_pk_auto(Interactions::Id))
                    .col(big_integer(Interactions::CustomerId))
                    .col(timestamp_with_time_zone(Interactions::OccurredAt))
                    .col(string_null(Interactions::Channel))
                    .col(string(Interactions::Kind))
                    .col(double_null(Interactions::Amount))
                    .col(string_len_null(Interactions::Currency, 3))
                    .col(double_null(Interactions::CostToServe))
                    .col(text_null(Interactions::Text))
                    .col(string_null(Interactions::SourceId).unique_key())
                    .col(created_at(Interactions::CreatedAt))
                    .foreign_key(&mut customer_fk(
                        "fk_interactions_customer",
                        Interactions::Table,
                        Interactions::CustomerId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_interactions_customer_time")
                    .table(Interactions::Table)
                    .col(Interactions::CustomerId)
                    .col(Interactions::OccurredAt)
                    .to_owned(),
            )
            .await?;
        // An interaction without a source id is recognised by who, when, what and how much.
        // Both dialects accept this expression index with a predicate; sea-query's index
        // builder has no expression columns, so it is written out.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX idx_interactions_natural_key ON interactions \
                 (customer_id, occurred_at, kind, COALESCE(amount, -1)) WHERE source_id IS NULL",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Ties::Table)
                    .col(big_pk_auto(Ties::Id))
                    .col(big_integer(Ties::FromId))
                    .col(big_integer(Ties::ToId))
                    .col(string(Ties::Kind))
                    .col(double(Ties::Weight))
                    .col(boolean(Ties::Mutual))
                    .col(created_at(Ties::CreatedAt))
                    .col(created_at(Ties::UpdatedAt))
                    .foreign_key(&mut customer_fk("fk_ties_from", Ties::Table, Ties::FromId))
                    .foreign_key(&mut customer_fk("fk_ties_to", Ties::Table, Ties::ToId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ties_from_to_kind")
                    .table(Ties::Table)
                    .col(Ties::FromId)
                    .col(Ties::ToId)
                    .col(Ties::Kind)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("idx_ties_to").table(Ties::Table).col(Ties::ToId).to_owned())
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Needs::Table)
                    .col(big_pk_auto(Needs::Id))
                    .col(big_integer(Needs::CustomerId))
                    .col(string(Needs::Tag))
                    .col(string(Needs::Kind))
                    .col(string(Needs::Source))
                    .col(double(Needs::Weight))
                    .col(created_at(Needs::CreatedAt))
                    .col(created_at(Needs::UpdatedAt))
                    .foreign_key(&mut customer_fk("fk_needs_customer", Needs::Table, Needs::CustomerId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_needs_customer_tag")
                    .table(Needs::Table)
                    .col(Needs::CustomerId)
                    .col(Needs::Tag)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_needs_tag").table(Needs::Table).col(Needs::Tag).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["needs", "ties", "interactions", "customers"] {
            manager.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}

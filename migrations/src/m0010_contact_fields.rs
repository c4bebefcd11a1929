//! `customers.phone` (E.164), `address_line1`, `address_line2` and `postcode`: the contact
//! fields that tell whether records from several systems are one person; phone and postcode
//! are indexed for lookups and filters.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Adds the contact fields to customers.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0010_contact_fields"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Customers {
    Table,
    Phone,
    AddressLine1,
    AddressLine2,
    Postcode,
}

const COLUMNS: [Customers; 4] =
    [Customers::Phone, Customers::AddressLine1, Customers::AddressLine2, Customers::Postcode];

// The trait's signature elides SchemaManager's lifetime; async_trait needs ours to match.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for column in COLUMNS {
            manager
                .alter_table(Table::alter().table(Customers::Table).add_column(text_null(column)).to_owned())
                .await?;
        }
        for (name, column) in
            [("idx_customers_phone", Customers::Phone), ("idx_customers_postcode", Customers::Postcode)]
        {
            manager
                .create_index(Index::create().name(name).table(Customers::Table).col(column).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["idx_customers_phone", "idx_customers_postcode"] {
            manager.drop_index(Index::drop().name(name).table(Customers::Table).to_owned()).await?;
        }
        for column in COLUMNS {
            manager
                .alter_table(Table::alter().table(Customers::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

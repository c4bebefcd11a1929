//! Identity: `customer_identifiers` (every external id, email, phone and social handle a
//! customer is known by, normalised, unique, with when it was first and last seen), the
//! append-only `merge_log`, and on interactions, needs and ties the external id a row arrived
//! under when that was not its customer's own (an alias), so that an unmerge can route it.
//! Existing customers' external ids, emails and phones are copied into the identifiers.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates the identifiers and the merge log.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0011_identity"
    }
}

#[derive(DeriveIden)]
enum CustomerIdentifiers {
    Table,
    Id,
    CustomerId,
    Kind,
    Value,
    Origin,
    FirstSeen,
    LastSeen,
}

#[derive(DeriveIden)]
enum MergeLog {
    Table,
    Id,
    SurvivorId,
    AbsorbedId,
    AbsorbedExternalId,
    Reason,
    Evidence,
    DecidedBy,
    Snapshot,
    MergedAt,
    UnmergedAt,
    UnmergedBy,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Interactions {
    Table,
    ArrivedUnder,
}

#[derive(DeriveIden)]
enum Needs {
    Table,
    ArrivedUnder,
}

#[derive(DeriveIden)]
enum Ties {
    Table,
    FromArrivedUnder,
    ToArrivedUnder,
}

/// Copies what identifies existing customers into the new (empty) table: each value once,
/// held by the first customer that has it. Grouped rather than `ON CONFLICT`, which the
/// table just created has no need of.
const BACKFILL: [&str; 3] = [
    "INSERT INTO customer_identifiers (customer_id, kind, value, origin) \
     SELECT id, 'external_id', external_id, 'default' FROM customers",
    "INSERT INTO customer_identifiers (customer_id, kind, value, origin) \
     SELECT MIN(id), 'email', email, 'default' FROM customers WHERE email IS NOT NULL AND email <> '' GROUP BY email",
    "INSERT INTO customer_identifiers (customer_id, kind, value, origin) \
     SELECT MIN(id), 'phone', phone, 'default' FROM customers WHERE phone IS NOT NULL AND phone <> '' GROUP BY phone",
];

// The trait's signature elides SchemaManager's lifetime; async_trait needs ours to match.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let now = || Expr::current_timestamp();
        manager
            .create_table(
                Table::create()
                    .table(CustomerIdentifiers::Table)
                    .col(big_pk_auto(CustomerIdentifiers::Id))
                    .col(big_integer(CustomerIdentifiers::CustomerId))
                    // `external_id`, `email`, `phone` or `social:<network>`.
                    .col(string(CustomerIdentifiers::Kind))
                    .col(string(CustomerIdentifiers::Value))
                    // The system the identifier came from (`default` when the file named none).
                    .col(string(CustomerIdentifiers::Origin))
                    .col(timestamp_with_time_zone(CustomerIdentifiers::FirstSeen).default(now()))
                    .col(timestamp_with_time_zone(CustomerIdentifiers::LastSeen).default(now()))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_identifiers_customer")
                            .from(CustomerIdentifiers::Table, CustomerIdentifiers::CustomerId)
                            .to(Customers::Table, Customers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_identifiers_value")
                    .table(CustomerIdentifiers::Table)
                    .col(CustomerIdentifiers::Kind)
                    .col(CustomerIdentifiers::Value)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_identifiers_customer")
                    .table(CustomerIdentifiers::Table)
                    .col(CustomerIdentifiers::CustomerId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MergeLog::Table)
                    .col(big_pk_auto(MergeLog::Id))
                    // Not foreign keys: the log outlives the customers it names.
                    .col(big_integer(MergeLog::SurvivorId))
                    .col(big_integer(MergeLog::AbsorbedId))
                    .col(string(MergeLog::AbsorbedExternalId))
                    // `identifier` (a shared identifier), `manual` (a person), `probabilistic`.
                    .col(string(MergeLog::Reason))
                    .col(json_binary(MergeLog::Evidence))
                    .col(string(MergeLog::DecidedBy))
                    // What the unmerge restores; emptied when the survivor is erased.
                    .col(json_binary_null(MergeLog::Snapshot))
                    .col(timestamp_with_time_zone(MergeLog::MergedAt).default(now()))
                    .col(timestamp_with_time_zone_null(MergeLog::UnmergedAt))
                    .col(string_null(MergeLog::UnmergedBy))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_merge_log_survivor", MergeLog::SurvivorId),
            ("idx_merge_log_absorbed", MergeLog::AbsorbedId),
        ] {
            manager
                .create_index(Index::create().name(name).table(MergeLog::Table).col(column).to_owned())
                .await?;
        }
        // One column per statement: SQLite alters one thing at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Interactions::Table)
                    .add_column(string_null(Interactions::ArrivedUnder))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(Needs::Table).add_column(string_null(Needs::ArrivedUnder)).to_owned(),
            )
            .await?;
        for column in [Ties::FromArrivedUnder, Ties::ToArrivedUnder] {
            manager
                .alter_table(Table::alter().table(Ties::Table).add_column(string_null(column)).to_owned())
                .await?;
        }
        let db = manager.get_connection();
        for sql in BACKFILL {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Interactions::Table).drop_column(Interactions::ArrivedUnder).to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(Needs::Table).drop_column(Needs::ArrivedUnder).to_owned())
            .await?;
        for column in [Ties::FromArrivedUnder, Ties::ToArrivedUnder] {
            manager.alter_table(Table::alter().table(Ties::Table).drop_column(column).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(MergeLog::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(CustomerIdentifiers::Table).to_owned()).await
    }
}

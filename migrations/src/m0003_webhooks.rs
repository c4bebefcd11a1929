//! Webhooks per segmentation, and the outbox of their deliveries: one row per enter or exit
//! per webhook, written in the same transaction as the change, sent and retried by the server.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates the webhook tables.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_webhooks"
    }
}

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    SegmentationId,
    Url,
    Secret,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    WebhookId,
    CustomerId,
    Payload,
    Status,
    Attempts,
    LastError,
    NextAttemptAt,
    CreatedAt,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum Segmentations {
    Table,
    Id,
}

fn now<T: IntoIden>(column: T) -> ColumnDef {
    timestamp_with_time_zone(column).default(Expr::current_timestamp()).take()
}

// The trait's signature elides SchemaManager's lifetime; async_trait needs ours to match.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Webhooks::Table)
                    .col(big_pk_auto(Webhooks::Id))
                    .col(big_integer(Webhooks::SegmentationId))
                    .col(text(Webhooks::Url))
                    .col(string(Webhooks::Secret))
                    .col(now(Webhooks::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhooks_segmentation")
                            .from(Webhooks::Table, Webhooks::SegmentationId)
                            .to(Segmentations::Table, Segmentations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhooks_segmentation")
                    .table(Webhooks::Table)
                    .col(Webhooks::SegmentationId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(big_pk_auto(WebhookDeliveries::Id))
                    .col(big_integer(WebhookDeliveries::WebhookId))
                    // Kept (not a foreign key) so that erasing a customer can find their
                    // payloads not yet sent.
                    .col(big_integer(WebhookDeliveries::CustomerId))
                    .col(text(WebhookDeliveries::Payload))
                    .col(string(WebhookDeliveries::Status))
                    .col(integer(WebhookDeliveries::Attempts).default(0))
                    .col(text_null(WebhookDeliveries::LastError))
                    .col(now(WebhookDeliveries::NextAttemptAt))
                    .col(now(WebhookDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::DeliveredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_deliveries_webhook")
                            .from(WebhookDeliveries::Table, WebhookDeliveries::WebhookId)
                            .to(Webhooks::Table, Webhooks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A webhook's next due deliveries.
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_due")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::WebhookId)
                    .col(WebhookDeliveries::Status)
                    .col(WebhookDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_customer")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::CustomerId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Webhooks::Table).to_owned()).await
    }
}

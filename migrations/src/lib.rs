//! Kindred's database schema, as sea-orm migrations.
//!
//! Applied by `kindred serve` on start and by `kindred migrate`. The same migrations run on
//! SQLite and PostgreSQL; where the two dialects differ, the SQL is written for each.

use sea_orm_migration::prelude::*;

mod m0001_core_tables;
mod m0002_segmentations;
mod m0003_webhooks;
mod m0004_customer_changes;
mod m0005_access;
mod m0006_erasure;
mod m0007_consent;
mod m0008_preview_jobs;
mod m0009_degraded;
mod m0010_contact_fields;
mod m0011_identity;
mod m0012_duplicate_suggestions;
mod m0013_merge_exits;
mod m0014_resolve_jobs;
mod m0015_durable_queue;
mod m0016_replicas;
mod m0017_bulk_paths;
mod m0018_alias_writes;
mod m0019_merge_log_append_only;

/// Runs Kindred's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_core_tables::Migration),
            Box::new(m0002_segmentations::Migration),
            Box::new(m0003_webhooks::Migration),
            Box::new(m0004_customer_changes::Migration),
            Box::new(m0005_access::Migration),
            Box::new(m0006_erasure::Migration),
            Box::new(m0007_consent::Migration),
            Box::new(m0008_preview_jobs::Migration),
            Box::new(m0009_degraded::Migration),
            Box::new(m0010_contact_fields::Migration),
            Box::new(m0011_identity::Migration),
            Box::new(m0012_duplicate_suggestions::Migration),
            Box::new(m0013_merge_exits::Migration),
            Box::new(m0014_resolve_jobs::Migration),
            Box::new(m0015_durable_queue::Migration),
            Box::new(m0016_replicas::Migration),
            Box::new(m0017_bulk_paths::Migration),
            Box::new(m0018_alias_writes::Migration),
            Box::new(m0019_merge_log_append_only::Migration),
        ]
    }
}

//! The merge log is append-only in the database itself: an entry cannot be deleted, and who
//! was merged into whom, why, by whom and when cannot be rewritten. An unmerge still stamps
//! its entry (`unmerged_at`, `unmerged_by`), and an erasure still empties what an entry held
//! about the erased person (`evidence`, `snapshot`, `absorbed_external_id`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// Adds triggers that refuse deleting merge log entries or rewriting what they record.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0019_merge_log_append_only"
    }
}

/// The columns no update may change.
const FIXED: [&str; 6] = ["id", "survivor_id", "absorbed_id", "reason", "decided_by", "merged_at"];

// The trait's signature elides SchemaManager's lifetime; async_trait needs ours to match.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            let changed = FIXED
                .iter()
                .map(|c| format!("NEW.{c} IS DISTINCT FROM OLD.{c}"))
                .collect::<Vec<_>>()
                .join(" OR ");
            conn.execute_unprepared(&format!(
                "CREATE FUNCTION merge_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'the merge log is append-only: entries are never deleted'; END IF; \
                 IF {changed} OR (OLD.unmerged_at IS NOT NULL AND NEW.unmerged_at IS DISTINCT FROM OLD.unmerged_at) THEN \
                 RAISE EXCEPTION 'the merge log is append-only: what an entry records is never rewritten'; END IF; \
                 RETURN NEW; END $$"
            ))
            .await?;
            conn.execute_unprepared(
                "CREATE TRIGGER merge_log_append_only BEFORE UPDATE OR DELETE ON merge_log \
                 FOR EACH ROW EXECUTE FUNCTION merge_log_append_only()",
            )
            .await?;
        } else {
            conn.execute_unprepared(
                "CREATE TRIGGER merge_log_no_delete BEFORE DELETE ON merge_log BEGIN \
                 SELECT RAISE(ABORT, 'the merge log is append-only: entries are never deleted'); END",
            )
            .await?;
            let changed =
                FIXED.iter().map(|c| format!("NEW.{c} IS NOT OLD.{c}")).collect::<Vec<_>>().join(" OR ");
            conn.execute_unprepared(&format!(
                "CREATE TRIGGER merge_log_no_rewrite BEFORE UPDATE ON merge_log \
                 WHEN {changed} OR (OLD.unmerged_at IS NOT NULL AND NEW.unmerged_at IS NOT OLD.unmerged_at) BEGIN \
                 SELECT RAISE(ABORT, 'the merge log is append-only: what an entry records is never rewritten'); END"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            conn.execute_unprepared("DROP TRIGGER merge_log_append_only ON merge_log").await?;
            conn.execute_unprepared("DROP FUNCTION merge_log_append_only()").await?;
        } else {
            conn.execute_unprepared("DROP TRIGGER merge_log_no_delete").await?;
            conn.execute_unprepared("DROP TRIGGER merge_log_no_rewrite").await?;
        }
        Ok(())
    }
}

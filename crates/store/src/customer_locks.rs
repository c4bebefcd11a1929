//! Interactions kept with their customer on PostgreSQL by row locks, not a foreign key.
//!
//! A foreign key checks each inserted interaction on its own (a lookup and a lock of its
//! customer's row per row), about a third of a bulk import's time. So on PostgreSQL
//! `interactions` has none, and the store keeps the same promise itself: a transaction that
//! writes interactions first holds a key-share lock on each of their customers, in one
//! statement ([`hold_customers`]); one that deletes or merges a customer away first locks its
//! row for update ([`lock_for_removal`]). The two kinds of lock conflict, so a customer cannot
//! go while rows are being written for it, and a writer that comes after finds it gone and
//! writes nothing ([`StoreError::CustomersGone`]). SQLite keeps its foreign key (and runs one
//! writer at a time); both functions do nothing there.

use crate::error::{StoreError, StoreResult};
use crate::sql::statement;
use sea_orm::{ConnectionTrait, DbBackend};

/// The distinct ids, in order, as PostgreSQL reads them with `string_to_array(?, ',')`.
fn id_list(ids: impl Iterator<Item = i64>) -> (String, usize) {
    let mut ids: Vec<i64> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    let joined = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    (joined, ids.len())
}

/// Holds a key-share lock on the rows of customers `ids` until `conn`'s transaction ends, in id
/// order; fails with [`StoreError::CustomersGone`] if any of them no longer exists.
pub(crate) async fn hold_customers<C: ConnectionTrait>(
    conn: &C,
    ids: impl Iterator<Item = i64>,
) -> StoreResult<()> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let (ids, wanted) = id_list(ids);
    if wanted == 0 {
        return Ok(());
    }
    let sql = "SELECT COUNT(*) FROM (SELECT id FROM customers \
         WHERE id = ANY(CAST(string_to_array(?, ',') AS bigint[])) ORDER BY id FOR KEY SHARE) AS held";
    let row = conn.query_one_raw(statement(DbBackend::Postgres, sql, vec![ids.into()])).await?;
    let held: i64 = match row {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    match wanted.checked_sub(held as usize) {
        Some(0) => Ok(()),
        _ => Err(StoreError::CustomersGone { count: wanted.saturating_sub(held as usize) }),
    }
}

/// Locks the rows of customers `ids` for update until `conn`'s transaction ends, in id order:
/// waits for writers holding them, and keeps new ones out, before they are deleted or merged
/// away.
pub(crate) async fn lock_for_removal<C: ConnectionTrait>(conn: &C, ids: &[i64]) -> StoreResult<()> {
    if conn.get_database_backend() != DbBackend::Postgres || ids.is_empty() {
        return Ok(());
    }
    let (ids, _) = id_list(ids.iter().copied());
    let sql = "SELECT id FROM customers WHERE id = ANY(CAST(string_to_array(?, ',') AS bigint[])) \
         ORDER BY id FOR UPDATE";
    conn.execute_raw(statement(DbBackend::Postgres, sql, vec![ids.into()])).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::id_list;

    #[test]
    fn ids_are_listed_once_in_order() {
        assert_eq!(id_list([3, 1, 3, 2].into_iter()), ("1,2,3".to_owned(), 3));
        assert_eq!(id_list(std::iter::empty()), (String::new(), 0));
    }
}

//! The same RFM as one SQL query, for SQLite and PostgreSQL: the reference the tests check the
//! plugin against and the benchmark compares its speed with. It returns `id` and `score`
//! (R × 100 + F × 10 + M) for every customer with a purchase in the window.

use crate::history::MICROS_PER_DAY;

/// Which database the query is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3.38 or later (`unixepoch`, window functions).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A moment as the store writes it in SQLite: RFC 3339 with `+00:00`.
fn stored_text(micros: i64) -> String {
    let seconds = micros.div_euclid(1_000_000);
    let fraction = micros.rem_euclid(1_000_000);
    let (day, second) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = kindred_plugin_sdk::dates::civil_from_days(day as i32);
    let time = format!("{:02}:{:02}:{:02}", second / 3600, second % 3600 / 60, second % 60);
    let fraction = if fraction == 0 { String::new() } else { format!(".{fraction:06}") };
    format!("{year:04}-{month:02}-{day:02}T{time}{fraction}+00:00")
}

/// The RFM query as of `as_of` (microseconds), over the `window_days` before it or all time.
pub fn rfm_scores_sql(dialect: Dialect, as_of: i64, window_days: Option<i64>) -> String {
    let as_of_text = stored_text(as_of);
    let since_text = window_days.map(|days| stored_text(as_of - days * MICROS_PER_DAY));
    let (moment, recency, monetary, external_id) = match dialect {
        Dialect::Postgres => (
            "TIMESTAMPTZ ",
            format!("FLOOR(EXTRACT(EPOCH FROM (TIMESTAMPTZ '{as_of_text}' - MAX(i.occurred_at))) / 86400)"),
            "ROUND(COALESCE(SUM(i.amount), 0)::numeric, 4)",
            "c.external_id COLLATE \"C\"",
        ),
        Dialect::Sqlite => (
            "",
            format!(
                "CAST((unixepoch('{as_of_text}', 'subsec') - unixepoch(MAX(i.occurred_at), 'subsec')) / 86400 AS INTEGER)"
            ),
            "ROUND(COALESCE(SUM(i.amount), 0), 4)",
            "c.external_id",
        ),
    };
    let since = since_text.map_or(String::new(), |since| format!(" AND i.occurred_at >= {moment}'{since}'"));
    format!(
        "WITH buyers AS (
            SELECT c.id, {external_id} AS tie_break, {recency} AS recency_days,
                   COUNT(*) AS frequency, {monetary} AS monetary
            FROM interactions i JOIN customers c ON c.id = i.customer_id
            WHERE i.kind = 'purchase' AND i.occurred_at <= {moment}'{as_of_text}'{since}
            GROUP BY c.id, c.external_id)
         SELECT id, CAST(
                NTILE(5) OVER (ORDER BY recency_days DESC, tie_break) * 100
              + NTILE(5) OVER (ORDER BY frequency, tie_break) * 10
              + NTILE(5) OVER (ORDER BY monetary, tie_break) AS BIGINT) AS score
         FROM buyers"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_are_written_as_the_store_writes_them() {
        assert_eq!(stored_text(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(stored_text(20_780 * MICROS_PER_DAY + 1_500_000), "2026-11-23T00:00:01.500000+00:00");
    }
}

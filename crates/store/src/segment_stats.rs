//! Counts across memberships: how two segmentations overlap, how a segmentation's segments are
//! tied to each other, and how its segment sizes moved over time (rebuilt from its enter and
//! exit events).

use crate::connect::Store;
use crate::error::StoreResult;
use crate::sql::statement;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend};
use std::collections::BTreeMap;

/// One cell of the crosstab of two segmentations: customers in segment `a` of the first and
/// segment `b` of the second.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlapCell {
    /// The first segmentation's segment.
    pub a: String,
    /// The second segmentation's segment.
    pub b: String,
    /// Customers in both.
    pub customers: i64,
}

/// The ties between two segments of one segmentation (or inside one, when `a == b`).
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentLink {
    /// One segment (the lesser label).
    pub a: String,
    /// The other segment (the greater label, or `a` again).
    pub b: String,
    /// Ties with one end in `a` and the other in `b`.
    pub ties: i64,
    /// Their summed weight.
    pub weight: f64,
}

/// Folds (a, b) and (b, a) into one link with `a <= b`, most ties first (then by label).
fn fold_links(rows: Vec<(String, String, i64, f64)>) -> Vec<SegmentLink> {
    let mut folded: BTreeMap<(String, String), (i64, f64)> = BTreeMap::new();
    for (x, y, ties, weight) in rows {
        let key = if x <= y { (x, y) } else { (y, x) };
        let sums = folded.entry(key).or_default();
        sums.0 += ties;
        sums.1 += weight;
    }
    let mut links: Vec<SegmentLink> =
        folded.into_iter().map(|((a, b), (ties, weight))| SegmentLink { a, b, ties, weight }).collect();
    // Stable: equal counts keep the map's label order.
    links.sort_by_key(|link| std::cmp::Reverse(link.ties));
    links
}

/// How finely sizes over time are bucketed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// One point per hour with changes.
    Hour,
    /// One point per day with changes.
    Day,
}

/// The sizes of every segment at the end of one bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct SizesAt {
    /// The bucket's start.
    pub at: DateTime<Utc>,
    /// Segment label and size, for every segment that had members by then.
    pub sizes: Vec<(String, i64)>,
}

/// The SQL that cuts a timestamp column to its bucket as text `YYYY-MM-DD` or `YYYY-MM-DD?HH`.
fn bucket_sql(backend: DbBackend, bucket: Bucket) -> &'static str {
    match (backend, bucket) {
        (DbBackend::Postgres, Bucket::Day) => "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        (DbBackend::Postgres, Bucket::Hour) => "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')",
        // SQLite keeps UTC timestamps as ISO 8601 text.
        (_, Bucket::Day) => "substr(at, 1, 10)",
        (_, Bucket::Hour) => "substr(at, 1, 13)",
    }
}

/// Reads a bucket back (`YYYY-MM-DD`, optionally followed by a separator and the hour).
fn parse_bucket(text: &str) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()?;
    let hour = match text.get(11..13) {
        Some(hour) => hour.parse().ok()?,
        None => 0,
    };
    Some(NaiveDateTime::new(date, NaiveTime::from_hms_opt(hour, 0, 0)?).and_utc())
}

impl Store {
    /// The crosstab of segmentations `a` and `b`: every pair of segments that share customers.
    pub async fn overlap(&self, a: i64, b: i64) -> StoreResult<Vec<OverlapCell>> {
        let sql = "SELECT x.segment, y.segment, COUNT(*) FROM memberships x \
                   JOIN memberships y ON y.customer_id = x.customer_id \
                   WHERE x.segmentation_id = ? AND y.segmentation_id = ? \
                   GROUP BY x.segment, y.segment ORDER BY x.segment, y.segment";
        let rows =
            self.connection().query_all_raw(statement(self.backend(), sql, vec![a.into(), b.into()])).await?;
        rows.iter()
            .map(|row| {
                Ok(OverlapCell {
                    a: row.try_get_by_index(0)?,
                    b: row.try_get_by_index(1)?,
                    customers: row.try_get_by_index(2)?,
                })
            })
            .collect()
    }

    /// The ties between the segments of segmentation `id`, per unordered pair of segments
    /// (including a segment with itself): a tie counts once for every pair of segments its two
    /// ends are in. Most ties first.
    pub async fn segment_links(&self, segmentation_id: i64) -> StoreResult<Vec<SegmentLink>> {
        let sql = "SELECT x.segment, y.segment, COUNT(*), SUM(t.weight) FROM ties t \
                   JOIN memberships x ON x.customer_id = t.from_id AND x.segmentation_id = ? \
                   JOIN memberships y ON y.customer_id = t.to_id AND y.segmentation_id = ? \
                   GROUP BY x.segment, y.segment";
        let values = vec![segmentation_id.into(), segmentation_id.into()];
        let rows = self.connection().query_all_raw(statement(self.backend(), sql, values)).await?;
        let rows = rows
            .iter()
            .map(|row| {
                Ok((
                    row.try_get_by_index(0)?,
                    row.try_get_by_index(1)?,
                    row.try_get_by_index(2)?,
                    row.try_get_by_index(3)?,
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(fold_links(rows))
    }

    /// Segment sizes over time, rebuilt from the segmentation's events: one point per bucket
    /// in which anything entered or exited, oldest first.
    pub async fn segment_size_history(
        &self,
        segmentation_id: i64,
        bucket: Bucket,
    ) -> StoreResult<Vec<SizesAt>> {
        let cut = bucket_sql(self.backend(), bucket);
        let sql = format!(
            "SELECT {cut} AS bucket, segment, SUM(CASE WHEN change = 'entered' THEN 1 ELSE -1 END) \
             FROM membership_events WHERE segmentation_id = ? GROUP BY bucket, segment ORDER BY bucket, segment"
        );
        let rows = self
            .connection()
            .query_all_raw(statement(self.backend(), &sql, vec![segmentation_id.into()]))
            .await?;
        let mut sizes: BTreeMap<String, i64> = BTreeMap::new();
        let mut points: Vec<SizesAt> = Vec::new();
        let mut current: Option<String> = None;
        for row in rows {
            let bucket: String = row.try_get_by_index(0)?;
            let segment: String = row.try_get_by_index(1)?;
            let change: i64 = row.try_get_by_index(2)?;
            if current.as_ref().is_some_and(|current| *current != bucket) {
                push_point(&mut points, current.as_deref(), &sizes);
            }
            current = Some(bucket);
            *sizes.entry(segment).or_default() += change;
        }
        push_point(&mut points, current.as_deref(), &sizes);
        Ok(points)
    }
}

fn push_point(points: &mut Vec<SizesAt>, bucket: Option<&str>, sizes: &BTreeMap<String, i64>) {
    if let Some(at) = bucket.and_then(parse_bucket) {
        let sizes =
            sizes.iter().filter(|(_, size)| **size > 0).map(|(label, size)| (label.clone(), *size)).collect();
        points.push(SizesAt { at, sizes });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_read_back_from_either_backend() {
        let hour = parse_bucket("2026-12-01T07").unwrap();
        assert_eq!(hour.to_rfc3339(), "2026-12-01T07:00:00+00:00");
        assert_eq!(parse_bucket("2026-12-01 07"), Some(hour));
        assert_eq!(parse_bucket("2026-12-01").unwrap().to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(parse_bucket("garbage"), None);
    }

    #[test]
    fn links_fold_both_directions_and_sort_by_ties() {
        let row = |x: &str, y: &str, ties, weight| (x.to_owned(), y.to_owned(), ties, weight);
        let links = fold_links(vec![
            row("b", "a", 2, 1.5),
            row("a", "b", 1, 0.5),
            row("c", "c", 3, 3.0),
            row("a", "a", 1, 1.0),
            row("c", "a", 1, 0.25),
        ]);
        let got: Vec<(&str, &str, i64, f64)> =
            links.iter().map(|l| (l.a.as_str(), l.b.as_str(), l.ties, l.weight)).collect();
        assert_eq!(got, [("a", "b", 3, 2.0), ("c", "c", 3, 3.0), ("a", "a", 1, 1.0), ("a", "c", 1, 0.25)]);
    }
}

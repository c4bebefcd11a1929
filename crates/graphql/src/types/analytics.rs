//! What analysts read off a segmentation: the persona of each segment, the sizes of its
//! segments over time, and its overlap with another segmentation.

use super::store;
use crate::error::{ApiResult, api};
use async_graphql::{Context, Enum, SimpleObject};
use chrono::{DateTime, Utc};
use kindred_store::{Bucket, Count, NeedLift, OverlapCell, Persona as StoredPersona, SizesAt};
use std::collections::BTreeMap;

/// A value and how many members have it.
#[derive(SimpleObject, Clone, Debug)]
pub struct ValueCount {
    /// The value: an age band, a gender, an income band, a country or a city.
    pub value: String,
    /// Members with it.
    pub customers: i64,
}

impl From<Count> for ValueCount {
    fn from(count: Count) -> Self {
        Self { value: count.value, customers: count.customers }
    }
}

/// A need over-represented in a segment.
#[derive(SimpleObject, Clone, Debug)]
pub struct PersonaNeed {
    /// The need's tag.
    pub tag: String,
    /// Members who hold it.
    pub customers: i64,
    /// Their share of the segment (0 to 1).
    pub share: f64,
    /// Share in the segment over share among all customers.
    pub lift: f64,
}

impl From<NeedLift> for PersonaNeed {
    fn from(need: NeedLift) -> Self {
        Self { tag: need.tag, customers: need.customers, share: need.share, lift: need.lift }
    }
}

/// Recency, frequency and monetary value, averaged over a segment.
#[derive(SimpleObject, Clone, Debug)]
pub struct RfmAverages {
    /// Members who bought at least once.
    pub buyers: i64,
    /// Mean days since the last purchase, over buyers.
    pub recency_days: Option<f64>,
    /// Mean purchases per member.
    pub frequency: f64,
    /// Mean revenue per member.
    pub monetary: f64,
}

/// The profile of one segment, computed from its members.
#[derive(SimpleObject, Clone, Debug)]
pub struct Persona {
    /// The segment's label.
    pub segment: String,
    /// Its members.
    pub size: i64,
    /// Its share of all customers (0 to 1).
    pub share: f64,
    /// Members per age band, oldest first (members without a birth date left out).
    pub ages: Vec<ValueCount>,
    /// Members per gender, most first.
    pub genders: Vec<ValueCount>,
    /// Members per yearly income band, lowest first.
    pub incomes: Vec<ValueCount>,
    /// Mean yearly income of members who gave one.
    pub average_income: Option<f64>,
    /// The five most frequent countries.
    pub top_countries: Vec<ValueCount>,
    /// The five most frequent cities.
    pub top_cities: Vec<ValueCount>,
    /// The five needs most over-represented (held by at least 5% of members), by lift.
    pub top_needs: Vec<PersonaNeed>,
    /// RFM averages.
    pub rfm: RfmAverages,
    /// Revenue from members' purchases.
    pub revenue: f64,
    /// Revenue less the cost to serve members.
    pub profit: f64,
    /// Share of all customers' revenue (0 to 1).
    pub revenue_share: f64,
    /// Share of all customers' profit (0 to 1; 0 when the total is not positive).
    pub profit_share: f64,
}

impl From<StoredPersona> for Persona {
    fn from(p: StoredPersona) -> Self {
        let values = |counts: Vec<Count>| counts.into_iter().map(ValueCount::from).collect();
        Self {
            rfm: RfmAverages {
                buyers: p.buyers,
                recency_days: p.average_recency_days,
                frequency: p.average_frequency,
                monetary: p.average_monetary,
            },
            ages: values(p.ages),
            genders: values(p.genders),
            incomes: values(p.incomes),
            top_countries: values(p.countries),
            top_cities: values(p.cities),
            top_needs: p.needs.into_iter().map(PersonaNeed::from).collect(),
            segment: p.segment,
            size: p.size,
            share: p.share,
            average_income: p.average_income,
            revenue: p.revenue,
            profit: p.profit,
            revenue_share: p.revenue_share,
            profit_share: p.profit_share,
        }
    }
}

/// The personas of segmentation `id`, largest segment first.
pub(crate) async fn personas(ctx: &Context<'_>, id: i64) -> ApiResult<Vec<Persona>> {
    let found = store(ctx)?.personas(id, Utc::now()).await.map_err(api)?;
    Ok(found.into_iter().map(Persona::from).collect())
}

/// How finely sizes over time are bucketed.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum SizeBucket {
    /// One point per hour with changes.
    Hour,
    /// One point per day with changes.
    Day,
}

/// A segment's size.
#[derive(SimpleObject, Clone, Debug)]
pub struct SegmentSize {
    /// The segment's label.
    pub label: String,
    /// Its members then.
    pub size: i64,
}

/// The sizes of a segmentation's segments at one point in time.
#[derive(SimpleObject, Clone, Debug)]
pub struct SizePoint {
    /// The start of the hour or day.
    pub at: DateTime<Utc>,
    /// Every segment with members at the end of it.
    pub segments: Vec<SegmentSize>,
}

/// Segment sizes over time, from the stored enters and exits.
pub(crate) async fn size_history(
    ctx: &Context<'_>,
    id: i64,
    bucket: SizeBucket,
) -> ApiResult<Vec<SizePoint>> {
    let bucket = match bucket {
        SizeBucket::Hour => Bucket::Hour,
        SizeBucket::Day => Bucket::Day,
    };
    let points = store(ctx)?.segment_size_history(id, bucket).await.map_err(api)?;
    Ok(points
        .into_iter()
        .map(|SizesAt { at, sizes }| SizePoint {
            at,
            segments: sizes.into_iter().map(|(label, size)| SegmentSize { label, size }).collect(),
        })
        .collect())
}

/// One cell of the crosstab of two segmentations.
#[derive(SimpleObject, Clone, Debug, PartialEq)]
pub struct OverlapCellView {
    /// The segment of the first segmentation (the row).
    pub a: String,
    /// The segment of the second (the column).
    pub b: String,
    /// Customers in both.
    pub customers: i64,
    /// Their share of the customers in both segmentations (0 to 1).
    pub share: f64,
    /// How much more often the two segments meet than chance: customers × total over
    /// row total × column total; above 1 they go together, below 1 they avoid each other.
    pub lift: f64,
}

/// The crosstab of two segmentations.
#[derive(SimpleObject, Clone, Debug)]
pub struct Overlap {
    /// Customers counted (in a segment of both).
    pub customers: i64,
    /// Every pair of segments that share customers.
    pub cells: Vec<OverlapCellView>,
    /// Row totals: customers of each segment of the first segmentation, in both.
    pub rows: Vec<SegmentSize>,
    /// Column totals: customers of each segment of the second segmentation, in both.
    pub columns: Vec<SegmentSize>,
}

/// Builds the crosstab, with shares and lifts, from its cells.
pub(crate) fn crosstab(cells: Vec<OverlapCell>) -> Overlap {
    let mut rows: BTreeMap<String, i64> = BTreeMap::new();
    let mut columns: BTreeMap<String, i64> = BTreeMap::new();
    let mut total = 0;
    for cell in &cells {
        *rows.entry(cell.a.clone()).or_default() += cell.customers;
        *columns.entry(cell.b.clone()).or_default() += cell.customers;
        total += cell.customers;
    }
    let n = total.max(1) as f64;
    let cells = cells
        .into_iter()
        .map(|cell| {
            let expected = rows[&cell.a] as f64 * columns[&cell.b] as f64 / n;
            OverlapCellView {
                share: cell.customers as f64 / n,
                lift: if expected > 0.0 { cell.customers as f64 / expected } else { 0.0 },
                a: cell.a,
                b: cell.b,
                customers: cell.customers,
            }
        })
        .collect();
    let sizes = |totals: BTreeMap<String, i64>| {
        totals.into_iter().map(|(label, size)| SegmentSize { label, size }).collect()
    };
    Overlap { customers: total, cells, rows: sizes(rows), columns: sizes(columns) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(a: &str, b: &str, customers: i64) -> OverlapCell {
        OverlapCell { a: a.to_owned(), b: b.to_owned(), customers }
    }

    #[test]
    fn lift_compares_with_chance() {
        // 100 customers: runners are 40, of whom 30 are young; the young are 50 in all.
        let overlap = crosstab(vec![
            cell("runners", "young", 30),
            cell("runners", "old", 10),
            cell("others", "young", 20),
            cell("others", "old", 40),
        ]);
        assert_eq!(overlap.customers, 100);
        let runners_young = overlap.cells.iter().find(|c| c.a == "runners" && c.b == "young").unwrap();
        assert_eq!(runners_young.share, 0.3);
        assert!((runners_young.lift - 1.5).abs() < 1e-12, "30 where 40 × 50 / 100 = 20 expected");
        assert_eq!(overlap.rows.iter().map(|r| r.size).collect::<Vec<_>>(), [60, 40]);
        assert!(crosstab(Vec::new()).cells.is_empty());
    }
}

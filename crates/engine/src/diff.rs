//! The difference between a segmentation's memberships before and after: who entered, who
//! exited, whose score changed. Only the difference is ever written.

use kindred_store::{Member, MembershipDiff};

fn key(member: &Member) -> (i64, &str) {
    (member.customer_id, member.segment.as_str())
}

/// Sorts by (customer, segment) and keeps one membership per pair (the last given).
fn normalised(mut members: Vec<Member>) -> Vec<Member> {
    members.sort_by(|a, b| key(a).cmp(&key(b)));
    let mut kept: Vec<Member> = Vec::with_capacity(members.len());
    for member in members {
        match kept.last_mut() {
            Some(last) if key(last) == key(&member) => *last = member,
            _ => kept.push(member),
        }
    }
    kept
}

/// What turns `old` into `new`: both are whole sets of memberships (of a segmentation, or of
/// the customers a write touched).
pub fn diff(old: Vec<Member>, new: Vec<Member>) -> MembershipDiff {
    let (old, new) = (normalised(old), normalised(new));
    let mut result = MembershipDiff::default();
    let (mut old, mut new) = (old.into_iter().peekable(), new.into_iter().peekable());
    loop {
        let order = match (old.peek(), new.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(before), Some(after)) => key(before).cmp(&key(after)),
        };
        match order {
            std::cmp::Ordering::Less => result.exited.extend(old.next()),
            std::cmp::Ordering::Greater => result.entered.extend(new.next()),
            std::cmp::Ordering::Equal => {
                let (before, after) = (old.next(), new.next());
                if let (Some(before), Some(after)) = (before, after)
                    && before.score != after.score
                {
                    result.rescored.push(after);
                }
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(customer_id: i64, segment: &str, score: Option<f64>) -> Member {
        Member { customer_id, segment: segment.to_owned(), score }
    }

    #[test]
    fn entered_exited_and_rescored_in_customer_order() {
        let old = vec![m(3, "a", None), m(1, "a", Some(1.0)), m(2, "b", Some(2.0)), m(4, "a", None)];
        let new = vec![
            m(1, "a", Some(1.0)),
            m(2, "b", Some(5.0)),
            m(3, "b", None),
            m(5, "a", None),
            m(4, "a", None),
        ];
        let result = diff(old, new);
        assert_eq!(result.entered, [m(3, "b", None), m(5, "a", None)]);
        assert_eq!(result.exited, [m(3, "a", None)]);
        assert_eq!(result.rescored, [m(2, "b", Some(5.0))]);
    }

    #[test]
    fn the_same_memberships_make_no_difference_and_duplicates_count_once() {
        let members = vec![m(1, "a", Some(1.0)), m(2, "a", None)];
        assert!(diff(members.clone(), members.clone()).is_empty());
        let doubled = vec![m(1, "a", Some(1.0)), m(1, "a", Some(1.0)), m(2, "a", None)];
        assert!(diff(members, doubled).is_empty());
        assert_eq!(diff(Vec::new(), vec![m(7, "x", None)]).entered.len(), 1);
    }
}

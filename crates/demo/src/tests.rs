//! End-to-end checks of generated data sets against the importer's rules.

use super::*;
use chrono::{DateTime, NaiveDate};
use std::collections::{HashMap, HashSet};

fn config(customers: usize, seed: u64) -> DemoConfig {
    DemoConfig { customers, seed, ..DemoConfig::default() }
}

fn generate(config: &DemoConfig, format: FileFormat) -> (tempfile::TempDir, DemoFiles, DemoStats) {
    let folder = tempfile::tempdir().unwrap();
    let (files, stats) = write_demo(config, folder.path(), format).unwrap();
    (folder, files, stats)
}

/// Rows of a CSV file as column → value maps, and its header.
fn read(path: &Path) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = reader
        .records()
        .map(|record| header.iter().cloned().zip(record.unwrap().iter().map(str::to_owned)).collect())
        .collect();
    (header, rows)
}

fn is_token(value: &str) -> bool {
    !value.is_empty()
        && value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-".contains(c))
}

fn is_external_id(value: &str) -> bool {
    value.len() >= 8 && value.starts_with('c') && value[1..].chars().all(|c| c.is_ascii_digit())
}

#[test]
fn same_config_gives_identical_files_and_another_seed_differs() {
    for format in [FileFormat::Csv, FileFormat::Ndjson] {
        let (_a, first, first_stats) = generate(&config(300, 7), format);
        let (_b, second, second_stats) = generate(&config(300, 7), format);
        let (_c, other, _) = generate(&config(300, 8), format);
        assert_eq!(first_stats, second_stats);
        let pairs = [
            (&first.customers, &second.customers, &other.customers),
            (&first.interactions, &second.interactions, &other.interactions),
            (&first.ties, &second.ties, &other.ties),
            (&first.needs, &second.needs, &other.needs),
            (&first.planted, &second.planted, &other.planted),
        ];
        for (one, two, three) in pairs {
            let bytes = std::fs::read(one).unwrap();
            assert!(!bytes.is_empty());
            assert_eq!(bytes, std::fs::read(two).unwrap(), "{one:?}");
            assert_ne!(bytes, std::fs::read(three).unwrap(), "{one:?}");
        }
    }
}

#[test]
fn headers_are_exactly_the_importer_columns() {
    let (_folder, files, _) = generate(&config(50, 1), FileFormat::Csv);
    let expected: [(&PathBuf, &[&str]); 5] = [
        (&files.customers, &CUSTOMER_COLUMNS),
        (&files.interactions, &INTERACTION_COLUMNS),
        (&files.ties, &TIE_COLUMNS),
        (&files.needs, &NEED_COLUMNS),
        (&files.planted, &PLANTED_COLUMNS),
    ];
    for (path, columns) in expected {
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(text.lines().next().unwrap(), columns.join(","), "{path:?}");
    }
    assert_eq!(
        CUSTOMER_COLUMNS.join(","),
        "external_id,email,first_name,last_name,birth_date,gender,income,education,occupation,country,\
         region,city,lat,lon,lifestyle,consent_marketing,consent_profiling,phone,address_line1,address_line2,postcode"
    );
    assert_eq!(
        INTERACTION_COLUMNS.join(","),
        "customer_external_id,occurred_at,channel,kind,amount,currency,cost_to_serve,text,source_id"
    );
    assert_eq!(TIE_COLUMNS.join(","), "from_external_id,to_external_id,kind,weight,mutual");
    assert_eq!(NEED_COLUMNS.join(","), "customer_external_id,tag,kind,source,weight");
}

#[test]
fn ndjson_lines_are_objects_with_known_fields() {
    let (_folder, files, stats) = generate(&config(100, 3), FileFormat::Ndjson);
    let checks: [(&PathBuf, &[&str], u64); 4] = [
        (&files.customers, &CUSTOMER_COLUMNS, stats.customers),
        (&files.interactions, &INTERACTION_COLUMNS, stats.interactions),
        (&files.ties, &TIE_COLUMNS, stats.ties),
        (&files.needs, &NEED_COLUMNS, stats.needs),
    ];
    for (path, columns, count) in checks {
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(text.lines().count() as u64, count);
        for line in text.lines() {
            let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).unwrap();
            assert!(object.keys().all(|key| columns.contains(&key.as_str())), "{line}");
        }
    }
    assert!(std::fs::read_to_string(&files.planted).unwrap().starts_with("external_id,community\n"));
}

#[test]
fn a_data_set_follows_the_importer_rules() {
    let config = config(2_000, 42);
    let (_folder, files, stats) = generate(&config, FileFormat::Csv);
    let (_, customers) = read(&files.customers);
    let (_, interactions) = read(&files.interactions);
    let (_, ties) = read(&files.ties);
    let (_, needs) = read(&files.needs);
    let (_, planted) = read(&files.planted);
    assert_eq!(stats.customers, 2_000);
    assert_eq!(
        (customers.len(), interactions.len(), ties.len(), needs.len()),
        (2_000, stats.interactions as usize, stats.ties as usize, stats.needs as usize)
    );

    // Customers.
    let mut currency_of = HashMap::new();
    let mut emails = HashSet::new();
    for customer in &customers {
        let id = &customer["external_id"];
        assert!(is_external_id(id), "{id}");
        let email = &customer["email"];
        if !email.is_empty() {
            assert_eq!(email, &email.to_lowercase());
            assert!(email.contains('@') && emails.insert(email.clone()), "{email}");
        }
        let born = NaiveDate::parse_from_str(&customer["birth_date"], "%Y-%m-%d").unwrap();
        let age = config.as_of.years_since(born).unwrap();
        assert!((18..=90).contains(&age), "{born}");
        assert!(["", "female", "male", "non_binary", "other"].contains(&customer["gender"].as_str()));
        if !customer["income"].is_empty() {
            assert!(customer["income"].parse::<f64>().unwrap() >= 0.0);
        }
        assert!(vocab::EDUCATION.contains(&customer["education"].as_str()));
        let country = places::COUNTRIES.iter().find(|c| c.code == customer["country"]).unwrap();
        currency_of.insert(id.clone(), country.currency);
        assert!(!customer["region"].is_empty() && !customer["city"].is_empty());
        let (lat, lon) = (customer["lat"].parse::<f64>().unwrap(), customer["lon"].parse::<f64>().unwrap());
        assert!((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon));
        assert!(customer["lifestyle"].split(';').filter(|t| !t.is_empty()).all(is_token));
        for consent in ["consent_marketing", "consent_profiling"] {
            assert!(["true", "false"].contains(&customer[consent].as_str()));
        }
    }
    assert!(emails.len() > 1_700, "most customers have an email");
    // Refusals as real companies see them: a few percent to about 15% refuse profiling.
    let refusing = customers.iter().filter(|c| c["consent_profiling"] == "false").count();
    assert!((40..=300).contains(&refusing), "{refusing} of 2,000 refuse profiling");

    // Planted communities: every customer exactly once.
    let mut seen = HashMap::new();
    for row in &planted {
        *seen.entry(row["external_id"].clone()).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), 2_000);
    assert!(seen.values().all(|count| *count == 1));
    assert!(customers.iter().all(|c| seen.contains_key(&c["external_id"])));

    // Interactions.
    let (start, end) = (config.window().unwrap().start, config.window().unwrap().end);
    let mut source_ids = HashSet::new();
    let channels = ["web", "email", "store", "phone", "support", "instagram", "twitter", "facebook"];
    let kinds = ["purchase", "refund", "support_ticket", "post", "mention", "review", "visit"];
    for row in &interactions {
        let at = DateTime::parse_from_rfc3339(&row["occurred_at"]).unwrap().timestamp();
        assert!(row["occurred_at"].ends_with('Z') && (start..=end).contains(&at), "{}", row["occurred_at"]);
        assert!(channels.contains(&row["channel"].as_str()) && kinds.contains(&row["kind"].as_str()));
        let money = matches!(row["kind"].as_str(), "purchase" | "refund");
        assert_eq!(!row["amount"].is_empty(), money, "{row:?}");
        if money {
            let amount: f64 = row["amount"].parse().unwrap();
            assert!(amount >= 0.0 && row["amount"].split('.').nth(1).unwrap().len() == 2);
            assert_eq!(row["currency"], currency_of[&row["customer_external_id"]]);
        } else {
            assert!(row["currency"].is_empty());
        }
        if !row["cost_to_serve"].is_empty() {
            assert!(row["cost_to_serve"].parse::<f64>().unwrap() >= 0.0);
        }
        if matches!(row["kind"].as_str(), "post" | "review" | "support_ticket" | "mention") {
            assert!(!row["text"].is_empty());
        }
        assert!(source_ids.insert(row["source_id"].clone()), "{}", row["source_id"]);
    }
    let per_customer = interactions.len() as f64 / 2_000.0;
    assert!((5.0..=20.0).contains(&per_customer), "{per_customer} interactions per customer");

    // Ties: no self ties, no duplicates, even once mutual ties are put in the importer's order.
    let mut directed = HashSet::new();
    let mut normalised = HashSet::new();
    for tie in &ties {
        let (from, to, kind) = (&tie["from_external_id"], &tie["to_external_id"], &tie["kind"]);
        assert_ne!(from, to);
        assert!(seen.contains_key(from) && seen.contains_key(to));
        let kinds = ["follows", "friend", "referred", "household", "colleague", "conversation"];
        assert!(kinds.contains(&kind.as_str()));
        let weight: f64 = tie["weight"].parse().unwrap();
        assert!((0.0..=1.0).contains(&weight));
        let mutual: bool = tie["mutual"].parse().unwrap();
        assert!(directed.insert((from.clone(), to.clone(), kind.clone())));
        let (a, b) = if mutual && to < from { (to, from) } else { (from, to) };
        assert!(normalised.insert((a.clone(), b.clone(), kind.clone())));
    }

    // Needs.
    let tags: HashSet<&str> = vocab::NEEDS.iter().map(|n| n.tag).collect();
    for need in &needs {
        assert!(tags.contains(need["tag"].as_str()));
        assert!(["interest", "passion", "need", "job"].contains(&need["kind"].as_str()));
        assert!(["declared", "inferred"].contains(&need["source"].as_str()));
        assert!((0.0..=1.0).contains(&need["weight"].parse::<f64>().unwrap()));
    }
}

#[test]
fn communities_share_their_characteristic_needs() {
    let config = config(2_000, 11);
    let (_folder, files, stats) = generate(&config, FileFormat::Csv);
    let (_, needs) = read(&files.needs);
    let (_, planted) = read(&files.planted);
    let mut held: HashMap<&str, HashSet<&str>> = HashMap::new();
    for need in &needs {
        held.entry(need["customer_external_id"].as_str()).or_default().insert(need["tag"].as_str());
    }
    let mut members: HashMap<usize, Vec<&str>> = HashMap::new();
    for row in &planted {
        members.entry(row["community"].parse().unwrap()).or_default().push(row["external_id"].as_str());
    }
    assert_eq!(members.len() as u64, stats.communities);
    let communities = graph::Communities::plant(&rng::Seeds::new(11), 2_000, config.community_size).unwrap();
    for (community, ids) in &members {
        let profile = communities.profile(*community);
        let share = |need: u8| {
            let tag = vocab::NEEDS[usize::from(need)].tag;
            ids.iter().filter(|id| held.get(*id).is_some_and(|tags| tags.contains(tag))).count() as f64
                / ids.len() as f64
        };
        assert!(
            share(profile.needs[0]) >= 0.7,
            "community {community}: top need {}",
            share(profile.needs[0])
        );
        let mean = profile.needs.iter().map(|need| share(*need)).sum::<f64>() / profile.needs.len() as f64;
        assert!(mean >= 0.6, "community {community}: mean share {mean}");
    }
}

#[test]
fn small_and_empty_data_sets_work() {
    for customers in [0, 1, 3] {
        let (_folder, files, stats) = generate(&config(customers, 1), FileFormat::Csv);
        assert_eq!(stats.customers, customers as u64);
        let (header, rows) = read(&files.customers);
        assert_eq!(header.len(), CUSTOMER_COLUMNS.len());
        assert_eq!(rows.len(), customers);
    }
}

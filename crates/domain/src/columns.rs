//! The columns of import files, in their usual order: the public contract between Kindred and
//! whatever produces its files. Each column is named after the domain field it fills.

/// Columns of a customers file; `external_id` is the key.
pub const CUSTOMER_COLUMNS: [&str; 21] = [
    "external_id",
    "email",
    "first_name",
    "last_name",
    "birth_date",
    "gender",
    "income",
    "education",
    "occupation",
    "country",
    "region",
    "city",
    "lat",
    "lon",
    "lifestyle",
    "consent_marketing",
    "consent_profiling",
    "phone",
    "address_line1",
    "address_line2",
    "postcode",
];

/// Columns of an interactions file; `customer_external_id` and `occurred_at` are the key.
pub const INTERACTION_COLUMNS: [&str; 9] = [
    "customer_external_id",
    "occurred_at",
    "channel",
    "kind",
    "amount",
    "currency",
    "cost_to_serve",
    "text",
    "source_id",
];

/// Columns of a ties file; the two external ids are the key.
pub const TIE_COLUMNS: [&str; 5] = ["from_external_id", "to_external_id", "kind", "weight", "mutual"];

/// Columns of a needs file; `customer_external_id` and `tag` are the key.
pub const NEED_COLUMNS: [&str; 5] = ["customer_external_id", "tag", "kind", "source", "weight"];

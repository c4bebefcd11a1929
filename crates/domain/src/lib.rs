//! Kindred's domain: the customers a business serves, what they do on every channel
//! (interactions), the ties between them and the needs they share.
//!
//! Every type here can only be built valid ("parse, don't validate"): constructors check
//! their input and return a [`ValidationError`] that names the field, the value and the
//! reason. Drafts (`CustomerDraft`, `InteractionDraft`, ...) hold input as given; their
//! `validate` reports every problem of a record at once. This crate does no IO.

mod columns;
mod currency;
mod customer;
mod error;
pub mod identity;
mod interaction;
mod need;
mod phone;
mod scalar;
mod text;
mod tie;
mod time;

pub use columns::{CUSTOMER_COLUMNS, INTERACTION_COLUMNS, NEED_COLUMNS, TIE_COLUMNS};
pub use currency::Currency;
pub use customer::{
    BirthDate, CountryCode, Customer, CustomerDraft, CustomerId, Email, Gender, GeoPoint, Income, Postcode,
};
pub use error::{Reason, VALUE_PREFIX_CHARS, ValidationError, ValidationErrors, prefix};
pub use interaction::{
    Amount, Channel, DEFAULT_KIND, Interaction, InteractionDraft, InteractionKind, Plausible,
};
pub use need::{Need, NeedDraft, NeedKind, NeedSource, NeedTag};
pub use phone::{Phone, PhoneRegion};
pub use scalar::{check_non_negative, check_range, parse_bool, parse_number};
pub use text::{ExternalId, Text, Token};
pub use tie::{Tie, TieDraft, TieKind, Weight};
pub use time::{parse_date, parse_timestamp};

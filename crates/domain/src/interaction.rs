//! Interactions: something a customer did or said on a channel.

use crate::currency::Currency;
use crate::error::{Reason, ValidationError, ValidationErrors};
use crate::scalar::check_non_negative;
use crate::text::{ExternalId, Token};
use crate::time::parse_timestamp;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where an interaction happened: `web`, `email`, `store`, `phone`, `support`, or the name of
/// a social network.
pub type Channel = Token;

/// What happened: `purchase`, `refund`, `support_ticket`, `post`, `mention`, `review`,
/// `visit`, or any other lowercase token.
pub type InteractionKind = Token;

/// The kind an interaction has when none is given.
pub const DEFAULT_KIND: &str = "purchase";

/// The longest free text kept on an interaction.
const MAX_INTERACTION_TEXT: usize = 10_000;

/// What a plausible interaction is: when it may have happened and how much money it may
/// involve. Values outside are refused at the door, so sums over millions of interactions stay
/// finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plausible {
    /// The server's clock: an interaction may not happen more than a day after it.
    pub now: DateTime<Utc>,
    /// The largest amount (and cost to serve) accepted.
    pub max_amount: f64,
}

impl Plausible {
    /// The default ceiling of amounts.
    pub const DEFAULT_MAX_AMOUNT: f64 = 1e12;
    /// The highest ceiling an operator may set: a billion interactions at this amount still
    /// sum to a finite number, with room to spare.
    pub const HIGHEST_MAX_AMOUNT: f64 = 1e15;

    /// Bounds as of now, with `max_amount` held to [`Self::HIGHEST_MAX_AMOUNT`].
    pub fn now(max_amount: f64) -> Self {
        let max_amount = if max_amount.is_finite() && max_amount > 0.0 {
            max_amount.min(Self::HIGHEST_MAX_AMOUNT)
        } else {
            Self::DEFAULT_MAX_AMOUNT
        };
        Self { now: Utc::now(), max_amount }
    }

    fn check_time(
        &self,
        field: &'static str,
        raw: &str,
        time: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, ValidationError> {
        let earliest = chrono::NaiveDate::from_ymd_opt(1900, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc());
        if earliest.is_some_and(|earliest| time < earliest) {
            return Err(ValidationError::new(field, raw, Reason::TooOld));
        }
        if time > self.now + chrono::Duration::days(1) {
            return Err(ValidationError::new(field, raw, Reason::InFuture));
        }
        Ok(time)
    }

    fn check_amount(&self, field: &'static str, value: f64) -> Result<Amount, ValidationError> {
        let amount = Amount::new(field, value)?;
        if value > self.max_amount {
            return Err(ValidationError::new(
                field,
                value,
                Reason::OutOfRange {
                    min: "0".to_owned(),
                    max: format!("{} (data.max_amount)", self.max_amount),
                },
            ));
        }
        Ok(amount)
    }
}

impl Default for Plausible {
    fn default() -> Self {
        Self::now(Self::DEFAULT_MAX_AMOUNT)
    }
}

/// A sum of money in the major unit of its currency: finite and not negative (a refund is a
/// positive amount on an interaction of kind `refund`).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
pub struct Amount(f64);

impl Amount {
    /// Checks an amount for `field`.
    pub fn new(field: &'static str, value: f64) -> Result<Self, ValidationError> {
        check_non_negative(field, value).map(Self)
    }

    /// The amount.
    pub fn value(self) -> f64 {
        self.0
    }
}

/// One interaction, valid in every field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    /// The customer's external id.
    pub customer_external_id: ExternalId,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Where it happened, if known.
    pub channel: Option<Channel>,
    /// What happened.
    pub kind: InteractionKind,
    /// Money involved, if any.
    pub amount: Option<Amount>,
    /// Currency of `amount`.
    pub currency: Option<Currency>,
    /// What serving this interaction cost the business.
    pub cost_to_serve: Option<Amount>,
    /// What the customer wrote or said.
    pub text: Option<String>,
    /// The id in the source system, used to recognise the same interaction imported twice.
    pub source_id: Option<ExternalId>,
}

/// An interaction as given, before validation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InteractionDraft {
    /// See [`Interaction::customer_external_id`].
    pub customer_external_id: String,
    /// RFC 3339 or `YYYY-MM-DD`.
    pub occurred_at: String,
    /// See [`Interaction::channel`].
    pub channel: Option<String>,
    /// See [`Interaction::kind`]; `purchase` when absent.
    pub kind: Option<String>,
    /// See [`Interaction::amount`].
    pub amount: Option<f64>,
    /// See [`Interaction::currency`].
    pub currency: Option<String>,
    /// See [`Interaction::cost_to_serve`].
    pub cost_to_serve: Option<f64>,
    /// See [`Interaction::text`].
    pub text: Option<String>,
    /// See [`Interaction::source_id`].
    pub source_id: Option<String>,
}

impl InteractionDraft {
    /// Validates every field against the default [`Plausible`] bounds and reports all problems.
    pub fn validate(self) -> Result<Interaction, ValidationErrors> {
        self.validate_with(&Plausible::default())
    }

    /// Validates every field, refusing times and amounts outside `plausible`, and reports all
    /// problems.
    pub fn validate_with(self, plausible: &Plausible) -> Result<Interaction, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let customer = errors.check(ExternalId::parse("customer_external_id", &self.customer_external_id));
        let occurred_at = errors.check(
            parse_timestamp("occurred_at", &self.occurred_at)
                .and_then(|time| plausible.check_time("occurred_at", &self.occurred_at, time)),
        );
        let channel = errors.check_opt(self.channel.as_deref(), |v| Token::parse("channel", v));
        let kind = errors.check(Token::parse("kind", self.kind.as_deref().unwrap_or(DEFAULT_KIND)));
        let amount = errors.check_opt(self.amount, |v| plausible.check_amount("amount", v));
        let currency = errors.check_opt(self.currency.as_deref(), |v| Currency::parse("currency", v));
        let cost_to_serve =
            errors.check_opt(self.cost_to_serve, |v| plausible.check_amount("cost_to_serve", v));
        let source_id = errors.check_opt(self.source_id.as_deref(), |v| ExternalId::parse("source_id", v));
        if let Some(text) = &self.text
            && text.chars().count() > MAX_INTERACTION_TEXT
        {
            let preview: String = text.chars().take(40).collect();
            errors.push(ValidationError::new("text", preview, Reason::TooLong { max: MAX_INTERACTION_TEXT }));
        }
        if let Some(text) = &self.text
            && text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            let allowed = "printable characters, tabs and line breaks";
            errors.push(ValidationError::new("text", text, Reason::BadCharacters { allowed }));
        }
        let (Some(customer_external_id), Some(occurred_at), Some(kind)) = (customer, occurred_at, kind)
        else {
            return Err(errors);
        };
        errors.finish(|| Interaction {
            customer_external_id,
            occurred_at,
            channel,
            kind,
            amount,
            currency,
            cost_to_serve,
            text: self.text.filter(|text| !text.trim().is_empty()),
            source_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> InteractionDraft {
        InteractionDraft {
            customer_external_id: "c-1".into(),
            occurred_at: "2025-03-01T12:00:00Z".into(),
            ..Default::default()
        }
    }

    #[test]
    fn kind_defaults_to_purchase() {
        let interaction = InteractionDraft { amount: Some(10.0), currency: Some("usd".into()), ..draft() }
            .validate()
            .unwrap();
        assert_eq!(interaction.kind.as_str(), "purchase");
        assert_eq!(interaction.currency.unwrap().code(), "USD");
    }

    #[test]
    fn negative_amount_and_unknown_currency_are_refused() {
        let errors = InteractionDraft { amount: Some(-5.0), currency: Some("ABC".into()), ..draft() }
            .validate()
            .unwrap_err();
        assert_eq!(
            errors.0,
            [
                ValidationError::new("amount", -5.0, Reason::Negative),
                ValidationError::new("currency", "ABC", Reason::UnknownCurrency),
            ]
        );
    }

    #[test]
    fn bad_time_is_refused() {
        let plausible = Plausible::now(1_000.0);
        for (at, reason) in [("1899-12-31", Reason::TooOld), ("2999-01-01", Reason::InFuture)] {
            let errors =
                InteractionDraft { occurred_at: at.into(), ..draft() }.validate_with(&plausible).unwrap_err();
            assert_eq!(errors.0[0].reason, reason, "{at}");
        }
        let tomorrow = (plausible.now + chrono::Duration::hours(12)).to_rfc3339();
        assert!(
            InteractionDraft { occurred_at: tomorrow, ..draft() }.validate_with(&plausible).is_ok(),
            "clocks drift"
        );
        let big = InteractionDraft { amount: Some(1e308), cost_to_serve: Some(2_000.0), ..draft() };
        let errors = big.validate_with(&plausible).unwrap_err();
        assert_eq!(errors.0.iter().map(|e| e.field).collect::<Vec<_>>(), ["amount", "cost_to_serve"]);
        assert_eq!(Plausible::now(f64::INFINITY).max_amount, Plausible::DEFAULT_MAX_AMOUNT);
        assert_eq!(Plausible::now(1e300).max_amount, Plausible::HIGHEST_MAX_AMOUNT);
        let nul = InteractionDraft { text: Some("a\0b".into()), ..draft() }.validate().unwrap_err();
        assert_eq!(nul.0[0].field, "text");
        assert!(InteractionDraft { text: Some("line\nbreak\ttab".into()), ..draft() }.validate().is_ok());
        let errors = InteractionDraft { occurred_at: "soon".into(), ..draft() }.validate().unwrap_err();
        assert_eq!(errors.0[0].field, "occurred_at");
    }
}

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
    /// Validates every field and reports all problems.
    pub fn validate(self) -> Result<Interaction, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let customer = errors.check(ExternalId::parse("customer_external_id", &self.customer_external_id));
        let occurred_at = errors.check(parse_timestamp("occurred_at", &self.occurred_at));
        let channel = errors.check_opt(self.channel.as_deref(), |v| Token::parse("channel", v));
        let kind = errors.check(Token::parse("kind", self.kind.as_deref().unwrap_or(DEFAULT_KIND)));
        let amount = errors.check_opt(self.amount, |v| Amount::new("amount", v));
        let currency = errors.check_opt(self.currency.as_deref(), |v| Currency::parse("currency", v));
        let cost_to_serve = errors.check_opt(self.cost_to_serve, |v| Amount::new("cost_to_serve", v));
        let source_id = errors.check_opt(self.source_id.as_deref(), |v| ExternalId::parse("source_id", v));
        if let Some(text) = &self.text
            && text.chars().count() > MAX_INTERACTION_TEXT
        {
            let preview: String = text.chars().take(40).collect();
            errors.push(ValidationError::new("text", preview, Reason::TooLong { max: MAX_INTERACTION_TEXT }));
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
        let errors = InteractionDraft { occurred_at: "soon".into(), ..draft() }.validate().unwrap_err();
        assert_eq!(errors.0[0].field, "occurred_at");
    }
}

//! A fitted strategy as bytes, so Kindred can store it and load it after a restart instead of
//! fitting again. The bytes are the strategy's serde form in MessagePack, a compact binary
//! format that describes itself, so every serde attribute and `serde_json::Value` fields work.
//! They are only ever read by the same build that wrote them (Kindred stores the library's
//! SHA-256 beside them and refits when it differs).

use crate::StrategyError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The bytes of `strategy`.
pub fn save<S: Serialize>(strategy: &S) -> Result<Vec<u8>, StrategyError> {
    rmp_serde::to_vec_named(strategy)
        .map_err(|error| StrategyError::new(format!("cannot save the state: {error}")))
}

/// The strategy `bytes` hold.
pub fn load<S: DeserializeOwned>(bytes: &[u8]) -> Result<S, StrategyError> {
    rmp_serde::from_slice(bytes)
        .map_err(|error| StrategyError::new(format!("cannot load the saved state: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::HashMap;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Fitted {
        cuts: Vec<f64>,
        labels: HashMap<i64, String>,
        as_of: Option<i64>,
        run: serde_json::Value,
    }

    #[test]
    fn a_strategy_comes_back_as_it_was_saved() {
        let fitted = Fitted {
            cuts: vec![1.5, 2.5],
            labels: HashMap::from([(7, "a".to_owned())]),
            as_of: None,
            run: serde_json::json!({"levels": [1, 2], "modularity": 0.4}),
        };
        let bytes = save(&fitted).unwrap();
        assert_eq!(load::<Fitted>(&bytes).unwrap(), fitted);
    }

    #[test]
    fn bytes_of_something_else_are_refused_with_a_message() {
        let error = load::<Fitted>(&[0xff, 0xff, 0xff]).unwrap_err();
        assert!(error.message().starts_with("cannot load the saved state"), "{}", error.message());
    }
}

//! Strategy parameters: the plugin's defaults with the given ones on top, checked against the
//! strategy's JSON Schema before anything is created.

use serde::Serialize;

/// One way the parameters break the strategy's schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParamError {
    /// JSON Pointer of the bad value (`""` for the whole object), such as `/age_edges/1`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() { "/" } else { &self.path };
        write!(f, "{path}: {}", self.message)
    }
}

/// `params` laid over the plugin's default parameters (keys of `params` win).
pub fn merged_params(defaults: &serde_json::Value, params: Option<&serde_json::Value>) -> serde_json::Value {
    match (defaults, params) {
        (serde_json::Value::Object(defaults), Some(serde_json::Value::Object(given))) => {
            let mut merged = defaults.clone();
            merged.extend(given.clone());
            serde_json::Value::Object(merged)
        }
        (_, Some(given)) => given.clone(),
        (defaults, None) => defaults.clone(),
    }
}

/// Checks `params` against `schema`; every violation, with its JSON path.
pub fn check_params(schema: &serde_json::Value, params: &serde_json::Value) -> Result<(), Vec<ParamError>> {
    violations(schema, params, |_| true)
}

/// Checks an operator's default parameters against `schema`: every value they give must fit
/// it, but a required parameter may be left for each segmentation to give.
pub fn check_default_params(
    schema: &serde_json::Value,
    defaults: &serde_json::Value,
) -> Result<(), Vec<ParamError>> {
    violations(schema, defaults, |kind| {
        !matches!(kind, jsonschema::error::ValidationErrorKind::Required { .. })
    })
}

fn violations(
    schema: &serde_json::Value,
    params: &serde_json::Value,
    counts: impl Fn(&jsonschema::error::ValidationErrorKind) -> bool,
) -> Result<(), Vec<ParamError>> {
    let validator = jsonschema::validator_for(schema).map_err(|error| {
        vec![ParamError {
            path: String::new(),
            message: format!("the strategy's parameter schema is not valid: {error}"),
        }]
    })?;
    let errors: Vec<ParamError> = validator
        .iter_errors(params)
        .filter(|error| counts(error.kind()))
        .map(|error| ParamError { path: error.instance_path().to_string(), message: error.to_string() })
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_name_the_path() {
        let schema = json!({
            "type": "object",
            "properties": { "edges": { "type": "array", "items": { "type": "integer" } } },
            "additionalProperties": false
        });
        assert_eq!(check_params(&schema, &json!({ "edges": [1, 2] })), Ok(()));
        let errors =
            check_params(&schema, &json!({ "edges": [1, "x"], "colour": 1 })).expect_err("two errors");
        let paths: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();
        assert!(paths.contains(&"/edges/1"), "{errors:?}");
        assert!(paths.contains(&""), "additionalProperties is reported at the root: {errors:?}");
    }

    #[test]
    fn defaults_may_leave_out_what_is_required_but_not_break_the_rest() {
        let schema = json!({
            "type": "object",
            "properties": { "mode": { "enum": ["a", "b"] }, "depth": { "type": "integer" } },
            "required": ["mode"],
            "additionalProperties": false
        });
        assert_eq!(check_default_params(&schema, &json!({ "depth": 2 })), Ok(()));
        let errors = check_default_params(&schema, &json!({ "depth": "deep" })).expect_err("a string");
        assert_eq!(errors.iter().map(|error| error.path.as_str()).collect::<Vec<_>>(), ["/depth"]);
        assert!(check_default_params(&schema, &json!({ "colour": 1 })).is_err(), "unknown keys are refused");
    }

    #[test]
    fn given_params_override_defaults() {
        let merged = merged_params(&json!({ "a": 1, "b": 2 }), Some(&json!({ "b": 3 })));
        assert_eq!(merged, json!({ "a": 1, "b": 3 }));
        assert_eq!(merged_params(&json!({ "a": 1 }), None), json!({ "a": 1 }));
    }
}

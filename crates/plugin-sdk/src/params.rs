//! A strategy's parameters as one Rust type: its JSON Schema (with the defaults) derived with
//! schemars, and its values read with serde, every error naming the JSON Pointer of the value.

use crate::StrategyError;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::de::DeserializeOwned;

/// The parameters of a strategy that takes none: an empty object (any key is refused).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// The JSON Schema of `P`, with every subschema written in place (no `$ref` but for a type
/// that contains itself), so forms can be generated from it property by property.
pub fn schema_of<P: JsonSchema>() -> serde_json::Value {
    let generator = SchemaSettings::draft2020_12()
        .with(|settings| {
            settings.inline_subschemas = true;
            settings.meta_schema = None;
        })
        .into_generator();
    let mut schema = generator.into_root_schema_for::<P>().to_value();
    if let Some(object) = schema.as_object_mut() {
        object.remove("title");
    }
    schema
}

/// Reads `P` from the JSON `value`; a value that does not fit is an error about its parameter
/// ([`StrategyError::param`]) at the JSON Pointer where it was found.
pub fn parse<P: DeserializeOwned>(value: &serde_json::Value) -> Result<P, StrategyError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let pointer = json_pointer(error.path());
        StrategyError::param(pointer, error.into_inner())
    })
}

/// The JSON Pointer (RFC 6901) of a path serde walked: `rules[0].when` is `/rules/0/when`.
fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
            Segment::Map { key } => {
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    pointer
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    /// How a test is run.
    #[derive(Debug, Deserialize, serde::Serialize, JsonSchema, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Params {
        /// Days looked back.
        window_days: u32,
        /// Named levels.
        levels: Vec<Level>,
        /// An optional note.
        note: Option<String>,
    }

    impl Default for Params {
        fn default() -> Self {
            Self { window_days: 30, levels: Vec::new(), note: None }
        }
    }

    #[derive(Debug, Deserialize, serde::Serialize, JsonSchema, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Level {
        label: String,
        #[schemars(range(min = 0.0))]
        above: f64,
    }

    #[test]
    fn the_schema_has_the_defaults_and_no_references() {
        let schema = schema_of::<Params>();
        assert_eq!(schema["properties"]["window_days"]["default"], 30, "{schema}");
        assert_eq!(schema["properties"]["window_days"]["description"], "Days looked back.");
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(
            schema["properties"]["levels"]["items"]["properties"]["above"]["minimum"], 0.0,
            "{schema}"
        );
        assert!(!schema.to_string().contains("$ref"), "{schema}");
    }

    #[test]
    fn values_are_read_with_their_defaults_and_errors_name_the_pointer() {
        let read: Params = parse(&json!({ "note": "hi" })).expect("defaults fill the rest");
        assert_eq!(read, Params { note: Some("hi".to_owned()), ..Params::default() });
        let error =
            parse::<Params>(&json!({ "levels": [{ "label": "a", "above": "x" }] })).expect_err("a string");
        assert_eq!(error.param_path().map(|(path, _)| path), Some("/levels/0/above"), "{error}");
        let error = parse::<Params>(&json!({ "colour": 1 })).expect_err("unknown");
        assert!(error.message().contains("unknown field `colour`"), "{error}");
    }
}

//! Small JSON-schema style checks that word their failures the way Bedrock does
//! (`#/textToImageParams/text: expected maxLength: 512, actual: 536`).

use serde_json::{Map, Value};

/// One schema violation, e.g. `#/imageGenerationConfig/seed: -1 is not greater or equal to 0`.
pub(crate) type Violation = String;

/// Why a body cannot be answered.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Refusal {
    /// Breaks the model's schema.
    Schema(Violation),
    /// Valid on Bedrock, but the double does not imitate it (a task type other than
    /// text-to-image).
    NotImitated(Violation),
}

impl Refusal {
    pub(crate) fn not_imitated(pointer: &str, value: &str) -> Self {
        Refusal::NotImitated(format!(
            "{pointer}: {value} is not supported by the Bedrock double"
        ))
    }

    /// What the 400 ValidationException says.
    pub(crate) fn message(&self) -> String {
        match self {
            Refusal::Schema(violation) | Refusal::NotImitated(violation) => {
                super::aws_error::malformed_input(violation)
            }
        }
    }
}

impl From<Violation> for Refusal {
    fn from(violation: Violation) -> Self {
        Refusal::Schema(violation)
    }
}

/// A JSON pointer in Bedrock's style: `#` for the body, `#/a/b` below it.
pub(crate) fn child(pointer: &str, key: &str) -> String {
    format!("{pointer}/{key}")
}

/// The type names Bedrock's schema validator prints.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_f64() => "BigDecimal",
        Value::Number(_) => "Integer",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

fn wrong_type(pointer: &str, expected: &str, value: &Value) -> Violation {
    format!(
        "{pointer}: expected type: {expected}, found: {}",
        type_name(value)
    )
}

pub(crate) fn object<'a>(
    value: &'a Value,
    pointer: &str,
) -> Result<&'a Map<String, Value>, Violation> {
    value
        .as_object()
        .ok_or_else(|| wrong_type(pointer, "JSONObject", value))
}

/// Refuses keys the schema does not list.
pub(crate) fn only_keys(
    map: &Map<String, Value>,
    pointer: &str,
    allowed: &[&str],
) -> Result<(), Violation> {
    match map.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(format!(
            "{pointer}: extraneous key [{key}] is not permitted"
        )),
        None => Ok(()),
    }
}

pub(crate) fn required<'a>(
    map: &'a Map<String, Value>,
    pointer: &str,
    key: &str,
) -> Result<&'a Value, Violation> {
    map.get(key)
        .ok_or_else(|| format!("{pointer}: required key [{key}] not found"))
}

pub(crate) fn string<'a>(value: &'a Value, pointer: &str) -> Result<&'a str, Violation> {
    value
        .as_str()
        .ok_or_else(|| wrong_type(pointer, "String", value))
}

/// A string whose length in characters lies in `min..=max`.
pub(crate) fn text<'a>(
    value: &'a Value,
    pointer: &str,
    min: usize,
    max: usize,
) -> Result<&'a str, Violation> {
    let text = string(value, pointer)?;
    let length = text.chars().count();
    if length < min {
        return Err(format!(
            "{pointer}: expected minLength: {min}, actual: {length}"
        ));
    }
    if length > max {
        return Err(format!(
            "{pointer}: expected maxLength: {max}, actual: {length}"
        ));
    }
    Ok(text)
}

/// A string out of a fixed list.
pub(crate) fn one_of<'a>(
    value: &'a Value,
    pointer: &str,
    allowed: &[&str],
) -> Result<&'a str, Violation> {
    let text = string(value, pointer)?;
    if allowed.contains(&text) {
        Ok(text)
    } else {
        Err(format!("{pointer}: {text} is not a valid enum value"))
    }
}

/// An integer in `min..=max`.
pub(crate) fn integer(value: &Value, pointer: &str, min: i64, max: i64) -> Result<i64, Violation> {
    let number = match value {
        Value::Number(n) if n.is_i64() => n.as_i64().map(i128::from),
        Value::Number(n) if n.is_u64() => n.as_u64().map(i128::from),
        _ => None,
    }
    .ok_or_else(|| wrong_type(pointer, "Integer", value))?;
    if number < i128::from(min) {
        return Err(format!(
            "{pointer}: {number} is not greater or equal to {min}"
        ));
    }
    if number > i128::from(max) {
        return Err(format!("{pointer}: {number} is not less or equal to {max}"));
    }
    Ok(number as i64)
}

/// A number (integer or not) in `min..=max`.
pub(crate) fn number(value: &Value, pointer: &str, min: f64, max: f64) -> Result<f64, Violation> {
    let number = value
        .as_f64()
        .ok_or_else(|| wrong_type(pointer, "Number", value))?;
    if number < min {
        return Err(format!(
            "{pointer}: {value} is not greater or equal to {min}"
        ));
    }
    if number > max {
        return Err(format!("{pointer}: {value} is not less or equal to {max}"));
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_follow_bedrocks_wording() {
        let long = json!("x".repeat(536));
        assert_eq!(
            text(&long, "#/textToImageParams/text", 1, 512).unwrap_err(),
            "#/textToImageParams/text: expected maxLength: 512, actual: 536"
        );
        assert_eq!(
            integer(&json!(6), "#/imageGenerationConfig/numberOfImages", 1, 5).unwrap_err(),
            "#/imageGenerationConfig/numberOfImages: 6 is not less or equal to 5"
        );
        assert_eq!(
            number(&json!(0.5), "#/imageGenerationConfig/cfgScale", 1.1, 10.0).unwrap_err(),
            "#/imageGenerationConfig/cfgScale: 0.5 is not greater or equal to 1.1"
        );
        assert_eq!(
            integer(&json!("7"), "#/seed", 0, 9).unwrap_err(),
            "#/seed: expected type: Integer, found: String"
        );
        assert_eq!(
            one_of(
                &json!("huge"),
                "#/imageGenerationConfig/quality",
                &["standard", "premium"]
            )
            .unwrap_err(),
            "#/imageGenerationConfig/quality: huge is not a valid enum value"
        );
        let body = json!({"prompt": "a", "steps": 30});
        assert_eq!(
            only_keys(body.as_object().unwrap(), "#", &["prompt"]).unwrap_err(),
            "#: extraneous key [steps] is not permitted"
        );
        assert_eq!(
            required(body.as_object().unwrap(), "#", "mode").unwrap_err(),
            "#: required key [mode] not found"
        );
    }

    #[test]
    fn huge_integers_are_out_of_range_not_of_the_wrong_type() {
        assert_eq!(
            integer(&json!(u64::MAX), "#/seed", 0, 4_294_967_294).unwrap_err(),
            format!("#/seed: {} is not less or equal to 4294967294", u64::MAX)
        );
    }
}

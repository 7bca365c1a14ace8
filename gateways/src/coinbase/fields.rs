//! Lenient, exact reading of JSON objects from the venue (user channel and REST reads):
//! every helper takes the object, the field name and the path of the object for the error
//! message, so a refusal names the field (`events[0].orders[3].cumulative_quantity: ...`).
//!
//! Leniency rules (docs/coinbase-advanced-trade.md §0.7, §0.10, §0.11): an absent field, a
//! JSON `null` and an empty string are all "absent"; numbers may arrive as decimal strings
//! or JSON integers; booleans may arrive as `"true"`/`"false"`; enum values are compared
//! case-insensitively with `_`, `-` and spaces ignored. Decimals never pass through `f64`:
//! a JSON number with a fraction or exponent is refused.

use serde_json::{Map, Value};

use super::decimal::Decimal;

/// A field that is present but not what it must be.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct FieldError {
    /// Where in the document, e.g. `events[0].orders[2].cumulative_quantity`.
    pub path: String,
    pub reason: String,
}

pub(crate) fn field_error(path: &str, key: &str, reason: impl Into<String>) -> FieldError {
    FieldError {
        path: join(path, key),
        reason: reason.into(),
    }
}

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The value, or `None` if absent, `null` or `""`.
fn present<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    match object.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(value) => Some(value),
    }
}

/// A short form of a value for error messages.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(60).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// An optional string (numbers and booleans are refused).
pub(crate) fn opt_str(
    object: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, FieldError> {
    match present(object, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(field_error(
            path,
            key,
            format!("not a string: {}", shown(other)),
        )),
    }
}

/// A required, non-empty string.
pub(crate) fn req_str(
    object: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<String, FieldError> {
    opt_str(object, key, path)?.ok_or_else(|| field_error(path, key, "missing"))
}

/// An optional exact decimal: a decimal string or a JSON integer.
pub(crate) fn opt_decimal(
    object: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<Decimal>, FieldError> {
    let text = match present(object, key) {
        None => return Ok(None),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        Some(other) => {
            return Err(field_error(
                path,
                key,
                format!("not a decimal string: {}", shown(other)),
            ));
        }
    };
    Decimal::parse(&text)
        .map(Some)
        .map_err(|e| field_error(path, key, format!("not a decimal ({e}): {text:?}")))
}

/// An optional non-negative integer: a string of digits or a JSON integer.
pub(crate) fn opt_u64(
    object: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<u64>, FieldError> {
    match present(object, key) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| field_error(path, key, format!("not a non-negative integer: {n}"))),
        Some(Value::String(s)) => s
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| field_error(path, key, format!("not a non-negative integer: {s:?}"))),
        Some(other) => Err(field_error(
            path,
            key,
            format!("not an integer: {}", shown(other)),
        )),
    }
}

/// An optional boolean: JSON `true`/`false` or the strings `"true"`/`"false"` (any case).
pub(crate) fn opt_bool(
    object: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<bool>, FieldError> {
    match present(object, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(other) => Err(field_error(
            path,
            key,
            format!("not a boolean: {}", shown(other)),
        )),
    }
}

/// The object at `key`, or `None` if absent or `null`.
pub(crate) fn opt_object<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a Map<String, Value>>, FieldError> {
    match present(object, key) {
        None => Ok(None),
        Some(Value::Object(inner)) => Ok(Some(inner)),
        Some(other) => Err(field_error(
            path,
            key,
            format!("not an object: {}", shown(other)),
        )),
    }
}

/// The array at `key`; absent or `null` is an empty array.
pub(crate) fn array<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a [Value], FieldError> {
    match present(object, key) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(field_error(
            path,
            key,
            format!("not an array: {}", shown(other)),
        )),
    }
}

/// Item `index` of an array as an object.
pub(crate) fn item<'a>(
    value: &'a Value,
    path: &str,
    key: &str,
    index: usize,
) -> Result<(&'a Map<String, Value>, String), FieldError> {
    let item_path = format!("{}[{index}]", join(path, key));
    match value {
        Value::Object(object) => Ok((object, item_path)),
        other => Err(FieldError {
            path: item_path,
            reason: format!("not an object: {}", shown(other)),
        }),
    }
}

/// An enum spelling reduced for comparison: `"STOP_LIMIT"`, `"StopLimit"` and
/// `"stop-limit"` all become `"STOPLIMIT"`.
pub(crate) fn enum_key(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("test value is an object"),
        }
    }

    #[test]
    fn lenient_fields_accept_the_documented_spellings() {
        // Proves strings, integers, "true"/"false", "" and null are read as the doc demands.
        let o = object(json!({
            "a": "1.50", "b": 7, "c": "12", "d": "false", "e": "", "f": null, "g": true,
        }));
        assert_eq!(
            opt_decimal(&o, "a", "").unwrap(),
            Some(Decimal::parse("1.5").unwrap())
        );
        assert_eq!(
            opt_decimal(&o, "b", "").unwrap(),
            Some(Decimal::from_int(7))
        );
        assert_eq!(opt_u64(&o, "c", "").unwrap(), Some(12));
        assert_eq!(opt_u64(&o, "b", "").unwrap(), Some(7));
        assert_eq!(opt_bool(&o, "d", "").unwrap(), Some(false));
        assert_eq!(opt_bool(&o, "g", "").unwrap(), Some(true));
        assert_eq!(opt_decimal(&o, "e", "").unwrap(), None);
        assert_eq!(opt_str(&o, "f", "").unwrap(), None);
        assert_eq!(opt_str(&o, "missing", "").unwrap(), None);
        assert_eq!(enum_key("Stop_Limit"), "STOPLIMIT");
    }

    #[test]
    fn refusals_name_the_field_and_never_go_through_f64() {
        // Proves a float, a bad decimal and a wrong type are errors naming the full path.
        let o = object(json!({"x": 1.5, "y": "abc", "z": [], "n": -3}));
        let e = opt_decimal(&o, "x", "orders[2]").unwrap_err();
        assert_eq!(e.path, "orders[2].x");
        assert!(opt_decimal(&o, "y", "").unwrap_err().reason.contains("abc"));
        assert!(opt_str(&o, "z", "").is_err());
        assert!(opt_u64(&o, "n", "").is_err());
        assert_eq!(
            req_str(&o, "w", "p").unwrap_err().to_string(),
            "p.w: missing"
        );
    }
}

//! Whole numbers as JSON Schema counts them: `60` and `60.0` are the same integer, so a field typed
//! `integer` takes both. Anything else (a fraction, a number out of the field's range) is refused, and
//! the error names the field.

use serde::Deserialize;
use serde::de::{Deserializer, Error};

/// A JSON number with no fractional part, as `T`.
pub fn whole<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i128>,
{
    let number = serde_json::Number::deserialize(deserializer)?;
    let value: Option<i128> = if let Some(n) = number.as_i64() {
        Some(i128::from(n))
    } else if let Some(n) = number.as_u64() {
        Some(i128::from(n))
    } else {
        // Within ±2^63 every whole f64 converts exactly; beyond it no field of ours could take it anyway.
        number.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18).map(|f| f as i128)
    };
    let value = value.ok_or_else(|| D::Error::custom(format!("expected a whole number, got {number}")))?;
    T::try_from(value).map_err(|_| D::Error::custom(format!("{number} is out of range")))
}

/// Like [`whole`], for an optional field (absent or null is `None`).
pub fn optional_whole<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i128>,
{
    #[derive(Deserialize)]
    struct Whole<T: TryFrom<i128>>(#[serde(deserialize_with = "whole")] T);
    Ok(Option::<Whole<T>>::deserialize(deserializer)?.map(|Whole(value)| value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(deserialize_with = "whole")]
        limit: u32,
        #[serde(default, deserialize_with = "optional_whole")]
        ttl: Option<i64>,
    }

    fn parse(json: &str) -> Result<Body, String> {
        serde_json::from_str(json).map_err(|err| err.to_string())
    }

    #[test]
    fn integers_written_with_a_zero_fraction_are_integers() {
        assert_eq!(parse(r#"{"limit": 60.0, "ttl": 600.0}"#).map(|b| (b.limit, b.ttl)), Ok((60, Some(600))));
        assert_eq!(parse(r#"{"limit": 60}"#).map(|b| (b.limit, b.ttl)), Ok((60, None)));
        assert_eq!(parse(r#"{"limit": 60, "ttl": null}"#).map(|b| b.ttl), Ok(None));
        for bad in [
            r#"{"limit": 60.5}"#,
            r#"{"limit": -1}"#,
            r#"{"limit": 4294967296}"#,
            r#"{"limit": 1e300}"#,
            r#"{"limit": "60"}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}

//! Field types and checks shared by the actions.
//!
//! Ids and dates are parsed once, while the payload is deserialized (`#[serde(deserialize_with
//! = "validate::uuid")]`), so an action holds a `Uuid` or a `NaiveDate`, never a string still
//! to be checked; a value that does not parse is refused by serde like any other bad field
//! and named by [`crate::dispatch::parse_action`]. The checks that relate fields or bound
//! numbers (`date_range`, `int_in_range`, `text`) run afterwards and name their field too.

use chrono::NaiveDate;
use serde::de::{Deserialize, Deserializer, Error, Unexpected};
use uuid::Uuid;

use crate::error::ApiError;

/// What a client must send instead of a bad id, in the error message.
const UUID_EXPECTED: &str = "a UUID (8-4-4-4-12 hexadecimal digits)";
/// What a client must send instead of a bad date, in the error message.
const DATE_EXPECTED: &str = "a date YYYY-MM-DD";

/// A UUID in its canonical hyphenated form (any case); braces, URNs and the 32-digit
/// form are refused, as PostgREST would read them differently from what a client meant.
pub fn uuid<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Uuid, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_uuid(&text).ok_or_else(|| D::Error::invalid_value(Unexpected::Str(&text), &UUID_EXPECTED))
}

/// [`uuid`] for an optional field (absent or null is `None`); needs `#[serde(default)]`.
pub fn optional_uuid<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Uuid>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|text| {
            parse_uuid(&text)
                .ok_or_else(|| D::Error::invalid_value(Unexpected::Str(&text), &UUID_EXPECTED))
        })
        .transpose()
}

/// A calendar date written `YYYY-MM-DD` (year 0001 to 9999).
pub fn date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_date(&text).ok_or_else(|| D::Error::invalid_value(Unexpected::Str(&text), &DATE_EXPECTED))
}

/// [`date`] for an optional field (absent or null is `None`); needs `#[serde(default)]`.
pub fn optional_date<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<NaiveDate>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|text| {
            parse_date(&text)
                .ok_or_else(|| D::Error::invalid_value(Unexpected::Str(&text), &DATE_EXPECTED))
        })
        .transpose()
}

fn parse_uuid(text: &str) -> Option<Uuid> {
    (text.len() == 36)
        .then(|| Uuid::try_parse(text).ok())
        .flatten()
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shape_ok {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<u32>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if year == 0 {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

/// `start <= end` and at most `max_days` days inclusive; a failure names `end`'s field.
pub fn date_range(
    (start_field, start): (&str, NaiveDate),
    (end_field, end): (&str, NaiveDate),
    max_days: i64,
) -> Result<(), ApiError> {
    if start > end {
        return Err(ApiError::invalid_field(
            end_field,
            format!("`{start_field}` must not be after `{end_field}`"),
        ));
    }
    let days = end.signed_duration_since(start).num_days() + 1;
    if days > max_days {
        return Err(ApiError::invalid_field(
            end_field,
            format!("The range covers {days} days; at most {max_days} are allowed"),
        ));
    }
    Ok(())
}

/// An integer in `min..=max`.
pub fn int_in_range(field: &str, value: i64, min: i64, max: i64) -> Result<i64, ApiError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::invalid_field(
            field,
            format!("`{field}` must be between {min} and {max}"),
        ))
    }
}

/// A text of at most `max_chars` characters.
pub fn text(field: &str, value: &str, max_chars: usize) -> Result<String, ApiError> {
    if value.chars().count() > max_chars {
        return Err(ApiError::invalid_field(
            field,
            format!("`{field}` must be at most {max_chars} characters"),
        ));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;
    use crate::error::ErrorCode;

    fn field_of(error: ApiError) -> serde_json::Value {
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        error.details.expect("details")["field"].clone()
    }

    #[derive(Debug, Deserialize)]
    struct Ids {
        #[serde(deserialize_with = "uuid")]
        id: Uuid,
        #[serde(default, deserialize_with = "optional_uuid")]
        other: Option<Uuid>,
    }

    #[derive(Debug, Deserialize)]
    struct Dates {
        #[serde(deserialize_with = "date")]
        day: NaiveDate,
        #[serde(default, deserialize_with = "optional_date")]
        other: Option<NaiveDate>,
    }

    #[test]
    fn uuids() {
        let ids: Ids =
            serde_json::from_value(json!({"id": "0B0E7A4E-6F2C-4F1E-9D5B-7C1A2B3C4D5E"}))
                .expect("valid");
        assert_eq!(
            ids.id.hyphenated().to_string(),
            "0b0e7a4e-6f2c-4f1e-9d5b-7c1a2b3c4d5e"
        );
        assert_eq!(ids.other, None);
        let ids: Ids = serde_json::from_value(json!({
            "id": "0b0e7a4e-6f2c-4f1e-9d5b-7c1a2b3c4d5e", "other": null,
        }))
        .expect("null optional");
        assert_eq!(ids.other, None);
        for bad in [
            json!(""),
            json!("42"),
            json!(42),
            json!("0b0e7a4e6f2c4f1e9d5b7c1a2b3c4d5e"),
            json!("{0b0e7a4e-6f2c-4f1e-9d5b-7c1a2b3c4d5e}"),
            json!("0b0e7a4e-6f2c-4f1e-9d5b-7c1a2b3c4d5g"),
        ] {
            assert!(
                serde_json::from_value::<Ids>(json!({"id": bad})).is_err(),
                "{bad}"
            );
            let other = json!({"id": "0b0e7a4e-6f2c-4f1e-9d5b-7c1a2b3c4d5e", "other": bad});
            assert!(serde_json::from_value::<Ids>(other).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates() {
        let dates: Dates = serde_json::from_value(json!({"day": "2024-02-29"})).expect("leap day");
        assert_eq!(
            dates.day,
            NaiveDate::from_ymd_opt(2024, 2, 29).expect("date")
        );
        assert_eq!(dates.other, None);
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "24-01-01",
            "2024/01/01",
            "0000-01-01",
            "2024-01-01T00:00:00Z",
            "+202-01-01",
            "",
        ] {
            assert!(
                serde_json::from_value::<Dates>(json!({"day": bad})).is_err(),
                "{bad}"
            );
            let other = json!({"day": "2024-01-01", "other": bad});
            assert!(serde_json::from_value::<Dates>(other).is_err(), "{bad}");
        }
    }

    #[test]
    fn date_ranges() {
        let day = |text: &str| parse_date(text).expect(text);
        let range = |start: &str, end: &str| date_range(("s", day(start)), ("e", day(end)), 366);
        assert!(range("2024-01-01", "2024-12-31").is_ok());
        assert!(range("2024-01-01", "2024-01-01").is_ok());
        assert_eq!(
            field_of(range("2024-01-01", "2025-01-01").expect_err("367 days")),
            json!("e")
        );
        assert_eq!(
            field_of(range("2024-02-01", "2024-01-31").expect_err("start after end")),
            json!("e")
        );
    }

    #[test]
    fn ints_and_texts() {
        assert_eq!(int_in_range("limit", 100, 1, 100), Ok(100));
        assert_eq!(
            field_of(int_in_range("limit", 0, 1, 100).expect_err("0")),
            json!("limit")
        );
        assert_eq!(text("note", "ééé", 3), Ok("ééé".to_string()));
        assert_eq!(
            field_of(text("note", "abcd", 3).expect_err("long")),
            json!("note")
        );
    }
}

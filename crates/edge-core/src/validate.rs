//! Field validation shared by the actions. Every failure names the field.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::error::ApiError;

/// A UUID in its canonical hyphenated form, returned lowercased.
pub fn uuid(field: &str, value: &str) -> Result<String, ApiError> {
    let parsed = (value.len() == 36)
        .then(|| Uuid::try_parse(value).ok())
        .flatten()
        .ok_or_else(|| ApiError::invalid_field(field, format!("`{field}` must be a UUID")))?;
    Ok(parsed.hyphenated().to_string())
}

/// A calendar date written `YYYY-MM-DD` (year 0001 to 9999).
pub fn date(field: &str, value: &str) -> Result<NaiveDate, ApiError> {
    let invalid = || ApiError::invalid_field(field, format!("`{field}` must be a date YYYY-MM-DD"));
    let bytes = value.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shape_ok {
        return Err(invalid());
    }
    let number = |range: std::ops::Range<usize>| value[range].parse::<u32>().map_err(|_| invalid());
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if year == 0 {
        return Err(invalid());
    }
    let year = i32::try_from(year).map_err(|_| invalid())?;
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(invalid)
}

/// `start <= end` and at most `max_days` days inclusive.
pub fn date_range(
    start: (&str, &str),
    end: (&str, &str),
    max_days: i64,
) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let (start_field, end_field) = (start.0, end.0);
    let (start, end) = (date(start.0, start.1)?, date(end.0, end.1)?);
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
    Ok((start, end))
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
    use serde_json::json;

    use super::*;
    use crate::error::ErrorCode;

    fn field_of(error: ApiError) -> serde_json::Value {
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        error.details.expect("details")["field"].clone()
    }

    #[test]
    fn uuids() {
        assert_eq!(
            uuid("id", "0B0E7A4E-6F2C-4F1E-9D5B-7C1A2B3C4D5E").expect("valid"),
            "0b0e7a4e-6f2c-4f1e-9d5b-7c1a2b3c4d5e"
        );
        for bad in [
            "",
            "42",
            "0b0e7a4e6f2c4f1e9d5b7c1a2b3c4d5e",
            "{0b0e7a4e-6f2c-4f1e-9d5b-7c1a2b3c4d5e}",
            "0b0e7a4e-6f2c-4f1e-9d5b-7c1a2b3c4d5g",
        ] {
            assert_eq!(
                field_of(uuid("item_id", bad).expect_err(bad)),
                json!("item_id")
            );
        }
    }

    #[test]
    fn dates() {
        assert_eq!(
            date("d", "2024-02-29").expect("leap day"),
            NaiveDate::from_ymd_opt(2024, 2, 29).expect("date")
        );
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
            assert_eq!(field_of(date("date", bad).expect_err(bad)), json!("date"));
        }
    }

    #[test]
    fn date_ranges() {
        assert!(date_range(("s", "2024-01-01"), ("e", "2024-12-31"), 366).is_ok());
        assert!(date_range(("s", "2024-01-01"), ("e", "2024-01-01"), 366).is_ok());
        let too_long = date_range(("s", "2024-01-01"), ("e", "2025-01-01"), 366);
        assert_eq!(field_of(too_long.expect_err("367 days")), json!("e"));
        let reversed = date_range(("s", "2024-02-01"), ("e", "2024-01-31"), 366);
        assert_eq!(field_of(reversed.expect_err("start after end")), json!("e"));
        let bad_start = date_range(("s", "2024-02-30"), ("e", "2024-03-01"), 366);
        assert_eq!(field_of(bad_start.expect_err("bad start")), json!("s"));
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

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

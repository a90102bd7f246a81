//! PostgREST's error body `{"code","message","details","hint"}` and its HTTP
//! status mapping, in one place (see PostgREST `docs/references/errors.rst`).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// An error answered the way PostgREST answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub details: Option<String>,
    pub hint: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            details: None,
            hint: None,
        }
    }

    pub fn details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// PGRST100: a query string parameter could not be parsed.
    pub fn query_param(message: impl Into<String>, details: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "PGRST100", message).details(details)
    }

    /// PGRST102: the request body is not what the endpoint accepts.
    pub fn invalid_body(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "PGRST102", message)
    }

    /// PGRST116: a singular response was requested but the result has `rows` rows.
    pub fn singularity(rows: i64) -> Self {
        Self::new(
            StatusCode::NOT_ACCEPTABLE,
            "PGRST116",
            "Cannot coerce the result to a single JSON object",
        )
        .details(format!("The result contains {rows} rows"))
    }

    /// PGRST205: the table or view is not in the schema cache.
    pub fn table_not_found(schema: &str, table: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "PGRST205",
            format!("Could not find the table '{schema}.{table}' in the schema cache"),
        )
    }

    /// PGRST204: a payload / `columns` column is not in the schema cache.
    pub fn column_not_found(table: &str, column: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "PGRST204",
            format!("Could not find the '{column}' column of '{table}' in the schema cache"),
        )
    }

    /// 42703 as PostgreSQL would report it, answered without running the query:
    /// PostgREST lets the database reject unknown columns in `select`,
    /// filters and `order`; we refuse them before any SQL is built.
    pub fn undefined_column(table: &str, column: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "42703",
            format!("column {table}.{column} does not exist"),
        )
    }

    /// PGRST102 with 413: the body is larger than the gateway reads.
    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PGRST102",
            format!("The request body is larger than {limit} bytes"),
        )
    }

    /// GW408 (the gateway's own code; PostgREST has none): the body did not
    /// arrive in time.
    pub fn body_timeout(timeout: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "GW408",
            format!(
                "The request body did not arrive within {} s",
                timeout.as_secs()
            ),
        )
    }

    /// GW429: this caller already has as many requests running and waiting as
    /// the gateway allows one caller.
    pub fn caller_busy(running: usize) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "GW429",
            "Too many concurrent requests from this caller",
        )
        .details(format!(
            "At most {running} requests of one caller run at once; the others wait their turn, up to a limit"
        ))
        .hint("Retry after the running requests finish")
    }

    /// GW503: the gateway holds as many connections as it may.
    pub fn connection_limit() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "GW503",
            "Too many open connections to the gateway; retry later",
        )
    }

    /// PGRST301/PGRST303: JWT problems, always 401.
    pub fn jwt(code: &str, message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// PostgREST's `WWW-Authenticate` on 401 answers.
    fn www_authenticate(&self) -> Option<String> {
        if self.status != StatusCode::UNAUTHORIZED {
            return None;
        }
        if self.code.starts_with("PGRST3") {
            Some(format!(
                "Bearer error=\"invalid_token\", error_description={:?}",
                self.message
            ))
        } else {
            Some("Bearer".to_owned())
        }
    }

    pub fn body(&self) -> Value {
        json!({
            "code": self.code,
            "message": self.message,
            "details": self.details,
            "hint": self.hint,
        })
    }

    /// Maps a failed query to PostgREST's answer. `authenticated` is whether
    /// the request ran as a role other than the anonymous one (42501 -> 403
    /// instead of 401).
    pub fn from_db(error: &tokio_postgres::Error, authenticated: bool) -> Self {
        match error.as_db_error() {
            Some(db) => {
                let code = db.code().code();
                let status = status_for_sqlstate(code, db.message(), authenticated);
                let mut api = Self::new(status, code, db.message());
                api.details = db.detail().map(str::to_owned);
                api.hint = db.hint().map(str::to_owned);
                api
            }
            None if error.is_closed() => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "PGRST001",
                "Database client error. Retrying the connection.",
            ),
            None => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "PGRST000",
                "Database connection error.",
            ),
        }
    }

    pub fn pool(error: &deadpool_postgres::PoolError) -> Self {
        match error {
            deadpool_postgres::PoolError::Timeout(_) => Self::new(
                StatusCode::GATEWAY_TIMEOUT,
                "PGRST003",
                "Timed out acquiring connection from connection pool.",
            ),
            _ => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "PGRST000",
                "Database connection error.",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        if let Ok(value) = HeaderValue::from_str(&format!("PostgREST; error={}", self.code)) {
            headers.insert("proxy-status", value);
        }
        if let Some(value) = self
            .www_authenticate()
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// PostgREST's SQLSTATE -> HTTP status table (`mapSQLtoHTTP`).
pub fn status_for_sqlstate(code: &str, message: &str, authenticated: bool) -> StatusCode {
    let prefix = code.get(..2).unwrap_or("");
    match code {
        "23503" | "23505" => return StatusCode::CONFLICT,
        "25006" => return StatusCode::METHOD_NOT_ALLOWED,
        "21000" => {
            return if message.ends_with("requires a WHERE clause") {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
        "22023" => {
            return if message.starts_with("role") && message.ends_with("does not exist") {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::BAD_REQUEST
            }
        }
        "53400" => return StatusCode::INTERNAL_SERVER_ERROR,
        // Not PostgREST's 500: the statement ran past the role's statement_timeout
        // (or was cancelled), which is a timeout the client can retry or narrow.
        "57014" => return StatusCode::GATEWAY_TIMEOUT,
        "57P01" => return StatusCode::SERVICE_UNAVAILABLE,
        "P0001" => return StatusCode::BAD_REQUEST,
        "42883" => return StatusCode::NOT_FOUND,
        "42P01" => return StatusCode::NOT_FOUND,
        "42P17" => return StatusCode::INTERNAL_SERVER_ERROR,
        "42501" => {
            return if authenticated {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::UNAUTHORIZED
            }
        }
        _ => {}
    }
    match prefix {
        "08" => StatusCode::SERVICE_UNAVAILABLE,
        "09" => StatusCode::INTERNAL_SERVER_ERROR,
        "0L" | "0P" => StatusCode::FORBIDDEN,
        "25" => StatusCode::INTERNAL_SERVER_ERROR,
        "28" => StatusCode::FORBIDDEN,
        "2D" | "38" | "39" | "3B" | "40" => StatusCode::INTERNAL_SERVER_ERROR,
        "53" => StatusCode::SERVICE_UNAVAILABLE,
        // Not PostgREST's 500: a program limit (more than 1,664 columns, too many
        // arguments, a statement too complex) is reached by what the request asks.
        "54" => StatusCode::BAD_REQUEST,
        "55" | "57" | "58" | "F0" | "HV" | "P0" | "XX" => StatusCode::INTERNAL_SERVER_ERROR,
        "PT" => code
            .get(2..)
            .and_then(|digits| digits.parse::<u16>().ok())
            .and_then(|n| StatusCode::from_u16(n).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        _ => StatusCode::BAD_REQUEST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_map_like_postgrest() {
        let cases = [
            ("23505", 409),
            ("23503", 409),
            ("P0002", 500),
            ("P0001", 400),
            ("PT409", 409),
            ("PT422", 422),
            ("PTabc", 500),
            ("22P02", 400),
            ("42883", 404),
            ("42P01", 404),
            ("25006", 405),
            ("08006", 503),
            ("40001", 500),
            ("23514", 400),
            ("22P05", 400),
            ("54011", 400),
            ("54001", 400),
            ("57014", 504),
            ("57P01", 503),
            ("57P03", 500),
        ];
        for (code, status) in cases {
            assert_eq!(
                status_for_sqlstate(code, "", true).as_u16(),
                status,
                "sqlstate {code}"
            );
        }
    }

    #[test]
    fn insufficient_privilege_depends_on_authentication() {
        assert_eq!(
            status_for_sqlstate("42501", "", false),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status_for_sqlstate("42501", "", true),
            StatusCode::FORBIDDEN
        );
    }

    #[test]
    fn unknown_role_is_unauthorized() {
        let status = status_for_sqlstate("22023", "role \"nobody\" does not exist", true);
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

//! `/rest/v1/*`: tables and views (`/rest/v1/<table>`) and functions
//! (`/rest/v1/rpc/<fn>`) with PostgREST's semantics.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::auth::{self, Caller};
use crate::db::{self, Outcome, RequestSettings, Work};
use crate::error::ApiError;
use crate::limits::{self, BodyError, Turn};
use crate::query::{self, Resolution};
use crate::schema::{ReturnShape, SchemaCache};
use crate::AppState;

const JSON: &str = "application/json; charset=utf-8";
const OBJECT: &str = "application/vnd.pgrst.object+json; charset=utf-8";
const CSV: &str = "text/csv; charset=utf-8";

/// `Prefer: count=...`: how the total in `Content-Range` is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Count {
    Exact,
    /// The planner's row estimate (`EXPLAIN`), as PostgREST.
    Planned,
    /// Exact up to `query::ESTIMATED_COUNT_THRESHOLD` rows, planned beyond.
    Estimated,
}

/// The parts of `Prefer` we honour; unknown preferences are ignored (PostgREST's lenient default).
#[derive(Debug, Default, Clone, PartialEq)]
struct Prefer {
    representation: bool,
    count: Option<Count>,
    resolution: Option<Resolution>,
    missing_default: bool,
    /// `tx=rollback`: PostgREST honours it only with `db-tx-end =
    /// commit-allow-override`; the gateway always does (local tooling).
    rollback: bool,
}

impl Prefer {
    fn from_headers(headers: &HeaderMap) -> Self {
        let mut prefer = Prefer::default();
        let tokens = headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim);
        for token in tokens {
            match token {
                "return=representation" => prefer.representation = true,
                "return=minimal" | "return=headers-only" => prefer.representation = false,
                "count=exact" => prefer.count = Some(Count::Exact),
                "count=planned" => prefer.count = Some(Count::Planned),
                "count=estimated" => prefer.count = Some(Count::Estimated),
                "missing=default" => prefer.missing_default = true,
                "missing=null" => prefer.missing_default = false,
                "tx=rollback" => prefer.rollback = true,
                "tx=commit" => prefer.rollback = false,
                "resolution=merge-duplicates" => {
                    prefer.resolution = Some(Resolution::MergeDuplicates)
                }
                "resolution=ignore-duplicates" => {
                    prefer.resolution = Some(Resolution::IgnoreDuplicates)
                }
                _ => {}
            }
        }
        prefer
    }

    fn applied(&self) -> Option<String> {
        let mut applied = Vec::new();
        if self.representation {
            applied.push("return=representation");
        }
        match self.count {
            Some(Count::Exact) => applied.push("count=exact"),
            Some(Count::Planned) => applied.push("count=planned"),
            Some(Count::Estimated) => applied.push("count=estimated"),
            None => {}
        }
        match self.resolution {
            Some(Resolution::MergeDuplicates) => applied.push("resolution=merge-duplicates"),
            Some(Resolution::IgnoreDuplicates) => applied.push("resolution=ignore-duplicates"),
            _ => {}
        }
        if self.missing_default {
            applied.push("missing=default");
        }
        if self.rollback {
            applied.push("tx=rollback");
        }
        (!applied.is_empty()).then(|| applied.join(", "))
    }
}

/// The answer's media type, from `Accept` (the first type the gateway offers wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    Json,
    /// `application/vnd.pgrst.object+json`: one object rather than an array.
    Object,
    /// `text/csv`: a header line, then one line per row (reads of tables only).
    Csv,
}

fn media_type(headers: &HeaderMap, csv_allowed: bool) -> Result<MediaType, ApiError> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(MediaType::Json);
    };
    let types: Vec<&str> = accept
        .split(',')
        .map(|t| t.split(';').next().unwrap_or_default().trim())
        .filter(|t| !t.is_empty())
        .collect();
    if types.is_empty() {
        return Ok(MediaType::Json);
    }
    for media in &types {
        match *media {
            "application/vnd.pgrst.object+json" | "application/vnd.pgrst.object" => {
                return Ok(MediaType::Object)
            }
            "application/json" | "*/*" | "application/*" => return Ok(MediaType::Json),
            "text/csv" if csv_allowed => return Ok(MediaType::Csv),
            _ => {}
        }
    }
    Err(ApiError::new(
        StatusCode::NOT_ACCEPTABLE,
        "PGRST107",
        format!(
            "None of these media types are available: {}",
            types.join(", ")
        ),
    ))
}

/// Whether the client asked for one object (`vnd.pgrst.object`) rather than an array.
fn wants_single_object(headers: &HeaderMap) -> Result<bool, ApiError> {
    media_type(headers, false).map(|media| media == MediaType::Object)
}

fn settings(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    cache: &SchemaCache,
    caller: &Caller,
) -> RequestSettings {
    let header_map: Map<String, Value> = headers
        .iter()
        .filter_map(|(name, value)| {
            value
                .to_str()
                .ok()
                .map(|v| (name.as_str().to_owned(), Value::String(v.to_owned())))
        })
        .collect();
    RequestSettings {
        search_path: query::search_path(&cache.schema),
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        headers_json: Value::Object(header_map).to_string(),
        role_settings: cache
            .role_settings
            .get(&caller.role)
            .cloned()
            .unwrap_or_default(),
    }
}

/// `Accept-Profile` / `Content-Profile` (sent by supabase-js) must name the exposed schema.
fn check_profile(headers: &HeaderMap, cache: &SchemaCache) -> Result<(), ApiError> {
    for name in ["accept-profile", "content-profile"] {
        if let Some(profile) = headers.get(name).and_then(|v| v.to_str().ok()) {
            if profile != cache.schema {
                return Err(ApiError::new(
                    StatusCode::NOT_ACCEPTABLE,
                    "PGRST106",
                    format!("Invalid schema: {profile}"),
                )
                .hint(format!(
                    "Only the following schemas are exposed: {}",
                    cache.schema
                )));
            }
        }
    }
    Ok(())
}

fn respond(status: StatusCode, content_type: &str, body: Option<String>) -> Response {
    let mut response = match body {
        Some(body) => (status, body).into_response(),
        None => status.into_response(),
    };
    if status != StatusCode::NO_CONTENT {
        if let Ok(value) = HeaderValue::from_str(content_type) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
    }
    response
}

fn set_header(response: &mut Response, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

fn schema_or_unavailable(state: &AppState) -> Result<std::sync::Arc<SchemaCache>, ApiError> {
    state.schema.get().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "PGRST002",
            "Could not query the database for the schema cache. Retrying.",
        )
    })
}

/// PostgREST's permissive CORS for browser callers: preflights answered here,
/// other answers to a request with `Origin` get the allow/expose headers.
pub async fn cors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let headers = request.headers();
    if !headers.contains_key(header::ORIGIN) {
        return next.run(request).await;
    }
    if request.method() == Method::OPTIONS
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        let requested = headers
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .and_then(|v| v.to_str().ok())
            .map(|v| format!("Authorization, {v}"))
            .unwrap_or_else(|| "Authorization".to_owned());
        let mut response = StatusCode::OK.into_response();
        set_header(&mut response, "access-control-allow-origin", "*");
        set_header(
            &mut response,
            "access-control-allow-methods",
            "GET, POST, PATCH, PUT, DELETE, OPTIONS, HEAD",
        );
        set_header(&mut response, "access-control-allow-headers", &requested);
        set_header(&mut response, "access-control-max-age", "86400");
        return response;
    }
    let mut response = next.run(request).await;
    set_header(&mut response, "access-control-allow-origin", "*");
    set_header(
        &mut response,
        "access-control-expose-headers",
        "Content-Encoding, Content-Location, Content-Range, Content-Type, Date, Location, Server, Transfer-Encoding, Range-Unit",
    );
    response
}

/// Who calls, and their turn: the token is verified from the headers alone,
/// then the request waits for one of its caller's turns (`limits::CallerTurns`)
/// before anything else, the body included, is read.
async fn admit(state: &AppState, headers: &HeaderMap) -> Result<(Caller, Turn), ApiError> {
    let caller = auth::authenticate(headers, &state.credentials)?;
    let turn = state
        .callers
        .take(limits::caller_key(&caller))
        .await
        .ok_or_else(|| ApiError::caller_busy(state.config.limits.caller_concurrency))?;
    Ok((caller, turn))
}

/// The request body, within the REST size and time limits.
async fn read_body(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let limits = &state.config.limits;
    limits::read_body(
        headers,
        body,
        limits.rest_body_bytes,
        limits.body_read_timeout,
    )
    .await
    .map_err(|error| match error {
        BodyError::TooLarge => ApiError::body_too_large(limits.rest_body_bytes),
        BodyError::TimedOut => ApiError::body_timeout(limits.body_read_timeout),
        BodyError::Unreadable => ApiError::invalid_body("The request body could not be read"),
    })
}

/// `GET /rest/v1/` (the OpenAPI root) is not offered.
pub async fn root() -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "PGRST126",
        "Root endpoint metadata is disabled",
    )
    .into_response()
}

pub async fn table(
    State(state): State<AppState>,
    Path(name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    table_request(&state, &name, &method, &uri, &headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn table_request(
    state: &AppState,
    name: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (caller, _turn) = admit(state, headers).await?;
    let cache = schema_or_unavailable(state)?;
    check_profile(headers, &cache)?;
    if name.contains('/') {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "PGRST125",
            "Invalid path specified in request URL",
        ));
    }
    let table = cache
        .tables
        .get(name)
        .ok_or_else(|| ApiError::table_not_found(&cache.schema, name))?;
    let pairs = query::query_pairs(uri.query())?;
    let query = query::parse_table_query(&cache, table, &pairs)?;
    let prefer = Prefer::from_headers(headers);
    let is_read = matches!(*method, Method::GET | Method::HEAD);
    let media = media_type(headers, is_read)?;
    let singular = media == MediaType::Object;
    let settings = settings(method, uri, headers, &cache, &caller);
    let content_type = match media {
        MediaType::Json => JSON,
        MediaType::Object => OBJECT,
        MediaType::Csv => CSV,
    };

    let mut response = match *method {
        Method::GET | Method::HEAD => {
            let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
            let window = query::window(&query, range)?;
            let statement = query::read(&cache, table, &query, window, media == MediaType::Csv);
            let count = match prefer.count {
                Some(Count::Exact) => Some(query::count(&cache, table, &query, None)),
                Some(Count::Estimated) => Some(query::count(
                    &cache,
                    table,
                    &query,
                    Some(query::ESTIMATED_COUNT_THRESHOLD),
                )),
                _ => None,
            };
            let planned_count = matches!(prefer.count, Some(Count::Planned | Count::Estimated))
                .then(|| query::planned_count(&cache, table, &query));
            let work = Work {
                read_only: true,
                singular,
                main: Some(&statement),
                returns_nothing: false,
                count: count.as_ref(),
                planned_count: planned_count.as_ref(),
                rollback: prefer.rollback,
            };
            let outcome = db::execute(&state.read_pool, &caller, &settings, work).await?;
            read_response(method, content_type, singular, window.offset, outcome)?
        }
        Method::POST => {
            let payload = query::parse_body(&read_body(state, headers, body).await?)?;
            let resolution = prefer.resolution.unwrap_or(Resolution::Error);
            let statement = query::insert(
                &cache,
                table,
                &query,
                payload,
                resolution,
                prefer.missing_default,
            )?;
            let outcome = mutate(
                state,
                &caller,
                &settings,
                singular,
                Some(&statement),
                prefer.rollback,
            )
            .await?;
            mutation_response(
                StatusCode::CREATED,
                &prefer,
                content_type,
                singular,
                outcome,
            )
        }
        Method::PATCH => {
            let payload = query::parse_body(&read_body(state, headers, body).await?)?;
            let statement = query::update(&cache, table, &query, payload)?;
            let outcome = mutate(
                state,
                &caller,
                &settings,
                singular,
                statement.as_ref(),
                prefer.rollback,
            )
            .await?;
            mutation_response(StatusCode::OK, &prefer, content_type, singular, outcome)
        }
        Method::DELETE => {
            let statement = query::delete(&cache, table, &query);
            let outcome = mutate(
                state,
                &caller,
                &settings,
                singular,
                Some(&statement),
                prefer.rollback,
            )
            .await?;
            mutation_response(StatusCode::OK, &prefer, content_type, singular, outcome)
        }
        ref other => {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "PGRST117",
                format!("Unsupported HTTP method: {other}"),
            ))
        }
    };
    if let Some(applied) = prefer.applied() {
        set_header(&mut response, "preference-applied", &applied);
    }
    Ok(response)
}

async fn mutate(
    state: &AppState,
    caller: &Caller,
    settings: &RequestSettings,
    singular: bool,
    statement: Option<&query::Statement>,
    rollback: bool,
) -> Result<Outcome, ApiError> {
    let work = Work {
        read_only: false,
        singular: singular && statement.is_some(),
        main: statement,
        returns_nothing: false,
        count: None,
        planned_count: None,
        rollback,
    };
    db::execute(&state.pool, caller, settings, work).await
}

/// Status and `Content-Range` of a read, as PostgREST computes them.
fn read_response(
    method: &Method,
    content_type: &str,
    singular: bool,
    offset: i64,
    outcome: Outcome,
) -> Result<Response, ApiError> {
    let total = outcome.total;
    if let Some(total) = total {
        if offset > total {
            return Err(ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "PGRST103",
                "Requested range not satisfiable",
            )
            .details(format!(
                "An offset of {offset} was requested, but there are only {total} rows."
            )));
        }
    }
    let total_text = total.map_or_else(|| "*".to_owned(), |t| t.to_string());
    let content_range = if outcome.rows == 0 {
        format!("*/{total_text}")
    } else {
        format!(
            "{}-{}/{total_text}",
            offset,
            offset.saturating_add(outcome.rows - 1)
        )
    };
    let status = match total {
        Some(total) if outcome.rows < total && !singular => StatusCode::PARTIAL_CONTENT,
        _ => StatusCode::OK,
    };
    let body = if singular {
        outcome.first
    } else {
        outcome.body
    };
    let body = if *method == Method::HEAD { None } else { body };
    let mut response = respond(status, content_type, body);
    set_header(&mut response, "content-range", &content_range);
    Ok(response)
}

fn mutation_response(
    success: StatusCode,
    prefer: &Prefer,
    content_type: &str,
    singular: bool,
    outcome: Outcome,
) -> Response {
    let content_range = if outcome.rows == 0 {
        "*/*".to_owned()
    } else {
        format!("0-{}/*", outcome.rows - 1)
    };
    let mut response = if prefer.representation {
        let body = if singular {
            outcome.first
        } else {
            outcome.body
        };
        respond(
            success,
            content_type,
            Some(body.unwrap_or_else(|| "[]".into())),
        )
    } else if success == StatusCode::CREATED {
        respond(StatusCode::CREATED, content_type, None)
    } else {
        respond(StatusCode::NO_CONTENT, content_type, None)
    };
    set_header(&mut response, "content-range", &content_range);
    response
}

pub async fn rpc(
    State(state): State<AppState>,
    Path(name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    rpc_request(&state, &name, &method, &uri, &headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn rpc_request(
    state: &AppState,
    name: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (caller, _turn) = admit(state, headers).await?;
    let cache = schema_or_unavailable(state)?;
    check_profile(headers, &cache)?;
    let (arguments, is_post) = match *method {
        Method::GET | Method::HEAD => (
            query::rpc_query_arguments(&query::query_pairs(uri.query())?),
            false,
        ),
        Method::POST => {
            let body = read_body(state, headers, body).await?;
            let arguments = if body.iter().all(u8::is_ascii_whitespace) {
                Map::new()
            } else {
                match query::parse_body(&body)? {
                    Value::Object(arguments) => arguments,
                    _ => return Err(ApiError::invalid_body("Empty or invalid json")),
                }
            };
            (arguments, true)
        }
        ref other => {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "PGRST101",
                format!("Cannot use the {other} method on RPC"),
            ))
        }
    };
    let names: Vec<String> = arguments.keys().cloned().collect();
    let function = query::resolve_function(&cache, name, &names, is_post)?;
    let singular = wants_single_object(headers)?;
    let statement = query::call(&cache, function, &arguments);
    let returns_set = matches!(
        function.returns,
        ReturnShape::RowSet | ReturnShape::ScalarSet
    );
    let work = Work {
        // PostgREST: GET is always read-only; POST is read-write only for VOLATILE functions.
        read_only: !is_post || !function.volatile,
        singular: singular && returns_set,
        main: Some(&statement),
        returns_nothing: function.returns == ReturnShape::Void,
        count: None,
        planned_count: None,
        rollback: Prefer::from_headers(headers).rollback,
    };
    let settings = settings(method, uri, headers, &cache, &caller);
    let pool = if is_post {
        &state.pool
    } else {
        &state.read_pool
    };
    let outcome = db::execute(pool, &caller, &settings, work).await?;
    if function.returns == ReturnShape::Void {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let content_type = if singular { OBJECT } else { JSON };
    let body = if singular && returns_set {
        outcome.first
    } else {
        outcome.body
    };
    let body = if *method == Method::HEAD {
        None
    } else {
        Some(body.unwrap_or_else(|| "null".into()))
    };
    let mut response = respond(StatusCode::OK, content_type, body);
    if returns_set {
        let range = if outcome.rows == 0 {
            "*/*".to_owned()
        } else {
            format!("0-{}/*", outcome.rows - 1)
        };
        set_header(&mut response, "content-range", &range);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn prefer_tokens_combine_across_headers() {
        let prefer = Prefer::from_headers(&headers(&[
            ("prefer", "return=representation, count=exact"),
            ("prefer", "resolution=merge-duplicates"),
        ]));
        assert!(prefer.representation && prefer.count == Some(Count::Exact));
        assert_eq!(prefer.resolution, Some(Resolution::MergeDuplicates));
    }

    #[test]
    fn accept_negotiation() {
        assert_eq!(wants_single_object(&headers(&[])).ok(), Some(false));
        let object = headers(&[("accept", "application/vnd.pgrst.object+json")]);
        assert_eq!(wants_single_object(&object).ok(), Some(true));
        let browser = headers(&[("accept", "application/json, text/plain, */*")]);
        assert_eq!(wants_single_object(&browser).ok(), Some(false));
        let csv = headers(&[("accept", "text/csv")]);
        assert_eq!(
            wants_single_object(&csv).err().map(|e| e.code),
            Some("PGRST107".into())
        );
        assert_eq!(media_type(&csv, true).ok(), Some(MediaType::Csv));
        let first_offered = headers(&[("accept", "application/xml, text/csv, application/json")]);
        assert_eq!(media_type(&first_offered, true).ok(), Some(MediaType::Csv));
    }
}

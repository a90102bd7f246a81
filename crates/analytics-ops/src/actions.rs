//! The actions of `analytics-operations`, their payloads, validation and RPC calls.

use chrono::NaiveDate;
use edge_core::{validate, Action, ApiError, Idempotency, RpcCall};
use serde::Deserialize;
use uuid::Uuid;

/// Longest date range of one request, in days (both ends included): a leap year.
pub const MAX_RANGE_DAYS: i64 = 366;

/// One request to `analytics-operations`: `{"action": "<name>", ...fields}`.
///
/// None of these actions takes an idempotency key: generating metrics is an upsert that
/// gives the same rows however often it runs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS), ts(tag = "action", rename_all = "snake_case"))]
pub enum AnalyticsAction {
    GenerateDaily(GenerateDailyRequest),
    GenerateProduct(GenerateProductRequest),
    GetMetrics(GetMetricsRequest),
    GetShopStats(GetShopStatsRequest),
}

/// (Re)computes one shop's metrics row for a local day; `date` defaults to yesterday in
/// the shop's timezone.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct GenerateDailyRequest {
    #[serde(deserialize_with = "validate::uuid")]
    pub shop_id: Uuid,
    /// `YYYY-MM-DD`.
    #[serde(default, deserialize_with = "validate::optional_date")]
    pub date: Option<NaiveDate>,
}

/// (Re)computes per-item analytics for a period (at most 366 days).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct GenerateProductRequest {
    #[serde(deserialize_with = "validate::uuid")]
    pub shop_id: Uuid,
    /// `YYYY-MM-DD`, included.
    #[serde(deserialize_with = "validate::date")]
    pub start_date: NaiveDate,
    /// `YYYY-MM-DD`, included.
    #[serde(deserialize_with = "validate::date")]
    pub end_date: NaiveDate,
}

/// The daily rows of a range (at most 366 days) and their totals.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct GetMetricsRequest {
    #[serde(deserialize_with = "validate::uuid")]
    pub shop_id: Uuid,
    /// `YYYY-MM-DD`, included.
    #[serde(deserialize_with = "validate::date")]
    pub start_date: NaiveDate,
    /// `YYYY-MM-DD`, included.
    #[serde(deserialize_with = "validate::date")]
    pub end_date: NaiveDate,
}

/// The shop's dashboard summary.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct GetShopStatsRequest {
    #[serde(deserialize_with = "validate::uuid")]
    pub shop_id: Uuid,
}

impl Action for AnalyticsAction {
    const NAMES: &'static [&'static str] = &[
        "generate_daily",
        "generate_product",
        "get_metrics",
        "get_shop_stats",
    ];

    fn idempotency(&self) -> Idempotency<'_> {
        Idempotency::ReadOnly
    }

    fn rpc_call(self, _idempotency_key: Option<String>) -> Result<RpcCall, ApiError> {
        match self {
            AnalyticsAction::GenerateDaily(request) => {
                Ok(RpcCall::new("generate_daily_sales_metrics")
                    .optional_arg("p_date", request.date.map(|date| date.to_string()))
                    .arg("p_shop_id", request.shop_id.to_string()))
            }
            AnalyticsAction::GenerateProduct(request) => shop_period_call(
                RpcCall::new("generate_product_analytics"),
                request.shop_id,
                request.start_date,
                request.end_date,
            ),
            AnalyticsAction::GetMetrics(request) => shop_period_call(
                RpcCall::read("get_sales_metrics"),
                request.shop_id,
                request.start_date,
                request.end_date,
            ),
            AnalyticsAction::GetShopStats(request) => {
                Ok(RpcCall::read("get_shop_stats").arg("p_shop_id", request.shop_id.to_string()))
            }
        }
    }
}

/// `call` about one shop over an inclusive period of local dates (at most
/// [`MAX_RANGE_DAYS`]): `p_shop_id`, `p_start`, `p_end`.
fn shop_period_call(
    call: RpcCall,
    shop_id: Uuid,
    start_date: NaiveDate,
    end_date: NaiveDate,
) -> Result<RpcCall, ApiError> {
    validate::date_range(
        ("start_date", start_date),
        ("end_date", end_date),
        MAX_RANGE_DAYS,
    )?;
    Ok(call
        .arg("p_shop_id", shop_id.to_string())
        .arg("p_start", start_date.to_string())
        .arg("p_end", end_date.to_string()))
}

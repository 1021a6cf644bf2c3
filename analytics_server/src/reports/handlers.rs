//! The report endpoints: thin wrappers that scope, time and shape one query each.

use std::time::Instant;

use axum::extract::State;
use chrono::{NaiveDate, Utc};
use clickhouse::query::Query;
use clickhouse::{RowOwned, RowRead};
use fechatter_http::{Json, Query as QueryString};
use serde::Serialize;

use super::queries::{self, SESSION_BUCKETS};
use super::{DayRange, Granularity, Report, ReportQuery};
use crate::auth::Caller;
use crate::error::AppError;
use crate::observability::metrics::ReportMetrics;
use crate::state::AppState;

/// Runs a report's one query, timed in `analytics_query_duration_seconds{report}`.
#[tracing::instrument(skip_all, fields(report = report.as_str()))]
async fn run<T: RowOwned + RowRead>(
    state: &AppState,
    report: Report,
    query: Query,
) -> Result<Vec<T>, AppError> {
    let started = Instant::now();
    let rows = state.store().fetch_all(report.as_str(), query).await?;
    ReportMetrics::answered(report.as_str(), started.elapsed(), rows.len());
    Ok(rows)
}

#[derive(Debug, Serialize)]
pub struct Ranged<T> {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub rows: Vec<T>,
}

impl<T> Ranged<T> {
    fn new(range: DayRange, rows: Vec<T>) -> Json<Self> {
        Json(Self {
            from: range.from,
            to: range.to,
            rows,
        })
    }
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

pub async fn active_users(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryString(params): QueryString<ReportQuery>,
) -> Result<Json<Ranged<queries::ActiveUsers>>, AppError> {
    let range = params.range(today())?;
    let granularity = params.granularity.unwrap_or(Granularity::Day);
    let query = queries::active_users(state.store(), caller.ws.0, range, granularity);
    let rows = run(&state, Report::ActiveUsers, query).await?;
    Ok(Ranged::new(range, rows))
}

pub async fn events_by_type(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryString(params): QueryString<ReportQuery>,
) -> Result<Json<Ranged<queries::EventsByType>>, AppError> {
    let range = params.range(today())?;
    let query = queries::events_by_type(state.store(), caller.ws.0, range);
    let rows = run(&state, Report::EventsByType, query).await?;
    Ok(Ranged::new(range, rows))
}

pub async fn messages(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryString(params): QueryString<ReportQuery>,
) -> Result<Json<Ranged<queries::MessagesPerDay>>, AppError> {
    let range = params.range(today())?;
    let query = queries::messages(state.store(), caller.ws.0, range);
    let rows = run(&state, Report::Messages, query).await?;
    Ok(Ranged::new(range, rows))
}

/// Per-chat figures name chats the caller may not be in (private channels, others' direct chats),
/// so this report is for the workspace's owner and admins.
pub async fn top_chats(
    State(state): State<AppState>,
    admin: Caller,
    QueryString(params): QueryString<ReportQuery>,
) -> Result<Json<Ranged<queries::TopChat>>, AppError> {
    admin.ensure_admin()?;
    let Caller(caller) = admin;
    let range = params.range(today())?;
    let limit = params.limit()?;
    let query = queries::top_chats(state.store(), caller.ws.0, range, limit);
    let rows = run(&state, Report::TopChats, query).await?;
    Ok(Ranged::new(range, rows))
}

pub async fn search(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryString(params): QueryString<ReportQuery>,
) -> Result<Json<Ranged<queries::SearchPerDay>>, AppError> {
    let range = params.range(today())?;
    let query = queries::search(state.store(), caller.ws.0, range);
    let rows = run(&state, Report::Search, query).await?;
    Ok(Ranged::new(range, rows))
}

#[derive(Debug, Serialize, PartialEq)]
pub struct SessionBucket {
    /// Sessions up to this many seconds long (and longer than the previous bucket's bound);
    /// `null` for the last bucket, which has no upper bound.
    pub up_to_seconds: Option<u64>,
    pub sessions: u64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct SessionReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub sessions: u64,
    pub average_seconds: f64,
    pub median_seconds: f64,
    pub p90_seconds: f64,
    pub distribution: Vec<SessionBucket>,
}

impl SessionReport {
    fn new(range: DayRange, stats: Option<queries::SessionStats>) -> Self {
        let stats = stats.filter(|stats| stats.sessions > 0);
        // With no sessions ClickHouse averages to NaN, which JSON cannot carry.
        let number = |value: Option<f64>| value.filter(|v| v.is_finite()).unwrap_or(0.0);
        let counts = stats
            .as_ref()
            .map(|stats| stats.distribution.clone())
            .unwrap_or_default();
        let bounds = SESSION_BUCKETS
            .iter()
            .map(|bound| Some(*bound))
            .chain([None]);
        Self {
            from: range.from,
            to: range.to,
            sessions: stats.as_ref().map_or(0, |stats| stats.sessions),
            average_seconds: number(stats.as_ref().map(|stats| stats.average_seconds)),
            median_seconds: number(stats.as_ref().and_then(|s| s.percentiles.first().copied())),
            p90_seconds: number(stats.as_ref().and_then(|s| s.percentiles.get(1).copied())),
            distribution: bounds
                .enumerate()
                .map(|(i, up_to_seconds)| SessionBucket {
                    up_to_seconds,
                    sessions: counts.get(i).copied().unwrap_or(0),
                })
                .collect(),
        }
    }
}

pub async fn sessions(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryString(params): QueryString<ReportQuery>,
) -> Result<Json<SessionReport>, AppError> {
    let range = params.range(today())?;
    let query = queries::sessions(state.store(), caller.ws.0, range);
    let rows: Vec<queries::SessionStats> = run(&state, Report::Sessions, query).await?;
    Ok(Json(SessionReport::new(range, rows.into_iter().next())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range() -> DayRange {
        let day = "2026-05-01".parse().unwrap_or_default();
        DayRange { from: day, to: day }
    }

    #[test]
    fn a_report_with_no_sessions_has_zeros_not_nan() {
        let stats = queries::SessionStats {
            sessions: 0,
            average_seconds: f64::NAN,
            percentiles: vec![f64::NAN, f64::NAN],
            distribution: vec![0; SESSION_BUCKETS.len() + 1],
        };
        let report = SessionReport::new(range(), Some(stats));
        assert_eq!(report.average_seconds, 0.0);
        assert_eq!(report.distribution.len(), SESSION_BUCKETS.len() + 1);
        assert_eq!(
            report.distribution.last().map(|b| b.up_to_seconds),
            Some(None)
        );
    }

    #[test]
    fn session_buckets_pair_bounds_with_counts() {
        let stats = queries::SessionStats {
            sessions: 3,
            average_seconds: 100.0,
            percentiles: vec![50.0, 200.0],
            distribution: vec![2, 1, 0, 0, 0, 0, 0],
        };
        let report = SessionReport::new(range(), Some(stats));
        assert_eq!((report.median_seconds, report.p90_seconds), (50.0, 200.0));
        assert_eq!(
            report.distribution[..2],
            [
                SessionBucket {
                    up_to_seconds: Some(60),
                    sessions: 2
                },
                SessionBucket {
                    up_to_seconds: Some(300),
                    sessions: 1
                },
            ]
        );
    }
}

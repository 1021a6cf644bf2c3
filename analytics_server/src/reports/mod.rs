//! `GET /api/reports/…`: what the business dashboard asks of the stored events. Every report is
//! scoped to the caller's workspace (the token's `ws` claim) and answered by one ClickHouse query.

pub mod handlers;
pub mod queries;

use chrono::{Days, NaiveDate};
use serde::Deserialize;

use crate::error::AppError;

/// The reports; `as_str` is the `report` metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    ActiveUsers,
    EventsByType,
    Messages,
    TopChats,
    Sessions,
    Search,
}

impl Report {
    pub const ALL: &'static [Report] = &[
        Report::ActiveUsers,
        Report::EventsByType,
        Report::Messages,
        Report::TopChats,
        Report::Sessions,
        Report::Search,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Report::ActiveUsers => "active_users",
            Report::EventsByType => "events_by_type",
            Report::Messages => "messages",
            Report::TopChats => "top_chats",
            Report::Sessions => "sessions",
            Report::Search => "search",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    #[default]
    Day,
    Week,
}

/// The query string every report understands; each report reads the parts it needs. Unknown
/// parameters are ignored (`access_token` may be among them).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReportQuery {
    /// First UTC day, inclusive; defaults to 29 days before `to`.
    pub from: Option<NaiveDate>,
    /// Last UTC day, inclusive; defaults to today.
    pub to: Option<NaiveDate>,
    pub granularity: Option<Granularity>,
    pub limit: Option<u32>,
}

/// The longest range a report covers, so one request cannot scan years of events.
pub const MAX_RANGE_DAYS: u64 = 366;
pub const DEFAULT_RANGE_DAYS: u64 = 30;
pub const DEFAULT_TOP_CHATS: u32 = 10;
pub const MAX_TOP_CHATS: u32 = 100;

/// A checked, inclusive range of UTC days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl ReportQuery {
    pub fn range(&self, today: NaiveDate) -> Result<DayRange, AppError> {
        let to = self.to.unwrap_or(today);
        let from = match self.from {
            Some(from) => from,
            None => to
                .checked_sub_days(Days::new(DEFAULT_RANGE_DAYS - 1))
                .unwrap_or(to),
        };
        if from > to {
            return Err(AppError::InvalidQuery(
                "`from` must not be after `to`".to_owned(),
            ));
        }
        if (to - from).num_days() >= MAX_RANGE_DAYS as i64 {
            return Err(AppError::InvalidQuery(format!(
                "a report covers at most {MAX_RANGE_DAYS} days"
            )));
        }
        Ok(DayRange { from, to })
    }

    pub fn limit(&self) -> Result<u32, AppError> {
        match self.limit {
            None => Ok(DEFAULT_TOP_CHATS),
            Some(limit) if (1..=MAX_TOP_CHATS).contains(&limit) => Ok(limit),
            Some(_) => Err(AppError::InvalidQuery(format!(
                "`limit` must be between 1 and {MAX_TOP_CHATS}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap_or_default()
    }

    #[test]
    fn the_default_range_is_the_last_thirty_days() {
        let range = ReportQuery::default().range(day("2026-05-31"));
        assert_eq!(
            range.ok(),
            Some(DayRange {
                from: day("2026-05-02"),
                to: day("2026-05-31")
            })
        );
    }

    #[test]
    fn inverted_or_overlong_ranges_are_refused() {
        let inverted = ReportQuery {
            from: Some(day("2026-05-02")),
            to: Some(day("2026-05-01")),
            ..Default::default()
        };
        assert!(inverted.range(day("2026-06-01")).is_err());
        let overlong = ReportQuery {
            from: Some(day("2024-01-01")),
            to: Some(day("2026-01-01")),
            ..Default::default()
        };
        assert!(overlong.range(day("2026-06-01")).is_err());
    }

    #[test]
    fn the_top_chats_limit_is_bounded() {
        let query = |limit| ReportQuery {
            limit: Some(limit),
            ..Default::default()
        };
        assert!(query(0).limit().is_err());
        assert!(query(101).limit().is_err());
        assert_eq!(query(5).limit().ok(), Some(5));
        assert_eq!(ReportQuery::default().limit().ok(), Some(10));
    }
}

//! Reports over a seeded, known data set.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc, Weekday};
use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::wait_until;

use crate::support::{TestApp, WAIT, event, metric_value};

const WORKSPACE: i64 = 5;
const OTHER_WORKSPACE: i64 = 6;

struct Seeded {
    from: NaiveDate,
    to: NaiveDate,
    /// (workspace, user, when) of every seeded event.
    activity: Vec<(i64, i64, DateTime<Utc>)>,
}

impl Seeded {
    /// Distinct users per day, of `workspace` or (None) of all.
    fn daily_users(&self, workspace: Option<i64>) -> BTreeMap<NaiveDate, u64> {
        self.users_per(workspace, |day| day)
    }

    /// Distinct users of `workspace` per week, keyed by its Monday.
    fn weekly_users(&self, workspace: i64) -> BTreeMap<NaiveDate, u64> {
        self.users_per(Some(workspace), |day| day.week(Weekday::Mon).first_day())
    }

    fn users_per(
        &self,
        workspace: Option<i64>,
        period: impl Fn(NaiveDate) -> NaiveDate,
    ) -> BTreeMap<NaiveDate, u64> {
        let mut users: BTreeMap<NaiveDate, BTreeSet<i64>> = BTreeMap::new();
        for (ws, user, at) in &self.activity {
            if workspace.is_none_or(|w| w == *ws) {
                users
                    .entry(period(at.date_naive()))
                    .or_default()
                    .insert(*user);
            }
        }
        users
            .into_iter()
            .map(|(day, users)| (day, users.len() as u64))
            .collect()
    }
}

/// Posts a known data set. In WORKSPACE: user 1 active two days ago, yesterday and today; user 2
/// yesterday and today; user 3 today; sessions of 10 s, 90 s and 400 s (a, b, c) ended by
/// `app_exit`, three one-event sessions, and three searches, one without results. In
/// OTHER_WORKSPACE: user 9 with twenty navigation events.
async fn seed(app: &TestApp) -> Seeded {
    let now = Utc::now() - Duration::minutes(10);
    let at = |days: i64, seconds: i64| now - Duration::days(days) + Duration::seconds(seconds);
    let mut posts: Vec<(i64, i64, Vec<Value>)> = vec![
        (
            1,
            WORKSPACE,
            vec![
                event("app_start", "old", at(2, 0)),
                event("app_start", "y1", at(1, 0)),
            ],
        ),
        (2, WORKSPACE, vec![event("app_start", "y2", at(1, 0))]),
    ];
    let searches = [0, 4, 7].map(|results| {
        let mut search = event("search_performed", "c", at(0, -900));
        search["properties"] = json!({ "results": results, "query_length": 5 });
        search
    });
    posts.push((3, WORKSPACE, searches.to_vec()));
    for (session, length, user) in [("a", 10, 1), ("b", 90, 2), ("c", 400, 3)] {
        posts.push((
            user,
            WORKSPACE,
            vec![event("app_start", session, at(0, -1_000))],
        ));
        posts.push((
            user,
            WORKSPACE,
            vec![event("app_exit", session, at(0, length - 1_000))],
        ));
    }
    let navigation: Vec<Value> = (0..20)
        .map(|i| event("navigation", "z", at(0, i)))
        .collect();
    posts.push((9, OTHER_WORKSPACE, navigation));

    let mut activity = Vec::new();
    for (user, workspace, events) in &posts {
        let token = app.token(*user, *workspace);
        let (status, body) = app
            .post("/api/events", &json!({ "events": events }), Some(&token))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        for event in events {
            let when = event["occurred_at"].as_str().and_then(|t| t.parse().ok());
            activity.push((*workspace, *user, when.expect("a timestamp")));
        }
    }
    let total = activity.len() as u64;
    app.wait_for_number("the seed to be stored", "SELECT count() FROM events", total)
        .await;
    Seeded {
        from: at(2, 0).date_naive(),
        to: Utc::now().date_naive(),
        activity,
    }
}

/// An active-users report as period → users.
fn periods(body: &Value) -> BTreeMap<NaiveDate, u64> {
    rows(body)
        .iter()
        .map(|row| {
            let day = row["period"]
                .as_str()
                .and_then(|d| d.parse().ok())
                .expect("a day");
            (day, row["users"].as_u64().expect("a count"))
        })
        .collect()
}

fn rows(body: &Value) -> &Vec<Value> {
    body["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in {body}"))
}

#[tokio::test]
async fn reports_return_the_expected_numbers_for_a_known_data_set() {
    let app = TestApp::ready(&[]).await;
    let seeded = seed(&app).await;
    let token = app.token(1, WORKSPACE);
    let range = format!("from={}&to={}", seeded.from, seeded.to);

    let (status, body) = app
        .get(&format!("/api/reports/active-users?{range}"), Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(periods(&body), seeded.daily_users(Some(WORKSPACE)));

    let (_, body) = app
        .get(
            &format!("/api/reports/active-users?{range}&granularity=week"),
            Some(&token),
        )
        .await;
    assert_eq!(periods(&body), seeded.weekly_users(WORKSPACE));

    let (status, body) = app
        .get(
            &format!("/api/reports/events-by-type?{range}"),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let by_type: BTreeMap<String, (u64, u64)> = rows(&body)
        .iter()
        .map(|row| {
            let name = row["event_type"].as_str().unwrap_or_default().to_owned();
            (
                name,
                (
                    row["events"].as_u64().unwrap_or(0),
                    row["users"].as_u64().unwrap_or(0),
                ),
            )
        })
        .collect();
    let expected: BTreeMap<String, (u64, u64)> = [
        ("app_start".to_owned(), (6, 3)),
        ("app_exit".to_owned(), (3, 3)),
        ("search_performed".to_owned(), (3, 1)),
    ]
    .into();
    assert_eq!(
        by_type, expected,
        "the other workspace's navigation must not show"
    );

    let (status, body) = app
        .get(&format!("/api/reports/sessions?{range}"), Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Sessions a, b, c plus the one-event sessions old, y1, y2 (0 s long).
    assert_eq!(body["sessions"], 6);
    let buckets: Vec<u64> = body["distribution"]
        .as_array()
        .expect("a distribution")
        .iter()
        .filter_map(|b| b["sessions"].as_u64())
        .collect();
    assert_eq!(buckets, vec![4, 1, 1, 0, 0, 0, 0]);
    let average = body["average_seconds"].as_f64().unwrap_or(0.0);
    assert!((average - 500.0 / 6.0).abs() < 0.01, "{body}");

    let (status, body) = app
        .get(&format!("/api/reports/search?{range}"), Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let totals = rows(&body).iter().fold((0, 0), |(s, z), row| {
        (
            s + row["searches"].as_u64().unwrap_or(0),
            z + row["without_results"].as_u64().unwrap_or(0),
        )
    });
    assert_eq!(totals, (3, 1));

    // The other workspace sees only itself.
    let (_, body) = app
        .get(
            &format!("/api/reports/events-by-type?{range}"),
            Some(&app.token(9, OTHER_WORKSPACE)),
        )
        .await;
    assert_eq!(rows(&body).len(), 1);
    assert_eq!(
        (
            rows(&body)[0]["event_type"].as_str(),
            rows(&body)[0]["events"].as_u64()
        ),
        (Some("navigation"), Some(20))
    );

    // Every report was one timed query.
    for report in ["active_users", "events_by_type", "sessions", "search"] {
        let timed = app
            .metric(
                "analytics_query_duration_seconds_count",
                &[("report", report)],
            )
            .await;
        assert!(timed >= 1.0, "{report} was not timed");
        let rows = app
            .metric("analytics_query_result_rows_count", &[("report", report)])
            .await;
        assert_eq!(rows, timed, "{report}");
    }

    // The business gauges count every workspace: users 1, 2, 3 and 9 this week.
    let today = seeded
        .daily_users(None)
        .get(&Utc::now().date_naive())
        .copied()
        .unwrap_or(0);
    // Both are waited for: in the first minutes after midnight (UTC) every seeded event is from
    // an earlier day, and a daily figure of 0 is also what the gauge reads before its first
    // refresh, or after one that ran before the seed was stored.
    wait_until("the daily and weekly active users gauges", WAIT, || async {
        let scrape = app.scrape().await;
        metric_value(&scrape, "analytics_daily_active_users", &[]) == today as f64
            && metric_value(&scrape, "analytics_weekly_active_users", &[]) == 4.0
    })
    .await;

    // Sessions a, b and c ended with app_exit; old, y1, y2 and z stay live until they time out.
    assert_eq!(
        app.metric("analytics_session_duration_seconds_count", &[])
            .await,
        3.0
    );
    assert_eq!(app.metric("analytics_sessions_active", &[]).await, 4.0);
}

#[tokio::test]
async fn reports_need_a_valid_token_and_a_sensible_range() {
    let app = TestApp::ready(&[]).await;
    let (status, body) = app.get("/api/reports/active-users", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    let (status, _) = app.get("/api/reports/messages", Some("forged")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let token = app.token(1, 1);
    let (status, body) = app
        .get(
            "/api/reports/messages?from=2026-05-02&to=2026-05-01",
            Some(&token),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );
    let admin = app.token_with(
        1,
        1,
        fechatter_auth::WorkspaceRole::Admin,
        uuid::Uuid::now_v7(),
    );
    let (status, _) = app
        .get("/api/reports/top-chats?limit=1000", Some(&admin))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .get("/api/reports/search?from=yesterday", Some(&token))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = app.get("/api/reports/sessions", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["sessions"].as_u64(), body["average_seconds"].as_f64()),
        (Some(0), Some(0.0))
    );
}

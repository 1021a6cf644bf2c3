use super::*;
use futures::future::join_all;

const SERVICE: ServiceInfo = ServiceInfo {
    name: "unit_server",
    prefix: "unit",
    version: "0.0.0",
};

fn health(critical_up: bool, optional_up: bool) -> Health {
    let result = |up: bool| {
        if up {
            Ok(())
        } else {
            Err("refused".to_owned())
        }
    };
    Health::builder(SERVICE)
        .check("db", true, move || async move { result(critical_up) })
        .check("bus", false, move || async move { result(optional_up) })
        .check_with_timeout("slow", false, Duration::from_millis(20), || async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<(), String>(())
        })
        .build()
}

#[tokio::test]
async fn a_down_critical_check_makes_the_service_unhealthy() {
    let report = health(false, true).report().await;
    assert_eq!(report.status, OverallStatus::Unhealthy);
    assert_eq!(report.checks["db"].error.as_deref(), Some("unavailable"));
}

#[tokio::test]
async fn a_down_optional_check_only_degrades() {
    let report = health(true, false).report().await;
    assert_eq!(report.status, OverallStatus::Degraded);
}

#[tokio::test]
async fn a_check_that_hangs_is_cut_at_its_timeout_and_measured() {
    let report = health(true, true).report().await;
    let slow = &report.checks["slow"];
    assert_eq!(slow.error.as_deref(), Some("timed out after 20ms"));
    assert!(slow.latency_ms >= 19.0, "{}", slow.latency_ms);
}

#[tokio::test]
async fn readiness_follows_the_lifecycle_and_critical_checks() {
    let up = health(true, false);
    assert_eq!(up.readiness().await.reason, Some("starting"));
    up.mark_serving();
    assert!(
        up.readiness().await.is_ready(),
        "a degraded service is ready"
    );
    up.mark_draining();
    assert_eq!(up.readiness().await.reason, Some("draining"));
    up.mark_serving();
    assert_eq!(up.lifecycle(), Lifecycle::Draining, "draining is final");

    let down = health(false, true);
    down.mark_serving();
    let readiness = down.readiness().await;
    assert_eq!(readiness.failing, vec!["db"]);
}

#[tokio::test]
async fn a_flood_of_health_requests_runs_each_check_once() {
    use std::sync::atomic::AtomicUsize;
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let health = Health::builder(SERVICE)
        .check("db", true, move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                // Long enough for every caller to arrive while the run is in progress.
                tokio::time::sleep(Duration::from_millis(100)).await;
                Ok::<(), String>(())
            }
        })
        .build();
    let reports = join_all((0..200).map(|_| health.report())).await;
    assert!(reports.iter().all(|r| r.status == OverallStatus::Healthy));
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "one run served every caller"
    );
    health.readiness().await;
    assert_eq!(runs.load(Ordering::SeqCst), 1, "readiness reuses it too");
    health.refresh().await;
    assert_eq!(runs.load(Ordering::SeqCst), 2, "the monitor always runs");
}

#[tokio::test]
async fn a_dependencys_own_error_is_logged_not_shown() {
    let health = Health::builder(SERVICE)
        .check("db", true, || async {
            Err::<(), String>(
                "password authentication failed for user \"admin\" at db.internal:5432".to_owned(),
            )
        })
        .check("schema", true, || async {
            Err::<(), CheckFailure>(CheckFailure::public("migrations not applied yet"))
        })
        .build();
    let report = health.report().await;
    assert_eq!(report.checks["db"].error.as_deref(), Some("unavailable"));
    assert_eq!(
        report.checks["schema"].error.as_deref(),
        Some("migrations not applied yet")
    );
    let body = serde_json::to_string(&report).unwrap_or_default();
    assert!(
        !body.contains("admin") && !body.contains("db.internal"),
        "{body}"
    );
}

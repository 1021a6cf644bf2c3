use super::*;

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
            Ok(())
        })
        .build()
}

#[tokio::test]
async fn a_down_critical_check_makes_the_service_unhealthy() {
    let report = health(false, true).report().await;
    assert_eq!(report.status, OverallStatus::Unhealthy);
    assert_eq!(report.checks["db"].error.as_deref(), Some("refused"));
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

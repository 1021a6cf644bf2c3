//! The Grafana dashboards by structure: valid JSON, the provisioned datasource, unique ids, units,
//! resolvable variables, quantiles over buckets and runbook links. (Their queries are evaluated
//! against a real Prometheus in `ops_panel_queries.rs`.)

use std::collections::BTreeSet;

use e2e::ops::dashboards::{Dashboard, Intervals};
use e2e::ops::repo_path;
use e2e::ops::runbook::{RUNBOOK, anchors};
use serde_json::Value;

/// Grafana unit ids the dashboards may use (a typo would silently show raw numbers).
const UNITS: &[&str] = &[
    "s",
    "ms",
    "bytes",
    "percentunit",
    "reqps",
    "ops",
    "short",
    "none",
];

fn dashboards() -> Vec<Dashboard> {
    Dashboard::load_dir(&repo_path("grafana/dashboards")).unwrap_or_else(|err| panic!("{err:#}"))
}

fn provisioned_datasource_uid() -> String {
    let text =
        std::fs::read_to_string(repo_path("grafana/provisioning/datasources/prometheus.yml"))
            .unwrap_or_else(|err| panic!("{err}"));
    let doc: serde_norway::Value =
        serde_norway::from_str(&text).unwrap_or_else(|err| panic!("{err}"));
    let datasource = &doc["datasources"][0];
    assert_eq!(datasource["type"].as_str(), Some("prometheus"));
    assert_eq!(datasource["url"].as_str(), Some("http://prometheus:9090"));
    datasource["uid"]
        .as_str()
        .unwrap_or_else(|| panic!("the datasource has no fixed uid"))
        .to_owned()
}

#[test]
fn there_is_an_overview_a_business_dashboard_and_one_per_service() {
    let files: BTreeSet<String> = dashboards().iter().map(Dashboard::file_name).collect();
    for expected in [
        "overview.json",
        "business.json",
        "fechatter_server.json",
        "notify_server.json",
        "bot_server.json",
        "analytics_server.json",
        "slo.json",
        "infrastructure.json",
    ] {
        assert!(files.contains(expected), "no grafana/dashboards/{expected}");
    }
}

#[test]
fn every_query_of_a_dashboard_with_an_instance_variable_honours_it() {
    for dashboard in dashboards() {
        if !dashboard
            .variables()
            .iter()
            .any(|var| var.name == "instance")
        {
            continue;
        }
        for query in dashboard.queries() {
            assert!(
                query.expr.contains(r#"instance=~"$instance""#),
                "{} {:?} ignores $instance: {}",
                query.dashboard,
                query.panel_title,
                query.expr
            );
        }
    }
}

#[test]
fn cluster_wide_gauges_are_never_added_up_over_instances() {
    // Every analytics_server instance computes these from ClickHouse for the whole cluster.
    let cluster_wide = [
        "analytics_daily_active_users",
        "analytics_weekly_active_users",
        "analytics_daily_messages_sent",
    ];
    for dashboard in dashboards() {
        for query in dashboard.queries() {
            for gauge in cluster_wide {
                assert!(
                    !query.expr.contains(&format!("sum({gauge}")),
                    "{} {:?} adds up {gauge} over instances: {}",
                    query.dashboard,
                    query.panel_title,
                    query.expr
                );
            }
        }
    }
}

#[test]
fn every_consumer_dashboard_shows_its_dead_letters_and_the_overview_the_build_versions() {
    let all = dashboards();
    let find = |file: &str| {
        all.iter()
            .find(|d| d.file_name() == file)
            .unwrap_or_else(|| panic!("no {file}"))
    };
    for (file, series) in [
        ("bot_server.json", "bot_events_dead_lettered_total"),
        (
            "analytics_server.json",
            "analytics_events_dead_lettered_total",
        ),
    ] {
        assert!(
            find(file)
                .queries()
                .iter()
                .any(|q| q.panel_title == "Dead letters" && q.expr.contains(series)),
            "{file}: no Dead letters panel over {series}"
        );
    }
    let versions: Vec<String> = find("overview.json")
        .queries()
        .into_iter()
        .filter(|q| q.expr.contains("_build_info"))
        .map(|q| q.expr)
        .collect();
    for prefix in ["fechatter", "notify", "bot", "analytics"] {
        assert!(
            versions
                .iter()
                .any(|e| e.contains(&format!("{prefix}_build_info")) && e.contains("version")),
            "the overview shows no version of {prefix}: {versions:?}"
        );
    }
}

#[test]
fn the_slo_dashboard_shows_both_budgets_and_every_burn_rate_window() {
    let slo = dashboards()
        .into_iter()
        .find(|d| d.file_name() == "slo.json")
        .unwrap_or_else(|| panic!("no slo.json"));
    let exprs: Vec<String> = slo.queries().into_iter().map(|q| q.expr).collect();
    for window in ["5m", "30m", "1h", "2h", "6h", "1d", "3d"] {
        let recorded = format!("event:notify_event_delivery_late:ratio_rate{window} / 0.001");
        assert!(
            exprs.contains(&recorded),
            "no delivery burn rate over {window}"
        );
    }
    for window in ["1h", "6h", "1d", "3d"] {
        let recorded = format!("service:http_errors:ratio_rate{window} / 0.001");
        assert!(
            exprs.contains(&recorded),
            "no availability burn rate over {window}"
        );
    }
    let budgets = exprs
        .iter()
        .filter(|e| e.contains("[30d]") && e.contains("/ 0.001"))
        .count();
    assert!(
        budgets >= 4,
        "delivery and three availability budgets: {exprs:?}"
    );
}

#[test]
fn dashboards_have_unique_uids_and_titles_and_panels_unique_ids() {
    let mut uids = BTreeSet::new();
    let mut titles = BTreeSet::new();
    for dashboard in dashboards() {
        let name = dashboard.file_name();
        let uid = dashboard.uid().unwrap_or_else(|| panic!("{name}: no uid"));
        assert!(
            uid.len() <= 40,
            "{name}: Grafana uids are at most 40 characters"
        );
        assert!(uids.insert(uid.to_owned()), "{name}: uid {uid} is taken");
        let title = dashboard.json["title"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            titles.insert(title.clone()),
            "{name}: title {title} is taken"
        );
        assert!(
            dashboard.json.get("id").is_none_or(Value::is_null),
            "{name}: a fixed id"
        );

        let mut ids = BTreeSet::new();
        for panel in dashboard.panels() {
            let id = panel["id"]
                .as_i64()
                .unwrap_or_else(|| panic!("{name}: a panel has no id"));
            assert!(ids.insert(id), "{name}: panel id {id} is used twice");
        }
    }
}

#[test]
fn every_panel_and_variable_queries_the_provisioned_datasource() {
    let uid = provisioned_datasource_uid();
    for dashboard in dashboards() {
        let name = dashboard.file_name();
        for panel in dashboard
            .panels()
            .into_iter()
            .filter(|p| p["type"] != "row")
        {
            let title = &panel["title"];
            assert_eq!(
                panel["datasource"]["uid"].as_str(),
                Some(uid.as_str()),
                "{name} {title}"
            );
            let targets = panel["targets"].as_array().cloned().unwrap_or_default();
            assert!(!targets.is_empty(), "{name} {title}: no query");
            for target in targets {
                assert_eq!(
                    target["datasource"]["uid"].as_str(),
                    Some(uid.as_str()),
                    "{name} {title}"
                );
                assert!(
                    target["expr"].as_str().is_some_and(|e| !e.is_empty()),
                    "{name} {title}"
                );
            }
        }
        for var in dashboard.json["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert_eq!(
                var["datasource"]["uid"].as_str(),
                Some(uid.as_str()),
                "{name} ${}",
                var["name"]
            );
        }
    }
}

#[test]
fn every_data_panel_has_a_known_unit() {
    for dashboard in dashboards() {
        let name = dashboard.file_name();
        for panel in dashboard
            .panels()
            .into_iter()
            .filter(|p| p["type"] != "row")
        {
            let unit = panel["fieldConfig"]["defaults"]["unit"].as_str();
            assert!(
                unit.is_some_and(|unit| UNITS.contains(&unit)),
                "{name} {}: unit {unit:?}",
                panel["title"]
            );
        }
    }
}

#[test]
fn panels_fit_the_grid() {
    for dashboard in dashboards() {
        for panel in dashboard.panels() {
            let grid = &panel["gridPos"];
            let (x, w, h) = (grid["x"].as_i64(), grid["w"].as_i64(), grid["h"].as_i64());
            assert!(
                matches!((x, w, h), (Some(x), Some(w), Some(h)) if x >= 0 && w > 0 && h > 0 && x + w <= 24),
                "{} {}: gridPos {grid}",
                dashboard.file_name(),
                panel["title"]
            );
        }
    }
}

#[test]
fn every_query_resolves_its_variables_and_uses_them_only_as_regex_matchers() {
    for dashboard in dashboards() {
        let variables = dashboard.variables();
        for var in &variables {
            assert!(
                var.all_value.is_some(),
                "{} ${}: no allValue",
                dashboard.file_name(),
                var.name
            );
        }
        for query in dashboard.queries() {
            let substituted = dashboard
                .substitute(&query.expr, &Intervals::default())
                .unwrap_or_else(|err| {
                    panic!("{} {:?}: {err:#}", query.dashboard, query.panel_title)
                });
            assert!(!substituted.contains('$'), "{substituted}");
            for var in &variables {
                // "All" and multi-value selections only work with =~.
                for (at, _) in query.expr.match_indices(&format!("\"${}\"", var.name)) {
                    let before = query.expr[..at].trim_end();
                    assert!(
                        before.ends_with("=~"),
                        "{} {:?}: use =~\"${}\"",
                        query.dashboard,
                        query.panel_title,
                        var.name
                    );
                }
            }
        }
    }
}

#[test]
fn quantiles_are_computed_from_histogram_buckets_by_le() {
    for dashboard in dashboards() {
        for query in dashboard.queries() {
            if query.expr.contains("histogram_quantile(") {
                assert!(
                    query.expr.contains("_bucket") && query.expr.contains("by (le"),
                    "{} {:?}: {}",
                    query.dashboard,
                    query.panel_title,
                    query.expr
                );
            }
        }
    }
}

#[test]
fn runbook_links_are_absolute_and_point_at_sections_of_the_runbook() {
    let base =
        xtask::runbook_links::base(&e2e::ops::repo_root()).unwrap_or_else(|err| panic!("{err}"));
    let runbook = std::fs::read_to_string(repo_path(RUNBOOK)).unwrap_or_else(|err| panic!("{err}"));
    let sections = anchors(&runbook);
    let mut linked = 0;
    for dashboard in dashboards() {
        let mut links: Vec<&Value> = dashboard.json["links"]
            .as_array()
            .into_iter()
            .flatten()
            .collect();
        for panel in dashboard.panels() {
            links.extend(panel["links"].as_array().into_iter().flatten());
        }
        for link in links {
            let Some(url) = link["url"].as_str() else {
                continue;
            };
            assert!(
                !url.contains(RUNBOOK) || url.starts_with(&base),
                "{}: {url} is not under the runbook base {base}",
                dashboard.file_name()
            );
            if let Some(rest) = url.strip_prefix(&base) {
                linked += 1;
                if let Some(anchor) = rest.strip_prefix('#') {
                    assert!(
                        sections.contains(anchor),
                        "{}: {url} has no section",
                        dashboard.file_name()
                    );
                }
            }
        }
    }
    assert!(
        linked > 10,
        "the dashboards should link their alerts' runbook sections"
    );
}

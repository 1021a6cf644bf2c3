//! The Prometheus configuration, alert rules and their unit tests agree with `docs/design/alerts.md`,
//! `docs/design/topology.md` and the runbook. (promtool itself runs in `scripts/check-ops`.)

use std::collections::{BTreeMap, BTreeSet};

use e2e::ops::catalogue::EXPORTER_SERIES;
use e2e::ops::repo_path;
use e2e::ops::rules::{TestFile, load_rules, yaml_files};
use e2e::ops::runbook::{RUNBOOK, anchors, section};
use e2e::ops::topology::{ALERTMANAGER_PORT, EXPORTER_TARGETS, SERVICES};
use regex::Regex;
use serde_norway::Value;

/// An alert: its name, the `for` of each of its rules, its severities.
type AlertSpec = (
    &'static str,
    &'static [Option<&'static str>],
    &'static [&'static str],
);

/// The alerts of `docs/design/alerts.md` and issue 17.
const ALERTS: &[AlertSpec] = &[
    ("ServiceDown", &[Some("1m")], &["critical"]),
    ("HighErrorRate", &[Some("2m")], &["warning"]),
    ("HighLatencyP95", &[Some("5m")], &["warning"]),
    // fechatter_server pages after 1m; the bot's pool opens a ticket after 5m.
    (
        "DatabaseConnectionPoolExhausted",
        &[Some("1m"), Some("5m")],
        &["critical", "warning"],
    ),
    ("NATSSubscriptionDown", &[Some("30s")], &["critical"]),
    ("OutboxBacklog", &[Some("2m")], &["critical"]),
    ("ConsumerLag", &[Some("5m")], &["warning"]),
    ("ClickHouseDown", &[Some("1m")], &["critical"]),
    ("ServiceNotReady", &[Some("2m")], &["warning"]),
    ("HighMemoryUsage", &[Some("5m")], &["warning"]),
    ("ErrorBudgetBurn", &[None], &["critical", "warning"]),
    ("DeliveryBudgetBurn", &[None], &["critical", "warning"]),
    ("NATSDown", &[Some("1m")], &["critical"]),
    ("EventsDeadLettered", &[None], &["warning"]),
    ("BotIndexFailures", &[Some("10m")], &["warning"]),
    ("BotEmbeddingErrors", &[Some("10m")], &["warning"]),
    ("BotAssistantFailures", &[Some("10m")], &["warning"]),
    ("BotDatabaseErrors", &[Some("5m")], &["warning"]),
    ("AnalyticsEventsRejected", &[Some("10m")], &["warning"]),
    ("ProbeFailing", &[Some("3m")], &["critical"]),
    ("ProbeSlow", &[Some("10m")], &["warning"]),
    ("PostgresConnectionsNearLimit", &[Some("5m")], &["warning"]),
    ("PostgresWALGrowth", &[Some("30m")], &["warning"]),
    ("PostgresDiskGrowth", &[Some("1h")], &["warning"]),
    ("JetStreamStorageNearLimit", &[Some("10m")], &["warning"]),
    ("NATSSlowConsumers", &[None], &["warning"]),
];

/// The four burn-rate tiers of the SRE workbook: (window, short window, burn rate, severity).
const BURN_TIERS: &[(&str, &str, &str, &str)] = &[
    ("1h", "5m", "14.4 * ", "critical"),
    ("6h", "30m", "6 * ", "critical"),
    ("1d", "2h", "3 * ", "warning"),
    ("3d", "6h", "", "warning"),
];

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo_path(relative)).unwrap_or_else(|err| panic!("{relative}: {err}"))
}

#[test]
fn the_alert_rules_are_those_of_alerts_md_with_their_for_and_severity() {
    let rules = load_rules(&repo_path("prometheus/rules")).unwrap_or_else(|err| panic!("{err:#}"));
    let mut seen: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for rule in rules.iter().filter(|rule| rule.alert.is_some()) {
        let name = rule.alert.as_deref().unwrap_or_default();
        let Some((_, fors, severities)) = ALERTS.iter().find(|(alert, ..)| *alert == name) else {
            panic!("{name} is not an alert of docs/design/alerts.md: add it there first");
        };
        assert!(
            fors.contains(&rule.for_.as_deref()),
            "{name}: for {:?}",
            rule.for_
        );
        let severity = rule.labels.get("severity").cloned().unwrap_or_default();
        assert!(
            severities.contains(&severity.as_str()),
            "{name}: severity {severity:?}"
        );
        seen.entry(name).or_default().insert(severity);
    }
    for (name, _, severities) in ALERTS {
        let found = seen.get(name).cloned().unwrap_or_default();
        let expected: BTreeSet<String> = severities.iter().map(|s| s.to_string()).collect();
        assert_eq!(found, expected, "{name}: missing or incomplete");
    }
}

#[test]
fn every_alert_explains_itself_and_links_to_its_runbook_section() {
    let base =
        xtask::runbook_links::base(&e2e::ops::repo_root()).unwrap_or_else(|err| panic!("{err}"));
    assert!(
        base.starts_with("https://") || base.starts_with("http://"),
        "{base}"
    );
    let runbook = read(RUNBOOK);
    let sections = anchors(&runbook);
    let rules = load_rules(&repo_path("prometheus/rules")).unwrap_or_else(|err| panic!("{err:#}"));
    for rule in rules.iter().filter(|rule| rule.alert.is_some()) {
        let name = rule.alert.as_deref().unwrap_or_default();
        for key in ["summary", "description", "runbook_url"] {
            assert!(
                rule.annotations
                    .get(key)
                    .is_some_and(|v| !v.trim().is_empty()),
                "{name}: no {key}"
            );
        }
        let url = &rule.annotations["runbook_url"];
        let anchor = url
            .strip_prefix(&format!("{base}#"))
            .unwrap_or_else(|| panic!("{name}: runbook_url {url} is not {base}#section"));
        assert_eq!(anchor, name.to_lowercase(), "{name}: its own section");
        assert!(
            sections.contains(anchor),
            "{name}: no section #{anchor} in {RUNBOOK}"
        );
    }
}

#[test]
fn both_slos_alert_on_the_four_burn_rate_tiers_of_the_sre_workbook() {
    let rules = load_rules(&repo_path("prometheus/rules")).unwrap_or_else(|err| panic!("{err:#}"));
    for (alert, ratio) in [
        ("ErrorBudgetBurn", "service:http_errors:ratio_rate"),
        (
            "DeliveryBudgetBurn",
            "event:notify_event_delivery_late:ratio_rate",
        ),
    ] {
        let tiers: Vec<&e2e::ops::rules::Rule> = rules
            .iter()
            .filter(|rule| rule.alert.as_deref() == Some(alert))
            .collect();
        assert_eq!(tiers.len(), BURN_TIERS.len(), "{alert}");
        for (window, short, rate, severity) in BURN_TIERS {
            let expected =
                format!("{ratio}{window} > ({rate}0.001) and {ratio}{short} > ({rate}0.001)");
            let rule = tiers
                .iter()
                .find(|rule| rule.labels.get("window").map(String::as_str) == Some(*window))
                .unwrap_or_else(|| panic!("{alert}: no {window} tier"));
            assert_eq!(rule.expr, expected, "{alert} {window}");
            assert_eq!(rule.labels["severity"], *severity, "{alert} {window}");
        }
    }
}

#[test]
fn every_runbook_section_says_what_the_alert_means_how_to_confirm_and_how_to_fix() {
    let runbook = read(RUNBOOK);
    for (name, ..) in ALERTS {
        let text = section(&runbook, name).unwrap_or_else(|| panic!("no ## {name} in {RUNBOOK}"));
        for part in ["**Meaning.**", "**Confirm.**", "**Fix.**"] {
            assert!(text.contains(part), "{RUNBOOK} ## {name}: no {part}");
        }
    }
    let operations = section(&runbook, "Start, stop and scale").unwrap_or_default();
    for needle in [
        "docker compose up",
        "docker compose stop",
        "./scripts/up",
        "### Scale",
    ] {
        assert!(
            operations.contains(needle),
            "{RUNBOOK}: nothing on {needle}"
        );
    }
}

#[test]
fn every_alert_has_a_unit_test_that_fires_it_and_one_where_it_stays_silent() {
    let mut firing: BTreeSet<String> = BTreeSet::new();
    let mut silent: BTreeSet<String> = BTreeSet::new();
    let tests_dir = repo_path("prometheus/tests");
    for path in yaml_files(&tests_dir).unwrap_or_else(|err| panic!("{err:#}")) {
        let file = TestFile::load(&path).unwrap_or_else(|err| panic!("{err:#}"));
        for rule_file in &file.rule_files {
            assert!(
                tests_dir.join(rule_file).is_file(),
                "{}: rule file {rule_file} does not exist",
                path.display()
            );
        }
        for test in file.alert_tests() {
            if test.exp_alerts.is_empty() {
                silent.insert(test.alertname.clone());
            } else {
                firing.insert(test.alertname.clone());
            }
        }
    }
    for (name, ..) in ALERTS {
        assert!(firing.contains(*name), "no promtool test fires {name}");
        assert!(
            silent.contains(*name),
            "no promtool test expects {name} silent"
        );
    }
}

fn prometheus_config() -> Value {
    serde_norway::from_str(&read("prometheus/prometheus.yml")).unwrap_or_else(|err| panic!("{err}"))
}

fn jobs(config: &Value) -> BTreeMap<String, Vec<String>> {
    config["scrape_configs"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|job| {
            let name = job["job_name"].as_str().unwrap_or_default().to_owned();
            let targets = job["static_configs"]
                .as_sequence()
                .into_iter()
                .flatten()
                .flat_map(|c| c["targets"].as_sequence().cloned().unwrap_or_default())
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect();
            (name, targets)
        })
        .collect()
}

#[test]
fn prometheus_scrapes_the_four_services_itself_and_the_exporters_and_alerts_alertmanager() {
    let config = prometheus_config();
    let mut expected: BTreeMap<String, Vec<String>> = SERVICES
        .iter()
        .map(|s| {
            (
                s.name.to_owned(),
                vec![format!("{}:{}", s.name, s.metrics_port)],
            )
        })
        .collect();
    expected.insert("prometheus".into(), vec!["prometheus:9090".into()]);
    for (job, target) in EXPORTER_TARGETS {
        expected.insert((*job).into(), vec![(*target).into()]);
    }
    assert_eq!(jobs(&config), expected);
    // Every exporter whose series the catalogue accepts is scraped.
    for (job, _) in EXPORTER_SERIES {
        assert!(expected.contains_key(*job), "no scrape job {job}");
    }
    let alertmanagers: Vec<String> = config["alerting"]["alertmanagers"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|am| {
            am["static_configs"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .flat_map(|c| c["targets"].as_sequence().cloned().unwrap_or_default())
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect();
    assert_eq!(alertmanagers, [format!("alertmanager:{ALERTMANAGER_PORT}")]);
}

#[test]
fn rule_files_are_relative_to_the_config_and_match_the_rules() {
    let config = prometheus_config();
    let patterns: Vec<&str> = config["rule_files"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(patterns, ["rules/*.yml"]);
    let rules = yaml_files(&repo_path("prometheus/rules")).unwrap_or_else(|err| panic!("{err:#}"));
    let names: Vec<String> = rules
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(names, ["alerts.yml", "recording.yml"]);
}

/// The names of the checks a service registers as critical: `.check("name", true, …)` in its sources.
fn critical_checks(service_dir: &std::path::Path) -> BTreeSet<String> {
    let registration = Regex::new(r#"\.check\(\s*"([a-z0-9_]+)"\s*,\s*true\b"#)
        .unwrap_or_else(|err| panic!("{err}"));
    let mut found = BTreeSet::new();
    let mut dirs = vec![service_dir.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in
            std::fs::read_dir(&dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        {
            let path = entry.unwrap_or_else(|err| panic!("{err}")).path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                found.extend(registration.captures_iter(&text).map(|c| c[1].to_owned()));
            }
        }
    }
    found
}

#[test]
fn service_not_ready_watches_exactly_the_critical_checks_of_each_service() {
    let matcher = Regex::new(r#"check\s*=~?\s*"([^"]+)""#).unwrap_or_else(|err| panic!("{err}"));
    let rules = load_rules(&repo_path("prometheus/rules")).unwrap_or_else(|err| panic!("{err:#}"));
    for service in SERVICES {
        let critical = critical_checks(&repo_path(service.name));
        assert!(
            !critical.is_empty(),
            "{}: no critical check found",
            service.name
        );
        let rule = rules
            .iter()
            .find(|rule| {
                rule.alert.as_deref() == Some("ServiceNotReady")
                    && rule.labels.get("service").map(String::as_str) == Some(service.name)
            })
            .unwrap_or_else(|| panic!("no ServiceNotReady rule for {}", service.name));
        assert!(
            rule.expr
                .starts_with(&format!("{}_health_check_status{{", service.metric_prefix)),
            "{}: {}",
            service.name,
            rule.expr
        );
        let watched: BTreeSet<String> = matcher
            .captures(&rule.expr)
            .map(|c| c[1].split('|').map(str::to_owned).collect())
            .unwrap_or_default();
        assert_eq!(watched, critical, "{}: {}", service.name, rule.expr);
    }
}

#[test]
fn the_overview_shows_exactly_the_critical_checks_of_each_service() {
    let overview =
        e2e::ops::dashboards::Dashboard::load(&repo_path("grafana/dashboards/overview.json"))
            .unwrap_or_else(|err| panic!("{err:#}"));
    let matcher = Regex::new(r#"check\s*=~?\s*"([^"]+)""#).unwrap_or_else(|err| panic!("{err}"));
    let queries: Vec<_> = overview
        .queries()
        .into_iter()
        .filter(|q| q.panel_title == "Critical health checks")
        .collect();
    for service in SERVICES {
        let query = queries
            .iter()
            .find(|q| {
                q.expr
                    .contains(&format!("{}_health_check_status{{", service.metric_prefix))
            })
            .unwrap_or_else(|| panic!("no critical checks of {} on the overview", service.name));
        let shown: BTreeSet<String> = matcher
            .captures(&query.expr)
            .map(|c| c[1].split('|').map(str::to_owned).collect())
            .unwrap_or_default();
        assert_eq!(
            shown,
            critical_checks(&repo_path(service.name)),
            "{}",
            query.expr
        );
    }
}

#[test]
fn alertmanager_pages_criticals_tickets_warnings_groups_by_service_and_inhibits_root_causes() {
    let config: Value = serde_norway::from_str(&read("alertmanager/alertmanager.yml"))
        .unwrap_or_else(|err| panic!("{err}"));
    let route = &config["route"];
    assert_eq!(route["group_by"].as_sequence().map(Vec::len), Some(1));
    assert_eq!(route["group_by"][0], "service");
    let receiver_of = |severity: &str| -> String {
        route["routes"]
            .as_sequence()
            .into_iter()
            .flatten()
            .find(|r| {
                r["matchers"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .any(|m| m.as_str() == Some(&format!("severity=\"{severity}\"")))
            })
            .and_then(|r| r["receiver"].as_str())
            .unwrap_or_else(|| panic!("no route for severity {severity}"))
            .to_owned()
    };
    assert_eq!(receiver_of("critical"), "page");
    assert_eq!(receiver_of("warning"), "ticket");
    for receiver in config["receivers"].as_sequence().into_iter().flatten() {
        let hooks = receiver["webhook_configs"]
            .as_sequence()
            .cloned()
            .unwrap_or_default();
        assert!(!hooks.is_empty(), "{receiver:?}: a webhook by default");
        assert!(
            hooks.iter().all(|h| h["send_resolved"] == true),
            "{receiver:?}"
        );
    }
    // Every alert an inhibition names exists, and the root causes of the issue are there.
    let alerts: BTreeSet<String> = load_rules(&repo_path("prometheus/rules"))
        .unwrap_or_else(|err| panic!("{err:#}"))
        .into_iter()
        .filter_map(|rule| rule.alert)
        .collect();
    let name = Regex::new(r#"alertname=~?"([^"]+)""#).unwrap_or_else(|err| panic!("{err}"));
    let mut sources = BTreeSet::new();
    for rule in config["inhibit_rules"].as_sequence().into_iter().flatten() {
        for (side, matchers) in [
            ("source", &rule["source_matchers"]),
            ("target", &rule["target_matchers"]),
        ] {
            for matcher in matchers
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                for capture in name.captures_iter(matcher) {
                    for alert in capture[1].split('|') {
                        assert!(
                            alerts.contains(alert),
                            "inhibition names {alert}, no such alert"
                        );
                        if side == "source" {
                            sources.insert(alert.to_owned());
                        }
                    }
                }
            }
        }
    }
    for root in ["ServiceDown", "NATSDown"] {
        assert!(sources.contains(root), "{root} silences nothing");
    }
}

//! The metric catalogue as a whole: the naming convention holds everywhere and the rendered
//! documentation is current; so is the API's rendering by example (`docs/api.md`).

use std::path::PathBuf;

#[test]
fn every_declared_metric_follows_the_naming_convention() {
    let problems = xtask::all_violations();
    assert!(problems.is_empty(), "violations:\n{}", problems.join("\n"));
}

#[test]
fn no_series_is_declared_by_two_services() {
    let mut names = xtask::declared_names();
    let total = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), total);
}

#[test]
fn docs_metrics_md_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(xtask::METRICS_DOC);
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == xtask::render_metrics_doc(),
        "{} is stale: run `cargo run -p xtask -- metrics-doc`",
        path.display()
    );
}

#[test]
fn docs_api_md_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(xtask::API_DOC);
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == xtask::render_api_doc(),
        "{} is stale: run `cargo run -p xtask -- api-doc`",
        path.display()
    );
}

#[test]
fn every_runbook_link_points_at_the_configured_base() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let stale = xtask::runbook_links::stale(&root).unwrap_or_else(|err| panic!("{err}"));
    assert!(
        stale.is_empty(),
        "stale runbook links in {stale:?}: run `cargo run -p xtask -- runbook-links`"
    );
}

#[test]
fn histograms_that_can_include_an_llm_answer_or_an_outage_reach_two_minutes() {
    let long = [
        "bot_nats_event_processing_duration_seconds",
        "bot_agent_response_duration_seconds",
        "analytics_event_processing_duration_seconds",
        "notify_event_delivery_lag_seconds",
        "bot_probe_duration_seconds",
    ];
    for (_, defs) in xtask::catalogues() {
        for def in defs.iter().filter(|def| long.contains(&def.name)) {
            let top = def
                .buckets
                .and_then(|buckets| buckets.last().copied())
                .unwrap_or_default();
            assert!(top >= 120.0, "{}: the top bucket is {top} s", def.name);
        }
    }
    let delivery = xtask::catalogues()
        .into_iter()
        .flat_map(|(_, defs)| defs)
        .find(|def| def.name == "notify_event_delivery_lag_seconds")
        .and_then(|def| def.buckets)
        .unwrap_or_default();
    assert!(
        delivery.contains(&1.0),
        "the delivery SLO counts the le=\"1\" bucket"
    );
}

#[test]
fn every_variable_a_service_reads_has_a_note_and_every_note_a_variable() {
    let problems = xtask::env_doc::problems();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_environment_tables_of_docs_development_md_are_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(xtask::env_doc::DEVELOPMENT_DOC);
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    let rendered = xtask::env_doc::render_development_doc(&current)
        .unwrap_or_else(|| panic!("{} has no environment-table markers", path.display()));
    assert!(
        current == rendered,
        "{} is stale: run `cargo run -p xtask -- env-doc`",
        path.display()
    );
}

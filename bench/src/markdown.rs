//! The generated part of `docs/benchmarks.md`: a summary of every target and a table per scenario,
//! rebuilt from the results file (`docs/benchmarks.json`) between two markers.

use std::fmt::Write;

use crate::report::{ScenarioResult, fmt_num};
use crate::scenarios;

pub const BEGIN: &str = "<!-- BEGIN GENERATED RESULTS (bench run rewrites this part) -->";
pub const END: &str = "<!-- END GENERATED RESULTS -->";

/// Replaces `new`'s scenario in `store` (or adds it), keeping the scenario order of `bench run all`.
pub fn merge(store: &mut Vec<ScenarioResult>, new: ScenarioResult) {
    store.retain(|old| old.scenario != new.scenario);
    store.push(new);
    let rank = |name: &str| {
        scenarios::ALL
            .iter()
            .position(|s| *s == name)
            .unwrap_or(usize::MAX)
    };
    store.sort_by_key(|result| rank(&result.scenario));
}

fn ms(value: f64) -> String {
    fmt_num(value)
}

fn opt(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), fmt_num)
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

fn summary(out: &mut String, results: &[ScenarioResult]) {
    out.push_str("| scenario | target | measured | verdict |\n|---|---|---|---|\n");
    for result in results {
        for check in &result.checks {
            let _ = writeln!(
                out,
                "| [{}](#{}) | {} | {} | {} |",
                result.title,
                result.scenario,
                check.target,
                check.measured,
                verdict(check.met)
            );
        }
    }
}

fn scenario(out: &mut String, result: &ScenarioResult) {
    let run = &result.run;
    let _ = writeln!(
        out,
        "\n### {}\n<a id=\"{}\"></a>\n",
        result.title, result.scenario
    );
    if !run.date.is_empty() {
        let _ = writeln!(
            out,
            "Run {} on commit `{}`, {} binaries, {}; load average {:.2} before, {:.2} after. \
             Pinning: {}. Tools: {}.\n",
            run.date,
            run.commit,
            run.profile,
            run.cpu,
            run.load_before,
            run.load_after,
            run.pinning,
            run.tools
        );
    }
    if !result.rows.is_empty() {
        out.push_str(
            "| system | s | ops | throughput | p50 ms | p99 ms | max ms | CPU µs/op | infra CPU µs/op | RSS MiB | errors | other |\n\
             |---|---|---|---|---|---|---|---|---|---|---|---|\n",
        );
        for row in &result.rows {
            let latency = row.latency;
            let infra = match (&row.infra, row.infra_cpu_us_per_op) {
                (Some(name), Some(cpu)) => format!("{} ({name})", fmt_num(cpu)),
                _ => "—".to_owned(),
            };
            let other = row
                .extra
                .iter()
                .map(|(name, value)| format!("{name}: {value}"))
                .collect::<Vec<_>>()
                .join("; ");
            let _ = writeln!(
                out,
                "| {}{} | {:.1} | {} | {} {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                row.system,
                if row.peer { " *(peer)*" } else { "" },
                row.seconds,
                fmt_num(row.ops as f64),
                fmt_num(row.throughput),
                row.unit,
                latency.map_or_else(|| "—".to_owned(), |l| ms(l.p50_ms)),
                latency.map_or_else(|| "—".to_owned(), |l| ms(l.p99_ms)),
                latency.map_or_else(|| "—".to_owned(), |l| ms(l.max_ms)),
                opt(row.cpu_us_per_op),
                infra,
                opt(row.rss_mib),
                row.errors,
                other
            );
        }
    }
    if !result.notes.is_empty() {
        out.push('\n');
        for note in &result.notes {
            let _ = writeln!(out, "- {note}");
        }
    }
}

pub fn render(results: &[ScenarioResult]) -> String {
    let mut out = String::new();
    out.push_str(BEGIN);
    out.push_str("\n\n## Results\n\n");
    summary(&mut out, results);
    for result in results {
        scenario(&mut out, result);
    }
    out.push('\n');
    out.push_str(END);
    out
}

/// `doc` with its generated part replaced (or appended when the markers are missing).
pub fn splice(doc: &str, generated: &str) -> String {
    match (doc.find(BEGIN), doc.find(END)) {
        (Some(begin), Some(end)) if end > begin => {
            format!("{}{generated}{}", &doc[..begin], &doc[end + END.len()..])
        }
        _ => format!("{}\n{generated}\n", doc.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Check, Row};

    fn result(scenario: &str, met: Option<bool>) -> ScenarioResult {
        ScenarioResult {
            scenario: scenario.to_owned(),
            title: scenario.to_owned(),
            run: Default::default(),
            rows: vec![Row {
                system: "svc".to_owned(),
                throughput: 1234.0,
                unit: "req/s".to_owned(),
                ..Row::default()
            }],
            checks: vec![Check {
                target: "t".to_owned(),
                measured: "m".to_owned(),
                met,
            }],
            notes: vec!["a note".to_owned()],
        }
    }

    #[test]
    fn a_rerun_scenario_replaces_its_old_result_and_keeps_the_run_order() {
        let mut store = vec![result("metrics", Some(true)), result("send", Some(false))];
        merge(&mut store, result("send", Some(true)));
        let names: Vec<_> = store.iter().map(|r| r.scenario.as_str()).collect();
        assert_eq!(names, ["send", "metrics"]);
        assert_eq!(store[0].checks[0].met, Some(true));
    }

    #[test]
    fn the_generated_part_replaces_only_what_is_between_the_markers() {
        let doc = format!("# Title\nintro\n{BEGIN}\nold\n{END}\n## After\n");
        let rendered = render(&[result("send", Some(false)), result("bot-index", None)]);
        let spliced = splice(&doc, &rendered);
        assert!(spliced.starts_with("# Title\nintro\n"));
        assert!(spliced.ends_with("\n## After\n"));
        assert!(!spliced.contains("old"));
        assert!(spliced.contains("**missed**") && spliced.contains("not measured"));
        assert!(spliced.contains("1\u{202f}234 req/s"));
    }
}

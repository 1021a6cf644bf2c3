//! The metric and label names a PromQL expression uses, found by a small tokenizer rather than a
//! full parser: enough for the expressions of our rules and dashboards, and strict where it matters
//! (an unknown construct is an error, never a silently skipped name).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use anyhow::{Context, bail};
use regex::Regex;

/// A label matcher's name: `route=~`, `status!=`.
static MATCHER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)")
        .unwrap_or_else(|err| panic!("static regex: {err}"))
});

/// Keywords that are followed by a parenthesised list of label names, not of expressions.
const LABEL_LIST_KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// Keywords and literals that look like identifiers but never name a series.
const OTHER_KEYWORDS: &[&str] = &[
    "and", "or", "unless", "bool", "offset", "atan2", "inf", "nan", "Inf", "NaN",
];

/// What an expression refers to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct References {
    /// Series names (recording-rule names such as `service:http_requests:rate5m` included).
    pub metrics: BTreeSet<String>,
    /// Label names in matchers and in `by`, `without`, `on`, `ignoring`, `group_left/right` lists.
    pub labels: BTreeSet<String>,
}

/// Every metric name selected in `expr`, without function names, keywords, label names or Grafana
/// variables.
pub fn metric_names(expr: &str) -> anyhow::Result<BTreeSet<String>> {
    Ok(references(expr)?.metrics)
}

/// The metric and label names `expr` uses.
pub fn references(expr: &str) -> anyhow::Result<References> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut labels = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '\'' || c == '`' {
            i = skip_string(&chars, i)?;
        } else if c == '#' {
            // A comment runs to the end of the line.
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '{' {
            let end = skip_group(&chars, i, '{', '}')?;
            let matchers: String = chars[i..end].iter().collect();
            if matchers.contains("__name__") {
                bail!(
                    "selects a metric by `__name__` ({matchers}): name it instead so it can be checked"
                );
            }
            let outside_strings = without_strings(&chars[i..end])?;
            labels.extend(
                MATCHER
                    .captures_iter(&outside_strings)
                    .map(|capture| capture[1].to_owned()),
            );
            i = end;
        } else if c == '[' {
            i = skip_group(&chars, i, '[', ']')?;
        } else if c == '$' {
            i = skip_variable(&chars, i);
        } else if c.is_ascii_digit() || (c == '.' && next_is_digit(&chars, i)) {
            i = skip_number(&chars, i);
        } else if is_ident_start(c) {
            let start = i;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            let ident: String = chars[start..i].iter().collect();
            let next = next_non_space(&chars, i);
            if LABEL_LIST_KEYWORDS.contains(&ident.as_str()) {
                if let Some(open) = next.filter(|j| chars[*j] == '(') {
                    i = skip_group(&chars, open, '(', ')')?;
                    let list: String = chars[open + 1..i - 1].iter().collect();
                    labels.extend(
                        list.split(',')
                            .map(str::trim)
                            .filter(|label| !label.is_empty())
                            .map(str::to_owned),
                    );
                }
            } else if OTHER_KEYWORDS.contains(&ident.as_str())
                || next.map(|j| chars[j]) == Some('(')
                || next.is_some_and(|j| starts_with_word(&chars, j, "by"))
                || next.is_some_and(|j| starts_with_word(&chars, j, "without"))
            {
                // A keyword, a function being called, or an aggregation (`sum by (le) (…)`).
            } else {
                names.insert(ident);
            }
        } else if "()+-*/%^=!<>,@:".contains(c) {
            i += 1;
        } else {
            bail!("unexpected character {c:?} at {i} in {expr:?}");
        }
    }
    Ok(References {
        metrics: names,
        labels,
    })
}

/// `chars` with the content of every quoted string removed.
fn without_strings(chars: &[char]) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if matches!(chars[i], '"' | '\'' | '`') {
            i = skip_string(chars, i)?;
            out.push_str("\"\"");
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

fn next_is_digit(chars: &[char], i: usize) -> bool {
    chars.get(i + 1).is_some_and(char::is_ascii_digit)
}

fn starts_with_word(chars: &[char], at: usize, word: &str) -> bool {
    let end = at + word.chars().count();
    chars
        .get(at..end)
        .is_some_and(|w| w.iter().copied().eq(word.chars()))
        && !chars.get(end).copied().is_some_and(is_ident_char)
}

fn next_non_space(chars: &[char], mut i: usize) -> Option<usize> {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    (i < chars.len()).then_some(i)
}

/// Past a quoted string, honouring backslash escapes (none in raw backtick strings).
fn skip_string(chars: &[char], start: usize) -> anyhow::Result<usize> {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if quote != '`' => i += 2,
            c if c == quote => return Ok(i + 1),
            _ => i += 1,
        }
    }
    bail!("unterminated string starting at {start}")
}

/// Past the group opened at `start`, skipping strings inside it and nested groups of the same kind.
fn skip_group(chars: &[char], start: usize, open: char, close: char) -> anyhow::Result<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i = skip_string(chars, i)?;
            continue;
        }
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Ok(i + 1);
            }
        }
        i += 1;
    }
    let text: String = chars[start..].iter().collect();
    Err(anyhow::anyhow!("unclosed {open:?}")).with_context(|| text)
}

/// Past a Grafana variable: `$name`, `$__rate_interval` or `${name:format}`.
fn skip_variable(chars: &[char], start: usize) -> usize {
    let mut i = start + 1;
    if chars.get(i) == Some(&'{') {
        while i < chars.len() && chars[i] != '}' {
            i += 1;
        }
        return i + 1;
    }
    while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
        i += 1;
    }
    i
}

/// Past a number or a duration (`0.95`, `1e9`, `1.5e-3`, `5m`, `1h30m`).
fn skip_number(chars: &[char], start: usize) -> usize {
    let mut i = start;
    while i < chars.len() {
        let c = chars[i];
        let exponent_sign = (c == '+' || c == '-')
            && i > start
            && matches!(chars[i - 1], 'e' | 'E')
            && chars[start..i - 1]
                .iter()
                .all(|d| d.is_ascii_digit() || *d == '.');
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' || exponent_sign {
            i += 1;
        } else {
            break;
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(expr: &str) -> Vec<String> {
        metric_names(expr)
            .unwrap_or_else(|err| panic!("{expr}: {err:#}"))
            .into_iter()
            .collect()
    }

    #[test]
    fn a_quantile_over_buckets_names_the_bucket_series_only() {
        assert_eq!(
            names(
                r#"histogram_quantile(0.95, sum by (le, route) (rate(fechatter_http_request_duration_seconds_bucket{instance=~"$instance", route!="/x{y}"}[$__rate_interval])))"#
            ),
            ["fechatter_http_request_duration_seconds_bucket"]
        );
    }

    #[test]
    fn recording_rule_names_keywords_and_vector_matching_are_told_apart() {
        assert_eq!(
            names(
                "service:http_errors:ratio_rate5m > 0.05 and on (service) service:http_requests:rate5m >= 0.1"
            ),
            [
                "service:http_errors:ratio_rate5m",
                "service:http_requests:rate5m"
            ]
        );
        assert_eq!(
            names(
                "a_total / ignoring(kind) group_left(team) b_total unless bool c offset 5m or vector(0)"
            ),
            ["a_total", "b_total", "c"]
        );
    }

    #[test]
    fn numbers_durations_and_strings_are_not_names() {
        assert_eq!(
            names(
                r#"label_replace(process_resident_memory_bytes > 1e9 * 1.5e-3, "dst", "$1", "job", "(.*)") + Inf"#
            ),
            ["process_resident_memory_bytes"]
        );
        assert_eq!(
            names("sum(rate(x_total[1h30m:1m])) by (job) * 60"),
            ["x_total"]
        );
    }

    #[test]
    fn a_bare_selector_and_an_aggregation_with_a_trailing_by_clause() {
        assert_eq!(names("up"), ["up"]);
        assert_eq!(
            names(r#"count(ALERTS{alertstate="firing"}) by (alertname) or vector(0)"#),
            ["ALERTS"]
        );
    }

    #[test]
    fn label_names_come_from_matchers_and_grouping_lists_not_from_values() {
        let refs = references(
            r#"sum by (le, route) (rate(x_bucket{instance=~"$instance", status!="a=b"}[1m])) / on (route) group_left(team) y"#,
        )
        .unwrap_or_else(|err| panic!("{err:#}"));
        assert_eq!(
            refs.labels.into_iter().collect::<Vec<_>>(),
            ["instance", "le", "route", "status", "team"]
        );
    }

    #[test]
    fn selecting_by_name_label_is_refused() {
        assert!(metric_names(r#"{__name__=~"notify_.*"} == 0"#).is_err());
    }
}

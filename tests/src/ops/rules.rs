//! Prometheus rule files and promtool unit-test files as data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct RuleFile {
    pub groups: Vec<RuleGroup>,
}

#[derive(Debug, Deserialize)]
pub struct RuleGroup {
    pub name: String,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Rule {
    pub record: Option<String>,
    pub alert: Option<String>,
    pub expr: String,
    #[serde(rename = "for")]
    pub for_: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl RuleFile {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_norway::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.groups.iter().flat_map(|group| group.rules.iter())
    }
}

/// Every rule of every `*.yml` file in `dir`.
pub fn load_rules(dir: &Path) -> anyhow::Result<Vec<Rule>> {
    let mut rules = Vec::new();
    for path in yaml_files(dir)? {
        rules.extend(RuleFile::load(&path)?.rules().cloned());
    }
    Ok(rules)
}

/// A promtool unit-test file: only the parts the coverage checks need.
#[derive(Debug, Deserialize)]
pub struct TestFile {
    #[serde(default)]
    pub rule_files: Vec<String>,
    pub tests: Vec<TestGroup>,
}

#[derive(Debug, Deserialize)]
pub struct TestGroup {
    #[serde(default)]
    pub alert_rule_test: Vec<AlertTest>,
}

#[derive(Debug, Deserialize)]
pub struct AlertTest {
    pub alertname: String,
    pub eval_time: String,
    #[serde(default)]
    pub exp_alerts: Vec<serde_norway::Value>,
}

impl TestFile {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_norway::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    pub fn alert_tests(&self) -> impl Iterator<Item = &AlertTest> {
        self.tests
            .iter()
            .flat_map(|group| group.alert_rule_test.iter())
    }
}

pub fn yaml_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path
            .extension()
            .is_some_and(|ext| ext == "yml" || ext == "yaml")
        {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

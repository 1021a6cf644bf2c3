//! `docker-compose.yml` as data: services, their environment (interpolated the way Compose does
//! when no variable is set), ports, dependencies and health checks.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, anyhow, bail};
use serde_norway::Value;

pub struct Compose {
    doc: Value,
}

/// A `depends_on` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub service: String,
    /// `service_started` when the short list form is used.
    pub condition: String,
}

impl Compose {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut doc: Value = serde_norway::from_str(text)?;
        // `<<: *anchor` merge keys, as Compose resolves them.
        doc.apply_merge()?;
        Ok(Self { doc })
    }

    pub fn doc(&self) -> &Value {
        &self.doc
    }

    pub fn service_names(&self) -> Vec<String> {
        mapping_keys(&self.doc["services"])
    }

    pub fn volume_names(&self) -> Vec<String> {
        mapping_keys(&self.doc["volumes"])
    }

    pub fn service(&self, name: &str) -> anyhow::Result<&Value> {
        self.doc["services"]
            .get(name)
            .ok_or_else(|| anyhow!("no service {name} in docker-compose.yml"))
    }

    /// The environment with `${VAR:-default}` resolved to its default, as on a machine that sets
    /// none of the variables.
    pub fn environment(&self, name: &str) -> anyhow::Result<BTreeMap<String, String>> {
        let mut env = BTreeMap::new();
        match &self.service(name)?["environment"] {
            Value::Null => {}
            Value::Mapping(map) => {
                for (key, value) in map {
                    let key = scalar(key).context("environment key")?;
                    let value = scalar(value).with_context(|| format!("{name}: {key}"))?;
                    env.insert(
                        key.clone(),
                        interpolate(&value).with_context(|| format!("{name}: {key}"))?,
                    );
                }
            }
            Value::Sequence(items) => {
                for item in items {
                    let item = scalar(item)?;
                    let (key, value) = item
                        .split_once('=')
                        .ok_or_else(|| anyhow!("{name}: environment entry {item:?} has no ="))?;
                    env.insert(
                        key.to_owned(),
                        interpolate(value).with_context(|| format!("{name}: {key}"))?,
                    );
                }
            }
            other => bail!("{name}: unexpected environment {other:?}"),
        }
        Ok(env)
    }

    /// Published ports as (host, container), from the short `"HOST:CONTAINER"` syntax.
    pub fn ports(&self, name: &str) -> anyhow::Result<Vec<(u16, u16)>> {
        let Some(ports) = self.service(name)?["ports"].as_sequence() else {
            return Ok(Vec::new());
        };
        ports
            .iter()
            .map(|port| {
                let port = scalar(port)?;
                let (host, container) = port
                    .rsplit_once(':')
                    .ok_or_else(|| anyhow!("{name}: port {port:?} is not HOST:CONTAINER"))?;
                let host = host.rsplit(':').next().unwrap_or(host);
                Ok((host.parse()?, container.parse()?))
            })
            .collect()
    }

    pub fn depends_on(&self, name: &str) -> anyhow::Result<Vec<Dependency>> {
        Ok(match &self.service(name)?["depends_on"] {
            Value::Null => Vec::new(),
            Value::Sequence(items) => items
                .iter()
                .map(|item| {
                    Ok(Dependency {
                        service: scalar(item)?,
                        condition: "service_started".to_owned(),
                    })
                })
                .collect::<anyhow::Result<_>>()?,
            Value::Mapping(map) => map
                .iter()
                .map(|(key, value)| {
                    Ok(Dependency {
                        service: scalar(key)?,
                        condition: value["condition"]
                            .as_str()
                            .unwrap_or("service_started")
                            .to_owned(),
                    })
                })
                .collect::<anyhow::Result<_>>()?,
            other => bail!("{name}: unexpected depends_on {other:?}"),
        })
    }

    /// The health check command as one string (`CMD`/`CMD-SHELL` dropped).
    pub fn healthcheck(&self, name: &str) -> anyhow::Result<Option<String>> {
        Ok(match &self.service(name)?["healthcheck"]["test"] {
            Value::Null => None,
            Value::String(command) => Some(command.clone()),
            Value::Sequence(parts) => Some(
                parts
                    .iter()
                    .map(scalar)
                    .collect::<anyhow::Result<Vec<_>>>()?
                    .into_iter()
                    .skip_while(|part| part == "CMD" || part == "CMD-SHELL")
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            other => bail!("{name}: unexpected healthcheck test {other:?}"),
        })
    }

    /// The named volumes a service mounts (`NAME:/path`), bind mounts excluded.
    pub fn named_volumes(&self, name: &str) -> anyhow::Result<Vec<String>> {
        let Some(volumes) = self.service(name)?["volumes"].as_sequence() else {
            return Ok(Vec::new());
        };
        Ok(volumes
            .iter()
            .filter_map(|volume| volume.as_str())
            .filter_map(|volume| volume.split_once(':').map(|(source, _)| source))
            .filter(|source| !source.starts_with(['.', '/', '~']))
            .map(str::to_owned)
            .collect())
    }
}

fn mapping_keys(value: &Value) -> Vec<String> {
    value
        .as_mapping()
        .map(|map| {
            map.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn scalar(value: &Value) -> anyhow::Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => bail!("expected a scalar, found {other:?}"),
    }
}

/// Compose interpolation with no variable set: `${VAR:-default}` and `${VAR-default}` become the
/// default, `$$` a literal `$`; a variable with no default is an error, since the value would be empty.
pub fn interpolate(text: &str) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| anyhow!("unclosed ${{ in {text:?}"))?;
            let expr = &body[..end];
            let default = expr
                .split_once(":-")
                .or_else(|| expr.split_once('-'))
                .map(|(_, default)| default)
                .ok_or_else(|| anyhow!("${{{expr}}} has no default in {text:?}"))?;
            out.push_str(default);
            rest = &body[end + 1..];
        } else {
            bail!("use ${{VAR:-default}} rather than a bare $ in {text:?}");
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_takes_defaults_and_unescapes_dollars() {
        assert_eq!(
            interpolate("postgres://u:${PW:-secret}@db/${DB-fechatter}?x=$$y").ok(),
            Some("postgres://u:secret@db/fechatter?x=$y".to_owned())
        );
        assert!(interpolate("${NO_DEFAULT}").is_err());
        assert!(interpolate("$BARE").is_err());
    }

    #[test]
    fn merge_keys_environment_forms_and_ports_are_read() {
        let compose = Compose::parse(
            r#"
x-base: &base
  restart: always
  environment: [A=1, "B=${B:-two}"]
services:
  app:
    <<: *base
    ports: ["127.0.0.1:8080:80", "9000:9000"]
    depends_on: [db]
  db:
    environment: {C: 3}
    depends_on:
      app: {condition: service_healthy}
"#,
        )
        .unwrap_or_else(|err| panic!("{err:#}"));
        assert_eq!(
            compose.service("app").ok().map(|s| &s["restart"]),
            Some(&Value::from("always"))
        );
        let env = compose.environment("app").unwrap_or_default();
        assert_eq!(env.get("B").map(String::as_str), Some("two"));
        assert_eq!(
            compose
                .environment("db")
                .unwrap_or_default()
                .get("C")
                .map(String::as_str),
            Some("3")
        );
        assert_eq!(
            compose.ports("app").ok(),
            Some(vec![(8080, 80), (9000, 9000)])
        );
        assert_eq!(
            compose.depends_on("db").ok(),
            Some(vec![Dependency {
                service: "app".into(),
                condition: "service_healthy".into()
            }])
        );
    }
}

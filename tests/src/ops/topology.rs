//! The ports of `docs/design/topology.md`, which the compose file, the Prometheus targets and the
//! services' configuration defaults must all agree with.

/// One of the four services.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    /// The binary, the compose service and the Prometheus job.
    pub name: &'static str,
    /// The prefix of its environment variables, without the trailing `_`.
    pub env_prefix: &'static str,
    /// The prefix of its metric names, without the trailing `_`.
    pub metric_prefix: &'static str,
    /// The API (or, for bot_server, health-only) port that serves `/health`, `/ready`, `/live`.
    pub port: u16,
    pub metrics_port: u16,
}

pub const SERVICES: [Service; 4] = [
    Service {
        name: "fechatter_server",
        env_prefix: "FECHATTER",
        metric_prefix: "fechatter",
        port: 6688,
        metrics_port: 9090,
    },
    Service {
        name: "notify_server",
        env_prefix: "NOTIFY",
        metric_prefix: "notify",
        port: 6689,
        metrics_port: 9091,
    },
    Service {
        name: "bot_server",
        env_prefix: "BOT",
        metric_prefix: "bot",
        port: 6686,
        metrics_port: 9092,
    },
    Service {
        name: "analytics_server",
        env_prefix: "ANALYTICS",
        metric_prefix: "analytics",
        port: 7777,
        metrics_port: 7778,
    },
];

/// Infrastructure as published on the host: (compose service, [(host port, container port)]).
pub const INFRASTRUCTURE: &[(&str, &[(u16, u16)])] = &[
    ("postgres", &[(5432, 5432)]),
    ("nats", &[(4222, 4222), (8222, 8222)]),
    ("clickhouse", &[(8123, 8123)]),
    // 9090 on the host belongs to fechatter_server's metrics.
    ("prometheus", &[(9099, 9090)]),
    ("alertmanager", &[(9093, 9093)]),
    ("grafana", &[(3000, 3000)]),
    // Scraped inside the compose network only.
    ("postgres-exporter", &[]),
    ("nats-exporter", &[]),
];

/// Alertmanager's port on the host (compose) and in the native runner.
pub const ALERTMANAGER_PORT: u16 = 9093;

/// The infrastructure's exporters as Prometheus scrapes them in compose: (job, target).
pub const EXPORTER_TARGETS: &[(&str, &str)] = &[
    ("postgres", "postgres-exporter:9187"),
    ("nats", "nats-exporter:7777"),
    ("clickhouse", "clickhouse:9363"),
];

/// Prometheus's port on the host (compose) and in the native runner.
pub const PROMETHEUS_HOST_PORT: u16 = 9099;

pub fn service(name: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|service| service.name == name)
}

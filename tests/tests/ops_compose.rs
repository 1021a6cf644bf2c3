//! `docker-compose.yml` and the `Dockerfile` agree with the topology and with the services' real
//! configuration. (The Compose Specification schema check runs in `scripts/check-ops`.)

use std::collections::{BTreeMap, BTreeSet};

use e2e::ops::compose::Compose;
use e2e::ops::service_env::variables_read;
use e2e::ops::topology::{INFRASTRUCTURE, SERVICES, Service};
use e2e::ops::{repo_path, repo_root};
use env_config::Env;
use service_kit::server::Listen;

fn compose() -> Compose {
    Compose::load(&repo_path("docker-compose.yml")).unwrap_or_else(|err| panic!("{err:#}"))
}

/// A service that runs once and exits (`restart: "no"`), such as the secrets generator.
fn is_one_shot(compose: &Compose, service: &str) -> bool {
    compose
        .service(service)
        .map(|s| s["restart"].as_str())
        .ok()
        .flatten()
        == Some("no")
}

/// Where the services find their share of the generated secrets, in their containers.
const SECRETS_DIR: &str = "/var/lib/fechatter/secrets";

#[test]
fn the_file_follows_the_compose_specification_without_a_version_key() {
    let compose = compose();
    assert!(
        compose.doc().get("version").is_none(),
        "the Compose Specification has no `version:`"
    );
    // Debian's docker-compose 1.29 rejects a top-level `name:`.
    assert!(compose.doc().get("name").is_none());
}

#[test]
fn every_dependency_is_a_service_with_a_health_check_and_is_waited_for_until_healthy() {
    let compose = compose();
    let services: BTreeSet<String> = compose.service_names().into_iter().collect();
    for service in &services {
        for dependency in compose
            .depends_on(service)
            .unwrap_or_else(|err| panic!("{err:#}"))
        {
            assert!(
                services.contains(&dependency.service),
                "{service} depends on {}, which is not defined",
                dependency.service
            );
            if is_one_shot(&compose, &dependency.service) {
                assert_eq!(
                    dependency.condition, "service_completed_successfully",
                    "{service} → {} (a one-shot)",
                    dependency.service
                );
                continue;
            }
            assert_eq!(
                dependency.condition, "service_healthy",
                "{service} → {}",
                dependency.service
            );
            assert!(
                compose
                    .healthcheck(&dependency.service)
                    .ok()
                    .flatten()
                    .is_some(),
                "{service} waits for {} to be healthy, but it has no health check",
                dependency.service
            );
        }
    }
    // No cycle: a topological order exists.
    let mut started: BTreeSet<String> = BTreeSet::new();
    while started.len() < services.len() {
        let ready: Vec<String> = services
            .iter()
            .filter(|s| !started.contains(*s))
            .filter(|s| {
                compose
                    .depends_on(s)
                    .unwrap_or_default()
                    .iter()
                    .all(|d| started.contains(&d.service))
            })
            .cloned()
            .collect();
        assert!(
            !ready.is_empty(),
            "depends_on has a cycle among {services:?}"
        );
        started.extend(ready);
    }
}

#[test]
fn every_container_has_a_health_check() {
    let compose = compose();
    for service in compose.service_names() {
        if is_one_shot(&compose, &service) {
            continue;
        }
        assert!(
            compose.healthcheck(&service).ok().flatten().is_some(),
            "{service} has no health check"
        );
    }
}

#[test]
fn each_service_is_checked_on_its_own_ready_endpoint_and_publishes_its_topology_ports() {
    let compose = compose();
    for service in SERVICES {
        let check = compose
            .healthcheck(service.name)
            .ok()
            .flatten()
            .unwrap_or_default();
        assert!(
            check.starts_with("curl -f")
                && check.contains(&format!("http://localhost:{}/ready", service.port)),
            "{}: health check {check:?}",
            service.name
        );
        let ports = compose.ports(service.name).unwrap_or_default();
        assert_eq!(
            ports,
            [
                (service.port, service.port),
                (service.metrics_port, service.metrics_port)
            ],
            "{}",
            service.name
        );
    }
    for (name, expected) in INFRASTRUCTURE {
        assert_eq!(
            compose.ports(name).unwrap_or_default(),
            expected.to_vec(),
            "{name}"
        );
    }
}

#[test]
fn every_variable_a_service_is_given_is_one_it_reads() {
    let compose = compose();
    for service in SERVICES {
        let read = variables_read(&repo_root().join(service.name), service.env_prefix)
            .unwrap_or_else(|err| panic!("{err:#}"));
        for always in ["PORT", "METRICS_PORT", "NATS_PASSWORD_FILE"] {
            let name = format!("{}_{always}", service.env_prefix);
            assert!(
                read.contains(&name),
                "{}: the config scan did not find {name}; has the config moved?",
                service.name
            );
        }
        let given = compose
            .environment(service.name)
            .unwrap_or_else(|err| panic!("{err:#}"));
        let unread: Vec<&String> = given.keys().filter(|name| !read.contains(*name)).collect();
        assert!(
            unread.is_empty(),
            "{} never reads {unread:?} (it reads {read:?})",
            service.name
        );
    }
}

/// The listen ports the service's own `Config` parses from the compose environment, which also
/// validates every value (URL schemes, secret length, numbers) exactly as start-up would.
fn configured_listen(service: &Service, env: BTreeMap<String, String>) -> Result<Listen, String> {
    let env = Env::from_map(service.env_prefix, env);
    let listen = match service.name {
        "fechatter_server" => fechatter_server::Config::from(&env).map(|c| c.runtime.listen),
        "notify_server" => notify_server::Config::from(&env).map(|c| c.runtime.listen),
        "bot_server" => bot_server::Config::from(&env).map(|c| c.runtime.listen),
        "analytics_server" => analytics_server::Config::from(&env).map(|c| c.runtime.listen),
        other => panic!("unknown service {other}"),
    };
    listen.map_err(|err| err.to_string())
}

/// Secrets as the `secrets` service would write them, in a directory of the test's, so a
/// configuration naming files under [`SECRETS_DIR`] can be loaded here.
fn generated_secrets() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let (private, public) =
        fechatter_auth::generate_key_pair().unwrap_or_else(|err| panic!("{err}"));
    for (name, content) in [
        ("jwt_private.pem", private.as_str()),
        ("jwt_public.pem", public.as_str()),
        (
            "bot_api_key",
            "a-generated-bot-credential-of-at-least-32-bytes",
        ),
        ("probe_password", "a-generated-canary-password"),
    ] {
        std::fs::write(dir.path().join(name), content).unwrap_or_else(|err| panic!("{err}"));
    }
    for user in ["fechatter", "notify", "bot", "analytics"] {
        std::fs::write(
            dir.path().join(format!("nats_{user}_password")),
            "pgenerated",
        )
        .unwrap_or_else(|err| panic!("{err}"));
    }
    dir
}

#[test]
fn the_compose_environment_is_a_valid_configuration_with_the_topology_ports() {
    let compose = compose();
    let secrets = generated_secrets();
    for service in &SERVICES {
        let env: BTreeMap<String, String> = compose
            .environment(service.name)
            .unwrap_or_else(|err| panic!("{err:#}"))
            .into_iter()
            .map(|(name, value)| {
                let local = match value.strip_prefix(&format!("{SECRETS_DIR}/")) {
                    Some(file) => secrets.path().join(file).display().to_string(),
                    None => value,
                };
                (name, local)
            })
            .collect();
        let listen = configured_listen(service, env)
            .unwrap_or_else(|err| panic!("{}: start-up would stop: {err}", service.name));
        assert_eq!(
            (listen.port, listen.metrics_port),
            (service.port, service.metrics_port),
            "{}",
            service.name
        );
    }
}

#[test]
fn only_fechatter_holds_the_private_key_and_no_key_or_nats_password_is_written_in_the_file() {
    let compose = compose();
    for service in SERVICES {
        let env = compose.environment(service.name).unwrap_or_default();
        let prefix = service.env_prefix;
        // The shared HS256 secret is gone, and no key or password is written inline.
        for name in env.keys() {
            assert!(!name.ends_with("_JWT_SECRET"), "{}: {name}", service.name);
            for secret in [
                "_JWT_PRIVATE_KEY",
                "_JWT_PUBLIC_KEY",
                "_NATS_PASSWORD",
                "_PROBE_PASSWORD",
                "_API_KEY",
            ] {
                assert!(
                    !name.ends_with(secret)
                        || name.ends_with("_LLM_API_KEY")
                        || name.ends_with("_EMBEDDING_API_KEY"),
                    "{}: {name} is inline; name its file in {name}_FILE",
                    service.name
                );
            }
        }
        let private = env.get(&format!("{prefix}_JWT_PRIVATE_KEY_FILE"));
        let public = env.get(&format!("{prefix}_JWT_PUBLIC_KEY_FILE"));
        match service.name {
            "fechatter_server" => {
                assert_eq!(
                    private.map(String::as_str),
                    Some("/var/lib/fechatter/secrets/jwt_private.pem")
                );
            }
            // The bot verifies no token and signs none: it asks fechatter_server with its own key.
            "bot_server" => {
                assert!(
                    private.is_none() && public.is_none(),
                    "bot_server holds a key"
                );
                assert!(env.contains_key("BOT_FECHATTER_API_KEY_FILE"));
            }
            other => {
                assert!(private.is_none(), "{other} holds the private key");
                assert_eq!(
                    public.map(String::as_str),
                    Some("/var/lib/fechatter/secrets/jwt_public.pem")
                );
            }
        }
        // Each service mounts its own share of the secrets, nothing more.
        let short = service.name.trim_end_matches("_server");
        assert_eq!(
            compose
                .named_volumes(service.name)
                .unwrap_or_default()
                .into_iter()
                .filter(|volume| volume.starts_with("secrets"))
                .collect::<Vec<_>>(),
            [format!("secrets-{short}")],
            "{}",
            service.name
        );
        assert!(
            env[&format!("{prefix}_NATS_PASSWORD_FILE")]
                .ends_with(&format!("nats_{short}_password"))
        );
    }
    // The generator hands the private key to fechatter_server's share only.
    let generator = format!(
        "{:?}",
        compose
            .service("secrets")
            .unwrap_or_else(|e| panic!("{e:#}"))["command"]
    );
    assert!(generator.contains("fechatter_secrets"), "{generator}");
    assert_eq!(
        generator.matches("jwt_private.pem").count(),
        1,
        "{generator}"
    );
    assert!(
        generator.contains("cp jwt_private.pem nats_fechatter_password bot_api_key ../fechatter/")
    );
}

#[test]
fn postgres_nats_and_clickhouse_are_reachable_from_this_host_only() {
    let compose = compose();
    for name in ["postgres", "nats", "clickhouse"] {
        let ports = compose.service(name).unwrap_or_else(|e| panic!("{e:#}"))["ports"].clone();
        for port in ports.as_sequence().into_iter().flatten() {
            let port = port.as_str().unwrap_or_default();
            assert!(
                port.starts_with("127.0.0.1:"),
                "{name} publishes {port} on every interface"
            );
        }
    }
}

#[test]
fn nats_runs_with_the_repository_permissions_and_the_generated_passwords() {
    let compose = compose();
    let nats = compose.service("nats").unwrap_or_else(|e| panic!("{e:#}"));
    let command = format!("{:?}", nats["command"]);
    assert!(command.contains("/etc/nats/nats-server.conf"), "{command}");
    let mounts = format!("{:?}", nats["volumes"]);
    assert!(
        mounts.contains("./nats/nats-server.conf:/etc/nats/nats-server.conf:ro"),
        "{mounts}"
    );
    assert!(
        mounts.contains("secrets:/run/fechatter-secrets:ro"),
        "{mounts}"
    );
    assert!(format!("{:?}", nats["entrypoint"]).contains("nats.env"));
    let permissions = std::fs::read_to_string(repo_path("nats/nats-server.conf"))
        .unwrap_or_else(|err| panic!("{err}"));
    for user in ["fechatter", "notify", "bot", "analytics", "operator"] {
        assert!(
            permissions.contains(&format!("user: {user}\n")),
            "no NATS user {user}"
        );
        let variable = format!("${}_NATS_PASSWORD", user.to_ascii_uppercase());
        assert!(
            permissions.contains(&variable),
            "{user}'s password is not {variable}"
        );
    }
}

#[test]
fn the_services_share_their_infrastructure_credentials() {
    let compose = compose();
    let postgres = compose.environment("postgres").unwrap_or_default();
    let database_url = format!(
        "postgres://{}:{}@postgres:5432/{}",
        postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], postgres["POSTGRES_DB"]
    );
    for (service, variable) in [
        ("fechatter_server", "FECHATTER_DATABASE_URL"),
        ("bot_server", "BOT_DATABASE_URL"),
    ] {
        assert_eq!(
            compose.environment(service).unwrap_or_default()[variable],
            database_url
        );
    }

    let clickhouse = compose.environment("clickhouse").unwrap_or_default();
    let analytics = compose.environment("analytics_server").unwrap_or_default();
    assert_eq!(
        analytics["ANALYTICS_CLICKHOUSE_USER"],
        clickhouse["CLICKHOUSE_USER"]
    );
    assert_eq!(
        analytics["ANALYTICS_CLICKHOUSE_PASSWORD"],
        clickhouse["CLICKHOUSE_PASSWORD"]
    );
    assert_eq!(
        analytics["ANALYTICS_CLICKHOUSE_DATABASE"],
        clickhouse["CLICKHOUSE_DB"]
    );
}

#[test]
fn nats_keeps_jetstream_data_in_a_declared_volume_and_every_named_volume_is_declared() {
    let compose = compose();
    let command: Vec<String> =
        compose.service("nats").unwrap_or_else(|e| panic!("{e:#}"))["command"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
    let store = command
        .iter()
        .position(|arg| arg == "-sd")
        .and_then(|at| command.get(at + 1))
        .unwrap_or_else(|| panic!("nats runs without -sd: {command:?}"));
    assert!(command.contains(&"-js".to_owned()), "{command:?}");
    let mounts: Vec<String> =
        compose.service("nats").unwrap_or_else(|e| panic!("{e:#}"))["volumes"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
    assert!(
        mounts.iter().any(|m| m.ends_with(&format!(":{store}"))),
        "the JetStream store {store} is not on a volume: {mounts:?}"
    );

    let declared: BTreeSet<String> = compose.volume_names().into_iter().collect();
    for service in compose.service_names() {
        for volume in compose.named_volumes(&service).unwrap_or_default() {
            assert!(
                declared.contains(&volume),
                "{service}: volume {volume} is not declared"
            );
        }
    }
}

#[test]
fn prometheus_and_grafana_mount_the_repository_config_where_it_is_expected() {
    let compose = compose();
    let mounts = |service: &str| -> Vec<String> {
        compose.service(service).unwrap_or_else(|e| panic!("{e:#}"))["volumes"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    assert!(mounts("prometheus").contains(&"./prometheus:/etc/prometheus:ro".to_owned()));
    let command = format!(
        "{:?}",
        compose
            .service("prometheus")
            .unwrap_or_else(|e| panic!("{e:#}"))["command"]
    );
    assert!(
        command.contains("--config.file=/etc/prometheus/prometheus.yml"),
        "{command}"
    );

    let grafana = mounts("grafana");
    assert!(grafana.contains(&"./grafana/provisioning:/etc/grafana/provisioning:ro".to_owned()));
    let provider =
        std::fs::read_to_string(repo_path("grafana/provisioning/dashboards/fechatter.yml"))
            .unwrap_or_else(|err| panic!("{err}"));
    let provider: serde_norway::Value =
        serde_norway::from_str(&provider).unwrap_or_else(|err| panic!("{err}"));
    let path = provider["providers"][0]["options"]["path"]
        .as_str()
        .unwrap_or_default();
    assert!(
        grafana.contains(&format!("./grafana/dashboards:{path}:ro")),
        "the provider reads {path}, compose mounts {grafana:?}"
    );
    let home = compose.environment("grafana").unwrap_or_default()
        ["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
        .clone();
    let file = home.strip_prefix(&format!("{path}/")).unwrap_or_default();
    assert!(
        repo_path("grafana/dashboards").join(file).is_file(),
        "home dashboard {home}"
    );
}

#[test]
fn the_services_run_from_one_image_built_by_the_dockerfile_as_a_non_root_user() {
    let compose = compose();
    let dockerfile =
        std::fs::read_to_string(repo_path("Dockerfile")).unwrap_or_else(|err| panic!("{err}"));
    let mut images = BTreeSet::new();
    for service in SERVICES {
        let definition = compose
            .service(service.name)
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(definition["build"]["context"].as_str(), Some("."));
        assert_eq!(
            definition["build"]["dockerfile"].as_str(),
            Some("Dockerfile")
        );
        images.insert(format!("{:?}", definition["image"]));
        assert_eq!(
            definition["command"][0].as_str(),
            Some(service.name),
            "{}",
            service.name
        );
        assert!(
            dockerfile.contains(&format!("--bin {}", service.name))
                && dockerfile.contains(&format!("/app/target/release/{}", service.name)),
            "the Dockerfile does not build and copy {}",
            service.name
        );
    }
    assert_eq!(images.len(), 1, "one image for the four services");
    assert!(
        dockerfile.contains("cargo chef cook"),
        "dependencies in their own layer"
    );
    let runtime = dockerfile.rsplit("\nFROM ").next().unwrap_or_default();
    assert!(runtime.contains("-slim"), "a slim runtime image");
    let user = runtime
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("USER "))
        .unwrap_or_else(|| panic!("the runtime stage runs as root"));
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "USER {user}"
    );
    assert!(runtime.contains("curl"), "the health checks use curl");

    let ignore =
        std::fs::read_to_string(repo_path(".dockerignore")).unwrap_or_else(|err| panic!("{err}"));
    for excluded in ["target/", ".git/", ".fechatter/"] {
        assert!(
            ignore.lines().any(|l| l == excluded),
            ".dockerignore lacks {excluded}"
        );
    }
}

//! ClickHouse: one shared server per test binary with a database per test, or a dedicated one.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use tokio::sync::OnceCell;

use crate::commands::find_binary;
use crate::process::{Instance, Launch};

pub struct ClickHouse {
    inner: Instance<Server>,
}

struct Server {
    dir: PathBuf,
    http_port: u16,
    tcp_port: u16,
}

impl Launch for Server {
    const NAME: &'static str = "clickhouse";
    const PORTS: usize = 2;
    type Config = ();

    fn new(dir: PathBuf, ports: &[u16], (): &()) -> Self {
        Server {
            dir,
            http_port: ports[0],
            tcp_port: ports[1],
        }
    }

    async fn prepare(&self) {
        for (name, text) in [
            ("config.xml", self.config_xml()),
            ("users.xml", USERS_XML.to_owned()),
        ] {
            let path = self.dir.join(name);
            std::fs::write(&path, text)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(find_binary("clickhouse-server", "clickhouse-server"));
        command.arg(format!(
            "--config-file={}",
            self.dir.join("config.xml").display()
        ));
        command
    }

    /// A query for a value only this server's config holds, not `/ping`: a port picked as free can
    /// be taken by another server before ours binds it, and that one would answer `/ping` too.
    async fn ready(&self) -> bool {
        let query = format!(
            "http://127.0.0.1:{}/?query=SELECT%20substitution%20FROM%20system.macros%20WHERE%20macro%3D%27tcp_port%27",
            self.http_port
        );
        crate::http::get_ok(&query)
            .await
            .is_some_and(|body| body.trim() == self.tcp_port.to_string())
    }

    fn extra_logs(&self) -> Vec<PathBuf> {
        vec![self.dir.join("server.err.log")]
    }
}

impl Server {
    /// Our own small config instead of a copy of /etc/clickhouse-server/config.xml: nothing from
    /// the machine (zookeeper includes, graphite, system log tables) can break or slow it, and no
    /// interserver port (nothing replicates): one port fewer to collide with another server.
    fn config_xml(&self) -> String {
        let dir = self.dir.display();
        format!(
            r#"<?xml version="1.0"?>
<yandex>
    <logger>
        <level>information</level>
        <log>{dir}/server.log</log>
        <errorlog>{dir}/server.err.log</errorlog>
        <size>10M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>{}</http_port>
    <tcp_port>{}</tcp_port>
    <macros><tcp_port>{}</tcp_port></macros>
    <path>{dir}/data/</path>
    <tmp_path>{dir}/tmp/</tmp_path>
    <user_files_path>{dir}/user_files/</user_files_path>
    <format_schema_path>{dir}/format_schemas/</format_schema_path>
    <users_config>{dir}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
    <mlock_executable>false</mlock_executable>
</yandex>
"#,
            self.http_port, self.tcp_port, self.tcp_port
        )
    }
}

/// `LowCardinality` is experimental in 18.16 and the analytics schema uses it.
const USERS_XML: &str = r#"<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>2000000000</max_memory_usage>
            <allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
"#;

impl ClickHouse {
    /// The server shared by every test of this test binary (and run, under nextest).
    pub async fn shared() -> &'static ClickHouse {
        static SHARED: OnceCell<ClickHouse> = OnceCell::const_new();
        SHARED
            .get_or_init(|| async {
                ClickHouse {
                    inner: Instance::shared(&()).await,
                }
            })
            .await
    }

    /// A server of the caller's own, which it may [`stop`](Self::stop) and [`start`](Self::start);
    /// killed and deleted on drop.
    pub async fn dedicated() -> ClickHouse {
        ClickHouse {
            inner: Instance::dedicated(&()).await,
        }
    }

    pub fn http_port(&self) -> u16 {
        self.inner.ports[0]
    }

    /// The native protocol port.
    pub fn tcp_port(&self) -> u16 {
        self.inner.ports[1]
    }

    /// `http://127.0.0.1:HTTP_PORT`
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port())
    }

    /// Creates a database with a unique name and returns the name. It is not dropped by itself:
    /// it goes with the server's directory at the end of the run.
    pub async fn create_database(&self) -> String {
        let name = crate::unique_name("t");
        self.query(&format!("CREATE DATABASE {name}")).await;
        name
    }

    /// Runs `sql` over HTTP and returns the body; panics with ClickHouse's error text otherwise.
    pub async fn query(&self, sql: &str) -> String {
        self.try_query(sql)
            .await
            .unwrap_or_else(|e| panic!("ClickHouse query failed: {sql}\n{e}"))
    }

    /// Runs `sql` over HTTP: the body on 200, the status and body (or connection error) otherwise.
    pub async fn try_query(&self, sql: &str) -> Result<String, String> {
        let response = crate::http::client(Duration::from_secs(30))
            .post(self.http_url())
            .body(sql.to_owned())
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| format!("reading the body failed: {e}"))?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(format!("{status}: {body}"))
        }
    }

    /// Stops a dedicated server; the ports and data stay for [`start`](Self::start).
    pub async fn stop(&self) {
        self.inner.stop().await;
    }

    /// SIGKILLs a dedicated server, like a crash; [`start`](Self::start) brings it back with its
    /// data (Postgres runs crash recovery).
    pub async fn kill(&self) {
        self.inner.kill().await;
    }

    /// Starts a stopped dedicated server again on the same ports, with its data.
    pub async fn start(&self) {
        self.inner.start().await;
    }
}

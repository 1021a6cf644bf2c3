//! A 3-node NATS cluster: three `nats-server` processes routed to each other on loopback ports,
//! JetStream clustered (distinct server names), for tests of what survives losing a node. Each
//! node can be stopped, killed and started again on its ports with its data. Like every dedicated
//! server, the nodes are killed and deleted when the cluster is dropped or its test process dies.
//!
//! Streams on it should keep [`NatsCluster::REPLICAS`] copies
//! (`EventBus::with_replicas(NatsCluster::REPLICAS)`), so a node's loss loses nothing.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::commands::find_binary;
use crate::nats::NatsConfig;
use crate::process::{Instance, Launch};
use crate::wait::wait_until;

/// Where every node of a cluster listens for its peers.
#[derive(Debug, Clone)]
pub(crate) struct Routes {
    pub(crate) cluster_ports: Vec<u16>,
    /// Users and permissions every node serves, as a single server's.
    pub(crate) config: NatsConfig,
}

struct ClusterNode {
    dir: PathBuf,
    port: u16,
    monitoring_port: u16,
    cluster_port: u16,
    routes: Vec<u16>,
    config: NatsConfig,
}

impl Launch for ClusterNode {
    const NAME: &'static str = "nats-node";
    const PORTS: usize = 3;
    type Config = Routes;

    fn new(dir: PathBuf, ports: &[u16], routes: &Routes) -> Self {
        ClusterNode {
            dir,
            port: ports[0],
            monitoring_port: ports[1],
            cluster_port: ports[2],
            routes: routes
                .cluster_ports
                .iter()
                .copied()
                .filter(|port| *port != ports[2])
                .collect(),
            config: routes.config.clone(),
        }
    }

    async fn prepare(&self) {
        let routes: Vec<String> = self
            .routes
            .iter()
            .map(|port| format!("nats-route://127.0.0.1:{port}"))
            .collect();
        // The same store limits as the single server (see `nats.rs`); a server name of its own
        // per node, as clustered JetStream requires.
        let mut config = format!(
            "server_name: n{port}\n\
             listen: 127.0.0.1:{port}\n\
             http: 127.0.0.1:{monitoring}\n\
             jetstream {{\n  store_dir: \"{store}\"\n  max_file_store: 100TB\n  max_memory_store: 1GB\n}}\n\
             cluster {{\n  name: fechatter_test\n  listen: 127.0.0.1:{cluster}\n  routes: [{routes}]\n}}\n",
            port = self.port,
            monitoring = self.monitoring_port,
            store = self.dir.join("jetstream").display(),
            cluster = self.cluster_port,
            routes = routes.join(", "),
        );
        if let Some(include) = &self.config.include {
            // As the single server does; routes need no user (cluster authorization is apart).
            std::fs::copy(include, self.dir.join("included.conf"))
                .unwrap_or_else(|e| panic!("copying {} for NATS: {e}", include.display()));
            config.push_str("include \"included.conf\"\n");
        }
        std::fs::write(self.dir.join("nats.conf"), config)
            .unwrap_or_else(|e| panic!("writing the NATS node config: {e}"));
    }

    fn command(&self) -> Command {
        let mut command = Command::new(find_binary("nats-server", "nats-server"));
        command
            .arg("-c")
            .arg(self.dir.join("nats.conf"))
            .envs(self.config.env.iter().map(|(k, v)| (k, v)));
        command
    }

    async fn ready(&self) -> bool {
        // 200 once JetStream is up on this node, which in a cluster needs a meta leader.
        crate::http::get_ok(&format!(
            "http://127.0.0.1:{}/healthz",
            self.monitoring_port
        ))
        .await
        .is_some()
    }
}

pub struct NatsCluster {
    nodes: Vec<Instance<ClusterNode>>,
}

impl NatsCluster {
    pub const NODES: usize = 3;
    /// Copies a stream on this cluster keeps.
    pub const REPLICAS: usize = 3;

    /// Starts three routed nodes (at once: a lone node cannot elect a JetStream leader) and waits
    /// until each serves JetStream.
    pub async fn start() -> NatsCluster {
        Self::start_with(NatsConfig::default()).await
    }

    /// Like [`start`](Self::start), every node with `config`'s users and permissions.
    pub async fn start_with(config: NatsConfig) -> NatsCluster {
        let ports: Vec<Vec<u16>> = (0..Self::NODES)
            .map(|_| {
                (0..ClusterNode::PORTS)
                    .map(|_| crate::free_port())
                    .collect()
            })
            .collect();
        let routes = Routes {
            cluster_ports: ports.iter().map(|node| node[2]).collect(),
            config,
        };
        let nodes = futures_join_all(ports.into_iter().map(|ports| {
            let routes = routes.clone();
            async move {
                Instance::<ClusterNode>::dedicated_on(
                    Instance::<ClusterNode>::dedicated_dir(),
                    ports,
                    &routes,
                )
                .await
            }
        }))
        .await;
        let cluster = NatsCluster { nodes };
        cluster.wait_routed().await;
        cluster
    }

    fn node(&self, node: usize) -> &Instance<ClusterNode> {
        self.nodes
            .get(node)
            .unwrap_or_else(|| panic!("the cluster has {} nodes, not {}", Self::NODES, node + 1))
    }

    /// `nats://127.0.0.1:PORT` of one node.
    pub fn url(&self, node: usize) -> String {
        format!("nats://127.0.0.1:{}", self.node(node).ports[0])
    }

    /// The node's server name, as JetStream reports a stream's leader.
    pub fn server_name(&self, node: usize) -> String {
        format!("n{}", self.node(node).ports[0])
    }

    /// The node called `server_name`.
    pub fn node_named(&self, server_name: &str) -> Option<usize> {
        (0..Self::NODES).find(|node| self.server_name(*node) == server_name)
    }

    /// Every node's URL, comma-separated, as NATS clients take a server list.
    pub fn urls(&self) -> String {
        (0..Self::NODES)
            .map(|node| self.url(node))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `http://127.0.0.1:PORT` of one node's monitoring endpoints.
    pub fn monitoring_url(&self, node: usize) -> String {
        format!("http://127.0.0.1:{}", self.node(node).ports[1])
    }

    /// Stops one node gracefully; its ports and store stay for [`start_node`](Self::start_node).
    pub async fn stop_node(&self, node: usize) {
        self.node(node).stop().await;
    }

    /// SIGKILLs one node, like a crash.
    pub async fn kill_node(&self, node: usize) {
        self.node(node).kill().await;
    }

    /// Starts a stopped node again on its ports with its store; it rejoins the cluster.
    pub async fn start_node(&self, node: usize) {
        self.node(node).start().await;
        self.wait_routed().await;
    }

    /// Waits until every running node has a route to every other running node.
    async fn wait_routed(&self) {
        let running: Vec<usize> = (0..Self::NODES)
            .filter(|node| self.node(*node).lock().is_some())
            .collect();
        let peers = running.len().saturating_sub(1);
        for node in &running {
            let url = format!("{}/routez", self.monitoring_url(*node));
            wait_until(
                &format!("NATS node {node} to route to its {peers} peers"),
                Duration::from_secs(30),
                || async {
                    crate::http::get_json(&url)
                        .await
                        .and_then(|routez| routez["num_routes"].as_u64())
                        .is_some_and(|routes| routes as usize >= peers)
                },
            )
            .await;
        }
    }
}

/// Runs the futures at once and collects their outputs in order (no `futures` dependency here).
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        outputs.push(
            handle
                .await
                .unwrap_or_else(|err| panic!("starting a NATS node failed: {err}")),
        );
    }
    outputs
}

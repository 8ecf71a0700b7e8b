//! A three-node RabbitMQ cluster of the tests' own, beside the machine's broker and never
//! touching it: its own folder (a temporary one), `HOME` and so Erlang cookie, AMQP and
//! distribution ports, private epmd and CLI distribution ports. Started from Debian's
//! `rabbitmq-server` scripts in `/usr/lib/rabbitmq/bin` (not the `/usr/sbin` wrappers, which
//! switch to the `rabbitmq` user and its folder).
//!
//! Ports come in slots: a test process takes the first slot whose lock file it can lock and
//! whose ports are free, so two test binaries running at once get two clusters that cannot
//! collide. Everything goes when the [`Cluster`] is dropped (also on a panic), and a watchdog
//! process kills the nodes if the test process dies without dropping it (a signal, `abort`).

use std::{
    fs::File,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Stdio},
    time::{Duration, Instant},
};

use tokio::process::Command;

/// Where Debian puts the server's own scripts.
pub const RABBITMQ_BIN: &str = "/usr/lib/rabbitmq/bin";
/// The cluster's size.
pub const NODES: usize = 3;
const SLOTS: u16 = 8;
/// The limit for one node to boot (or to rejoin its cluster after a restart).
const BOOT_LIMIT: Duration = Duration::from_secs(90);

/// Whether this machine can run a cluster: RabbitMQ's server scripts and Erlang's epmd.
pub fn available() -> bool {
    Path::new(RABBITMQ_BIN).join("rabbitmq-server").is_file()
        && Path::new(RABBITMQ_BIN).join("rabbitmqctl").is_file()
        && find_epmd().is_some()
}

fn find_epmd() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("epmd"))
        .find(|candidate| candidate.is_file())
}

/// The ports of one slot; slot 0 has AMQP on 5681–5683.
#[derive(Debug, Clone, Copy)]
struct Ports {
    amqp: [u16; NODES],
    distribution: [u16; NODES],
    epmd: u16,
    /// `rabbitmqctl`'s own distribution ports (its default range is the machine broker's CLI's).
    cli_min: u16,
    cli_max: u16,
}

impl Ports {
    fn of_slot(slot: u16) -> Self {
        let step = NODES as u16 * slot;
        Self {
            amqp: [5681 + step, 5682 + step, 5683 + step],
            distribution: [25681 + step, 25682 + step, 25683 + step],
            epmd: 4381 + slot,
            cli_min: 35700 + 11 * slot,
            cli_max: 35710 + 11 * slot,
        }
    }

    fn all_free(&self) -> bool {
        self.amqp
            .iter()
            .chain(&self.distribution)
            .chain([&self.epmd])
            .all(|&port| TcpListener::bind(("127.0.0.1", port)).is_ok())
    }
}

pub struct Cluster {
    folder: PathBuf,
    ports: Ports,
    epmd: Option<Child>,
    watchdog: Option<Child>,
    /// Held for the cluster's life: the slot is ours.
    _slot_lock: File,
}

impl Cluster {
    /// Starts three nodes and joins them into one cluster (about 30 s on two cores). Panics if
    /// that fails; what was started by then is stopped again.
    pub async fn start() -> Cluster {
        let (slot, lock) = take_slot();
        let ports = Ports::of_slot(slot);
        // Named with TEST_RESOURCE_TAG (see `cleanup`), so CI can tell its own nodes by their
        // command lines, which carry this folder.
        let folder = std::env::temp_dir().join(crate::cleanup::unique_name(
            &format!("kitchen-rmq-cluster-{slot}"),
            '-',
        ));
        let mut cluster = Cluster {
            folder,
            ports,
            epmd: None,
            watchdog: None,
            _slot_lock: lock,
        };
        cluster.prepare();
        for node in 0..NODES {
            cluster.launch(node).await;
        }
        for node in 0..NODES {
            cluster.await_boot(node).await;
        }
        for node in 1..NODES {
            let name = cluster.node_name(0);
            for step in [
                &["stop_app"][..],
                &["reset"],
                &["join_cluster", &name],
                &["start_app"],
            ] {
                cluster.ctl(node, step).await.unwrap_or_else(|error| {
                    panic!("node {node} could not join the cluster: {error}")
                });
            }
        }
        cluster.await_all_running().await;
        cluster
    }

    /// The folder, cookie, epmd and watchdog; no node yet.
    fn prepare(&mut self) {
        let home = self.folder.join("home");
        std::fs::create_dir_all(&home).expect("cluster folder");
        // Empty: /etc/rabbitmq/rabbitmq-env.conf would name every node rabbit@localhost.
        std::fs::write(self.folder.join("env.conf"), "").expect("env.conf");
        let cookie = home.join(".erlang.cookie");
        std::fs::write(&cookie, uuid::Uuid::new_v4().simple().to_string()).expect("cookie");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&cookie, std::fs::Permissions::from_mode(0o400))
                .expect("cookie mode");
        }
        for node in 0..NODES {
            let dir = self.node_dir(node);
            std::fs::create_dir_all(&dir).expect("node folder");
            std::fs::write(dir.join("enabled_plugins"), "[].").expect("enabled_plugins");
            std::fs::write(
                dir.join("rabbitmq.conf"),
                format!(
                    "listeners.tcp.1 = 127.0.0.1:{}\ncluster_partition_handling = pause_minority\n",
                    self.ports.amqp[node]
                ),
            )
            .expect("rabbitmq.conf");
        }
        let epmd = find_epmd().expect("epmd is installed");
        self.epmd = Some(
            own_group(
                std::process::Command::new(epmd)
                    .args(["-port", &self.ports.epmd.to_string()])
                    .args(["-address", "127.0.0.1"]),
            )
            .spawn()
            .expect("epmd starts"),
        );
        self.watchdog = Some(self.start_watchdog());
    }

    /// A shell that outlives this process only long enough to kill the nodes and epmd once it
    /// is gone, whatever way it went.
    fn start_watchdog(&self) -> Child {
        let script = r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done
for f in "$2"/rmq*/pid; do [ -s "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
kill -9 "$3" 2>/dev/null; rm -rf "$2""#;
        let epmd = self.epmd.as_ref().map_or(0, Child::id);
        own_group(
            std::process::Command::new("sh")
                .arg("-c")
                .arg(script)
                .arg("cluster-watchdog")
                .arg(std::process::id().to_string())
                .arg(&self.folder)
                .arg(epmd.to_string()),
        )
        .spawn()
        .expect("watchdog starts")
    }

    fn node_dir(&self, node: usize) -> PathBuf {
        self.folder.join(format!("rmq{}", node + 1))
    }

    fn pid_file(&self, node: usize) -> PathBuf {
        self.node_dir(node).join("pid")
    }

    /// `rmq1@localhost` for node 0.
    pub fn node_name(&self, node: usize) -> String {
        format!("rmq{}@localhost", node + 1)
    }

    /// Node `node`'s AMQP port.
    pub fn port(&self, node: usize) -> u16 {
        self.ports.amqp[node]
    }

    /// Node `node`'s URI, with a 2 s heartbeat.
    pub fn uri(&self, node: usize) -> String {
        format!(
            "amqp://guest:guest@127.0.0.1:{}/%2f?heartbeat=2",
            self.port(node)
        )
    }

    /// The URIs of `nodes`, comma-separated, as `AMQP_URL` takes them.
    pub fn uris_of(&self, nodes: &[usize]) -> String {
        nodes
            .iter()
            .map(|&node| self.uri(node))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Every node's URI, comma-separated.
    pub fn uris(&self) -> String {
        self.uris_of(&[0, 1, 2])
    }

    /// The environment every RabbitMQ script needs to find this cluster and only it.
    fn environment(&self, command: &mut Command) {
        command
            .env("HOME", self.folder.join("home"))
            .env("RABBITMQ_CONF_ENV_FILE", self.folder.join("env.conf"))
            .env("ERL_EPMD_PORT", self.ports.epmd.to_string())
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_CTL_DIST_PORT_MIN", self.ports.cli_min.to_string())
            .env("RABBITMQ_CTL_DIST_PORT_MAX", self.ports.cli_max.to_string())
            .stdin(Stdio::null());
    }

    /// Starts node `node` detached (its data is kept from an earlier run, so a restarted node
    /// rejoins the cluster by itself).
    async fn launch(&self, node: usize) {
        let dir = self.node_dir(node);
        let _ = std::fs::remove_file(self.pid_file(node));
        let mut command = Command::new(Path::new(RABBITMQ_BIN).join("rabbitmq-server"));
        self.environment(&mut command);
        command
            .arg("-detached")
            .env("RABBITMQ_NODENAME", self.node_name(node))
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.ports.amqp[node].to_string())
            .env(
                "RABBITMQ_DIST_PORT",
                self.ports.distribution[node].to_string(),
            )
            .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq.conf"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
            .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", dir.join("log"))
            .env("RABBITMQ_PID_FILE", self.pid_file(node))
            .env(
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                "-kernel inet_dist_use_interface {127,0,0,1}",
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let status = command.status().await.expect("rabbitmq-server runs");
        assert!(
            status.success(),
            "rabbitmq-server -detached failed: {status}"
        );
    }

    /// Waits until node `node` has written its pid and booted.
    async fn await_boot(&self, node: usize) {
        let deadline = Instant::now() + BOOT_LIMIT;
        while self.pid(node).is_none() {
            assert!(
                Instant::now() < deadline,
                "node {node} wrote no pid file; see {}",
                self.node_dir(node).join("log").display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let pid_file = self.pid_file(node).display().to_string();
        let limit = BOOT_LIMIT.as_secs().to_string();
        self.ctl(node, &["wait", "--timeout", &limit, &pid_file])
            .await
            .unwrap_or_else(|error| panic!("node {node} did not boot: {error}"));
    }

    /// Runs `rabbitmqctl -n <node> <args>`; its stdout, or why it failed.
    pub async fn ctl(&self, node: usize, args: &[&str]) -> Result<String, String> {
        let mut command = Command::new(Path::new(RABBITMQ_BIN).join("rabbitmqctl"));
        self.environment(&mut command);
        command
            .arg("-q")
            .args(["-n", &self.node_name(node)])
            .args(args)
            .kill_on_drop(true);
        let output = tokio::time::timeout(BOOT_LIMIT, command.output())
            .await
            .map_err(|_| format!("rabbitmqctl {args:?} timed out"))?
            .map_err(|error| format!("rabbitmqctl {args:?}: {error}"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!(
                "rabbitmqctl {args:?}: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// Node `node`'s operating-system pid, if it is running.
    fn pid(&self, node: usize) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.pid_file(node))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        alive(pid).then_some(pid)
    }

    pub fn is_running(&self, node: usize) -> bool {
        self.pid(node).is_some()
    }

    /// `kill -9` of node `node`, as a crash would; returns once the process is gone.
    pub async fn kill(&self, node: usize) {
        let Some(pid) = self.pid(node) else {
            return;
        };
        kill_hard(pid);
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive(pid) {
            assert!(Instant::now() < deadline, "node {node} survived kill -9");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts node `node` again and waits until it runs in the cluster.
    pub async fn restart(&self, node: usize) {
        self.launch(node).await;
        self.await_boot(node).await;
    }

    /// Starts every node that is down (together, as they must be when they wait for each
    /// other's tables), then waits until all three run in one cluster.
    pub async fn heal(&self) {
        let down: Vec<usize> = (0..NODES).filter(|&node| !self.is_running(node)).collect();
        for &node in &down {
            self.launch(node).await;
        }
        futures_util::future::join_all(down.iter().map(|&node| self.await_boot(node))).await;
        self.await_all_running().await;
    }

    async fn await_all_running(&self) {
        let count = NODES.to_string();
        let limit = BOOT_LIMIT.as_secs().to_string();
        self.ctl(0, &["await_online_nodes", &count, "--timeout", &limit])
            .await
            .unwrap_or_else(|error| panic!("the cluster did not come together: {error}"));
    }

    /// The node that a client connection whose properties (its `connection_name`) contain `name_part`
    /// is connected to, asked of node `ask` (any running node sees the whole cluster's).
    pub async fn node_of_connection(&self, ask: usize, name_part: &str) -> Option<usize> {
        let listing = self
            .ctl(
                ask,
                &[
                    "list_connections",
                    "port",
                    "client_properties",
                    "--no-table-headers",
                ],
            )
            .await
            .ok()?;
        listing.lines().find_map(|line| {
            let (port, name) = line.split_once('\t')?;
            let port: u16 = port.trim().parse().ok()?;
            if !name.contains(name_part) {
                return None;
            }
            self.ports.amqp.iter().position(|&amqp| amqp == port)
        })
    }

    /// Waits (up to `limit`) until a connection named with `name_part` shows up; its node.
    pub async fn await_connection(&self, name_part: &str, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        loop {
            let ask = (0..NODES).find(|&node| self.is_running(node)).unwrap_or(0);
            if let Some(node) = self.node_of_connection(ask, name_part).await {
                return node;
            }
            assert!(
                Instant::now() < deadline,
                "no connection named like {name_part:?} within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Data is throwaway: kill -9 is as good as a clean stop here, and takes no 10 s.
        let pids: Vec<u32> = (0..NODES).filter_map(|node| self.pid(node)).collect();
        for &pid in &pids {
            kill_hard(pid);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while pids.iter().any(|&pid| alive(pid)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        for child in [self.epmd.take(), self.watchdog.take()]
            .into_iter()
            .flatten()
        {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Err(error) = std::fs::remove_dir_all(&self.folder) {
            eprintln!(
                "test-support: could not remove {}: {error}",
                self.folder.display()
            );
        }
    }
}

/// The first slot whose lock file this process can lock and whose ports are all free.
fn take_slot() -> (u16, File) {
    for slot in 0..SLOTS {
        let path = std::env::temp_dir().join(format!("kitchen-rmq-cluster-slot-{slot}.lock"));
        let Ok(file) = File::create(&path) else {
            continue;
        };
        if file.try_lock().is_ok() && Ports::of_slot(slot).all_free() {
            return (slot, file);
        }
    }
    panic!("no free cluster slot: {SLOTS} clusters are running, or their ports are taken");
}

fn own_group(command: &mut std::process::Command) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
}

/// Whether `pid` is a live process (a zombie is not).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses, which may contain spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

fn kill_hard(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

//! A private RabbitMQ node for one test, beside the machine's broker and never touching it: its
//! own node name, data directory, ports (AMQP, distribution, CLI) and Erlang cookie (through its
//! own `HOME`). It registers with the machine's epmd, which only maps names to ports. Stopped
//! and removed when dropped, even when the test fails.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

const BIN: &str = "/usr/lib/rabbitmq/bin";

pub struct RabbitNode {
    dir: PathBuf,
    node: String,
    pub amqp_port: u16,
    cli_ports: (u16, u16),
}

/// A port free right now (the node binds it a moment later; a clash fails the start loudly).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

impl RabbitNode {
    /// Whether the RabbitMQ server scripts are installed.
    pub fn available() -> bool {
        Path::new(BIN).join("rabbitmq-server").exists()
    }

    /// Starts the node and waits (up to 90 s) until it runs.
    pub fn start() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = std::env::temp_dir().join(format!("kitchen-rabbit-{id}"));
        let cli = free_port();
        let node = Self {
            node: format!("kitchen-test-{}@localhost", &id[..12]),
            amqp_port: free_port(),
            cli_ports: (cli, cli),
            dir,
        };
        let home = node.dir.join("home");
        std::fs::create_dir_all(&home).expect("the node's directory");
        let cookie = home.join(".erlang.cookie");
        std::fs::write(&cookie, uuid::Uuid::new_v4().simple().to_string()).expect("cookie");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cookie, std::fs::Permissions::from_mode(0o400))
            .expect("cookie mode");
        std::fs::write(node.dir.join("env.conf"), "").expect("env file");
        std::fs::write(node.dir.join("enabled_plugins"), "[].").expect("plugins file");
        std::fs::write(
            node.dir.join("rabbitmq.conf"),
            format!("listeners.tcp.1 = 127.0.0.1:{}\n", node.amqp_port),
        )
        .expect("config file");
        let started = node
            .command("rabbitmq-server")
            .arg("-detached")
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", node.amqp_port.to_string())
            .env("RABBITMQ_DIST_PORT", free_port().to_string())
            .env("RABBITMQ_CONFIG_FILE", node.dir.join("rabbitmq.conf"))
            .env(
                "RABBITMQ_ENABLED_PLUGINS_FILE",
                node.dir.join("enabled_plugins"),
            )
            .env("RABBITMQ_MNESIA_BASE", node.dir.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", node.dir.join("log"))
            .env(
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                "-kernel inet_dist_use_interface {127,0,0,1}",
            )
            .status()
            .expect("rabbitmq-server runs");
        assert!(started.success(), "rabbitmq-server -detached failed");
        let pid_file = node.pid_file();
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
        while !pid_file.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "the private node wrote no pid file"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        node.ctl(&["wait", "--timeout", "90", &pid_file.to_string_lossy()]);
        node
    }

    pub fn amqp_url(&self) -> String {
        format!(
            "amqp://guest:guest@127.0.0.1:{}/%2f?heartbeat=2",
            self.amqp_port
        )
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("pid")
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(Path::new(BIN).join(program));
        command
            .env("HOME", self.dir.join("home"))
            .env("RABBITMQ_CONF_ENV_FILE", self.dir.join("env.conf"))
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_PID_FILE", self.pid_file())
            .env("RABBITMQ_CTL_DIST_PORT_MIN", self.cli_ports.0.to_string())
            .env("RABBITMQ_CTL_DIST_PORT_MAX", self.cli_ports.1.to_string());
        command
    }

    /// Runs `rabbitmqctl -n <node> args…`; panics unless it succeeds.
    pub fn ctl(&self, args: &[&str]) -> String {
        let output = self
            .command("rabbitmqctl")
            .arg("-n")
            .arg(&self.node)
            .args(args)
            .output()
            .expect("rabbitmqctl runs");
        assert!(
            output.status.success(),
            "rabbitmqctl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for RabbitNode {
    fn drop(&mut self) {
        let stopped = self
            .command("rabbitmqctl")
            .args(["-n", &self.node, "stop", &self.pid_file().to_string_lossy()])
            .output()
            .is_ok_and(|output| output.status.success());
        if !stopped && let Ok(pid) = std::fs::read_to_string(self.pid_file()) {
            let _ = Command::new("kill").args(["-9", pid.trim()]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

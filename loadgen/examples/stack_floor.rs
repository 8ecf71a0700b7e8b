//! The floor under issue #13's targets: what the fixed stack (tokio, axum, sqlx, lapin,
//! serde_json, reqwest as the client) costs on this machine for the least a request of this
//! API must do, with none of order-service's own work (no token, no domain logic, no outbox,
//! no tracing or metrics).
//!
//! `serve` answers two routes on a table of its own:
//! - `POST /orders`: a read of one row (the confirm's menu read), then an `INSERT … RETURNING`
//!   of the order (its write, a durable commit), and with `--amqp` a persistent publish of the
//!   order's JSON to a topic exchange after the commit (the relay's hop without its read);
//! - `PATCH /orders/{id}`: one `UPDATE … RETURNING` (a kitchen write, a durable commit), and
//!   the same publish.
//!
//! Each answers the order as JSON of about the size of an `Order`. Two drivers:
//! - `http`: workers doing one POST and three PATCHes as fast as they can (`loadgen http`'s
//!   mix); reports requests/s and the CPU per request of the server, PostgreSQL and itself;
//! - `chain`: POSTs at a fixed rate and times each from just before it is sent to its arrival
//!   at a queue of its own on the exchange (`loadgen fanout --broker-tap`'s hop).
//!
//! `docs/bench/floor/run.sh` runs both against their own database and exchange.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{patch, post};
use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use loadgen::common::Common;
use loadgen::procfs::Processes;
use loadgen::stats::Histogram;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Serve {
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value = "127.0.0.1:18090")]
        listen: SocketAddr,
        /// Publish each new order here after its commit (topic exchange, created if missing).
        #[arg(long)]
        amqp: Option<String>,
        #[arg(long, default_value = "stack_floor")]
        exchange: String,
    },
    Http {
        #[arg(long, default_value = "http://127.0.0.1:18090")]
        url: String,
        #[arg(long, default_value_t = 16)]
        workers: usize,
        #[arg(long, default_value_t = 30.0)]
        duration: f64,
        #[arg(long)]
        server_pid: u32,
    },
    Chain {
        #[arg(long, default_value = "http://127.0.0.1:18090")]
        url: String,
        #[arg(long)]
        amqp: String,
        #[arg(long, default_value = "stack_floor")]
        exchange: String,
        /// Orders per second.
        #[arg(long, default_value_t = 20.0)]
        rate: f64,
        #[arg(long, default_value_t = 30.0)]
        duration: f64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve {
            database_url,
            listen,
            amqp,
            exchange,
        } => serve(&database_url, listen, amqp.as_deref(), &exchange).await,
        Command::Http {
            url,
            workers,
            duration,
            server_pid,
        } => drive_http(&url, workers, Duration::from_secs_f64(duration), server_pid).await,
        Command::Chain {
            url,
            amqp,
            exchange,
            rate,
            duration,
        } => {
            chain(
                &url,
                &amqp,
                &exchange,
                rate,
                Duration::from_secs_f64(duration),
            )
            .await
        }
    }
}

/// About what an `Order` carries, so the JSON in and out is of the same size.
#[derive(Serialize, Deserialize, Clone, sqlx::FromRow)]
struct FloorOrder {
    id: Uuid,
    status: String,
    version: i32,
    customer_name: String,
    notes: String,
    lines: sqlx::types::Json<Vec<FloorLine>>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, Deserialize, Clone)]
struct FloorLine {
    id: Uuid,
    name: String,
    quantity: i32,
    unit_price: String,
    station: String,
    modifiers: Vec<String>,
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
}

#[derive(Clone)]
struct Server {
    db: PgPool,
    publisher: Option<Arc<Publisher>>,
}

/// A channel to the exchange, and the connection it needs open for as long as it is used.
struct Publisher {
    _connection: Connection,
    channel: Channel,
    exchange: String,
}

async fn serve(
    database_url: &str,
    listen: SocketAddr,
    amqp: Option<&str>,
    exchange: &str,
) -> anyhow::Result<()> {
    // order-service's pool: at most 20 connections.
    let db = PgPoolOptions::new()
        .max_connections(20)
        .connect(database_url)
        .await
        .context("connect to PostgreSQL")?;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS floor_menu (id int PRIMARY KEY, name text NOT NULL, price numeric NOT NULL);
         INSERT INTO floor_menu VALUES (1, 'Margherita', 9.50) ON CONFLICT DO NOTHING;
         CREATE TABLE IF NOT EXISTS floor_orders (
             id uuid PRIMARY KEY, status text NOT NULL, version int NOT NULL,
             customer_name text NOT NULL, notes text NOT NULL, lines jsonb NOT NULL,
             updated_at timestamptz NOT NULL)",
    )
    .execute(&db)
    .await?;
    let publisher = match amqp {
        Some(url) => {
            let connection = Connection::connect(url, ConnectionProperties::default()).await?;
            let channel = connection.create_channel().await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            declare_exchange(&channel, exchange).await?;
            Some(Arc::new(Publisher {
                _connection: connection,
                channel,
                exchange: exchange.to_owned(),
            }))
        }
        None => None,
    };
    let app = axum::Router::new()
        .route("/orders", post(create_order))
        .route("/orders/{id}", patch(move_order))
        .with_state(Server { db, publisher });
    let listener = tokio::net::TcpListener::bind(listen).await?;
    eprintln!("stack_floor listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

async fn declare_exchange(channel: &Channel, exchange: &str) -> anyhow::Result<()> {
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

type Answer = Result<Json<FloorOrder>, (StatusCode, String)>;

fn internal(error: impl std::fmt::Display) -> (StatusCode, String) {
    (StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
}

async fn create_order(State(server): State<Server>, Json(order): Json<FloorOrder>) -> Answer {
    let price: Option<rust_decimal::Decimal> =
        sqlx::query_scalar("SELECT price FROM floor_menu WHERE id = 1")
            .fetch_optional(&server.db)
            .await
            .map_err(internal)?;
    if price.is_none() {
        return Err((StatusCode::BAD_REQUEST, "no menu".into()));
    }
    let stored: FloorOrder = sqlx::query_as(
        "INSERT INTO floor_orders (id, status, version, customer_name, notes, lines, updated_at)
         VALUES ($1, 'confirmed', 1, $2, $3, $4, now()) RETURNING *",
    )
    .bind(order.id)
    .bind(&order.customer_name)
    .bind(&order.notes)
    .bind(&order.lines)
    .fetch_one(&server.db)
    .await
    .map_err(internal)?;
    server.publish(&stored).await?;
    Ok(Json(stored))
}

impl Server {
    /// A persistent publish after the commit. Not waiting for the broker's confirm: a frame
    /// does not wait for it either.
    async fn publish(&self, order: &FloorOrder) -> Result<(), (StatusCode, String)> {
        let Some(publisher) = &self.publisher else {
            return Ok(());
        };
        let payload = serde_json::to_vec(order).map_err(internal)?;
        publisher
            .channel
            .basic_publish(
                publisher.exchange.as_str().into(),
                format!("orders.floor.{}", order.status).as_str().into(),
                BasicPublishOptions::default(),
                &payload,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .map_err(internal)?;
        Ok(())
    }
}

async fn move_order(
    State(server): State<Server>,
    Path(id): Path<Uuid>,
    Json(body): Json<StatusBody>,
) -> Answer {
    let moved: Option<FloorOrder> = sqlx::query_as(
        "UPDATE floor_orders SET status = $2, version = version + 1, updated_at = now()
         WHERE id = $1 RETURNING *",
    )
    .bind(id)
    .bind(&body.status)
    .fetch_optional(&server.db)
    .await
    .map_err(internal)?;
    let moved = moved.ok_or((StatusCode::NOT_FOUND, "no such order".into()))?;
    server.publish(&moved).await?;
    Ok(Json(moved))
}

fn new_order() -> FloorOrder {
    let line = |name: &str, station: &str| FloorLine {
        id: Uuid::now_v7(),
        name: name.into(),
        quantity: 2,
        unit_price: "9.50".into(),
        station: station.into(),
        modifiers: vec!["extra basil".into(), "no olives".into()],
    };
    FloorOrder {
        id: Uuid::now_v7(),
        status: "confirmed".into(),
        version: 1,
        customer_name: "Ada Lovelace".into(),
        notes: "Ring twice, the bell is quiet.".into(),
        lines: sqlx::types::Json(vec![
            line("Margherita", "pizza"),
            line("Caesar salad", "cold"),
            line("Tiramisu", "pastry"),
        ]),
        updated_at: chrono::Utc::now(),
    }
}

async fn send(request: reqwest::RequestBuilder) -> anyhow::Result<FloorOrder> {
    let response = request.send().await?;
    if !response.status().is_success() {
        bail!("{}: {}", response.status(), response.text().await?);
    }
    Ok(response.json().await?)
}

async fn drive_http(
    url: &str,
    workers: usize,
    duration: Duration,
    server_pid: u32,
) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let mut common = Common::new(url, "ws://unused");
    common.order_service_pid = Some(server_pid);
    common.notifier_pid = Some(server_pid);
    let processes = Processes::discover(&common);
    let latencies = Arc::new(Mutex::new(Histogram::new()));
    let started = Instant::now();
    let cpu_start = processes.cpu_snapshot();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let client = client.clone();
        let url = url.to_owned();
        let latencies = latencies.clone();
        tasks.push(tokio::spawn(async move {
            let mut local = Histogram::new();
            while started.elapsed() < duration {
                let at = Instant::now();
                let order = send(client.post(format!("{url}/orders")).json(&new_order())).await?;
                local.record(at.elapsed().as_micros() as u64);
                for status in ["preparing", "ready", "completed"] {
                    let at = Instant::now();
                    send(
                        client
                            .patch(format!("{url}/orders/{}", order.id))
                            .json(&serde_json::json!({ "status": status })),
                    )
                    .await?;
                    local.record(at.elapsed().as_micros() as u64);
                }
            }
            latencies
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .merge(&local);
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = processes.cpu_snapshot().since(&cpu_start);
    let latencies = latencies
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .summary();
    let requests = latencies.count as f64;
    println!(
        "stack_floor http: {workers} workers, {wall:.1} s: {:.0} requests/s; latency p50 {:.2} / p99 {:.2} ms",
        requests / wall,
        latencies.p50_us.unwrap_or(0) as f64 / 1000.0,
        latencies.p99_us.unwrap_or(0) as f64 / 1000.0,
    );
    for line in cpu {
        let label = if line.process == "order-service+notifier" {
            "stack_floor serve".to_owned()
        } else {
            line.process
        };
        println!(
            "  {label:<18} {:>6.1} % of a core, {:.3} ms CPU per request",
            line.cpu_percent,
            1000.0 * line.cpu_seconds / requests
        );
    }
    Ok(())
}

async fn chain(
    url: &str,
    amqp: &str,
    exchange: &str,
    rate: f64,
    duration: Duration,
) -> anyhow::Result<()> {
    let connection = Connection::connect(amqp, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    declare_exchange(&channel, exchange).await?;
    let mut consumer = loadgen::tap::order_events(&channel, exchange).await?;
    let sent: Arc<Mutex<HashMap<Uuid, Instant>>> = Arc::default();
    let arrivals = {
        let sent = sent.clone();
        tokio::spawn(async move {
            let mut delays = Histogram::new();
            while let Some(delivery) = consumer.next().await {
                let delivery = delivery?;
                let arrived = Instant::now();
                let order: FloorOrder = serde_json::from_slice(&delivery.data)?;
                let at = sent
                    .lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                    .remove(&order.id);
                match at {
                    Some(at) => delays.record(arrived.duration_since(at).as_micros() as u64),
                    None => bail!("an order arrived that was not sent"),
                }
            }
            anyhow::Ok(delays)
        })
    };
    let client = reqwest::Client::new();
    let mut requests = Histogram::new();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    let started = Instant::now();
    while started.elapsed() < duration {
        tick.tick().await;
        let order = new_order();
        let at = Instant::now();
        sent.lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .insert(order.id, at);
        send(client.post(format!("{url}/orders")).json(&order)).await?;
        requests.record(at.elapsed().as_micros() as u64);
    }
    // The last ones still on their way: at most two seconds more.
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline
        && !sent
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .is_empty()
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let missing = sent.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.len();
    connection.close(200, "done".into()).await?;
    let delays = arrivals.await??;
    let ms = |us: Option<u64>| us.unwrap_or(0) as f64 / 1000.0;
    let (requests, delays) = (requests.summary(), delays.summary());
    println!(
        "stack_floor chain: {rate} orders/s for {:.0} s; request p50 {:.2} / p99 {:.2} ms; \
         sent → at a broker consumer p50 {:.2} / p99 {:.2} ms ({} arrived, {missing} missing)",
        duration.as_secs_f64(),
        ms(requests.p50_us),
        ms(requests.p99_us),
        ms(delays.p50_us),
        ms(delays.p99_us),
        delays.count,
    );
    Ok(())
}

//! Where the ticket key comes from (security review: "the ticket key can be replaced from the
//! network"): a configured key is never replaced and nothing is fetched; a fetched key comes
//! over HTTPS; a ticket naming a key the notifier holds cannot make it fetch again; a rotation
//! keeps the previous key's tickets working.

use std::{
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use serde_json::json;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpListener,
};
use tokio_rustls::{
    TlsAcceptor,
    rustls::{
        self,
        pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    },
};

use crate::helpers::{TicketKeys, spawn_notifier_with};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Plays order-service's `GET /api/kitchen/ticket-key/`: answers every request with the
/// document it holds now, and counts the requests.
struct KeyServer {
    port: u16,
    document: Arc<Mutex<String>>,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl KeyServer {
    async fn plain(keys: &TicketKeys, kid: Option<&str>) -> Self {
        Self::start(keys, kid, None).await
    }

    /// Over TLS with a certificate for `localhost` from the test CA in `tests/fixtures`.
    async fn tls(keys: &TicketKeys, kid: Option<&str>) -> Self {
        let certs = CertificateDer::pem_file_iter(fixture("localhost-cert.pem"))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(fixture("localhost-key.pem")).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        Self::start(keys, kid, Some(TlsAcceptor::from(Arc::new(config)))).await
    }

    async fn start(keys: &TicketKeys, kid: Option<&str>, tls: Option<TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let document = Arc::new(Mutex::new(String::new()));
        let requests = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (document.clone(), requests.clone());
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (body, counted, tls) = (served.clone(), counted.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(tcp).await {
                                answer(stream, &body, &counted).await;
                            }
                        }
                        None => answer(tcp, &body, &counted).await,
                    }
                });
            }
        });
        let server = Self {
            port,
            document,
            requests,
            task,
        };
        server.serve(keys, kid);
        server
    }

    fn serve(&self, keys: &TicketKeys, kid: Option<&str>) {
        let mut document = json!({"algorithm": "EdDSA", "public_key": keys.public_pem});
        if let Some(kid) = kid {
            document["kid"] = json!(kid);
        }
        *self.document.lock().unwrap() = document.to_string();
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for KeyServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    body: &Mutex<String>,
    requests: &AtomicUsize,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    requests.fetch_add(1, Ordering::SeqCst);
    let body = body.lock().unwrap().clone();
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[tokio::test]
async fn a_configured_key_is_never_replaced_and_nothing_is_fetched() {
    let attacker = TicketKeys::generate();
    // The key endpoint answers with the attacker's key; a notifier with a configured key must
    // never ask it.
    let server = KeyServer::plain(&attacker, Some("attacker")).await;
    let notifier = spawn_notifier_with(|config| {
        config.order_service_url = format!("http://127.0.0.1:{}", server.port);
        config.tuning.ticket_key_refetch_interval = Duration::from_millis(1);
    })
    .await;

    for ticket in [
        attacker.ticket("luigis"),
        attacker.ticket_named("luigis", "attacker"),
    ] {
        let (status, _) = notifier
            .refused("luigis", &format!("?ticket={ticket}"))
            .await;
        assert_eq!(status, 401);
    }
    assert_eq!(
        server.requests(),
        0,
        "nothing is fetched when a key is configured"
    );
    notifier.connect("luigis").await.close().await;
}

#[tokio::test]
async fn several_configured_keys_carry_a_rotation() {
    let (old, new) = (TicketKeys::generate(), TicketKeys::generate());
    let notifier = spawn_notifier_with(|config| {
        config.ticket_public_key_pem = Some(format!("{}\n{}", old.public_pem, new.public_pem));
    })
    .await;
    for keys in [&old, &new] {
        notifier
            .connect_query("luigis", &format!("?ticket={}", keys.ticket("luigis")))
            .await
            .close()
            .await;
    }
    let stranger = TicketKeys::generate();
    let (status, _) = notifier
        .refused("luigis", &format!("?ticket={}", stranger.ticket("luigis")))
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_key_is_fetched_over_https_from_a_server_the_notifier_trusts() {
    let keys = TicketKeys::generate();
    let server = KeyServer::tls(&keys, Some("k1")).await;
    let notifier = spawn_notifier_with(|config| {
        config.ticket_public_key_pem = None;
        config.order_service_url = format!("https://localhost:{}", server.port);
        config.order_service_ca_file = Some(fixture("test-ca.pem"));
    })
    .await;
    notifier
        .connect_query(
            "luigis",
            &format!("?ticket={}", keys.ticket_named("luigis", "k1")),
        )
        .await
        .close()
        .await;
    assert!(server.requests() >= 1);

    // Without the CA, the same server is not trusted: no key, so handshakes cannot be checked.
    let untrusting = spawn_notifier_with(|config| {
        config.ticket_public_key_pem = None;
        config.order_service_url = format!("https://localhost:{}", server.port);
    })
    .await;
    let (status, _) = untrusting
        .refused(
            "luigis",
            &format!("?ticket={}", keys.ticket_named("luigis", "k1")),
        )
        .await;
    assert_eq!(status, 503, "a key from an untrusted server is never used");
    assert!(!untrusting.state.tickets.has_key());
}

#[tokio::test]
async fn a_ticket_naming_a_held_key_cannot_trigger_a_fetch_and_a_rotation_keeps_old_tickets() {
    let first = TicketKeys::generate();
    let server = KeyServer::plain(&first, Some("first")).await;
    let notifier = spawn_notifier_with(|config| {
        config.ticket_public_key_pem = None;
        config.order_service_url = format!("http://127.0.0.1:{}", server.port);
        config.tuning.ticket_key_refetch_interval = Duration::from_millis(1);
    })
    .await;
    let old_ticket = first.ticket_named("luigis", "first");
    notifier
        .connect_query("luigis", &format!("?ticket={old_ticket}"))
        .await
        .close()
        .await;
    let fetched = server.requests();

    // A forgery naming the key the notifier holds is refused without asking order-service,
    // even if the key endpoint would now answer with the forger's key.
    let forger = TicketKeys::generate();
    server.serve(&forger, Some("first"));
    let (status, _) = notifier
        .refused(
            "luigis",
            &format!("?ticket={}", forger.ticket_named("luigis", "first")),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(server.requests(), fetched, "no fetch for a held key");

    // order-service rotates: a ticket naming the new key makes the notifier fetch it once ...
    let second = TicketKeys::generate();
    server.serve(&second, Some("second"));
    notifier
        .connect_query(
            "luigis",
            &format!("?ticket={}", second.ticket_named("luigis", "second")),
        )
        .await
        .close()
        .await;
    assert_eq!(server.requests(), fetched + 1);
    // ... and the tickets signed just before the rotation still open sockets.
    notifier
        .connect_query("luigis", &format!("?ticket={old_ticket}"))
        .await
        .close()
        .await;
    assert_eq!(server.requests(), fetched + 1);
}

//! Malformed and random WebSocket input, written byte by byte on a raw TCP socket after a real
//! handshake: each kind gets its close code (RFC 6455 § 7.4.1, API.md for 1009), nothing in
//! the notifier panics, and a well-behaved client of the same restaurant hears every event.

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{TestNotifier, event, spawn_notifier};

const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CONTINUATION: u8 = 0x0;
const PING: u8 = 0x9;

/// Panics on this test's thread (the runtime and every task it spawns run there).
static PANICS_HERE: AtomicUsize = AtomicUsize::new(0);
const THIS_TEST: &str = "fuzz::malformed_and_random_frames_get_their_close_codes";

/// A client frame: masked, as RFC 6455 requires of clients, unless `masked` is false.
fn frame(fin: bool, opcode: u8, payload: &[u8], masked: bool, reserved: u8) -> Vec<u8> {
    let mut bytes = vec![(u8::from(fin) << 7) | (reserved << 4) | opcode];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => bytes.push(mask_bit | n as u8),
        n if n <= 0xFFFF => {
            bytes.push(mask_bit | 126);
            bytes.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            bytes.push(mask_bit | 127);
            bytes.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        let key = [0x12, 0x34, 0x56, 0x78];
        bytes.extend_from_slice(&key);
        bytes.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        bytes.extend_from_slice(payload);
    }
    bytes
}

/// A socket past a real upgrade, speaking raw bytes.
async fn raw_client(notifier: &TestNotifier, slug: &str) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", notifier.port))
        .await
        .expect("connects");
    let request = format!(
        "GET /ws/kitchen/{slug}/?ticket={} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        notifier.keys.ticket(slug),
        notifier.port
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("handshake sent");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.expect("handshake answer");
        assert_eq!(n, 1, "the connection ended during the handshake");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "upgraded: {head}");
    stream
}

/// What the server did after the input: its close frame's code, or a plain end of stream.
#[derive(Debug, PartialEq)]
enum Outcome {
    Closed(u16),
    EndedWithoutClose,
    StillOpen,
}

/// Reads frames until the server's close (text frames such as heartbeats are skipped).
async fn outcome(stream: &mut TcpStream, patience: Duration) -> Outcome {
    let read = async {
        loop {
            let mut header = [0u8; 2];
            if stream.read_exact(&mut header).await.is_err() {
                return Outcome::EndedWithoutClose;
            }
            let opcode = header[0] & 0x0F;
            let length = match header[1] & 0x7F {
                126 => {
                    let mut b = [0u8; 2];
                    if stream.read_exact(&mut b).await.is_err() {
                        return Outcome::EndedWithoutClose;
                    }
                    u64::from(u16::from_be_bytes(b))
                }
                127 => {
                    let mut b = [0u8; 8];
                    if stream.read_exact(&mut b).await.is_err() {
                        return Outcome::EndedWithoutClose;
                    }
                    u64::from_be_bytes(b)
                }
                n => u64::from(n),
            };
            let mut payload = vec![0u8; usize::try_from(length).unwrap_or(0)];
            if stream.read_exact(&mut payload).await.is_err() {
                return Outcome::EndedWithoutClose;
            }
            if opcode == 0x8 {
                return match payload.get(..2) {
                    Some(code) => Outcome::Closed(u16::from_be_bytes([code[0], code[1]])),
                    None => Outcome::Closed(1005),
                };
            }
        }
    };
    tokio::time::timeout(patience, read)
        .await
        .unwrap_or(Outcome::StillOpen)
}

/// A small deterministic generator (xorshift), so a failure reproduces.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[tokio::test]
async fn malformed_and_random_frames_get_their_close_codes() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current()
            .name()
            .is_some_and(|n| n.contains(THIS_TEST))
        {
            PANICS_HERE.fetch_add(1, Ordering::SeqCst);
        }
        default_hook(info);
    }));

    let notifier = spawn_notifier().await;
    let mut witness = notifier.connect("luigis").await;
    let publisher = notifier.publisher().await;
    let mut seq = 0;

    let long = Duration::from_secs(5);
    let cases: Vec<(&str, Vec<u8>, Outcome)> = vec![
        (
            "binary data",
            frame(true, BINARY, b"\x00\x01\x02", true, 0),
            Outcome::StillOpen,
        ),
        (
            "a text frame that is not UTF-8",
            frame(true, TEXT, b"caf\xc3\x28 \xff", true, 0),
            Outcome::Closed(1007),
        ),
        (
            "a ping over 125 bytes",
            frame(true, PING, &[b'p'; 126], true, 0),
            Outcome::Closed(1002),
        ),
        // RFC 6455 § 5.1: a server must close on an unmasked client frame.
        (
            "an unmasked client frame",
            frame(true, TEXT, b"hello", false, 0),
            Outcome::Closed(1002),
        ),
        (
            "a close with a reserved code",
            frame(true, 0x8, &1005u16.to_be_bytes(), true, 0),
            Outcome::Closed(1002),
        ),
        (
            "a text message whose fragments cut a character badly",
            [
                frame(false, TEXT, b"caf\xc3", true, 0),
                frame(true, CONTINUATION, b"\x28", true, 0),
            ]
            .concat(),
            Outcome::Closed(1007),
        ),
        (
            "a character cut across fragments, well formed",
            [
                frame(false, TEXT, b"caf\xc3", true, 0),
                frame(true, CONTINUATION, b"\xa9", true, 0),
            ]
            .concat(),
            Outcome::StillOpen,
        ),
        (
            "a reserved bit set",
            frame(true, TEXT, b"hello", true, 0b100),
            Outcome::Closed(1002),
        ),
        (
            "an unknown opcode",
            frame(true, 0x3, b"?", true, 0),
            Outcome::Closed(1002),
        ),
        (
            "a continuation with nothing to continue",
            frame(true, CONTINUATION, b"x", true, 0),
            Outcome::Closed(1002),
        ),
        (
            "a frame announcing a terabyte",
            {
                let mut bytes = vec![0x81, 0x80 | 127];
                bytes.extend_from_slice(&(1u64 << 40).to_be_bytes());
                bytes.extend_from_slice(&[1, 2, 3, 4]);
                bytes
            },
            Outcome::Closed(1009),
        ),
        (
            "fragments adding up to over 4 KiB",
            [
                frame(false, TEXT, &[b'a'; 3000], true, 0),
                frame(true, CONTINUATION, &[b'b'; 3000], true, 0),
            ]
            .concat(),
            Outcome::Closed(1009),
        ),
        (
            "small fragments, ignored like any client text",
            [
                frame(false, TEXT, b"par", true, 0),
                frame(true, CONTINUATION, b"tial", true, 0),
            ]
            .concat(),
            Outcome::StillOpen,
        ),
    ];
    for (what, bytes, expected) in cases {
        let mut client = raw_client(&notifier, "luigis").await;
        client.write_all(&bytes).await.expect("input written");
        let patience = if expected == Outcome::StillOpen {
            Duration::from_millis(300)
        } else {
            long
        };
        assert_eq!(outcome(&mut client, patience).await, expected, "{what}");
        seq += 1;
        publisher.publish(&event("luigis", seq, "confirmed")).await;
    }

    // Garbage right after the handshake, and frames of random bytes: whatever the input, the
    // server ends the connection with a close frame or by closing it, never by panicking.
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    for round in 0..40 {
        let mut client = raw_client(&notifier, "luigis").await;
        let length = (noise.next() % 300) as usize + 1;
        let bytes = if round % 2 == 0 {
            noise.bytes(length)
        } else {
            let opcode = (noise.next() % 16) as u8;
            let payload = noise.bytes(length);
            frame(
                noise.next().is_multiple_of(2),
                opcode,
                &payload,
                true,
                (noise.next() % 8) as u8,
            )
        };
        let _ = client.write_all(&bytes).await;
        // Random input may also be a harmless frame; then the socket simply stays open.
        let _ = outcome(&mut client, Duration::from_millis(200)).await;
        if round % 10 == 9 {
            seq += 1;
            publisher.publish(&event("luigis", seq, "confirmed")).await;
        }
    }

    for expected in 1..=seq {
        let frame = witness.next_json().await;
        assert_eq!(
            frame["seq"], expected,
            "the other client hears every event in order"
        );
    }
    assert_eq!(notifier.readyz().await, 200, "the notifier still serves");
    assert_eq!(PANICS_HERE.load(Ordering::SeqCst), 0, "nothing panicked");
}

//! Reading what a kitchen client sends: pings, pongs, a close, and text or binary that is
//! checked and dropped (clients have nothing to say to the notifier).
//!
//! fastwebsockets' reader holds a fixed 8 KiB buffer per connection from the handshake on,
//! most of an idle socket's memory. Client frames here are small and rare, so this reader
//! holds no buffer at all: it reads a header into a few stack bytes and streams the payload
//! through a small stack chunk, unmasking and checking it on the way. The rules are RFC
//! 6455's (§ 5.2 framing, § 5.5 control frames, § 5.4 fragments, § 8.1 UTF-8, § 7.4 close
//! codes); the decisions are pure functions, unit-tested below; the async part only reads.

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::ws::close;

/// Opcodes (RFC 6455 § 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl Kind {
    fn from_opcode(opcode: u8) -> Option<Self> {
        Some(match opcode {
            0x0 => Kind::Continuation,
            0x1 => Kind::Text,
            0x2 => Kind::Binary,
            0x8 => Kind::Close,
            0x9 => Kind::Ping,
            0xA => Kind::Pong,
            _ => return None,
        })
    }

    fn is_control(self) -> bool {
        matches!(self, Kind::Close | Kind::Ping | Kind::Pong)
    }
}

/// The first two bytes of a frame, decoded and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub fin: bool,
    pub kind: Kind,
    /// 0..=125 is the length; 126 and 127 say how many length bytes follow (2 or 8).
    pub length_code: u8,
}

/// Checks the first two bytes: known opcode, no reserved bits (no extension was agreed),
/// masked (every client frame must be), control frames unfragmented and at most 125 bytes.
/// The error is the close code to send.
pub fn parse_head(bytes: [u8; 2]) -> Result<Head, u16> {
    let fin = bytes[0] & 0x80 != 0;
    if bytes[0] & 0x70 != 0 {
        return Err(close::PROTOCOL_ERROR);
    }
    let kind = Kind::from_opcode(bytes[0] & 0x0F).ok_or(close::PROTOCOL_ERROR)?;
    if bytes[1] & 0x80 == 0 {
        return Err(close::PROTOCOL_ERROR);
    }
    let length_code = bytes[1] & 0x7F;
    if kind.is_control() && (!fin || length_code > 125) {
        return Err(close::PROTOCOL_ERROR);
    }
    Ok(Head {
        fin,
        kind,
        length_code,
    })
}

/// Checks a payload's length against the largest frame a client may send; over it is 1009,
/// decided before a byte of the payload is read.
pub fn check_length(length: u64, max: usize) -> Result<usize, u16> {
    match usize::try_from(length) {
        Ok(length) if length <= max => Ok(length),
        _ => Err(close::TOO_BIG),
    }
}

/// Where the client is in a message: a continuation out of place is a protocol error, a
/// message over the frame limit is too big however it is cut up, and a text message must be
/// UTF-8 across its fragments (a character may straddle two).
#[derive(Default)]
pub struct Message {
    /// `Some` inside a fragmented message: its kind and bytes so far.
    open: Option<(Kind, usize)>,
    utf8: Utf8Check,
}

impl Message {
    /// Called with each data frame's head before its payload; returns whether the payload is
    /// text to check.
    pub fn start(&mut self, head: Head, length: usize, max: usize) -> Result<bool, u16> {
        let (kind, so_far) = match (head.kind, self.open) {
            (Kind::Continuation, None) => return Err(close::PROTOCOL_ERROR),
            (Kind::Continuation, Some(open)) => open,
            (Kind::Text | Kind::Binary, Some(_)) => return Err(close::PROTOCOL_ERROR),
            // A new message (control frames never come here).
            (kind, _) => (kind, 0),
        };
        let total = so_far.saturating_add(length);
        if total > max {
            return Err(close::TOO_BIG);
        }
        self.open = Some((kind, total));
        Ok(kind == Kind::Text)
    }

    pub fn text(&mut self, chunk: &[u8]) -> Result<(), u16> {
        self.utf8.feed(chunk)
    }

    /// Called after a data frame's payload.
    pub fn end_frame(&mut self, fin: bool) -> Result<(), u16> {
        if fin {
            self.open = None;
            return std::mem::take(&mut self.utf8).finish();
        }
        Ok(())
    }
}

/// UTF-8 checked chunk by chunk: up to 3 bytes of a character cut by a chunk's end are kept
/// for the next.
#[derive(Default)]
struct Utf8Check {
    carry: [u8; 3],
    carried: usize,
}

impl Utf8Check {
    fn feed(&mut self, mut chunk: &[u8]) -> Result<(), u16> {
        if self.carried > 0 {
            // Complete the cut character first, with at most 3 more bytes.
            let mut joined = [0u8; 7];
            let take = chunk.len().min(4);
            joined[..self.carried].copy_from_slice(&self.carry[..self.carried]);
            joined[self.carried..self.carried + take].copy_from_slice(&chunk[..take]);
            let joined = &joined[..self.carried + take];
            let used = match std::str::from_utf8(joined) {
                Ok(_) => take,
                Err(e) if e.error_len().is_some() && e.valid_up_to() < self.carried => {
                    return Err(close::INVALID_DATA);
                }
                Err(e) if e.valid_up_to() <= self.carried => {
                    // Still not complete: every byte given joins the carry.
                    if joined.len() > 3 {
                        return Err(close::INVALID_DATA);
                    }
                    self.carry[..joined.len()].copy_from_slice(joined);
                    self.carried = joined.len();
                    return Ok(());
                }
                Err(e) => e.valid_up_to() - self.carried,
            };
            self.carried = 0;
            chunk = &chunk[used..];
        }
        match std::str::from_utf8(chunk) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_some() => Err(close::INVALID_DATA),
            Err(e) => {
                let rest = &chunk[e.valid_up_to()..];
                self.carry[..rest.len()].copy_from_slice(rest);
                self.carried = rest.len();
                Ok(())
            }
        }
    }

    fn finish(self) -> Result<(), u16> {
        if self.carried == 0 {
            Ok(())
        } else {
            Err(close::INVALID_DATA)
        }
    }
}

/// What a client's close frame asks: the code to echo, or a protocol error.
pub fn close_reply(payload: &[u8]) -> Result<Option<u16>, u16> {
    match payload {
        [] => Ok(None),
        [_] => Err(close::PROTOCOL_ERROR),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            let allowed = matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999);
            if !allowed {
                return Err(close::PROTOCOL_ERROR);
            }
            if std::str::from_utf8(reason).is_err() {
                return Err(close::INVALID_DATA);
            }
            Ok(Some(code))
        }
    }
}

/// A frame the notifier must act on; data frames are checked and dropped inside the reader.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// Any frame was read: the client is alive.
    Heard,
    Ping(Vec<u8>),
    /// The client closes; echo this code (`None`: an empty close).
    Close(Option<u16>),
}

/// Why reading stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// The connection ended or failed: nothing more can be said.
    Gone,
    /// The client broke the protocol: close with this code.
    Violation(u16),
}

/// Reads one frame from `stream`, holding nothing between frames but `message`'s few bytes.
pub async fn read_frame<R: AsyncRead + Unpin>(
    stream: &mut R,
    message: &mut Message,
    max_frame: usize,
) -> Result<Incoming, Stop> {
    let mut two = [0u8; 2];
    read_exact(stream, &mut two).await?;
    let head = parse_head(two).map_err(Stop::Violation)?;
    let length = match head.length_code {
        126 => {
            let mut bytes = [0u8; 2];
            read_exact(stream, &mut bytes).await?;
            u64::from(u16::from_be_bytes(bytes))
        }
        127 => {
            let mut bytes = [0u8; 8];
            read_exact(stream, &mut bytes).await?;
            u64::from_be_bytes(bytes)
        }
        short => u64::from(short),
    };
    let length = check_length(length, max_frame).map_err(Stop::Violation)?;
    let mut mask = [0u8; 4];
    read_exact(stream, &mut mask).await?;

    if head.kind.is_control() {
        let mut payload = [0u8; 125];
        let payload = &mut payload[..length];
        read_exact(stream, payload).await?;
        unmask(payload, mask, 0);
        return match head.kind {
            Kind::Ping => Ok(Incoming::Ping(payload.to_vec())),
            Kind::Close => close_reply(payload)
                .map(Incoming::Close)
                .map_err(Stop::Violation),
            _ => Ok(Incoming::Heard),
        };
    }
    let is_text = message
        .start(head, length, max_frame)
        .map_err(Stop::Violation)?;
    let mut chunk = [0u8; 512];
    let mut offset = 0;
    while offset < length {
        let part = &mut chunk[..(length - offset).min(512)];
        read_exact(stream, part).await?;
        if is_text {
            unmask(part, mask, offset);
            message.text(part).map_err(Stop::Violation)?;
        }
        offset += part.len();
    }
    message.end_frame(head.fin).map_err(Stop::Violation)?;
    Ok(Incoming::Heard)
}

async fn read_exact<R: AsyncRead + Unpin>(stream: &mut R, into: &mut [u8]) -> Result<(), Stop> {
    stream
        .read_exact(into)
        .await
        .map(|_| ())
        .map_err(|_| Stop::Gone)
}

/// XORs `bytes` with the mask, `offset` bytes into the payload.
fn unmask(bytes: &mut [u8], mask: [u8; 4], offset: usize) {
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte ^= mask[(offset + i) % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASKED: u8 = 0x80;

    #[test]
    fn heads_follow_rfc_6455() {
        let text = parse_head([0x81, MASKED | 5]).unwrap();
        assert_eq!(
            (text.fin, text.kind, text.length_code),
            (true, Kind::Text, 5)
        );
        for (bytes, code) in [
            ([0x81, 5], close::PROTOCOL_ERROR),            // unmasked
            ([0xC1, MASKED | 5], close::PROTOCOL_ERROR),   // a reserved bit
            ([0x83, MASKED | 1], close::PROTOCOL_ERROR),   // opcode 3 is reserved
            ([0x89, MASKED | 126], close::PROTOCOL_ERROR), // a ping over 125 bytes
            ([0x09, MASKED | 1], close::PROTOCOL_ERROR),   // a fragmented ping
        ] {
            assert_eq!(parse_head(bytes), Err(code), "{bytes:02x?}");
        }
        assert_eq!(check_length(1 << 40, 4096), Err(close::TOO_BIG));
        assert_eq!(check_length(4096, 4096), Ok(4096));
    }

    #[test]
    fn fragments_are_checked_as_one_message() {
        let head = |fin, kind| Head {
            fin,
            kind,
            length_code: 0,
        };
        let mut message = Message::default();
        assert_eq!(
            message.start(head(true, Kind::Continuation), 1, 10),
            Err(close::PROTOCOL_ERROR)
        );
        assert_eq!(message.start(head(false, Kind::Text), 6, 10), Ok(true));
        message.end_frame(false).unwrap();
        assert_eq!(
            message.start(head(true, Kind::Binary), 1, 10),
            Err(close::PROTOCOL_ERROR),
            "a new message inside a fragmented one"
        );
        assert_eq!(
            message.start(head(true, Kind::Continuation), 5, 10),
            Err(close::TOO_BIG)
        );
        let mut small = Message::default();
        assert_eq!(small.start(head(false, Kind::Binary), 3, 10), Ok(false));
        small.end_frame(false).unwrap();
        assert_eq!(
            small.start(head(true, Kind::Continuation), 3, 10),
            Ok(false)
        );
        small.end_frame(true).unwrap();
        assert_eq!(small.start(head(true, Kind::Text), 3, 10), Ok(true));
    }

    #[test]
    fn utf8_is_checked_across_cut_characters() {
        let text = "café ☕ 𝄞 ok".as_bytes();
        for cut in 0..=text.len() {
            for second_cut in cut..=text.len() {
                let mut check = Utf8Check::default();
                check.feed(&text[..cut]).unwrap();
                check.feed(&text[cut..second_cut]).unwrap();
                check.feed(&text[second_cut..]).unwrap();
                assert_eq!(check.finish(), Ok(()), "cut at {cut}, {second_cut}");
            }
        }
        let mut bad = Utf8Check::default();
        assert_eq!(bad.feed(b"caf\xc3\x28"), Err(close::INVALID_DATA));
        let mut cut_bad = Utf8Check::default();
        cut_bad.feed(b"caf\xc3").unwrap();
        assert_eq!(cut_bad.feed(b"\x28"), Err(close::INVALID_DATA));
        let mut unfinished = Utf8Check::default();
        unfinished.feed("☕".as_bytes().split_at(2).0).unwrap();
        assert_eq!(unfinished.finish(), Err(close::INVALID_DATA));
        let mut lone = Utf8Check::default();
        assert_eq!(lone.feed(b"\xff"), Err(close::INVALID_DATA));
    }

    #[test]
    fn close_codes_are_echoed_when_allowed() {
        assert_eq!(close_reply(&[]), Ok(None));
        assert_eq!(close_reply(&[0x03, 0xE8]), Ok(Some(1000)));
        assert_eq!(close_reply(&[0x0F, 0xA0, b'o', b'k']), Ok(Some(4000)));
        assert_eq!(close_reply(&[0x03]), Err(close::PROTOCOL_ERROR));
        for reserved in [999u16, 1004, 1005, 1006, 1015, 2999, 5000] {
            assert_eq!(
                close_reply(&reserved.to_be_bytes()),
                Err(close::PROTOCOL_ERROR),
                "{reserved}"
            );
        }
        assert_eq!(close_reply(&[0x03, 0xE8, 0xff]), Err(close::INVALID_DATA));
    }

    #[tokio::test]
    async fn frames_are_read_from_a_stream_and_unmasked() {
        let mask = [1u8, 2, 3, 4];
        let masked = |payload: &[u8]| -> Vec<u8> {
            payload
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ mask[i % 4])
                .collect()
        };
        let mut bytes = vec![0x89, MASKED | 3];
        bytes.extend_from_slice(&mask);
        bytes.extend(masked(b"hey"));
        // A 600-byte text frame (two chunks), UTF-8 with a character across the chunk edge.
        let text: Vec<u8> = "a"
            .repeat(511)
            .into_bytes()
            .into_iter()
            .chain("é".repeat(44).into_bytes())
            .collect();
        bytes.extend_from_slice(&[0x81, MASKED | 126]);
        bytes.extend_from_slice(&(text.len() as u16).to_be_bytes());
        bytes.extend_from_slice(&mask);
        bytes.extend(masked(&text));
        bytes.extend_from_slice(&[0x88, MASKED | 2]);
        bytes.extend_from_slice(&mask);
        bytes.extend(masked(&1000u16.to_be_bytes()));
        let mut stream = bytes.as_slice();
        let mut message = Message::default();
        assert_eq!(
            read_frame(&mut stream, &mut message, 4096).await,
            Ok(Incoming::Ping(b"hey".to_vec()))
        );
        assert_eq!(
            read_frame(&mut stream, &mut message, 4096).await,
            Ok(Incoming::Heard)
        );
        assert_eq!(
            read_frame(&mut stream, &mut message, 4096).await,
            Ok(Incoming::Close(Some(1000)))
        );
        assert_eq!(
            read_frame(&mut stream, &mut message, 4096).await,
            Err(Stop::Gone)
        );
    }
}

//! Verifying kitchen tickets offline with order-service's Ed25519 public keys.
//!
//! Keys come from one of two places, never both:
//! - **Configured** (`TICKET_PUBLIC_KEY`, one or more PEM blocks): the set is fixed for the
//!   process's life and nothing from the network can add to it or replace it. Several blocks let
//!   an operator rotate: add the new key to every notifier, switch order-service, drop the old.
//! - **Fetched** from order-service's `/api/kitchen/ticket-key/` (HTTPS in production). Each key
//!   has a `kid` (its RFC 7638 thumbprint) that order-service writes into every ticket's header.
//!   A ticket naming a key this notifier holds is checked with that key and only that key, so a
//!   forged ticket cannot make the notifier fetch again; a ticket naming an unknown key triggers
//!   one fetch (at most every few seconds), and the fetched key is added beside the ones held,
//!   so tickets signed by the previous key keep working while they live (no flag day).

use std::{
    path::Path,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, errors::ErrorKind};
use serde::Deserialize;
use shared_types::{TICKET_AUDIENCE, TicketClaims};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TicketError {
    #[error("The ticket is missing, malformed, forged or expired.")]
    Invalid,
    #[error("Tickets cannot be checked right now; try again shortly.")]
    KeyUnavailable,
}

/// Fetched keys kept at most: the current one and a few before it, for tickets signed just
/// before a rotation or by an instance that has not restarted yet.
const FETCHED_KEYS_KEPT: usize = 4;
/// Longest `kid` accepted from the key document.
const MAX_KID_LEN: usize = 128;

/// The keys a verifier holds, newest first. Pure data, so the lookup rules are unit-tested.
struct KeyRing<K> {
    keys: Vec<(Option<String>, K)>,
}

impl<K> Default for KeyRing<K> {
    fn default() -> Self {
        Self { keys: Vec::new() }
    }
}

/// Which held keys may verify a ticket.
#[derive(Debug, PartialEq, Eq)]
enum Candidates<'a, K> {
    /// The ticket names this key: only it is tried, and a failure is final.
    Named(&'a K),
    /// The ticket names no key (or the keys have no names): every held key is tried.
    All(Vec<&'a K>),
    /// The ticket names a key this ring does not hold.
    Unknown,
}

impl<K> KeyRing<K> {
    fn configured(keys: Vec<K>) -> Self {
        Self {
            keys: keys.into_iter().map(|k| (None, k)).collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn candidates(&self, kid: Option<&str>) -> Candidates<'_, K> {
        let named = |wanted: &str| {
            self.keys
                .iter()
                .find(|(id, _)| id.as_deref() == Some(wanted))
                .map(|(_, key)| key)
        };
        match kid {
            Some(kid) if self.keys.iter().any(|(id, _)| id.is_some()) => {
                named(kid).map_or(Candidates::Unknown, Candidates::Named)
            }
            _ if self.keys.is_empty() => Candidates::Unknown,
            _ => Candidates::All(self.keys.iter().map(|(_, key)| key).collect()),
        }
    }

    /// Adds a fetched key as the newest. A key with the same `kid` (or, for an order-service
    /// that names no keys, any unnamed key) is replaced; beyond `FETCHED_KEYS_KEPT`, the oldest
    /// goes.
    fn insert_fetched(&mut self, kid: Option<String>, key: K) {
        self.keys.retain(|(id, _)| *id != kid);
        self.keys.insert(0, (kid, key));
        self.keys.truncate(FETCHED_KEYS_KEPT);
    }
}

/// How keys are fetched when none was configured.
struct KeyFetcher {
    url: String,
    http: reqwest::Client,
    /// When the key was last fetched. Held across the fetch, so concurrent handshakes that all
    /// need a new key wait for one fetch and then use its result.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    /// Fetches are at most this frequent, so tickets naming unknown keys cannot hammer
    /// order-service.
    refetch_interval: Duration,
}

pub struct TicketVerifier {
    keys: RwLock<KeyRing<Arc<DecodingKey>>>,
    /// `None` when the keys were configured: nothing is ever fetched.
    fetcher: Option<KeyFetcher>,
    validation: Validation,
}

#[derive(Deserialize)]
struct KeyDocument {
    public_key: String,
    #[serde(default)]
    kid: Option<String>,
}

/// The PEM blocks of `text` (one or more `-----BEGIN …-----` … `-----END …-----`), so one
/// variable can carry the keys of a rotation.
pub fn pem_blocks(text: &str) -> Vec<&str> {
    const END: &str = "-----END ";
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let Some(end_at) = rest[start..].find(END) else {
            break;
        };
        let end_marker = start + end_at + END.len();
        let close = rest[end_marker..]
            .find("-----")
            .map_or(rest.len(), |i| end_marker + i + "-----".len());
        blocks.push(&rest[start..close]);
        rest = &rest[close..];
    }
    blocks
}

/// Parses `TICKET_PUBLIC_KEY`: every block must be an Ed25519 public key, and there must be one.
pub fn parse_configured_keys(text: &str) -> Option<Vec<DecodingKey>> {
    let keys = pem_blocks(text)
        .into_iter()
        .map(|pem| DecodingKey::from_ed_pem(pem.as_bytes()).ok())
        .collect::<Option<Vec<_>>>()?;
    (!keys.is_empty()).then_some(keys)
}

impl TicketVerifier {
    /// `extra_roots_pem`: certificates (PEM) to trust beside the system's for an `https://`
    /// `order_service_url`, e.g. a private CA's.
    pub fn new(
        configured_pem: Option<&str>,
        order_service_url: &str,
        extra_roots_pem: Option<&Path>,
        refetch_interval: Duration,
    ) -> anyhow::Result<Self> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[TICKET_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        validation.leeway = 2;
        if let Some(pem) = configured_pem {
            let keys = parse_configured_keys(pem)
                .ok_or_else(|| anyhow::anyhow!("expected Ed25519 public keys in PEM"))?;
            return Ok(Self {
                keys: RwLock::new(KeyRing::configured(
                    keys.into_iter().map(Arc::new).collect(),
                )),
                fetcher: None,
                validation,
            });
        }
        let mut http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            // A redirect could lead from https to plain http.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = extra_roots_pem {
            let pem = std::fs::read(path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            let roots = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| anyhow::anyhow!("no certificates in {}: {e}", path.display()))?;
            http = http.tls_certs_merge(roots);
        }
        Ok(Self {
            keys: RwLock::new(KeyRing::default()),
            fetcher: Some(KeyFetcher {
                url: format!("{order_service_url}/api/kitchen/ticket-key/"),
                http: http.build()?,
                last_fetch: tokio::sync::Mutex::new(None),
                refetch_interval,
            }),
            validation,
        })
    }

    pub fn has_key(&self) -> bool {
        self.keys.read().map(|k| !k.is_empty()).unwrap_or(false)
    }

    /// Fetches the current key from order-service unless one was fetched very recently.
    /// Returns whether any key is now held.
    pub async fn refresh(&self) -> bool {
        let Some(fetcher) = &self.fetcher else {
            return self.has_key();
        };
        let mut last = fetcher.last_fetch.lock().await;
        if last.is_some_and(|at| at.elapsed() < fetcher.refetch_interval) {
            // Fetched just now (perhaps while this caller waited for the lock).
            return self.has_key();
        }
        *last = Some(Instant::now());
        let fetched = async {
            let document: KeyDocument = fetcher
                .http
                .get(&fetcher.url)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            if document
                .kid
                .as_ref()
                .is_some_and(|kid| kid.len() > MAX_KID_LEN)
            {
                anyhow::bail!("the key document's kid is over {MAX_KID_LEN} bytes");
            }
            let key = DecodingKey::from_ed_pem(document.public_key.as_bytes())?;
            Ok::<_, anyhow::Error>((document.kid, key))
        }
        .await;
        match fetched {
            Ok((kid, key)) => {
                if let Ok(mut keys) = self.keys.write() {
                    keys.insert_fetched(kid.clone(), Arc::new(key));
                }
                tracing::info!(
                    kid = kid.as_deref().unwrap_or("-"),
                    "fetched the ticket public key from order-service"
                );
                true
            }
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "cannot fetch the ticket public key"
                );
                self.has_key()
            }
        }
    }

    /// Fetches the key at start, retrying until it is there or `stop`.
    pub async fn fetch_until_loaded(self: Arc<Self>, stop: tokio_util::sync::CancellationToken) {
        let Some(fetcher) = &self.fetcher else {
            return;
        };
        let mut attempt = 0;
        while !self.has_key() && !stop.is_cancelled() {
            if self.refresh().await {
                return;
            }
            attempt += 1;
            let wait = service_common::backoff::backoff(
                attempt,
                Duration::from_millis(500),
                Duration::from_secs(10),
            )
            .max(fetcher.refetch_interval);
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    pub async fn verify(&self, ticket: &str) -> Result<TicketClaims, TicketError> {
        let kid = decode_header(ticket).map_err(|_| TicketError::Invalid)?.kid;
        match self.check(ticket, kid.as_deref()) {
            Checked::Valid(claims) => return Ok(claims),
            Checked::Invalid => return Err(TicketError::Invalid),
            Checked::NeedsKey if self.fetcher.is_none() => return Err(TicketError::Invalid),
            Checked::NeedsKey => {}
        }
        // A key this notifier has not seen: order-service may have restarted or rotated.
        self.refresh().await;
        if !self.has_key() {
            return Err(TicketError::KeyUnavailable);
        }
        match self.check(ticket, kid.as_deref()) {
            Checked::Valid(claims) => Ok(claims),
            Checked::Invalid | Checked::NeedsKey => Err(TicketError::Invalid),
        }
    }

    fn check(&self, ticket: &str, kid: Option<&str>) -> Checked {
        let Ok(keys) = self.keys.read() else {
            return Checked::NeedsKey;
        };
        let tried = match keys.candidates(kid) {
            Candidates::Unknown => return Checked::NeedsKey,
            Candidates::Named(key) => {
                return match decode::<TicketClaims>(ticket, key, &self.validation) {
                    Ok(data) => Checked::Valid(data.claims),
                    Err(_) => Checked::Invalid,
                };
            }
            Candidates::All(keys) => keys,
        };
        let mut signature_failed = false;
        for key in tried {
            match decode::<TicketClaims>(ticket, key, &self.validation) {
                Ok(data) => return Checked::Valid(data.claims),
                Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => {
                    signature_failed = true;
                }
                // Expired, wrong audience, malformed: no key would make it valid.
                Err(_) => return Checked::Invalid,
            }
        }
        if signature_failed {
            // No held key is named by this ticket: order-service may have a new one.
            Checked::NeedsKey
        } else {
            Checked::Invalid
        }
    }
}

enum Checked {
    Valid(TicketClaims),
    Invalid,
    NeedsKey,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(keys: &[(Option<&str>, u8)]) -> KeyRing<u8> {
        KeyRing {
            keys: keys
                .iter()
                .map(|(kid, k)| (kid.map(str::to_owned), *k))
                .collect(),
        }
    }

    #[test]
    fn a_named_key_is_the_only_candidate() {
        let keys = ring(&[(Some("new"), 2), (Some("old"), 1)]);
        assert_eq!(keys.candidates(Some("old")), Candidates::Named(&1));
        assert_eq!(keys.candidates(Some("other")), Candidates::Unknown);
        // A ticket naming no key is tried against all.
        assert_eq!(keys.candidates(None), Candidates::All(vec![&2, &1]));
    }

    #[test]
    fn configured_keys_have_no_names_and_are_all_tried() {
        let keys = KeyRing::configured(vec![1u8, 2]);
        assert_eq!(
            keys.candidates(Some("anything")),
            Candidates::All(vec![&1, &2])
        );
        assert_eq!(keys.candidates(None), Candidates::All(vec![&1, &2]));
        assert_eq!(
            KeyRing::<u8>::default().candidates(None),
            Candidates::Unknown
        );
    }

    #[test]
    fn fetched_keys_are_added_newest_first_and_bounded() {
        let mut keys = KeyRing::default();
        for (i, kid) in ["a", "b", "c", "d", "e"].into_iter().enumerate() {
            keys.insert_fetched(Some(kid.to_owned()), i as u8);
        }
        assert_eq!(keys.keys.len(), FETCHED_KEYS_KEPT);
        assert_eq!(keys.candidates(Some("a")), Candidates::Unknown);
        assert_eq!(keys.candidates(Some("e")), Candidates::Named(&4));
        // The same kid fetched again replaces its entry rather than adding one.
        keys.insert_fetched(Some("c".to_owned()), 9);
        assert_eq!(keys.keys.len(), FETCHED_KEYS_KEPT);
        assert_eq!(keys.candidates(Some("c")), Candidates::Named(&9));
        // An order-service that names no keys: its key replaces the previous unnamed one.
        let mut unnamed = KeyRing::default();
        unnamed.insert_fetched(None, 1u8);
        unnamed.insert_fetched(None, 2);
        assert_eq!(unnamed.candidates(None), Candidates::All(vec![&2]));
    }

    #[test]
    fn pem_blocks_splits_a_rotation_pair() {
        let one = "-----BEGIN PUBLIC KEY-----\nAAA\n-----END PUBLIC KEY-----";
        let two = "-----BEGIN PUBLIC KEY-----\nBBB\n-----END PUBLIC KEY-----";
        assert_eq!(pem_blocks(&format!("{one}\n{two}\n")), vec![one, two]);
        assert_eq!(pem_blocks(one), vec![one]);
        assert!(pem_blocks("garbage").is_empty());
        assert!(parse_configured_keys("garbage").is_none());
        assert!(parse_configured_keys(one).is_none(), "not a real key");
    }
}

//! Verifying kitchen tickets offline with order-service's Ed25519 public key. The key comes
//! from configuration, or is fetched from order-service and cached; a ticket whose signature
//! does not verify triggers one refetch (at most every few seconds), so a notifier survives an
//! order-service restart that generated a new key.

use std::{
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, errors::ErrorKind};
use serde::Deserialize;
use shared_types::{TICKET_AUDIENCE, TicketClaims};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TicketError {
    #[error("The ticket is missing, malformed, forged or expired.")]
    Invalid,
    #[error("Tickets cannot be checked right now; try again shortly.")]
    KeyUnavailable,
}

pub struct TicketVerifier {
    key: RwLock<Option<Arc<DecodingKey>>>,
    /// `None` when the key was configured: nothing to fetch.
    key_url: Option<String>,
    /// When the key was last fetched. Held across the fetch, so concurrent handshakes that all
    /// need a new key wait for one fetch and then use its result.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    validation: Validation,
    http: reqwest::Client,
    /// Refetches are at most this frequent, so forged tickets cannot hammer order-service.
    refetch_interval: Duration,
}

#[derive(Deserialize)]
struct KeyDocument {
    public_key: String,
}

impl TicketVerifier {
    pub fn new(
        configured_pem: Option<&str>,
        order_service_url: &str,
        refetch_interval: Duration,
    ) -> anyhow::Result<Self> {
        let key = configured_pem
            .map(|pem| DecodingKey::from_ed_pem(pem.as_bytes()).map(Arc::new))
            .transpose()?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[TICKET_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        validation.leeway = 2;
        Ok(Self {
            key_url: key
                .is_none()
                .then(|| format!("{order_service_url}/api/kitchen/ticket-key/")),
            key: RwLock::new(key),
            last_fetch: tokio::sync::Mutex::new(None),
            validation,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?,
            refetch_interval,
        })
    }

    pub fn has_key(&self) -> bool {
        self.key.read().map(|k| k.is_some()).unwrap_or(false)
    }

    fn current(&self) -> Option<Arc<DecodingKey>> {
        self.key.read().ok().and_then(|k| k.clone())
    }

    /// Fetches the key from order-service unless one was fetched very recently. Returns
    /// whether a (possibly new) key is now held.
    pub async fn refresh(&self) -> bool {
        let Some(url) = &self.key_url else {
            return self.has_key();
        };
        let mut last = self.last_fetch.lock().await;
        if last.is_some_and(|at| at.elapsed() < self.refetch_interval) {
            // Fetched just now (perhaps while this caller waited for the lock).
            return self.has_key();
        }
        *last = Some(Instant::now());
        let fetched = async {
            let document: KeyDocument = self
                .http
                .get(url)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            Ok::<_, anyhow::Error>(DecodingKey::from_ed_pem(document.public_key.as_bytes())?)
        }
        .await;
        match fetched {
            Ok(key) => {
                if let Ok(mut slot) = self.key.write() {
                    *slot = Some(Arc::new(key));
                }
                tracing::info!("fetched the ticket public key from order-service");
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
            .max(self.refetch_interval);
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    pub async fn verify(&self, ticket: &str) -> Result<TicketClaims, TicketError> {
        let key = match self.current() {
            Some(key) => key,
            None => {
                self.refresh().await;
                self.current().ok_or(TicketError::KeyUnavailable)?
            }
        };
        match decode::<TicketClaims>(ticket, &key, &self.validation) {
            Ok(data) => Ok(data.claims),
            Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) && self.key_url.is_some() => {
                // Perhaps order-service restarted with a new key.
                if !self.refresh().await {
                    return Err(TicketError::Invalid);
                }
                let key = self.current().ok_or(TicketError::KeyUnavailable)?;
                decode::<TicketClaims>(ticket, &key, &self.validation)
                    .map(|data| data.claims)
                    .map_err(|_| TicketError::Invalid)
            }
            Err(_) => Err(TicketError::Invalid),
        }
    }
}

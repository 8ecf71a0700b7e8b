//! Kitchen WebSocket tickets: short-lived EdDSA (Ed25519) JWTs. order-service signs them after
//! checking staff membership; kitchen-notifier verifies them offline with the public key, so it
//! can authorize handshakes without a network hop and can never mint tickets itself.

use ed25519_dalek::{
    SigningKey,
    pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, spki::der::pem::LineEnding},
};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, encode,
    jwk::{Jwk, ThumbprintHash},
};
use shared_types::{Slug, TICKET_AUDIENCE, TICKET_TTL_SECS, TicketClaims};
use uuid::Uuid;

use super::tokens::unix_now;

pub struct TicketSigner {
    encoding: EncodingKey,
    public_key_pem: String,
    /// The key's RFC 7638 thumbprint, written into every ticket's header and published beside
    /// the key, so a notifier can tell a new key from a forgery and keep the previous key while
    /// its tickets live.
    kid: String,
    generated: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("expected an Ed25519 private key in PKCS#8 PEM (openssl genpkey -algorithm ed25519)")]
pub struct InvalidTicketKey;

impl TicketSigner {
    /// From a PKCS#8 PEM private key.
    pub fn from_pem(pem: &str) -> Result<Self, InvalidTicketKey> {
        let signing = SigningKey::from_pkcs8_pem(pem).map_err(|_| InvalidTicketKey)?;
        Self::from_signing_key(&signing, false)
    }

    /// A fresh key pair, for a single instance or development: several order-service instances
    /// must share one configured key, or tickets of one fail at notifiers that fetched another's.
    pub fn generate() -> anyhow::Result<Self> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        Ok(Self::from_signing_key(
            &SigningKey::from_bytes(&seed),
            true,
        )?)
    }

    fn from_signing_key(signing: &SigningKey, generated: bool) -> Result<Self, InvalidTicketKey> {
        let private_pem = signing
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| InvalidTicketKey)?;
        let public_key_pem = signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| InvalidTicketKey)?;
        let encoding =
            EncodingKey::from_ed_pem(private_pem.as_bytes()).map_err(|_| InvalidTicketKey)?;
        let kid = DecodingKey::from_ed_pem(public_key_pem.as_bytes())
            .and_then(|public| Jwk::from_decoding_key(&public, Some(Algorithm::EdDSA)))
            .and_then(|jwk| jwk.thumbprint(ThumbprintHash::SHA256))
            .map_err(|_| InvalidTicketKey)?;
        Ok(Self {
            encoding,
            public_key_pem,
            kid,
            generated,
        })
    }

    pub fn is_generated(&self) -> bool {
        self.generated
    }

    pub fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn issue(&self, user: Uuid, slug: &Slug) -> anyhow::Result<String> {
        let now = unix_now();
        let claims = TicketClaims {
            sub: user,
            slug: slug.to_string(),
            aud: TICKET_AUDIENCE.to_owned(),
            iat: now,
            exp: now + TICKET_TTL_SECS,
        };
        let header = Header {
            kid: Some(self.kid.clone()),
            ..Header::new(Algorithm::EdDSA)
        };
        Ok(encode(&header, &claims, &self.encoding)?)
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Validation, decode};

    use super::*;

    #[test]
    fn tickets_verify_with_the_public_key_only() {
        let signer = TicketSigner::generate().unwrap();
        let slug = Slug::parse("luigis").unwrap();
        let user = Uuid::new_v4();
        let ticket = signer.issue(user, &slug).unwrap();
        let key = DecodingKey::from_ed_pem(signer.public_key_pem().as_bytes()).unwrap();
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[TICKET_AUDIENCE]);
        let claims = decode::<TicketClaims>(&ticket, &key, &validation)
            .unwrap()
            .claims;
        assert_eq!(claims.sub, user);
        assert_eq!(claims.slug, "luigis");
        assert_eq!(claims.exp - claims.iat, 60);

        assert_eq!(
            jsonwebtoken::decode_header(&ticket).unwrap().kid.as_deref(),
            Some(signer.kid())
        );

        let other = TicketSigner::generate().unwrap();
        assert_ne!(other.kid(), signer.kid(), "each key has its own id");
        let other_key = DecodingKey::from_ed_pem(other.public_key_pem().as_bytes()).unwrap();
        assert!(decode::<TicketClaims>(&ticket, &other_key, &validation).is_err());
    }

    #[test]
    fn pem_round_trip() {
        let signing = SigningKey::from_bytes(&[7u8; 32]);
        let pem = signing.to_pkcs8_pem(LineEnding::LF).unwrap();
        let signer = TicketSigner::from_pem(&pem).unwrap();
        assert!(!signer.is_generated());
        // The id is the key's thumbprint: the same key always gets the same id (43 base64url
        // characters of SHA-256), whichever instance loads it.
        assert_eq!(TicketSigner::from_pem(&pem).unwrap().kid(), signer.kid());
        assert_eq!(signer.kid().len(), 43);
        assert!(TicketSigner::from_pem("not a key").is_err());
    }
}

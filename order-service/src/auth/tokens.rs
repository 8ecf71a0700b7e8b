//! HS256 JWTs: access tokens (15 minutes) and refresh tokens (7 days), told apart by `typ` so
//! one can never be used as the other. Access tokens are stateless; a refresh token's `jti` is
//! its row in `refresh_tokens` (see `auth::sessions`), which says whether it may still refresh.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const ACCESS_TTL_SECS: u64 = 15 * 60;
/// Who issues the tokens and who they are for: checked, so a token some other service signs
/// with a shared secret (or a kitchen ticket) is never taken for one of ours.
pub const ISSUER: &str = "kitchen-order-service";
pub const AUDIENCE: &str = "kitchen-api";
pub const REFRESH_TTL_SECS: u64 = 7 * 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
    Refresh,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub iss: String,
    pub aud: String,
    pub typ: TokenKind,
    pub iat: u64,
    pub exp: u64,
    pub jti: Uuid,
}

/// A refresh token just signed, and what its row in `refresh_tokens` needs.
pub struct IssuedRefresh {
    pub token: String,
    pub jti: Uuid,
    pub expires_at: DateTime<Utc>,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid token")]
pub struct InvalidToken;

impl TokenKeys {
    pub fn new(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    pub fn issue(&self, user_id: Uuid, kind: TokenKind) -> anyhow::Result<String> {
        let now = unix_now();
        let ttl = match kind {
            TokenKind::Access => ACCESS_TTL_SECS,
            TokenKind::Refresh => REFRESH_TTL_SECS,
        };
        self.issue_with_expiry(user_id, kind, now, now + ttl)
    }

    /// A refresh token, with the id and expiry its database row is stored under.
    pub fn issue_refresh(&self, user_id: Uuid) -> anyhow::Result<IssuedRefresh> {
        let now = unix_now();
        let claims = Claims {
            sub: user_id,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            typ: TokenKind::Refresh,
            iat: now,
            exp: now + REFRESH_TTL_SECS,
            jti: Uuid::new_v4(),
        };
        let expires_at = i64::try_from(claims.exp)
            .ok()
            .and_then(|exp| DateTime::from_timestamp(exp, 0))
            .ok_or_else(|| anyhow::anyhow!("refresh expiry out of range"))?;
        Ok(IssuedRefresh {
            token: encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?,
            jti: claims.jti,
            expires_at,
        })
    }

    /// Issues a token with explicit times (tests use it to make expired tokens).
    pub fn issue_with_expiry(
        &self,
        user_id: Uuid,
        kind: TokenKind,
        iat: u64,
        exp: u64,
    ) -> anyhow::Result<String> {
        let claims = Claims {
            sub: user_id,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            typ: kind,
            iat,
            exp,
            jti: Uuid::new_v4(),
        };
        Ok(encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// The user of a valid token of `kind`.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<Uuid, InvalidToken> {
        Ok(self.claims(token, kind)?.sub)
    }

    /// The claims of a valid token of `kind` (signature, issuer, audience and expiry checked).
    pub fn claims(&self, token: &str, kind: TokenKind) -> Result<Claims, InvalidToken> {
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| InvalidToken)?
            .claims;
        if claims.typ == kind {
            Ok(claims)
        } else {
            Err(InvalidToken)
        }
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_not_interchangeable() {
        let keys = TokenKeys::new("0123456789abcdef0123456789abcdef");
        let user = Uuid::new_v4();
        let access = keys.issue(user, TokenKind::Access).unwrap();
        let refresh = keys.issue(user, TokenKind::Refresh).unwrap();
        assert_eq!(keys.verify(&access, TokenKind::Access).unwrap(), user);
        assert_eq!(keys.verify(&refresh, TokenKind::Refresh).unwrap(), user);
        assert!(keys.verify(&access, TokenKind::Refresh).is_err());
        assert!(keys.verify(&refresh, TokenKind::Access).is_err());
    }

    #[test]
    fn access_tokens_live_15_minutes_and_refresh_tokens_7_days() {
        let keys = TokenKeys::new("0123456789abcdef0123456789abcdef");
        for (kind, ttl) in [
            (TokenKind::Access, 15 * 60),
            (TokenKind::Refresh, 7 * 24 * 3600),
        ] {
            let token = keys.issue(Uuid::new_v4(), kind).unwrap();
            let claims = decode::<Claims>(&token, &keys.decoding, &keys.validation)
                .unwrap()
                .claims;
            assert_eq!(claims.exp - claims.iat, ttl);
        }
    }

    #[test]
    fn issued_refresh_tokens_carry_the_id_and_expiry_they_are_stored_under() {
        let keys = TokenKeys::new("0123456789abcdef0123456789abcdef");
        let user = Uuid::new_v4();
        let issued = keys.issue_refresh(user).unwrap();
        let claims = keys.claims(&issued.token, TokenKind::Refresh).unwrap();
        assert_eq!(claims.sub, user);
        assert_eq!(claims.jti, issued.jti);
        assert_eq!(claims.exp as i64, issued.expires_at.timestamp());
        assert_eq!(claims.exp - claims.iat, REFRESH_TTL_SECS);
        assert!(keys.claims(&issued.token, TokenKind::Access).is_err());
    }

    #[test]
    fn expired_and_foreign_tokens_fail() {
        let keys = TokenKeys::new("0123456789abcdef0123456789abcdef");
        let other = TokenKeys::new("another-secret-another-secret-xx");
        let user = Uuid::new_v4();
        let now = unix_now();
        let expired = keys
            .issue_with_expiry(user, TokenKind::Access, now - 120, now - 60)
            .unwrap();
        assert!(keys.verify(&expired, TokenKind::Access).is_err());
        let foreign = other.issue(user, TokenKind::Access).unwrap();
        assert!(keys.verify(&foreign, TokenKind::Access).is_err());
        assert!(keys.verify("not.a.jwt", TokenKind::Access).is_err());
    }

    #[test]
    fn tokens_of_another_issuer_or_audience_fail() {
        let secret = "0123456789abcdef0123456789abcdef";
        let keys = TokenKeys::new(secret);
        let now = unix_now();
        for (iss, aud) in [
            (Some("someone-else"), Some(AUDIENCE)),
            (Some(ISSUER), Some("kitchen-ws")),
            (None, Some(AUDIENCE)),
            (Some(ISSUER), None),
        ] {
            let mut claims = serde_json::json!({"sub": Uuid::new_v4(), "typ": "access",
                "iat": now, "exp": now + 60, "jti": Uuid::new_v4()});
            if let Some(iss) = iss {
                claims["iss"] = iss.into();
            }
            if let Some(aud) = aud {
                claims["aud"] = aud.into();
            }
            let token = encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(secret.as_bytes()),
            )
            .unwrap();
            assert!(keys.verify(&token, TokenKind::Access).is_err(), "{claims}");
        }
    }
}

//! Reading configuration from environment variables. Every problem is one line that names
//! the variable, and secrets are never echoed back.

use std::{fmt, str::FromStr};

#[derive(Debug)]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.variable, self.reason)
    }
}

impl std::error::Error for ConfigError {}

pub fn error(variable: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        reason: reason.into(),
    }
}

/// Looks variables up through a function, so tests need not touch the process environment.
/// An empty value counts as unset.
pub struct Env<F: Fn(&str) -> Option<String>>(pub F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.is_empty())
    }

    pub fn string(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or_else(|| default.to_owned())
    }

    /// Parses the variable, or takes `default` when it is unset.
    pub fn parse<T: FromStr>(
        &self,
        name: &'static str,
        default: T,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.get(name) {
            Some(text) => text.trim().parse().map_err(|_| error(name, expected)),
            None => Ok(default),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// `LOG_FORMAT`: `text` (default) or `json`.
    pub fn log_format(&self) -> Result<LogFormat, ConfigError> {
        match self.get("LOG_FORMAT").as_deref() {
            None | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(_) => Err(error("LOG_FORMAT", "expected 'text' or 'json'")),
        }
    }

    /// `AMQP_URL`: one AMQP URI, or several comma-separated (a cluster's nodes), each checked.
    pub fn amqp_url(&self) -> Result<String, ConfigError> {
        let url = self.string("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f");
        if let Err(why) = crate::amqp::parse_list(&url) {
            return Err(error(
                "AMQP_URL",
                format!(
                    "expected amqp://user:password@host:port/vhost, or several comma-separated: {why}"
                ),
            ));
        }
        Ok(url)
    }

    /// `KITCHEN_EXCHANGE`: an AMQP short string.
    /// `HTTP_HEADER_TIMEOUT_SECS`: how long a client may take to send a request's headers
    /// (and to start its next request on a kept-alive connection).
    pub fn header_read_timeout(&self) -> Result<std::time::Duration, ConfigError> {
        let expected = "expected a whole number of seconds from 1 to 300";
        let secs: u64 = self.parse(
            "HTTP_HEADER_TIMEOUT_SECS",
            crate::net::DEFAULT_HEADER_READ_TIMEOUT.as_secs(),
            expected,
        )?;
        if !(1..=300).contains(&secs) {
            return Err(error("HTTP_HEADER_TIMEOUT_SECS", expected));
        }
        Ok(std::time::Duration::from_secs(secs))
    }

    /// `METRICS_ADDR`: when set, `/metrics` is served on this address only (not on the main
    /// listener), so it need not face the internet.
    pub fn metrics_addr(&self) -> Result<Option<std::net::SocketAddr>, ConfigError> {
        self.get("METRICS_ADDR")
            .map(|text| {
                text.trim()
                    .parse()
                    .map_err(|_| error("METRICS_ADDR", "expected host:port, e.g. 127.0.0.1:9090"))
            })
            .transpose()
    }

    pub fn exchange(&self) -> Result<String, ConfigError> {
        let exchange = self.string("KITCHEN_EXCHANGE", "kitchen.events");
        if exchange.len() > 255 {
            return Err(error("KITCHEN_EXCHANGE", "at most 255 bytes"));
        }
        Ok(exchange)
    }
}

/// `scheme://user:secret@host/…` → `scheme://user:***@host/…`, for logs.
pub fn redact_url(url: &str) -> String {
    if url.contains(',') && url.split(',').all(|part| part.contains("://")) {
        // A list of URIs (AMQP_URL for a cluster): each on its own.
        return url.split(',').map(redact_url).collect::<Vec<_>>().join(",");
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<unparseable url>".into();
    };
    match rest.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("amqp://guest:guest@h:5672/%2f"),
            "amqp://guest:***@h:5672/%2f"
        );
        assert_eq!(
            redact_url("postgres://postgres@h/db"),
            "postgres://postgres:***@h/db"
        );
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
        assert_eq!(
            redact_url("amqp://u:p1@h1:5681/%2f,amqp://u:p2@h2:5682/%2f"),
            "amqp://u:***@h1:5681/%2f,amqp://u:***@h2:5682/%2f"
        );
    }

    #[test]
    fn a_malformed_amqp_list_names_the_variable_on_one_line() {
        let env = Env(|name: &str| {
            (name == "AMQP_URL").then(|| "amqp://u:secret@h1:5672,h2:5672/%2f".to_owned())
        });
        let error = env.amqp_url().unwrap_err();
        assert_eq!(error.variable, "AMQP_URL");
        assert!(!error.to_string().contains('\n'));
        assert!(!error.to_string().contains("secret"), "{error}");
    }

    #[test]
    fn empty_means_unset_and_bad_values_name_the_variable() {
        let env = Env(|name: &str| match name {
            "EMPTY" => Some(String::new()),
            "PORT" => Some("eighty".into()),
            _ => None,
        });
        assert_eq!(env.string("EMPTY", "d"), "d");
        let err = env.parse::<u16>("PORT", 1, "expected a port").unwrap_err();
        assert_eq!(err.to_string(), "invalid PORT: expected a port");
    }
}

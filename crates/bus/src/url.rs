//! Broker addresses given on the command line: `mqtt://[user:pass@]host[:port]`.

use thiserror::Error;

/// Where an external broker listens, and how to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// Why a broker URL was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum UrlError {
    #[error("broker URL `{0}` must start with mqtt:// (e.g. mqtt://127.0.0.1:1883)")]
    Scheme(String),
    #[error("broker URL `{0}` has no host (e.g. mqtt://127.0.0.1:1883)")]
    NoHost(String),
    #[error("broker URL `{0}` has a port that is not a number from 1 to 65535")]
    Port(String),
}

impl BrokerUrl {
    /// Parses `mqtt://[user[:pass]@]host[:port]`; the port defaults to 1883.
    pub fn parse(url: &str) -> Result<BrokerUrl, UrlError> {
        let rest = url
            .strip_prefix("mqtt://")
            .ok_or_else(|| UrlError::Scheme(url.into()))?;
        let rest = rest.trim_end_matches('/');

        let (credentials, address) = match rest.rsplit_once('@') {
            Some((credentials, address)) => (Some(credentials), address),
            None => (None, rest),
        };
        let (username, password) = match credentials.map(|c| c.split_once(':')) {
            Some(Some((user, pass))) => (Some(user.to_string()), Some(pass.to_string())),
            Some(None) => (credentials.map(str::to_string), None),
            None => (None, None),
        };

        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => {
                let port: u16 = port.parse().map_err(|_| UrlError::Port(url.into()))?;
                if port == 0 {
                    return Err(UrlError::Port(url.into()));
                }
                (host, port)
            }
            None => (address, 1883),
        };
        if host.is_empty() {
            return Err(UrlError::NoHost(url.into()));
        }

        Ok(BrokerUrl {
            host: host.to_string(),
            port,
            username,
            password,
        })
    }
}

impl std::fmt::Display for BrokerUrl {
    /// Shows the URL without the password, for logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.username {
            Some(user) => write!(f, "mqtt://{user}@{}:{}", self.host, self.port),
            None => write!(f, "mqtt://{}:{}", self.host, self.port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_port_and_credentials() {
        let url = BrokerUrl::parse("mqtt://net:secret@broker.local:8883").unwrap();
        assert_eq!(url.host, "broker.local");
        assert_eq!(url.port, 8883);
        assert_eq!(url.username.as_deref(), Some("net"));
        assert_eq!(url.password.as_deref(), Some("secret"));
        assert_eq!(url.to_string(), "mqtt://net@broker.local:8883");
        assert_eq!(BrokerUrl::parse("mqtt://127.0.0.1").unwrap().port, 1883);
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        assert!(matches!(
            BrokerUrl::parse("http://x:1"),
            Err(UrlError::Scheme(_))
        ));
        assert!(matches!(
            BrokerUrl::parse("mqtt://:1883"),
            Err(UrlError::NoHost(_))
        ));
        assert!(matches!(
            BrokerUrl::parse("mqtt://h:99999"),
            Err(UrlError::Port(_))
        ));
    }
}

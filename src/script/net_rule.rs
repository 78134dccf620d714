//! [`NetRule`]: one `--net-allow` entry, a host with an optional port, as curl writes them.
//!
//! `example.com`, `example.com:8443`, `127.0.0.1`, `127.0.0.1:8080`, `[::1]`, `[::1]:8080`
//! and a bare `::1` are accepted (issue 16: `[::1]` and `host:port` were taken as host names
//! that no request ever has, so they matched nothing and said nothing). A rule without a
//! port allows every port of its host; with one, only that port, compared with the
//! request's port (its URL's, else 80 for `http` and 443 for `https`). Host names compare
//! without regard to case, IP addresses as addresses (`[::1]` is `0:0:0:0:0:0:0:1`).
//! Anything else (a URL, a path, a blank, an empty host, a port that is not 1-65535) is
//! refused when the command line is read, with the spelling to use.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// One `--net-allow` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetRule {
    /// A host name or an IP address, without brackets.
    pub host: String,
    /// `None`: every port.
    pub port: Option<u16>,
}

const FORMS: &str =
    "give HOST or HOST:PORT, such as `example.com`, `127.0.0.1:8080` or `[::1]:8080`";

impl NetRule {
    /// Reads a `--net-allow` value.
    ///
    /// # Errors
    ///
    /// A message saying what is wrong with `text` and which forms are accepted.
    pub fn parse(text: &str) -> Result<NetRule, String> {
        if text.is_empty() {
            return Err(format!("an empty host; {FORMS}"));
        }
        if text.contains("://") || text.contains('/') {
            return Err(format!("`{text}` is not a host; {FORMS}, not a URL"));
        }
        if let Some(c) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("`{text}` holds {c:?}; {FORMS}"));
        }
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (inside, after) = rest
                .split_once(']')
                .ok_or_else(|| format!("`{text}`: `[` without `]`; {FORMS}"))?;
            if inside.parse::<Ipv6Addr>().is_err() {
                return Err(format!(
                    "`{text}`: `{inside}` in brackets is not an IPv6 address; {FORMS}"
                ));
            }
            let port = match after {
                "" => None,
                _ => Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| format!("`{text}`: expected `:PORT` after `]`; {FORMS}"))?,
                ),
            };
            (inside, port)
        } else if text.matches(':').count() > 1 {
            // A bare IPv6 address: its colons are not a port separator.
            if text.parse::<Ipv6Addr>().is_err() {
                return Err(format!(
                    "`{text}` is not an IPv6 address; with a port, write it `[ADDRESS]:PORT`"
                ));
            }
            (text, None)
        } else {
            match text.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (text, None),
            }
        };
        if host.is_empty() {
            return Err(format!("`{text}` has no host; {FORMS}"));
        }
        if let Some(bad) = host
            .chars()
            .find(|c| !(c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')))
        {
            return Err(format!(
                "`{text}`: `{bad}` cannot be in a host name; {FORMS} (no wildcards)"
            ));
        }
        let port = match port {
            None => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("`{text}`: `{p}` is not a port (1-65535)"))?,
            ),
        };
        Ok(NetRule {
            host: host.to_string(),
            port,
        })
    }

    /// Whether a request to `host` (no brackets) reaches this rule's host.
    pub fn matches_host(&self, host: &str) -> bool {
        match (self.host.parse::<IpAddr>(), host.parse::<IpAddr>()) {
            (Ok(a), Ok(b)) => a == b,
            _ => self.host.eq_ignore_ascii_case(host),
        }
    }

    /// Whether a request to `host` on `port` is allowed by this rule.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        self.matches_host(host) && self.port.is_none_or(|p| p == port)
    }
}

impl fmt::Display for NetRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v6 = self.host.contains(':');
        match (v6, self.port) {
            (true, Some(p)) => write!(f, "[{}]:{p}", self.host),
            (true, None) => write!(f, "[{}]", self.host),
            (false, Some(p)) => write!(f, "{}:{p}", self.host),
            (false, None) => f.write_str(&self.host),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> NetRule {
        NetRule::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn curl_forms_are_accepted() {
        for (text, host, port) in [
            ("example.com", "example.com", None),
            ("example.com:8443", "example.com", Some(8443)),
            ("127.0.0.1", "127.0.0.1", None),
            ("127.0.0.1:8080", "127.0.0.1", Some(8080)),
            ("[::1]", "::1", None),
            ("[::1]:8080", "::1", Some(8080)),
            ("::1", "::1", None),
            ("localhost", "localhost", None),
        ] {
            let r = rule(text);
            assert_eq!((r.host.as_str(), r.port), (host, port), "{text}");
            assert_eq!(rule(&r.to_string()), r, "{text} prints as it parses");
        }
    }

    #[test]
    fn anything_else_is_refused_with_the_forms() {
        for text in [
            "",
            "http://example.com",
            "example.com/path",
            "host name",
            "a\nb",
            "[::1",
            "[example.com]",
            "[::1]8080",
            ":8080",
            "host:",
            "host:0",
            "host:65536",
            "host:http",
            "1:2:3",
            "*.example.com",
            "user@host",
        ] {
            let e = NetRule::parse(text).expect_err(text);
            assert!(!e.is_empty(), "{text}");
        }
    }

    #[test]
    fn a_rule_matches_its_host_and_port() {
        assert!(rule("[::1]").matches("::1", 80));
        assert!(rule("[::1]").matches("0:0:0:0:0:0:0:1", 443));
        assert!(rule("[::1]:8080").matches("::1", 8080));
        assert!(!rule("[::1]:8080").matches("::1", 8081));
        assert!(rule("Example.COM").matches("example.com", 443));
        assert!(rule("127.0.0.1:80").matches("127.0.0.1", 80));
        assert!(!rule("127.0.0.1:80").matches("127.0.0.2", 80));
        assert!(!rule("localhost").matches("127.0.0.1", 80));
    }
}

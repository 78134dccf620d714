//! Downloads over HTTPS (or plain HTTP to a loopback host, which the address grammar alone
//! lets through): redirects followed only to the same scheme, host and port, a size cap, a time limit, the body hashed while it is written.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// How many redirects a download follows.
const MAX_REDIRECTS: usize = 5;

/// Downloads `url` into `out`; returns the sha256 (hex) of what was written.
pub(super) fn download(
    url: &str,
    out: &Path,
    max_bytes: u64,
    timeout: Duration,
) -> Result<String, String> {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .user_agent(concat!("ordo/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent();
    // `url` is an address's own serialization (super::address): the parser that checked its
    // host wrote it, so ureq reaches that host. Redirects are resolved by the same parser
    // and must keep the origin: scheme, host and port.
    let start = url::Url::parse(url).map_err(|e| format!("`{url}`: {e}"))?;
    let origin = start.origin();
    let mut current = start;
    let mut hops = 0;
    let response = loop {
        let response = agent.get(current.as_str()).call().map_err(|e| match e {
            ureq::Error::Timeout(_) => format!("timed out after {} s", timeout.as_secs()),
            ureq::Error::HostNotFound => "host not found".to_string(),
            ureq::Error::ConnectionFailed => "connection failed".to_string(),
            other => other.to_string(),
        })?;
        let status = response.status();
        if status.is_redirection() {
            hops += 1;
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| format!("HTTP {status} without a Location"))?;
            let mut next = current
                .join(location)
                .map_err(|e| format!("a redirect to `{location}`: {e}"))?;
            next.set_fragment(None);
            if next.origin() != origin || !next.username().is_empty() || next.password().is_some() {
                return Err(format!(
                    "redirected to {}: a source follows redirects only to its own scheme, host and port",
                    super::address::mask_secrets(next.as_str())
                ));
            }
            if hops > MAX_REDIRECTS {
                return Err(format!("more than {MAX_REDIRECTS} redirects"));
            }
            current = next;
            continue;
        }
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        break response;
    };
    let mut reader = response.into_body().into_reader().take(max_bytes + 1);
    let mut file =
        std::fs::File::create(out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    let mut hasher = Sha256::new();
    let mut written: u64 = 0;
    let mut buf = vec![0_u8; 64 * 1024];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| format!("reading the response: {e}"))?;
        if n == 0 {
            break;
        }
        let chunk = buf.get(..n).unwrap_or_default();
        written += n as u64;
        if written > max_bytes {
            return Err(format!(
                "the download is larger than {} MiB",
                max_bytes >> 20
            ));
        }
        hasher.update(chunk);
        file.write_all(chunk)
            .map_err(|e| format!("writing {}: {e}", out.display()))?;
    }
    file.sync_all()
        .map_err(|e| format!("writing {}: {e}", out.display()))?;
    use std::fmt::Write as _;
    let mut hex = String::new();
    for b in hasher.finalize() {
        let _ = write!(hex, "{b:02x}");
    }
    Ok(hex)
}

//! Where a source comes from: the address grammar of DESIGN.md §15, parsed and checked
//! before anything reaches a command line or the network.
//!
//! ```text
//! git+https://host/org/repo.git//sub/dir?ref=v1.2.0   git over HTTPS, a sub-directory, a ref
//! git+ssh://git@host/org/repo.git//dir?ref=main       git over SSH (the system ssh)
//! git::https://host/org/repo.git?ref=…                Terraform's spelling, any scheme
//! git+file:///srv/repo.git?ref=…                      a local repository (--allow-file-sources)
//! https://host/p/file.yaml?sha256=HEX                 one file
//! https://host/p/bundle.tar.gz//dir?sha256=HEX        an archive (.tar.gz, .tgz, .tar)
//! ```
//!
//! Plain `http://` (for git or a download) is refused unless the host is a loopback one
//! (`127.0.0.0/8`, `::1`, `localhost`). Refs are validated here (no leading `-`, no
//! whitespace or control characters, no short commit ids), so a ref can never be read as an
//! option by `git` (the go-getter argument injection, HCSEC-2024-09). What policy allows
//! (`file://`, `--allow-source`) is not decided here but in [`super::Policy`].

use std::fmt;

use super::error::SourceError;

/// A parsed source address. Its [`Display`](fmt::Display) is the canonical text: the key of
/// the lock entry (for a source named on the command line) and of the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    kind: AddressKind,
    /// The URL git or the HTTP client is given: `https://host/org/repo.git`, without the
    /// sub-directory and without ordo's own query parameters.
    url: String,
    /// The port the URL reaches (explicit, or the scheme's default).
    port: Option<u16>,
    /// The lower-cased host, when the URL has one (`file://` has none).
    host: Option<String>,
    /// The sub-directory after `//`, checked: relative, no `..`, no empty parts.
    subdir: Option<String>,
    /// `?ref=` of a git address.
    reference: Option<String>,
    /// `?sha256=` of a download, lower-case hex.
    sha256: Option<String>,
}

/// What an address points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressKind {
    /// A git repository (`git+…`, `git::…`).
    Git,
    /// An archive to download and unpack (`.tar.gz`, `.tgz`, `.tar`).
    Archive,
    /// One file to download.
    File,
}

impl Address {
    /// Whether `text` is written as a remote source (`git+…`, `git::…`, `http://`,
    /// `https://`) rather than a local path. A local path is never parsed as an address.
    pub fn is_remote(text: &str) -> bool {
        let lower = text.to_ascii_lowercase();
        lower.starts_with("git+")
            || lower.starts_with("git::")
            || lower.starts_with("http://")
            || lower.starts_with("https://")
    }

    /// Parses and checks an address. The error names the address and says what is wrong.
    pub fn parse(text: &str) -> Result<Address, SourceError> {
        // Errors show the address with any user name, token or signature masked: it may
        // be a secret, and error output ends up in CI logs.
        let shown = mask_secrets(text);
        let bad = |message: String| SourceError::bad_address(&shown, message);
        if let Some(c) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad(format!(
                "an address has no whitespace or control characters (found {c:?})"
            )));
        }
        if let Some(c) = text.chars().find(|c| matches!(c, '#' | '\\')) {
            // `http://evil#@127.0.0.1/`: URL parsers disagree on where such a host ends, so
            // the host checked would not be the host contacted.
            return Err(bad(format!(
                "an address holds no `{c}`: URL parsers disagree on what it means (a fragment, a path separator), so the host checked could differ from the host contacted"
            )));
        }
        let lower = text.to_ascii_lowercase();
        let (kind, rest) = if lower.starts_with("git::") {
            (AddressKind::Git, text.get(5..).unwrap_or_default())
        } else if lower.starts_with("git+") {
            (AddressKind::Git, text.get(4..).unwrap_or_default())
        } else if lower.starts_with("https://") || lower.starts_with("http://") {
            (AddressKind::File, text)
        } else {
            return Err(bad(
                "expected `git+https://…`, `git+ssh://…`, `git::…`, `https://…` or `http://` to a loopback host"
                    .into(),
            ));
        };
        let Some((scheme, after)) = rest.split_once("://") else {
            return Err(bad(
                "a git address needs a URL with a scheme: `git+https://host/repo.git`, `git+ssh://git@host/repo.git` (the scp form `git@host:repo` is not accepted)".into(),
            ));
        };
        let scheme = scheme.to_ascii_lowercase();
        let allowed: &[&str] = if kind == AddressKind::Git {
            &["https", "http", "ssh", "file"]
        } else {
            &["https", "http"]
        };
        if !allowed.contains(&scheme.as_str()) {
            return Err(bad(format!(
                "the scheme `{scheme}` is not supported here; use one of {}",
                allowed.join(", ")
            )));
        }
        // The query belongs to the whole address: `…repo.git//dir?ref=v1`.
        let (location, query) = match after.split_once('?') {
            Some((l, q)) => (l, Some(q)),
            None => (after, None),
        };
        let (location, subdir) = match location.split_once("//") {
            Some((l, s)) => (l, Some(s)),
            None => (location, None),
        };
        let (authority, path) = match location.find('/') {
            Some(i) => (
                location.get(..i).unwrap_or_default(),
                location.get(i..).unwrap_or_default(),
            ),
            None => (location, ""),
        };
        if let Some((user, _)) = authority.rsplit_once('@') {
            if scheme == "http" || scheme == "https" {
                // `https://TOKEN@host/…`: it would be sent, printed and written to
                // ordo.lock, which is committed.
                return Err(bad(
                    "an `http(s)://` address holds no user name or token (`…@`): it would be sent, printed and written to ordo.lock".into(),
                )
                .with_help(
                    "let git's credential helper (or ~/.netrc) supply credentials; a `git+ssh://git@host/…` user name is fine",
                ));
            }
            if user.contains(':') {
                return Err(bad(
                    "the address holds a password; it would be written to ordo.lock".into(),
                )
                .with_help("let git's credential helper supply it"));
            }
            if user.is_empty() || user.contains('@') {
                return Err(bad(format!(
                    "the user name `{user}` is not one: one `user@` at most, not empty"
                )));
            }
        }
        if authority.contains('%') {
            return Err(bad(
                "percent-encoded characters in the host or user name are refused: the host checked must read the same as the host contacted".into(),
            ));
        }
        if scheme == "file" && !authority.is_empty() && !authority.eq_ignore_ascii_case("localhost")
        {
            return Err(bad(
                "a `file://` address names a local path: `git+file:///srv/repo.git`".into(),
            ));
        }
        if path.is_empty() || path == "/" {
            return Err(bad("the URL has no path".into()));
        }
        let subdir = match subdir {
            Some(s) => Some(check_subdir(s).map_err(bad)?),
            None => None,
        };
        let mut reference = None;
        let mut sha256 = None;
        let mut passed = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for pair in query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if !seen.insert(key.to_ascii_lowercase()) {
                // `?sha256=A&sha256=B`: a reader sees A, a parser keeps one of them.
                return Err(bad(format!(
                    "the parameter `{key}` is given twice; give it once"
                )));
            }
            match (kind, key) {
                (AddressKind::Git, "ref") => {
                    check_ref(value).map_err(bad)?;
                    reference = Some(value.to_string());
                }
                (AddressKind::File, "sha256") => {
                    let hex = value.to_ascii_lowercase();
                    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(bad(format!(
                            "`sha256={value}` is not 64 hexadecimal digits"
                        )));
                    }
                    sha256 = Some(hex);
                }
                (AddressKind::Git, _) => {
                    let help = crate::diagnostic::did_you_mean(key, ["ref"].iter().copied());
                    return Err(bad(format!(
                        "unknown parameter `{key}` of a git address (known: `ref`){}",
                        help.map(|h| format!("; did you mean `{h}`?"))
                            .unwrap_or_default()
                    )));
                }
                (_, key) if is_secret_key(key) => {
                    return Err(bad(format!(
                        "the parameter `{key}` looks like a credential or a URL signature: it would be sent in every fetch, printed and written to ordo.lock (and a signed URL expires)"
                    ))
                    .with_help(
                        "serve the file from a stable URL and pin it with `?sha256=`; credentials come from ~/.netrc or git's credential helper",
                    ));
                }
                // Other parameters of a download belong to the server.
                _ => passed.push(pair.to_string()),
            }
        }
        let authority = if scheme == "file" { "" } else { authority };
        let mut written = format!("{scheme}://{authority}{path}");
        if !passed.is_empty() {
            written.push('?');
            written.push_str(&passed.join("&"));
        }
        // One parser decides what the address means, and git and the HTTP client are given
        // what it serializes: the host checked below is the host they contact. An address
        // that the parser reads differently from its text (`http://2130706433/`,
        // `http://[::ffff:127.0.0.1]/`, `https://h/a/../b`) is refused, not reinterpreted.
        let parsed = url::Url::parse(&written).map_err(|e| {
            bad(format!(
                "`{}` is not a valid URL: {e}",
                mask_secrets(&written)
            ))
        })?;
        let url = parsed.as_str().to_string();
        if !url.eq_ignore_ascii_case(&written) {
            return Err(bad(format!(
                "a URL parser reads this address as `{}`, not as written; write it in that form (default ports, IP addresses and paths spelled plainly)",
                mask_secrets(&url)
            )));
        }
        if parsed.fragment().is_some() || !parsed.password().unwrap_or_default().is_empty() {
            return Err(bad("the address holds a fragment or a password".into()));
        }
        let host = match parsed.host() {
            Some(url::Host::Domain(d)) => d.to_ascii_lowercase(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => String::new(),
        };
        if scheme != "file" {
            if host.is_empty() {
                return Err(bad("the URL has no host".into()));
            }
            if host.starts_with('-') {
                // `ssh://-oProxyCommand=…`: a host must never read as an option.
                return Err(bad(format!("the host `{host}` starts with `-`")));
            }
        }
        if scheme == "http" && !is_loopback(&host) {
            return Err(bad(format!(
                "plain `http://` is refused for `{host}`: only loopback hosts (127.0.0.0/8, ::1, localhost) may be reached without TLS"
            ))
            .with_help("use `https://`"));
        }
        let kind = if kind == AddressKind::File && is_archive(path) {
            AddressKind::Archive
        } else {
            kind
        };
        if kind == AddressKind::File && subdir.is_some() {
            return Err(bad(
                "`//dir` names a directory inside a repository or an archive (`.tar.gz`, `.tgz`, `.tar`); this URL is a single file".into(),
            ));
        }
        Ok(Address {
            kind,
            port: parsed.port_or_known_default(),
            url,
            host: (!host.is_empty()).then_some(host),
            subdir,
            reference,
            sha256,
        })
    }

    /// Git repository, archive or single file.
    pub fn kind(&self) -> AddressKind {
        self.kind
    }

    /// The host, lower-cased (`None` for `file://`).
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The URL handed to git or the HTTP client (no sub-directory, no `ref`/`sha256`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The port the URL reaches: explicit, or the scheme's default (`None` for `file://`).
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The scheme of the URL given to git or the HTTP client (`https`, `ssh`, `file`, …).
    pub fn scheme(&self) -> &str {
        self.url.split_once("://").map_or("", |(s, _)| s)
    }

    /// The path of that URL (`/org/repo.git`), without the query.
    pub fn path(&self) -> &str {
        let rest = self.url.split_once("://").map_or("", |(_, r)| r);
        let rest = rest.split_once('?').map_or(rest, |(p, _)| p);
        rest.find('/')
            .and_then(|i| rest.get(i..))
            .unwrap_or_default()
    }

    /// The sub-directory after `//`.
    pub fn subdir(&self) -> Option<&str> {
        self.subdir.as_deref()
    }

    /// `?ref=` of a git address.
    pub fn reference(&self) -> Option<&str> {
        self.reference.as_deref()
    }

    /// `?sha256=` of a download.
    pub fn sha256(&self) -> Option<&str> {
        self.sha256.as_deref()
    }

    /// Whether this is a local repository (`git+file://`), which needs `--allow-file-sources`.
    pub fn is_file(&self) -> bool {
        self.url.starts_with("file://")
    }

    /// Whether the address itself pins its content: a download with `?sha256=`, a git ref
    /// that is a full commit id.
    pub fn is_pinned(&self) -> bool {
        match self.kind {
            AddressKind::Git => self.reference.as_deref().is_some_and(is_full_commit),
            AddressKind::Archive | AddressKind::File => self.sha256.is_some(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `https://h/p?x=1` keeps the server's query; ordo's own parameters follow it.
        let (base, passed) = match self.url.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (self.url.as_str(), None),
        };
        if self.kind == AddressKind::Git {
            f.write_str("git+")?;
        }
        f.write_str(base)?;
        if let Some(s) = &self.subdir {
            write!(f, "//{s}")?;
        }
        let mut query: Vec<String> = passed.map(|q| vec![q.to_string()]).unwrap_or_default();
        if let Some(r) = &self.reference {
            query.push(format!("ref={r}"));
        }
        if let Some(h) = &self.sha256 {
            query.push(format!("sha256={h}"));
        }
        if !query.is_empty() {
            write!(f, "?{}", query.join("&"))?;
        }
        Ok(())
    }
}

/// `text` with what may be a secret masked: the user information of an address (all of it
/// for `http(s)`, the password for others) and the values of query parameters that name a
/// credential or a signature ([`is_secret_key`]). Text that is not an address is returned
/// as it is.
pub(crate) fn mask_secrets(text: &str) -> String {
    let Some((scheme, after)) = text.split_once("://") else {
        return text.to_string();
    };
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => {
            let ssh = scheme.to_ascii_lowercase().ends_with("ssh");
            match user.split_once(':') {
                Some((name, _)) if ssh => format!("{name}:***@{host}"),
                None if ssh => format!("{user}@{host}"),
                _ => format!("***@{host}"),
            }
        }
        None => authority.to_string(),
    };
    let rest = match rest.split_once('?') {
        Some((path, query)) => {
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if is_secret_key(key) => format!("{key}=***"),
                    _ => pair.to_string(),
                })
                .collect();
            format!("{path}?{}", pairs.join("&"))
        }
        None => rest.to_string(),
    };
    format!("{scheme}://{authority}{rest}")
}

/// Whether a query parameter names a credential or a URL signature (`token`,
/// `access_token`, `X-Amz-Signature`, `X-Goog-Credential`, `sig`, `api_key`, …).
pub(crate) fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["sig", "auth", "key", "jwt", "authorization"].contains(&key.as_str())
        || [
            "token",
            "signature",
            "secret",
            "password",
            "passwd",
            "apikey",
            "api_key",
            "api-key",
            "credential",
        ]
        .iter()
        .any(|end| key.ends_with(end))
}

/// `127.0.0.0/8`, `::1` or `localhost`: the hosts plain `http://` may reach.
pub(crate) fn is_loopback(host: &str) -> bool {
    if host == "localhost" {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

fn is_archive(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".tar.gz", ".tgz", ".tar"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// A sub-directory: relative parts, none empty, `.` or `..`, none starting with `-`.
fn check_subdir(subdir: &str) -> Result<String, String> {
    let trimmed = subdir.trim_end_matches('/');
    if trimmed.is_empty() {
        return Err("the sub-directory after `//` is empty".into());
    }
    for part in trimmed.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return Err(format!(
                "the sub-directory `{subdir}` must be a relative path without `.`, `..` or empty parts"
            ));
        }
        if part.starts_with('-') {
            return Err(format!(
                "the sub-directory `{subdir}` has a part starting with `-`"
            ));
        }
    }
    Ok(trimmed.to_string())
}

/// A ref as git may be given it on a command line: never an option, never a pattern, never
/// an abbreviated commit (which names a different commit once another one shares the prefix).
pub(crate) fn check_ref(reference: &str) -> Result<(), String> {
    if reference.is_empty() {
        return Err("`ref=` is empty".into());
    }
    if reference.starts_with('-') {
        return Err(format!(
            "the ref `{reference}` starts with `-`: it would be read as an option by git"
        ));
    }
    if let Some(c) = reference
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(*c))
    {
        return Err(format!(
            "the ref `{reference}` holds {c:?}, which git refs cannot"
        ));
    }
    if reference.contains("..")
        || reference.contains("@{")
        || reference.ends_with('/')
        || reference.ends_with(".lock")
        || reference.starts_with('/')
        || reference.contains("//")
    {
        return Err(format!("`{reference}` is not a valid git ref"));
    }
    let hex = reference.bytes().all(|b| b.is_ascii_hexdigit());
    if hex && (7..40).contains(&reference.len()) {
        return Err(format!(
            "`{reference}` looks like an abbreviated commit id; give the full 40 hexadecimal digits (a short id can name another commit later)"
        ));
    }
    Ok(())
}

/// 40 (SHA-1) or 64 (SHA-256) hexadecimal digits.
pub(crate) fn is_full_commit(text: &str) -> bool {
    (text.len() == 40 || text.len() == 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Address {
        Address::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &str) -> String {
        match Address::parse(text) {
            Ok(a) => panic!("{text} parsed as {a:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn git_addresses_split_into_url_subdir_and_ref() {
        let a = ok("git+https://Git.Example.com/org/repo.git//sub/dir?ref=v1.2.0");
        assert_eq!(a.kind(), AddressKind::Git);
        assert_eq!(a.url(), "https://git.example.com/org/repo.git");
        assert_eq!(a.host(), Some("git.example.com"));
        assert_eq!(a.subdir(), Some("sub/dir"));
        assert_eq!(a.reference(), Some("v1.2.0"));
        assert_eq!(
            a.to_string(),
            "git+https://git.example.com/org/repo.git//sub/dir?ref=v1.2.0"
        );
        // Terraform's spelling is the same address.
        assert_eq!(
            ok("git::https://Git.Example.com/org/repo.git//sub/dir?ref=v1.2.0"),
            a
        );
        let s = ok("git+ssh://git@host:2222/org/repo.git?ref=main");
        assert_eq!(s.host(), Some("host"));
        assert_eq!(s.url(), "ssh://git@host:2222/org/repo.git");
        let f = ok("git+file:///srv/repo.git");
        assert!(f.is_file());
        assert_eq!(f.host(), None);
    }

    #[test]
    fn downloads_are_files_or_archives() {
        let f = ok(&format!("https://h/p/file.yaml?sha256={}", "Ab".repeat(32)));
        assert_eq!(f.kind(), AddressKind::File);
        assert_eq!(f.sha256(), Some("ab".repeat(32).as_str()));
        let a = ok(&format!(
            "https://h/p/bundle.tar.gz//dir?X-Sig=1&sha256={}",
            "0".repeat(64)
        ));
        assert_eq!(a.kind(), AddressKind::Archive);
        assert_eq!(a.url(), "https://h/p/bundle.tar.gz?X-Sig=1");
        assert_eq!(a.subdir(), Some("dir"));
        assert_eq!(
            a.to_string(),
            format!(
                "https://h/p/bundle.tar.gz//dir?X-Sig=1&sha256={}",
                "0".repeat(64)
            )
        );
        ok("http://127.0.0.5:8080/x.tgz");
        ok("http://[::1]/x.tar");
        ok("http://localhost/f.yaml");
    }

    #[test]
    fn hostile_or_wrong_addresses_are_refused() {
        for (text, says) in [
            (
                "git+https://h/r.git?ref=--upload-pack=touch /tmp/x",
                "whitespace",
            ),
            (
                "git+https://h/r.git?ref=--upload-pack=evil",
                "starts with `-`",
            ),
            ("git+https://h/r.git?ref=-x", "starts with `-`"),
            ("git+https://h/r.git?ref=9f2c1ab", "abbreviated commit"),
            ("git+https://h/r.git?ref=a..b", "not a valid git ref"),
            ("git+ssh://-oProxyCommand=x/r.git", "starts with `-`"),
            ("git+https://h/r.git//../etc", "without `.`, `..`"),
            ("git+https://h/r.git//-x", "starting with `-`"),
            ("git+https://h/r.git?rev=main", "did you mean `ref`"),
            ("http://example.com/f.yaml", "only loopback"),
            ("git+http://10.0.0.1/r.git", "only loopback"),
            ("https://h/f.yaml//dir", "single file"),
            ("https://h/f.yaml?sha256=12", "64 hexadecimal"),
            ("git+ftp://h/r.git", "not supported"),
            ("git::git@github.com:org/repo", "scp form"),
            ("ftp://h/x", "expected"),
            ("git+file://otherhost/srv/r.git", "local path"),
            (
                "git+ssh://me:secret@h/r.git",
                "`git+ssh://me:***@h/r.git`: the address holds a password",
            ),
            ("http://evil#@127.0.0.1/f.yaml", "holds no `#`"),
            (
                "git+https://evil.example#@git.example.com/r.git",
                "holds no `#`",
            ),
            ("http://127.0.0.1\\@evil/f.yaml", "holds no `\\`"),
            ("http://127.0.0.1.evil/f.yaml", "only loopback"),
            (
                "http://[::ffff:127.0.0.1]/f.yaml",
                "reads this address as `http://[::ffff:7f00:1]/f.yaml`",
            ),
            (
                "http://2130706433/f.yaml",
                "reads this address as `http://127.0.0.1/f.yaml`",
            ),
            (
                "http://0177.0.0.1/f.yaml",
                "reads this address as `http://127.0.0.1/f.yaml`",
            ),
            ("http://0x7f.1/f.yaml", "reads this address as"),
            ("http://127.1/f.yaml", "reads this address as"),
            ("http://127.0.0.1./f.yaml", "reads this address as"),
            ("http://%31%32%37.0.0.1/f.yaml", "percent-encoded"),
            ("http://127.0.0.1%2f@evil/f.yaml", "holds no user name"),
            ("http://127.0.0.1@evil/f.yaml", "holds no user name"),
            ("https://tok@h/f.yaml", "`https://***@h/f.yaml`"),
            (
                "https://h/a/../f.yaml",
                "reads this address as `https://h/f.yaml`",
            ),
            (
                "https://h:443/f.yaml",
                "reads this address as `https://h/f.yaml`",
            ),
            ("git+ssh://a@b@h/r.git", "one `user@` at most"),
            (
                "https://h/f.yaml?token=s3cret",
                "`https://h/f.yaml?token=***`",
            ),
            (
                "https://h/f.yaml?X-Amz-Signature=s3cret",
                "looks like a credential",
            ),
            ("https://h/f.yaml?a=1&a=2", "`a` is given twice"),
            ("git+https://h/r.git?ref=a&ref=b", "`ref` is given twice"),
            (
                "git+https://me:secret@h/r.git",
                "`git+https://***@h/r.git`: an `http(s)://` address holds no user name",
            ),
        ] {
            let e = err(text);
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn remote_spellings_are_recognised() {
        for t in [
            "git+https://h/r",
            "GIT::ssh://h/r",
            "https://h/f",
            "http://127.0.0.1/f",
        ] {
            assert!(Address::is_remote(t), "{t}");
        }
        for t in ["manifests", "./git+x", "/srv/https://", "file:x"] {
            assert!(!Address::is_remote(t), "{t}");
        }
    }
}

//! `http::get`, `http::request`, `http::download`: HTTP(S) with ureq (rustls, webpki roots).
//!
//! A 4xx or 5xx answer is a status, not an error: scripts decide. Connection failures and
//! timeouts are errors with a clear cause. Redirects are followed here, hop by hop (at most
//! ten), so every host on the way is checked against `--net-allow`, and credentials (`auth`,
//! every caller-set header) go only to the origin (scheme, host, port) the script named: a
//! hop to another origin is sent without them. A proxy (the `proxy` option, else
//! `ALL_PROXY`/`HTTPS_PROXY`/`HTTP_PROXY` with `NO_PROXY`) must be `http://` or `https://`
//! and its host is checked against `--net-allow` too. `download` streams to a
//! temporary file next to the target and renames it into place only after a 2xx answer
//! and a complete body. Needs the `http` permission (`download` also `file:write`).

use std::io::{Read, Write};
use std::time::Duration;

use rhai::{Dynamic, EvalAltResult, Map};
use ureq::http::{Method, Request, Uri};

use super::StdModule;
use crate::script::context::{self, CallContext, script_error, script_error_with};

type R<T> = Result<T, Box<EvalAltResult>>;

/// Default wall-clock limit of one request, redirects and body included.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on a response body read into a string.
const MAX_BODY: u64 = 32 << 20;
const MAX_REDIRECTS: usize = 10;

pub(super) struct Options {
    method: Method,
    url: String,
    /// Set by the caller (`headers`, `auth`): sent only to the origin the script named.
    headers: Vec<(String, String)>,
    /// Set by ordo for the body (`json`'s content type): sent while the body is.
    body_headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Duration,
    insecure: bool,
    proxy: Option<String>,
    max_body: u64,
}

fn text(value: &Dynamic, what: &str) -> R<String> {
    value.clone().into_string().map_err(|_| {
        script_error(
            format!(
                "`http`: `{what}` must be a string, not {}",
                value.type_name()
            ),
            None,
        )
    })
}

pub(super) fn options(call: &str, method: &str, url: &str, opts: &Map) -> R<Options> {
    let mut o = Options {
        method: Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| {
            script_error(format!("`{call}`: `{method}` is not an HTTP method"), None)
        })?,
        url: url.to_string(),
        headers: Vec::new(),
        body_headers: Vec::new(),
        body: Vec::new(),
        timeout: DEFAULT_TIMEOUT,
        insecure: false,
        proxy: None,
        max_body: MAX_BODY,
    };
    for (key, value) in opts {
        match key.as_str() {
            "method" | "url" => {}
            // Read by `download` itself.
            "mode" if call == "http::download" => {}
            "headers" => {
                let map = value.read_lock::<Map>().ok_or_else(|| {
                    script_error(format!("`{call}`: `headers` must be a map"), None)
                })?;
                for (k, v) in map.iter() {
                    let v = v.clone().into_string().unwrap_or_else(|v| v.to_string());
                    o.headers.push((k.to_string(), v));
                }
            }
            "body" => o.body = text(value, "body")?.into_bytes(),
            "json" => {
                o.body = crate::script::convert::to_json(value, &format!("`{call}`: `json`"))
                    .map_err(|e| script_error(e, None))?
                    .to_string()
                    .into_bytes();
                o.body_headers
                    .push(("content-type".into(), "application/json".into()));
            }
            "timeout" => {
                o.timeout = super::options::seconds(&format!("`{call}`: option `timeout`"), value)?;
            }
            "insecure" => {
                o.insecure = value.as_bool().map_err(|_| {
                    script_error(format!("`{call}`: `insecure` must be a boolean"), None)
                })?;
            }
            "proxy" => o.proxy = Some(text(value, "proxy")?),
            "auth" => {
                let map = value.read_lock::<Map>().ok_or_else(|| {
                    script_error(
                        format!("`{call}`: `auth` must be #{{ user, password }}"),
                        None,
                    )
                })?;
                let user = map
                    .get("user")
                    .map(|u| text(u, "auth.user"))
                    .transpose()?
                    .unwrap_or_default();
                let password = map
                    .get("password")
                    .map(|p| text(p, "auth.password"))
                    .transpose()?
                    .unwrap_or_default();
                o.headers
                    .push(("authorization".into(), basic_auth(&user, &password)));
            }
            "max_body" => {
                o.max_body = value
                    .as_int()
                    .ok()
                    .and_then(|i| u64::try_from(i).ok())
                    .ok_or_else(|| {
                        script_error(
                            format!("`{call}`: `max_body` must be a number of bytes"),
                            None,
                        )
                    })?;
            }
            other => {
                return Err(script_error(
                    format!("`{call}`: unknown option `{other}`"),
                    Some("options: method, url, headers, body, json, timeout, insecure, proxy, auth, max_body".into()),
                ));
            }
        }
    }
    Ok(o)
}

fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// The URL, its host (without brackets) and its port (the scheme's default when absent),
/// as `--net-allow` compares them.
pub(super) fn host_of(call: &str, url: &str) -> R<(Uri, String, u16)> {
    let uri: Uri = url
        .parse()
        .map_err(|e| script_error(format!("`{call}`: `{url}` is not a URL: {e}"), None))?;
    match (uri.scheme_str(), uri.host()) {
        (Some(scheme @ ("http" | "https")), Some(host)) => {
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let port = uri
                .port_u16()
                .unwrap_or(if scheme == "https" { 443 } else { 80 });
            Ok((uri, host, port))
        }
        _ => Err(script_error(
            format!("`{call}`: `{url}` is not an http or https URL"),
            None,
        )),
    }
}

/// The proxy a request goes through: the `proxy` option (`""` for none), else the
/// environment's (`ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY`, with `NO_PROXY`, as ureq reads
/// them). Only HTTP CONNECT proxies (`http://`, `https://`) are supported: ureq is built
/// without SOCKS, so any other scheme is refused here rather than failing inside ureq.
fn proxy(call: &str, o: &Options) -> R<Option<ureq::Proxy>> {
    let (proxy, source) = match o.proxy.as_deref() {
        Some("") => return Ok(None),
        Some(p) => (
            ureq::Proxy::new(p)
                .map_err(|e| script_error(format!("`{call}`: bad proxy `{p}`: {e}"), None))?,
            "the `proxy` option",
        ),
        None => match ureq::Proxy::try_from_env() {
            Some(p) => (p, "the environment (ALL_PROXY, HTTPS_PROXY or HTTP_PROXY)"),
            None => return Ok(None),
        },
    };
    match proxy.protocol() {
        ureq::ProxyProtocol::Http | ureq::ProxyProtocol::Https => Ok(Some(proxy)),
        _ => Err(script_error(
            format!(
                "`{call}`: proxy `{}` from {source} is a {}:// proxy, which ordo does not support",
                without_userinfo(&proxy.uri().to_string()),
                proxy.uri().scheme_str().unwrap_or_default()
            ),
            Some("use an http:// or https:// (CONNECT) proxy, or `proxy: \"\"` for none".into()),
        )),
    }
}

/// A proxy URL for a message: its `user:password@` (a credential) replaced by `***@`.
fn without_userinfo(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url
        .get(start..)
        .and_then(|rest| rest.find('/'))
        .map_or(url.len(), |i| start + i);
    match url
        .get(start..end)
        .and_then(|authority| authority.rfind('@'))
    {
        Some(at) => format!(
            "{}***{}",
            url.get(..start).unwrap_or_default(),
            url.get(start + at..).unwrap_or_default()
        ),
        None => url.to_string(),
    }
}

fn agent(o: &Options, proxy: Option<ureq::Proxy>, timeout: Duration) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .user_agent(concat!("ordo/", env!("CARGO_PKG_VERSION")))
        // Always set, so ureq never picks a proxy this module has not checked.
        .proxy(proxy);
    if o.insecure {
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .disable_verification(true)
                .build(),
        );
    }
    config.build().new_agent()
}

/// Scheme, host and port: what a redirect must keep for credentials to follow it.
fn origin(uri: &Uri) -> (String, String, u16) {
    let scheme = uri.scheme_str().unwrap_or("http").to_ascii_lowercase();
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    let host = uri.host().unwrap_or_default().to_ascii_lowercase();
    (scheme, host, port)
}

fn net_refusal(r: &super::Refusal) -> Box<EvalAltResult> {
    script_error(
        r.to_string(),
        Some("the run was started with `--net-allow`".into()),
    )
}

/// Sends the request, following redirects hop by hop. Returns the final response.
fn send(ctx: &CallContext, call: &str, o: &Options) -> R<ureq::http::Response<ureq::Body>> {
    let timeout = ctx
        .remaining()
        .map_or(o.timeout, |left| left.min(o.timeout));
    let proxy = proxy(call, o)?;
    let agent = agent(o, proxy.clone(), timeout);
    let mut url = o.url.clone();
    let mut method = o.method.clone();
    let mut body = o.body.clone();
    let mut body_headers = o.body_headers.as_slice();
    let first = origin(&host_of(call, &url)?.0);
    for _ in 0..=MAX_REDIRECTS {
        let (uri, host, port) = host_of(call, &url)?;
        ctx.policy
            .check_host(call, &host, port)
            .map_err(|r| net_refusal(&r))?;
        if let Some(p) = proxy.as_ref().filter(|p| !p.is_no_proxy(&uri)) {
            let proxy_host = p.host().trim_start_matches('[').trim_end_matches(']');
            ctx.policy
                .check_host(&format!("{call} (proxy)"), proxy_host, p.port())
                .map_err(|r| net_refusal(&r))?;
        }
        let mut request = Request::builder().method(method.clone()).uri(uri.clone());
        // Credentials and every header the caller set go to the origin the script named
        // only, as curl, requests and Go do: a redirect elsewhere is sent without them.
        let same_origin = origin(&uri) == first;
        let caller = o.headers.iter().filter(|_| same_origin);
        for (k, v) in caller.chain(body_headers) {
            request = request.header(k.as_str(), v.as_str());
        }
        let request = request
            .body(body.clone())
            .map_err(|e| script_error(format!("`{call}`: invalid request: {e}"), None))?;
        let response = agent
            .run(request)
            .map_err(|e| transport_error(call, &url, &e, timeout))?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_string);
        match (status, location) {
            (301 | 302 | 303 | 307 | 308, Some(location)) => {
                url = resolve(&uri, &location);
                if status == 303
                    || (matches!(status, 301 | 302)
                        && method != Method::GET
                        && method != Method::HEAD)
                {
                    method = Method::GET;
                    body = Vec::new();
                    body_headers = &[];
                }
            }
            _ => return Ok(response),
        }
    }
    Err(script_error(
        format!(
            "`{call}`: more than {MAX_REDIRECTS} redirects from {}",
            o.url
        ),
        None,
    ))
}

/// A `Location` header relative to the URL it came from.
fn resolve(base: &Uri, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let scheme = base.scheme_str().unwrap_or("http");
    let authority = base.authority().map(|a| a.as_str()).unwrap_or_default();
    if location.starts_with('/') {
        return format!("{scheme}://{authority}{location}");
    }
    let path = base.path();
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    format!("{scheme}://{authority}{dir}{location}")
}

fn transport_error(
    call: &str,
    url: &str,
    e: &ureq::Error,
    timeout: Duration,
) -> Box<EvalAltResult> {
    let why = match e {
        ureq::Error::Timeout(_) => format!("timed out after {} s", timeout.as_secs_f64()),
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
        other => other.to_string(),
    };
    script_error(format!("`{call}` {url}: {why}"), None)
}

fn response_map(response: ureq::http::Response<ureq::Body>, max_body: u64, call: &str) -> R<Map> {
    let status = i64::from(response.status().as_u16());
    let mut headers = Map::new();
    for (name, value) in response.headers() {
        headers.insert(
            name.as_str().into(),
            String::from_utf8_lossy(value.as_bytes())
                .into_owned()
                .into(),
        );
    }
    let mut body = response.into_body();
    let bytes = body
        .with_config()
        .limit(max_body)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(n) => script_error(
                format!("`{call}`: the response body is larger than {n} bytes"),
                Some("raise `max_body`, or use `http::download`".into()),
            ),
            other => script_error(
                format!("`{call}`: reading the response failed: {other}"),
                None,
            ),
        })?;
    let mut out = Map::new();
    out.insert("status".into(), status.into());
    out.insert("ok".into(), (200..300).contains(&status).into());
    out.insert("headers".into(), headers.into());
    out.insert(
        "body".into(),
        String::from_utf8_lossy(&bytes).into_owned().into(),
    );
    Ok(out)
}

fn request(call: &str, method: &str, url: &str, opts: &Map) -> R<Map> {
    let ctx = context::require(call)?;
    let o = options(call, method, url, opts)?;
    context::within_ceiling(
        call,
        "max_body",
        o.max_body,
        "string length",
        ctx.limits.max_string_size,
    )?;
    if o.method != Method::GET && o.method != Method::HEAD {
        ctx.require_mutation(&format!("{call} ({})", o.method))?;
    }
    if let Some(answer) = ctx.ask_twin(crate::script::TwinCall::Http {
        method: o.method.as_str(),
        url: &o.url,
        body: (!o.body.is_empty())
            .then(|| String::from_utf8_lossy(&o.body))
            .as_deref(),
    }) {
        return Ok(mocked(&answer?));
    }
    let response = send(&ctx, call, &o)?;
    response_map(response, o.max_body, call)
}

/// What a mock twin (`ordo test`) answered, as a response map: `status`, `ok`, `headers`,
/// `body`.
fn mocked(answer: &Dynamic) -> Map {
    let mut out = answer
        .read_lock::<Map>()
        .map(|m| m.clone())
        .unwrap_or_default();
    let status = out
        .get("status")
        .and_then(|s| s.as_int().ok())
        .unwrap_or(200);
    out.insert("status".into(), status.into());
    out.insert("ok".into(), (200..300).contains(&status).into());
    out.entry("headers".into())
        .or_insert_with(|| Map::new().into());
    out.entry("body".into()).or_insert_with(|| "".into());
    out
}

/// The URL and method of `http::request(#{ url, method, .. })`.
pub(super) fn url_and_method(opts: &Map) -> R<(String, String)> {
    let url = opts
        .get("url")
        .ok_or_else(|| script_error("`http::request`: `url` is required".into(), None))
        .and_then(|u| text(u, "url"))?;
    let method = opts
        .get("method")
        .map(|m| text(m, "method"))
        .transpose()?
        .unwrap_or_else(|| "GET".into());
    Ok((url, method))
}

fn request_map(opts: &Map) -> R<Map> {
    let (url, method) = url_and_method(opts)?;
    request("http::request", &method, &url, opts)
}

fn download(url: &str, path: &str, opts: &Map) -> R<Map> {
    let call = "http::download";
    let ctx = context::require(call)?;
    ctx.require_mutation(call)?;
    // On a host the controller fetches the body and the host gets the file.
    let host = super::on_host::on_host(
        call,
        Some(super::Capability::FileWrite),
        super::on_host::Side::Target,
    )?;
    let target = match host {
        None => Some(super::beneath::Target::new(&ctx, call, path)?),
        Some(_) => None,
    };
    // GET unless the options say otherwise (some APIs serve files to a POST).
    let method = match opts.get("method") {
        Some(m) => text(m, "method")?,
        None => "GET".to_string(),
    };
    let mode = opts
        .get("mode")
        .map(|m| super::file::parse_mode(call, "mode", m))
        .transpose()?;
    let o = options(call, &method, url, opts)?;
    if let (Some(target), Some(answer)) = (
        &target,
        ctx.ask_twin(crate::script::TwinCall::Http {
            method: o.method.as_str(),
            url: &o.url,
            body: None,
        }),
    ) {
        return mocked_download(call, url, target, mode, &mocked(&answer?));
    }
    let response = send(&ctx, call, &o)?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        let mut fields = Map::new();
        fields.insert("status".into(), i64::from(status).into());
        return Err(script_error_with(
            format!("`{call}` {url}: the server answered {status}"),
            fields,
        ));
    }
    let Some(target) = target else {
        return download_there(host.as_ref(), &ctx, call, url, path, response, mode, status);
    };
    let mut reader = response.into_body().into_reader();
    let size = write_staged(&target, &mut reader, mode).map_err(|e| match e {
        Staging::Read(e) => script_error(
            format!("`{call}` {url}: reading the body failed: {e}"),
            None,
        ),
        Staging::Target(e) => e,
    })?;
    let mut out = Map::new();
    out.insert("status".into(), i64::from(status).into());
    out.insert("path".into(), target.path().display().to_string().into());
    out.insert(
        "size".into(),
        i64::try_from(size).unwrap_or(i64::MAX).into(),
    );
    Ok(out)
}

/// Why [`write_staged`] failed: reading the body, or the target.
enum Staging {
    Read(std::io::Error),
    Target(Box<rhai::EvalAltResult>),
}

/// Writes what `body` reads to `target` as every download does: into a temporary file in
/// the target's directory, opened beneath its root like every file function's (issue 15),
/// given its final mode before it has its name (`mode`, else a replaced file's, else 0644),
/// then renamed over the name in that directory's descriptor; not fsynced. Returns the
/// bytes written.
fn write_staged(
    target: &super::beneath::Target,
    body: &mut dyn Read,
    mode: Option<u32>,
) -> Result<u64, Staging> {
    let fail = |e: &std::io::Error| Staging::Target(target.error(e));
    let entry = target
        .entry(true)
        .map_err(|e| fail(&e))?
        .ok_or_else(|| fail(&std::io::Error::from(rustix::io::Errno::ISDIR)))?;
    let mut tmp = super::beneath::Staged::new(std::os::fd::AsFd::as_fd(&entry.dir), 0o644)
        .map_err(|e| fail(&e))?;
    let mut buf = vec![0_u8; 64 * 1024];
    let mut size: u64 = 0;
    loop {
        let n = body.read(&mut buf).map_err(Staging::Read)?;
        if n == 0 {
            break;
        }
        tmp.file
            .write_all(buf.get(..n).unwrap_or(buf.as_slice()))
            .map_err(|e| fail(&e))?;
        size = size.saturating_add(n as u64);
    }
    let existing = target.stat().ok().map(|s| s.st_mode & 0o7777);
    let exact = mode.or(existing).unwrap_or(0o644);
    rustix::fs::fchmod(&tmp.file, rustix::fs::Mode::from_raw_mode(exact))
        .map_err(|e| fail(&e.into()))?;
    tmp.commit(&entry.name).map_err(|e| fail(&e))?;
    Ok(size)
}

/// `http::download` answered by a mock twin (`ordo test`): the body is written to the
/// target, which lies in the case's directory, as a real download writes it (missing
/// parents made, atomically, with `mode` or the replaced file's).
fn mocked_download(
    call: &str,
    url: &str,
    target: &super::beneath::Target,
    mode: Option<u32>,
    answer: &Map,
) -> R<Map> {
    let status = answer
        .get("status")
        .and_then(|s| s.as_int().ok())
        .unwrap_or(200);
    if !(200..300).contains(&status) {
        let mut fields = Map::new();
        fields.insert("status".into(), status.into());
        return Err(script_error_with(
            format!("`{call}` {url}: the server answered {status}"),
            fields,
        ));
    }
    let body = answer
        .get("body")
        .and_then(|b| b.clone().into_string().ok())
        .unwrap_or_default();
    let size = write_staged(target, &mut body.as_bytes(), mode).map_err(|e| match e {
        Staging::Read(e) => script_error(format!("`{call}` {url}: {e}"), None),
        Staging::Target(e) => e,
    })?;
    let mut out = Map::new();
    out.insert("status".into(), status.into());
    out.insert("path".into(), target.path().display().to_string().into());
    out.insert(
        "size".into(),
        i64::try_from(size).unwrap_or(i64::MAX).into(),
    );
    Ok(out)
}

/// `http::download` on a host: the body, at most the string length, is written there
/// atomically by the host's file layer (`crate::target::fs`), with `mode` or the replaced
/// file's.
#[expect(
    clippy::too_many_arguments,
    reason = "the steps of one call, split for length"
)]
fn download_there(
    host: Option<&super::on_host::OnHost>,
    ctx: &CallContext,
    call: &str,
    url: &str,
    path: &str,
    response: ureq::http::Response<ureq::Body>,
    mode: Option<u32>,
    status: u16,
) -> R<Map> {
    let Some(h) = host else {
        return Err(script_error(format!("`{call}`: no target"), None));
    };
    let limit = ctx.limits.max_string_size;
    let mut body = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| {
            script_error(
                format!("`{call}` {url}: reading the body failed: {e}"),
                None,
            )
        })?;
    if body.len() > limit {
        return Err(context::too_large(call, url, "string length", limit));
    }
    h.fs().write(path, &body, mode).map_err(|e| h.error(e))?;
    let mut out = Map::new();
    out.insert("status".into(), i64::from(status).into());
    out.insert("path".into(), path.into());
    out.insert(
        "size".into(),
        i64::try_from(body.len()).unwrap_or(i64::MAX).into(),
    );
    Ok(out)
}

pub(super) fn module() -> StdModule {
    let mut m = StdModule::new("http");
    fallible!(&mut m, "get", needs[Http], |url: &str| request(
        "http::get",
        "GET",
        url,
        &Map::new()
    ));
    fallible!(&mut m, "get", needs[Http], |url: &str, opts: Map| request(
        "http::get",
        "GET",
        url,
        &opts
    ));
    fallible!(&mut m, "request", needs[Http], |opts: Map| request_map(
        &opts
    ));
    fallible!(&mut m, "download", needs [Http, FileWrite], |url: &str, path: &str| download(
        url,
        path,
        &Map::new()
    ));
    fallible!(&mut m, "download", needs [Http, FileWrite], |url: &str, path: &str, opts: Map| {
        download(url, path, &opts)
    });
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_is_base64() {
        assert_eq!(basic_auth("user", "pass"), "Basic dXNlcjpwYXNz");
    }

    #[test]
    fn locations_resolve_against_the_request() {
        let base: Uri = "http://h:1/a/b?q".parse().unwrap();
        assert_eq!(resolve(&base, "/c"), "http://h:1/c");
        assert_eq!(resolve(&base, "c"), "http://h:1/a/c");
        assert_eq!(resolve(&base, "https://x/y"), "https://x/y");
    }

    #[test]
    fn proxy_credentials_are_left_out_of_messages() {
        assert_eq!(
            without_userinfo("socks5://u:p@h:1/x@y"),
            "socks5://***@h:1/x@y"
        );
        assert_eq!(without_userinfo("u:p@h"), "***@h");
        assert_eq!(without_userinfo("http://h:1"), "http://h:1");
    }

    #[test]
    fn an_origin_is_scheme_host_and_port_with_defaults() {
        let o = |u: &str| origin(&u.parse().unwrap());
        assert_eq!(o("http://H/a"), o("http://h:80/b"));
        assert_eq!(o("https://h/"), o("https://h:443/"));
        assert_ne!(o("http://h/"), o("https://h/"));
        assert_ne!(o("http://h/"), o("http://h:8080/"));
        assert_ne!(o("http://h/"), o("http://g/"));
    }
}

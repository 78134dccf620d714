//! The stdlib's option parsers, without acting: what the fuzz targets feed arbitrary values
//! (issue 16).
//!
//! Each function reads its arguments exactly as the stdlib call does before it acts (the
//! same code, not a copy), and returns what the call would refuse, so a fuzz target can
//! check that no option map, however odd its values, makes ordo panic. Nothing here runs a
//! command, sends a request, or touches a file.

use std::time::Duration;

use rhai::{Dynamic, EvalAltResult, Map};

type R<T> = Result<T, Box<EvalAltResult>>;

/// The options of `shell::run(cmd, opts)`; `Ok` when the call would accept them.
///
/// # Errors
///
/// The script error `shell::run` would raise for them.
pub fn shell_run(opts: &Map) -> R<()> {
    super::shell::options(opts).map(|_| ())
}

/// The options of `http::get(url, opts)` (`call` `http::get`, method `GET`),
/// `http::download` (`call` `http::download`) or `http::request(opts)` (`call`
/// `http::request`, whose URL and method come from `opts`), and the URL's host and port
/// as `--net-allow` compares them.
///
/// # Errors
///
/// The script error the call would raise before sending anything.
pub fn http(call: &str, url: &str, opts: &Map) -> R<(String, u16)> {
    let (url, method) = match call {
        "http::request" => super::http::url_and_method(opts)?,
        _ => (url.to_string(), "GET".to_string()),
    };
    if call == "http::download"
        && let Some(mode) = opts.get("mode")
    {
        super::file::parse_mode(call, "mode", mode)?;
    }
    super::http::options(call, &method, &url, opts)?;
    let (_, host, port) = super::http::host_of(call, &url)?;
    Ok((host, port))
}

/// The options of `file::write(path, content, opts)`: the mode, if any.
///
/// # Errors
///
/// The script error `file::write` would raise for them.
pub fn file_write(opts: &Map) -> R<Option<u32>> {
    super::file::write_options(Some(opts))
}

/// How long `time::sleep(seconds)` would sleep.
///
/// # Errors
///
/// The script error `time::sleep` would raise.
pub fn sleep(seconds: &Dynamic) -> R<Duration> {
    super::time::sleep_duration(seconds)
}

/// `template::render(text, values)`: it acts on nothing, so this is the call itself.
///
/// # Errors
///
/// The script error `template::render` would raise.
pub fn template_render(text: &str, values: &Dynamic) -> R<String> {
    super::template::render(text, values)
}

/// A `timeout` option of a stdlib call: a positive number of seconds, integer or float,
/// through the one checked conversion ([`crate::units`]), refused with `field` named.
pub(super) fn seconds(field: &str, value: &Dynamic) -> R<Duration> {
    let secs = value
        .as_float()
        .or_else(|_| value.as_int().map(crate::units::int_seconds))
        .or_else(|e| {
            value
                .clone()
                .into_string()
                .ok()
                .and_then(|s| crate::units::text_seconds(&s))
                .ok_or(e)
        })
        .map_err(|_| {
            crate::script::context::script_error(
                format!(
                    "{field}: must be {}, not {}",
                    crate::units::TAKES,
                    value.type_name()
                ),
                None,
            )
        })?;
    crate::units::positive_duration(field, secs)
        .map_err(|e| crate::script::context::script_error(e.to_string(), None))
}

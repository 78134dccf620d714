//! Value parsers for the options whose text needs more than clap's types (issue 16).
//!
//! Each turns the text into a checked value, or into a message that clap prints as
//! ``error: invalid value '1e20' for '--timeout <SECS>': ...`` with exit code 2, before
//! any file is read. Durations go through [`crate::units`] like every other duration from
//! input.

use std::time::Duration;

use crate::stdlib::NetRule;

/// `--timeout SECS`: a positive number of seconds or a duration with units (`5m`), at most
/// a year.
pub(super) fn timeout(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .ok()
        .or_else(|| crate::units::text_seconds(text))
        .ok_or_else(|| format!("`{text}` is not {}", crate::units::TAKES))?;
    crate::units::positive_duration("--timeout", secs).map_err(|e| e.describe())
}

/// `watch --interval` and the other durations of `watch`: a positive duration with units
/// (`200ms`, `30s`, `5m`) or a number of seconds, at most a year.
pub(super) fn duration(text: &str) -> Result<Duration, String> {
    timeout(text)
}

/// `watch --jitter`: a share from 0 to 100 percent (`10%`, or `10`), as a fraction.
pub(super) fn percent(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches('%').trim();
    match number.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p / 100.0),
        _ => Err(format!("`{text}` is not a percentage from 0% to 100%")),
    }
}

/// `-e NAME`: an environment name that a manifest or the project file can name, and that
/// can be shown and stored: not empty, no `/` or `\`, no blanks or control characters.
pub(super) fn env_name(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("an environment name cannot be empty".into());
    }
    if let Some(c) = text
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '\\'))
    {
        return Err(format!(
            "{c:?} cannot be in an environment name (no blanks, control characters, `/` or `\\`)"
        ));
    }
    Ok(text.to_string())
}

/// `--net-allow HOST[:PORT]`: see [`NetRule`].
pub(super) fn net_rule(text: &str) -> Result<NetRule, String> {
    NetRule::parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_checked_durations() {
        assert_eq!(timeout("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(timeout("60"), Ok(Duration::from_secs(60)));
        for bad in ["", "x", "0", "-1", "1e20", "1e-300", "inf", "NaN"] {
            assert!(timeout(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn watch_durations_and_percentages_are_checked() {
        assert_eq!(duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(duration("5m"), Ok(Duration::from_secs(300)));
        assert!(duration("0s").is_err());
        assert_eq!(percent("10%"), Ok(0.1));
        assert_eq!(percent("0"), Ok(0.0));
        for bad in ["", "x%", "-1%", "101%", "NaN"] {
            assert!(percent(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn environment_names_are_checked() {
        assert!(env_name("prod").is_ok());
        assert!(env_name("eu-west.1").is_ok());
        for bad in ["", "a b", "a\nb", "a/b", "..\\x", "\t"] {
            assert!(env_name(bad).is_err(), "{bad:?}");
        }
    }
}

/// A path from the command line, which must be UTF-8: ordo carries paths as text in its
/// state (`file`, `dir`), its reports and `m.dir`, so a path that is not would be changed
/// on the way (two projects sharing one state, `state list` reading another file).
/// Refused with the flag named, as a usage error (exit 2).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Utf8Path;

impl clap::builder::TypedValueParser for Utf8Path {
    type Value = std::path::PathBuf;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        match value.to_str() {
            Some(text) => Ok(std::path::PathBuf::from(text)),
            None => {
                let name = arg.map_or_else(|| "a path".to_string(), ToString::to_string);
                Err(clap::Error::raw(
                    clap::error::ErrorKind::ValueValidation,
                    format!(
                        "{name}: `{}` is not UTF-8; ordo takes UTF-8 paths only (it records them as text)\n",
                        value.to_string_lossy()
                    ),
                )
                .with_cmd(cmd))
            }
        }
    }
}

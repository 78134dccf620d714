//! Checked conversions of the numbers input gives ordo into durations (issue 16).
//!
//! Every duration that comes from input goes through [`duration`] or
//! [`positive_duration`]: `--timeout`, `metadata.timeout`, `metadata.retryDelay`, the
//! `timeout` options of `shell::run` and `http::*`, and `time::sleep`. `Duration::from_secs_f64`
//! panics on NaN, on negative numbers and above about 584 years, and `Instant + Duration`
//! panics when the sum overflows: with one limit for every field ([`MAX_SECONDS`], one
//! year) no duration from input can reach either, and every refusal names its field.
//! A positive number too small to be a duration (`1e-300` seconds rounds to zero
//! nanoseconds) is refused too, rather than read as "no time at all".
//!
//! Not here: sizes and counts, which are whole numbers checked where they are read with
//! `try_from` (`max_output`, `max_body`, `metadata.retries`, `--jobs`).

use std::fmt;
use std::time::Duration;

/// The longest duration ordo accepts from input, in seconds: 365 days.
pub const MAX_SECONDS: u64 = 365 * 24 * 60 * 60;

/// [`MAX_SECONDS`] as a float, exactly.
const MAX_SECONDS_F64: f64 = 31_536_000.0;

/// [`MAX_SECONDS`] as a [`Duration`].
pub const MAX_DURATION: Duration = Duration::from_secs(MAX_SECONDS);

/// Why a number is not a duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    NotANumber,
    Infinite,
    Negative,
    Zero,
    RoundsToZero,
    TooLarge,
}

/// A number refused as a duration, with the field it was given for.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{field}: {}", self.describe())]
pub struct UnitError {
    /// The field as the user knows it: `--timeout`, `metadata.timeout`, `` `shell::run`
    /// option `timeout` ``.
    pub field: String,
    /// The number as given.
    pub value: f64,
    pub problem: Problem,
}

impl UnitError {
    /// The problem alone, without the field: `` `1e20` seconds is more than ... ``.
    pub fn describe(&self) -> String {
        let v = Shown(self.value);
        match self.problem {
            Problem::NotANumber => "NaN is not a number of seconds".to_string(),
            Problem::Infinite => format!("`{v}` is not a finite number of seconds"),
            Problem::Negative => format!("`{v}` is negative; give a number of seconds"),
            Problem::Zero => "must be more than 0 seconds".to_string(),
            Problem::RoundsToZero => format!(
                "`{v}` seconds rounds to zero; the shortest duration is 1 nanosecond (1e-9)"
            ),
            Problem::TooLarge => format!(
                "`{v}` seconds is more than the longest duration ordo takes, {MAX_SECONDS} (365 days)"
            ),
        }
    }
}

/// A float as ordo prints numbers elsewhere (`1e20`, not `100000000000000000000`).
struct Shown(f64);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A whole number as the integer it was given as (`-1`, not `-1.0`); any other as
        // `manifest::float_text` prints it, which this leaf module must not reach up to.
        if self.0.fract() == 0.0 && self.0.abs() < 1e15 {
            write!(f, "{:.0}", self.0)
        } else {
            write!(f, "{}", rhai::Dynamic::from_float(self.0))
        }
    }
}

/// A whole number of seconds as the float the duration checks take. Exact up to 2^53,
/// far above [`MAX_SECONDS`]; anything that rounds is refused as too large anyway.
#[expect(
    clippy::cast_precision_loss,
    reason = "exact for every value below the limit; larger ones are refused"
)]
pub fn int_seconds(i: i64) -> f64 {
    i as f64
}

/// A duration written with units, as humantime reads them (`90s`, `5m`, `1h30m`, `2h 5m`),
/// in seconds; `None` when `text` is not one. The seconds still go through [`duration`] or
/// [`positive_duration`], so the limits are the same as for a number.
pub fn text_seconds(text: &str) -> Option<f64> {
    humantime::parse_duration(text.trim())
        .ok()
        .map(|d| d.as_secs_f64())
}

/// What every duration field takes, for messages: `` a number of seconds or a duration
/// like `90s`, `5m`, `1h30m` ``.
pub const TAKES: &str = "a number of seconds or a duration like `90s`, `5m`, `1h30m`";

/// `secs` seconds as a [`Duration`]: zero allowed (`retryDelay: 0`, `time::sleep(0)`).
///
/// # Errors
///
/// NaN, infinities, negative numbers, positive numbers below one nanosecond, and numbers
/// above [`MAX_SECONDS`], naming `field`.
pub fn duration(field: &str, secs: f64) -> Result<Duration, UnitError> {
    let refuse = |problem| UnitError {
        field: field.to_string(),
        value: secs,
        problem,
    };
    if secs.is_nan() {
        return Err(refuse(Problem::NotANumber));
    }
    if secs.is_infinite() {
        return Err(refuse(Problem::Infinite));
    }
    if secs < 0.0 {
        return Err(refuse(Problem::Negative));
    }
    if secs > MAX_SECONDS_F64 {
        return Err(refuse(Problem::TooLarge));
    }
    // In range: finite, not negative, at most a year, so this cannot fail.
    let d = Duration::try_from_secs_f64(secs).map_err(|_| refuse(Problem::TooLarge))?;
    if d.is_zero() && secs > 0.0 {
        return Err(refuse(Problem::RoundsToZero));
    }
    Ok(d)
}

/// Like [`duration`], and zero is refused too: a limit of no time at all (`--timeout 0`).
///
/// # Errors
///
/// As [`duration`], and zero.
pub fn positive_duration(field: &str, secs: f64) -> Result<Duration, UnitError> {
    let d = duration(field, secs)?;
    if d.is_zero() {
        return Err(UnitError {
            field: field.to_string(),
            value: secs,
            problem: Problem::Zero,
        });
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! refused {
        ($($name:ident: $f:ident($secs:expr) => $problem:ident,)*) => {$(
            #[test]
            fn $name() {
                assert_eq!($f("f", $secs).map_err(|e| e.problem), Err(Problem::$problem));
            }
        )*};
    }

    refused! {
        nan_is_refused: duration(f64::NAN) => NotANumber,
        infinity_is_refused: duration(f64::INFINITY) => Infinite,
        minus_infinity_is_refused: duration(f64::NEG_INFINITY) => Infinite,
        negative_is_refused: duration(-1.0) => Negative,
        above_a_year_is_refused: duration(1e20) => TooLarge,
        far_above_is_refused: duration(1e300) => TooLarge,
        just_above_the_limit_is_refused: duration(31_536_000.5) => TooLarge,
        tiny_is_refused: duration(1e-300) => RoundsToZero,
        zero_is_refused_where_positive: positive_duration(0.0) => Zero,
        tiny_is_refused_where_positive: positive_duration(1e-10) => RoundsToZero,
    }

    #[test]
    fn every_duration_in_range_converts() {
        assert_eq!(duration("f", 0.0), Ok(Duration::ZERO));
        assert_eq!(duration("f", 1e-9), Ok(Duration::from_nanos(1)));
        assert_eq!(duration("f", 2.5), Ok(Duration::from_millis(2500)));
        assert_eq!(duration("f", 31_536_000.0), Ok(MAX_DURATION));
        assert_eq!(
            positive_duration("f", 3600.0),
            Ok(Duration::from_secs(3600))
        );
    }

    #[test]
    fn the_message_names_the_field_and_the_value() {
        let e = duration("--timeout", 1e20).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--timeout: `1e20` seconds is more than the longest duration ordo takes, 31536000 (365 days)"
        );
    }

    #[test]
    fn whole_numbers_are_shown_as_given() {
        assert!(
            duration("f", -1.0)
                .unwrap_err()
                .to_string()
                .contains("`-1` is negative")
        );
        assert!(
            duration("f", -0.5)
                .unwrap_err()
                .to_string()
                .contains("`-0.5` is negative")
        );
        assert_eq!(MAX_SECONDS_F64.to_string(), MAX_SECONDS.to_string());
    }

    #[test]
    fn a_year_from_now_is_a_valid_instant() {
        assert!(
            std::time::Instant::now()
                .checked_add(MAX_DURATION)
                .is_some()
        );
    }
}

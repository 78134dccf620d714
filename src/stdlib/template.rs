//! `template::render(text, values)`: Jinja templates (minijinja), strict and bounded.
//!
//! An undefined name is an error, not an empty string. The template's final newline is kept
//! (minijinja drops it by default), so a rendered file ends like its template. Rendering has
//! a fuel limit, so a template cannot loop forever, its output is bounded by the run's string
//! length, and templates cannot load other files.

use minijinja::{Environment, UndefinedBehavior};
use rhai::{Dynamic, EvalAltResult};

use super::StdModule;
use crate::script::context::script_error;

/// Template instructions one render may execute.
const FUEL: u64 = 10_000_000;

pub(super) fn render(text: &str, values: &Dynamic) -> Result<String, Box<EvalAltResult>> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // The default drops the final newline; the build only fails on bad delimiters.
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(64);
    let limit = crate::script::context::require("template::render")?
        .limits
        .max_string_size;
    bound_filters(&mut env, limit);
    // A float is output as everywhere else in ordo (issue 14: `1e20` came out as
    // `100000000000000000000.0`).
    env.set_formatter(|out, state, value| {
        if value.is_number()
            && !value.is_integer()
            && let Ok(f) = f64::try_from(value.clone())
        {
            return out.write_str(&crate::manifest::float_text(f)).map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string())
            });
        }
        minijinja::escape_formatter(out, state, value)
    });
    let values = crate::script::convert::to_json(values, "`template::render`")
        .map_err(|e| script_error(e, None))?;
    let context = minijinja::Value::from(minijinja::value::Serde(values));
    // The output is bounded by the run's string length as it is written (issue 15: a loop
    // over a large value grew without end): fuel bounds instructions, not bytes.
    let mut out = Bounded {
        text: Vec::new(),
        limit,
        over: false,
    };
    // A leading byte order mark is not part of the template (issue 14).
    let rendered = env
        .template_from_str(crate::input::strip_bom_str(text))
        .and_then(|t| t.render_captured_to(context, &mut out).map(|_| ()));
    if out.over {
        return Err(crate::script::context::too_large(
            "template::render",
            "the output",
            "string length",
            limit,
        ));
    }
    rendered
        .map(|()| String::from_utf8_lossy(&out.text).into_owned())
        .map_err(|e| {
            let line = e
                .line()
                .map(|l| format!(" on line {l} of the template"))
                .unwrap_or_default();
            let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
            script_error(
                format!("`template::render`: {}{detail}{line}", e.kind()),
                None,
            )
        })
}

/// The built-in filters whose result can be far larger than their input (`replace` of one
/// character by a long string, `join`, `indent`, `format` widths, `pprint`) are replaced by
/// versions that work out an upper bound of the result's size first and refuse a result
/// over the run's string length before anything is allocated (attack on issue 15, F5: a
/// `replace` on a 64 MiB string took ordo to 1.9 GB). What stays unbounded is named in
/// stdlib/README.md, Limits.
fn bound_filters(env: &mut Environment<'_>, limit: usize) {
    use minijinja::value::{Rest, Value};
    type Measure = fn(&[Value]) -> usize;
    let filters: [(&str, Value, Measure); 5] = [
        (
            "replace",
            Value::from_function(minijinja::filters::replace),
            replace_size,
        ),
        (
            "join",
            Value::from_function(minijinja::filters::join),
            join_size,
        ),
        (
            "indent",
            Value::from_function(minijinja::filters::indent),
            indent_size,
        ),
        (
            "format",
            Value::from_function(minijinja::filters::format),
            format_size,
        ),
        (
            "pprint",
            Value::from_function(minijinja::filters::pprint),
            pprint_size,
        ),
    ];
    for (name, builtin, measure) in filters {
        env.add_filter(
            name,
            move |state: &mut minijinja::State<'_, '_>, args: Rest<Value>| {
                if measure(&args) > limit {
                    return Err(minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        format!(
                            "the result of `{name}` would exceed the run's limit on string length ({})",
                            crate::script::bytes_text(limit)
                        ),
                    ));
                }
                builtin.call(state, &args)
            },
        );
    }
}

/// A value as the filters see it: a string's text, anything else's display.
fn text(v: &minijinja::Value) -> std::borrow::Cow<'_, str> {
    v.as_str()
        .map_or_else(|| v.to_string().into(), std::borrow::Cow::Borrowed)
}

/// `replace(value, from, to)`: every occurrence of `from` replaced by `to`.
fn replace_size(args: &[minijinja::Value]) -> usize {
    let (Some(value), Some(from), Some(to)) = (args.first(), args.get(1), args.get(2)) else {
        return 0;
    };
    let (value, from, to) = (text(value), text(from), text(to));
    let times = if from.is_empty() {
        value.chars().count().saturating_add(1)
    } else {
        value.matches(from.as_ref()).count()
    };
    value.len().saturating_add(times.saturating_mul(to.len()))
}

/// `join(value, joiner)`: every item's text, and the joiner between them.
fn join_size(args: &[minijinja::Value]) -> usize {
    let Some(value) = args.first() else { return 0 };
    let joiner = args.get(1).map_or(0, |j| text(j).len());
    let Ok(items) = value.try_iter() else {
        return 0;
    };
    let mut size = 0usize;
    for item in items {
        size = size
            .saturating_add(text(&item).len())
            .saturating_add(joiner);
        if size == usize::MAX {
            break;
        }
    }
    size
}

/// `indent(value, width)`: at most every line gets the width (whichever argument, or
/// keyword, is a number).
fn indent_size(args: &[minijinja::Value]) -> usize {
    let Some(value) = args.first() else { return 0 };
    let value = text(value);
    let width = args
        .iter()
        .skip(1)
        .flat_map(|a| {
            let nested: Vec<minijinja::Value> = a
                .try_iter()
                .map(|keys| keys.filter_map(|k| a.get_item(&k).ok()).collect())
                .unwrap_or_default();
            std::iter::once(a.clone()).chain(nested)
        })
        .filter_map(|a| a.as_str().map(str::len).or_else(|| usize::try_from(a).ok()))
        .max()
        .unwrap_or(4);
    let lines = value.matches('\n').count().saturating_add(1);
    value.len().saturating_add(lines.saturating_mul(width))
}

/// `format(fmt, args...)`: the format, every argument's text, and every number in a
/// conversion (a width or a precision) in full.
fn format_size(args: &[minijinja::Value]) -> usize {
    let Some(fmt) = args.first() else { return 0 };
    let fmt = text(fmt);
    let mut size = fmt.len();
    for a in args.iter().skip(1) {
        size = size.saturating_add(text(a).len());
    }
    let mut in_conversion = false;
    let mut number = 0usize;
    for c in fmt.chars() {
        if c == '%' {
            in_conversion = !in_conversion;
            continue;
        }
        if !in_conversion {
            continue;
        }
        if let Some(d) = c.to_digit(10) {
            number = number.saturating_mul(10).saturating_add(d as usize);
        } else {
            size = size.saturating_add(number);
            number = 0;
            if c.is_ascii_alphabetic() {
                in_conversion = false;
            }
        }
    }
    size.saturating_add(number)
}

/// `pprint(value)`: measured by writing it to a counter that stops past the limit.
fn pprint_size(args: &[minijinja::Value]) -> usize {
    struct Count(usize);
    impl std::fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 = self.0.saturating_add(s.len());
            if self.0 > (64 << 20) * 4 {
                return Err(std::fmt::Error);
            }
            Ok(())
        }
    }
    let Some(value) = args.first() else { return 0 };
    let mut count = Count(0);
    let _ = std::fmt::write(&mut count, format_args!("{value:#?}"));
    count.0
}

/// A writer that refuses to hold more than `limit` bytes.
struct Bounded {
    text: Vec<u8>,
    limit: usize,
    over: bool,
}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.text.len().saturating_add(buf.len()) > self.limit {
            self.over = true;
            return Err(std::io::Error::other("the output is too large"));
        }
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(super) fn module() -> StdModule {
    let mut m = StdModule::new("template");
    fallible!(&mut m, "render", |text: &str, values: Dynamic| render(
        text, &values
    ));
    m
}

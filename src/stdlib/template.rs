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
    let limit = crate::script::context::require("template::render")?
        .limits
        .max_string_size;
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

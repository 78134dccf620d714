//! Rhai's own formatting (`print`, `debug`, `to_string`, string interpolation) and equality
//! (`==`, `!=`, and through them `in`, `contains`, `index_of`) of arrays and maps recurse
//! into nested values without a bound, so a value nested thousands deep overflowed the
//! stack and aborted ordo. These replacements do what Rhai's do, registered in the engine's
//! global namespace (searched before the standard package), after refusing a value nested
//! deeper than [`MAX_DEPTH`] with an error that fails only the manifest.

use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map, NativeCallContext};

use super::context::script_error;
use super::convert::{MAX_DEPTH, deeper_than, too_deep};

type R<T> = Result<T, Box<EvalAltResult>>;

fn guard<'a>(what: &str, values: impl IntoIterator<Item = &'a Dynamic>) -> R<()> {
    // The container itself is one level.
    let limit = MAX_DEPTH.saturating_sub(1);
    if values.into_iter().any(|v| deeper_than(v, limit)) {
        return Err(script_error(too_deep(what), None));
    }
    Ok(())
}

/// An item as Rhai's `print` of a container shows it: its `to_debug`.
fn item(ctx: &NativeCallContext, value: &mut Dynamic) -> R<String> {
    match ctx.call_native_fn_raw("to_debug", true, &mut [value]) {
        Ok(text) if text.is_string() => Ok(text.into_string().unwrap_or_default()),
        Ok(text) => Ok(text.type_name().to_string()),
        Err(e) if matches!(*e, EvalAltResult::ErrorFunctionNotFound(..)) => {
            Ok(format!("{value:?}"))
        }
        Err(e) => Err(e),
    }
}

fn format_array(ctx: NativeCallContext, array: &mut Array) -> R<ImmutableString> {
    guard("printing an array", array.iter())?;
    let mut items = Vec::with_capacity(array.len());
    for x in array.iter_mut() {
        items.push(item(&ctx, x)?);
    }
    Ok(format!("[{}]", items.join(", ")).into())
}

fn format_map(ctx: NativeCallContext, map: &mut Map) -> R<ImmutableString> {
    guard("printing a map", map.values())?;
    let mut items = Vec::with_capacity(map.len());
    for (k, v) in map.iter_mut() {
        items.push(format!("{k:?}: {}", item(&ctx, v)?));
    }
    Ok(format!("#{{{}}}", items.join(", ")).into())
}

/// `a == b` for two values, as Rhai's array and map equality compare their items.
fn equal(ctx: &NativeCallContext, a: &mut Dynamic, b: &mut Dynamic) -> R<bool> {
    match ctx.call_native_fn_raw("==", true, &mut [a, b]) {
        Ok(r) => Ok(r.as_bool().unwrap_or(false)),
        Err(e) if matches!(*e, EvalAltResult::ErrorFunctionNotFound(..)) => {
            if a.type_id() == b.type_id() {
                Err(e)
            } else {
                Ok(false)
            }
        }
        Err(e) => Err(e),
    }
}

fn arrays_equal(ctx: NativeCallContext, a: &mut Array, mut b: Array) -> R<bool> {
    guard("comparing arrays", a.iter().chain(b.iter()))?;
    if a.len() != b.len() {
        return Ok(false);
    }
    for (x, y) in a.iter_mut().zip(b.iter_mut()) {
        if !equal(&ctx, x, y)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn maps_equal(ctx: NativeCallContext, a: &mut Map, mut b: Map) -> R<bool> {
    guard("comparing maps", a.values().chain(b.values()))?;
    if a.len() != b.len() {
        return Ok(false);
    }
    for (k, x) in a.iter_mut() {
        let Some(y) = b.get_mut(k) else {
            return Ok(false);
        };
        if !equal(&ctx, x, y)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Registers the bounded replacements.
pub(super) fn register(engine: &mut Engine) {
    for name in ["print", "debug", "to_string", "to_debug"] {
        engine.register_fn(name, format_array);
        engine.register_fn(name, format_map);
    }
    engine.register_fn("==", arrays_equal);
    engine.register_fn("!=", |ctx: NativeCallContext, a: &mut Array, b: Array| {
        arrays_equal(ctx, a, b).map(|r| !r)
    });
    engine.register_fn("==", maps_equal);
    engine.register_fn("!=", |ctx: NativeCallContext, a: &mut Map, b: Map| {
        maps_equal(ctx, a, b).map(|r| !r)
    });
}

//! Conversions between ordo's data and Rhai values.
//!
//! YAML nodes become Rhai values with their types kept (`true` a bool, `8080` an integer,
//! `"0644"` a string); a tag ordo does not resolve becomes the map `#{ tag, value }`. Values
//! coming back from scripts (outputs, variables) must be plain data: no functions, no
//! closures, no host objects.

use rhai::{Array, Dynamic, Map};

/// Moved to `manifest/` (the tree's own conversion, needed by the tags below the engine);
/// kept here under its old path.
pub use crate::manifest::node_to_dynamic;

/// How deep arrays and maps from a script may nest where ordo converts or keeps them
/// (`json::to_string`, outputs, variables, template values, request bodies). Every walk
/// over such a value is bounded, so a value nested thousands deep fails its manifest with
/// an error instead of overflowing the stack. (serde_json reads at most 128 levels too.)
pub const MAX_DEPTH: usize = 128;

/// Whether `value` nests arrays and maps deeper than `limit` levels (looked at no deeper).
pub fn deeper_than(value: &Dynamic, limit: usize) -> bool {
    fn walk(value: &Dynamic, left: usize) -> bool {
        if let Some(a) = value.read_lock::<Array>() {
            return left == 0 || a.iter().any(|v| walk(v, left - 1));
        }
        if let Some(m) = value.read_lock::<Map>() {
            return left == 0 || m.values().any(|v| walk(v, left - 1));
        }
        false
    }
    walk(value, limit)
}

/// Drops a value without recursion: a map or array nested thousands deep (built by a
/// loop in a script) would overflow the stack if dropped the ordinary way outside Rhai.
pub fn dismantle(value: Dynamic) {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        if v.is_map() {
            if let Some(map) = v.try_cast::<Map>() {
                stack.extend(map.into_values());
            }
        } else if v.is_array()
            && let Some(array) = v.try_cast::<Array>()
        {
            stack.extend(array);
        }
    }
}

/// The error for a value nested deeper than [`MAX_DEPTH`], naming what refused it.
pub fn too_deep(what: &str) -> String {
    format!("{what}: the value is nested deeper than {MAX_DEPTH} levels")
}

/// A Rhai value as JSON, refused (with [`too_deep`]) when nested deeper than [`MAX_DEPTH`].
pub fn to_json(value: &Dynamic, what: &str) -> Result<serde_json::Value, String> {
    if deeper_than(value, MAX_DEPTH) {
        return Err(too_deep(what));
    }
    Ok(dynamic_to_json(value))
}

/// A Rhai value as JSON, for reports and the state file. Non-data values (functions, host
/// objects) become their type name as a string. Values from scripts are checked against
/// [`MAX_DEPTH`] where they enter (outputs, variables, [`to_json`]); a manifest's spec
/// holding them nests at most that much deeper, so anything below twice that depth is cut
/// (as `null`) rather than walked: the walk is bounded whatever it is given.
pub fn dynamic_to_json(value: &Dynamic) -> serde_json::Value {
    bounded_json(value, 2 * MAX_DEPTH + 64)
}

fn bounded_json(value: &Dynamic, left: usize) -> serde_json::Value {
    use serde_json::Value as J;
    if value.is_unit() {
        return J::Null;
    }
    if let Ok(b) = value.as_bool() {
        return J::Bool(b);
    }
    if let Ok(i) = value.as_int() {
        return J::from(i);
    }
    if let Ok(f) = value.as_float() {
        return serde_json::Number::from_f64(f).map_or(J::Null, J::Number);
    }
    if let Ok(c) = value.as_char() {
        return J::String(c.to_string());
    }
    if let Some(s) = value.read_lock::<rhai::ImmutableString>() {
        return J::String(s.to_string());
    }
    let Some(left) = left.checked_sub(1) else {
        return J::Null;
    };
    if let Some(a) = value.read_lock::<Array>() {
        return J::Array(a.iter().map(|v| bounded_json(v, left)).collect());
    }
    if let Some(m) = value.read_lock::<Map>() {
        return J::Object(
            m.iter()
                .map(|(k, v)| (k.to_string(), bounded_json(v, left)))
                .collect(),
        );
    }
    J::String(value.type_name().to_string())
}

/// JSON back to a Rhai value (state file → variables).
pub fn json_to_dynamic(value: &serde_json::Value) -> Dynamic {
    use serde_json::Value as J;
    match value {
        J::Null => Dynamic::UNIT,
        J::Bool(b) => Dynamic::from_bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Dynamic::from(s.clone()),
        J::Array(a) => Dynamic::from_array(a.iter().map(json_to_dynamic).collect()),
        J::Object(o) => Dynamic::from_map(
            o.iter()
                .map(|(k, v)| (k.as_str().into(), json_to_dynamic(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Limits, parse_one};

    #[test]
    fn yaml_types_survive_into_rhai() {
        let node = parse_one(
            "a: true\nb: 8080\nc: \"0644\"\nd: 0644\ne: [1, x]\nf: !Ref bucket\n",
            &Limits::default(),
        )
        .unwrap();
        let d = node_to_dynamic(&node);
        let m = d.read_lock::<Map>().unwrap();
        assert!(m["a"].as_bool().unwrap());
        assert_eq!(m["b"].as_int().unwrap(), 8080);
        assert_eq!(m["c"].clone().into_string().unwrap(), "0644");
        assert_eq!(m["d"].clone().into_string().unwrap(), "0644");
        assert_eq!(m["e"].read_lock::<Array>().unwrap().len(), 2);
        let f = m["f"].read_lock::<Map>().unwrap();
        assert_eq!(f["tag"].clone().into_string().unwrap(), "!Ref");
        assert_eq!(f["value"].clone().into_string().unwrap(), "bucket");
    }

    #[test]
    fn deep_values_are_refused_not_walked() {
        let mut a = Dynamic::from_array(Array::new());
        for _ in 0..1_000 {
            a = Dynamic::from_array(vec![a]);
        }
        assert!(deeper_than(&a, MAX_DEPTH));
        assert!(to_json(&a, "x").is_err());
        assert!(dynamic_to_json(&a).is_array());
        let mut b = Dynamic::from_array(Array::new());
        for _ in 1..MAX_DEPTH {
            b = Dynamic::from_array(vec![b]);
        }
        assert!(!deeper_than(&b, MAX_DEPTH));
        assert!(to_json(&b, "x").is_ok());
    }

    #[test]
    fn json_round_trips() {
        let j = serde_json::json!({"a": [1, 2.5, "x", null, true], "b": {"c": "d"}});
        assert_eq!(dynamic_to_json(&json_to_dynamic(&j)), j);
    }
}

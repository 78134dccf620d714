//! Which argument of a failed call was `()`, and what expression gave it (issue 19 part 6).
//!
//! Rhai reports a call none of whose versions takes the values given as "function not
//! found: path::join (&str, ())". The usual cause in a handler is a spec field the manifest
//! does not have: `path::join(m.dir, m.spec.path)` without `path`. This finds the call in
//! the script by its position, and names the arguments that were `()` with the expression
//! that produced each (`m.spec.path`), so the runner can say which field is missing.

use rhai::{AST, ASTNode, EvalAltResult, Expr, Position, Stmt};

/// A call that failed because some arguments were `()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitArguments {
    /// As Rhai names it: `path::join`.
    pub function: String,
    /// Each argument that was `()`: its number (1-based) and, when it is a plain access
    /// chain, its text (`m.spec.path`, `m.spec["a"].b`).
    pub args: Vec<(usize, Option<String>)>,
}

impl UnitArguments {
    /// The access path below `spec` of the first argument read from `<var>.spec.…`
    /// (`path`, `source.value`), if any.
    pub fn spec_field(&self) -> Option<String> {
        self.args.iter().find_map(|(_, text)| {
            let text = text.as_ref()?;
            let (_, rest) = text.split_once(".spec.")?;
            Some(rest.to_string())
        })
    }

    /// `argument 2 (`m.spec.path`) was `()``.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .args
            .iter()
            .map(|(n, text)| match text {
                Some(t) => format!("argument {n} (`{t}`)"),
                None => format!("argument {n}"),
            })
            .collect();
        let verb = if parts.len() == 1 { "was" } else { "were" };
        format!("{} {verb} `()`", parts.join(" and "))
    }
}

/// The innermost error, unwrapping calls of script functions (in `file`).
fn innermost<'a>(e: &'a EvalAltResult, file: &str) -> Option<&'a EvalAltResult> {
    let mut current = e;
    loop {
        match current {
            EvalAltResult::ErrorInFunctionCall(_, src, inner, _) => {
                if !src.is_empty() && src != file {
                    return None;
                }
                current = inner;
            }
            EvalAltResult::ErrorInModule(..) => return None,
            _ => return Some(current),
        }
    }
}

/// The name of the function a "function not found" error could not find (`path::join`),
/// wherever the call was: in the handler, a function it called, or a module it imported.
pub fn function_not_found(e: &EvalAltResult) -> Option<&str> {
    let mut current = e;
    for _ in 0..256 {
        match current {
            EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
            | EvalAltResult::ErrorInModule(_, inner, _) => current = inner,
            EvalAltResult::ErrorFunctionNotFound(signature, _) => {
                return Some(
                    signature
                        .split_once(" (")
                        .map_or(signature.as_str(), |(n, _)| n),
                );
            }
            _ => return None,
        }
    }
    None
}

/// For a "function not found" whose arguments include `()`, in the script `ast` (the
/// handler `file`): which arguments were `()`, and from what.
pub fn unit_arguments(e: &EvalAltResult, ast: &AST, file: &str) -> Option<UnitArguments> {
    let EvalAltResult::ErrorFunctionNotFound(signature, pos) = innermost(e, file)? else {
        return None;
    };
    let (name, types) = signature.split_once(" (")?;
    let types = types.strip_suffix(')')?;
    let types: Vec<&str> = types.split(", ").collect();
    let units: Vec<usize> = types
        .iter()
        .enumerate()
        .filter(|(_, t)| t.trim() == "()")
        .map(|(i, _)| i)
        .collect();
    if units.is_empty() {
        return None;
    }
    let exprs = call_arguments(ast, *pos, types.len());
    Some(UnitArguments {
        function: name.to_string(),
        args: units
            .into_iter()
            .map(|i| {
                let text = exprs
                    .as_ref()
                    .and_then(|a| a.get(i))
                    .and_then(|e| chain_text(e, 0));
                (i + 1, text)
            })
            .collect(),
    })
}

/// The argument expressions of the call at `pos` taking `count` values (a method call's
/// object counts as its first).
fn call_arguments(ast: &AST, pos: Position, count: usize) -> Option<Vec<Expr>> {
    let mut found = None;
    ast.walk(&mut |path: &[ASTNode]| {
        let Some(node) = path.last() else {
            return true;
        };
        let call = match node {
            ASTNode::Stmt(Stmt::FnCall(call, p)) | ASTNode::Expr(Expr::FnCall(call, p))
                if *p == pos =>
            {
                Some((call.args.to_vec(), None))
            }
            ASTNode::Expr(Expr::Dot(x, _, p)) if *p == pos || x.rhs.position() == pos => {
                match &x.rhs {
                    Expr::MethodCall(call, _) => Some((call.args.to_vec(), Some(x.lhs.clone()))),
                    _ => None,
                }
            }
            ASTNode::Expr(Expr::MethodCall(call, p)) if *p == pos => {
                Some((call.args.to_vec(), None))
            }
            _ => None,
        };
        if let Some((args, object)) = call {
            let all: Vec<Expr> = object.into_iter().chain(args).collect();
            if all.len() == count {
                found = Some(all);
                return false;
            }
        }
        true
    });
    found
}

/// `m.spec.path`, `m.spec["a b"]`: the text of a variable followed by properties and
/// constant string indexes; `None` for anything else.
fn chain_text(e: &Expr, depth: usize) -> Option<String> {
    if depth > 32 {
        return None;
    }
    match e {
        Expr::Variable(v, ..) => Some(v.1.to_string()),
        Expr::Property(p, _) => Some(p.2.to_string()),
        Expr::Dot(x, _, _) => Some(format!(
            "{}.{}",
            chain_text(&x.lhs, depth + 1)?,
            chain_text(&x.rhs, depth + 1)?
        )),
        Expr::Index(x, _, _) => {
            let key = match &x.rhs {
                Expr::StringConstant(s, _) => s.to_string(),
                _ => return None,
            };
            let key = if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                format!(".{key}")
            } else {
                format!("[{key:?}]")
            };
            Some(format!("{}{key}", chain_text(&x.lhs, depth + 1)?))
        }
        _ => None,
    }
}

//! Facts read from a compiled script without running it.
//!
//! Today: which values a handler looks up with `values::get`/`values::has`, so that a
//! `--set NAME` nothing uses can be reported as the typo it is (issue 13). The handler
//! checks of `lint` look at every call; this looks only at value look-ups.

use std::collections::BTreeSet;

use rhai::{AST, ASTNode, Expr, Stmt};

/// The value names a script looks up.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ValueLookups {
    /// Names given as string literals: `values::get("port")`.
    pub names: BTreeSet<String>,
    /// Whether some look-up takes a computed name (`values::get(m.name)`), which no static
    /// reading can know.
    pub computed: bool,
}

/// The `values::get(..)` and `values::has(..)` calls of `ast`, its functions included.
pub fn value_lookups(ast: &AST) -> ValueLookups {
    let mut found = ValueLookups::default();
    ast.walk(&mut |path: &[ASTNode]| {
        // A call is an expression, or a statement of its own (`values::has(x)` as the
        // last line of a function).
        let call = match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(call, _)) | ASTNode::Stmt(Stmt::FnCall(call, _))) => {
                call
            }
            _ => return true,
        };
        // `Namespace::root` indexes the path: an unqualified call has none.
        if !call.namespace.is_empty()
            && call.namespace.root() == "values"
            && matches!(call.name.as_str(), "get" | "has")
        {
            match call.args.first() {
                Some(Expr::StringConstant(name, _)) => {
                    found.names.insert(name.to_string());
                }
                _ => found.computed = true,
            }
        }
        true
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_computed_lookups_are_told_apart() {
        let engine = rhai::Engine::new_raw();
        let ast = engine
            .compile(
                r#"
                fn apply(m) { values::get("port") + values::get("host", 1) }
                fn check(m) { values::has(m.name) }
                let x = other::get("nope");
            "#,
            )
            .unwrap();
        let found = value_lookups(&ast);
        assert_eq!(
            found.names.iter().map(String::as_str).collect::<Vec<_>>(),
            ["host", "port"]
        );
        assert!(found.computed);
    }
}

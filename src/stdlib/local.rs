//! `local::`: the controller, whatever the call's target. On a host, `local::run`,
//! `local::read` and `local::write` act on the machine ordo runs on, under the same rules
//! as `shell::run`, `file::read` and `file::write` there (`--fs-root`, `plan`, the
//! environment); on the controller they are those functions.

use rhai::{Dynamic, Map};

use super::StdModule;
use super::on_host::Side;

pub(super) fn module() -> StdModule {
    let mut m = StdModule::new("local");
    fallible!(&mut m, "run", needs[Shell], |cmd: Dynamic| {
        super::shell::run_local(&cmd, &Map::new())
    });
    fallible!(&mut m, "run", needs[Shell], |cmd: Dynamic, opts: Map| {
        super::shell::run_local(&cmd, &opts)
    });
    fallible!(&mut m, "read", needs[FileRead], |path: &str| {
        super::file::read("local::read", Side::Controller, path)
    });
    fallible!(
        &mut m,
        "write",
        needs[FileWrite],
        |path: &str, content: &str| super::file::write(
            "local::write",
            Side::Controller,
            path,
            content,
            None
        )
    );
    fallible!(
        &mut m,
        "write",
        needs[FileWrite],
        |path: &str, content: &str, opts: Map| super::file::write(
            "local::write",
            Side::Controller,
            path,
            content,
            Some(&opts)
        )
    );
    m
}

//! `path::join`, `path::parent`, `path::file_name`, `path::extension`, `path::is_absolute`:
//! pure path arithmetic, no file system access and no permission needed.

use std::path::Path;

use super::StdModule;

fn text(p: &Path) -> String {
    p.display().to_string()
}

pub(super) fn module() -> StdModule {
    let mut m = StdModule::new("path");
    add!(&mut m, "join", |a: &str, b: &str| text(
        &Path::new(a).join(b)
    ));
    add!(&mut m, "join", |a: &str, b: &str, c: &str| text(
        &Path::new(a).join(b).join(c)
    ));
    add!(&mut m, "parent", |p: &str| Path::new(p)
        .parent()
        .map(text)
        .unwrap_or_default());
    add!(&mut m, "file_name", |p: &str| {
        Path::new(p)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    add!(&mut m, "extension", |p: &str| {
        Path::new(p)
            .extension()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    add!(&mut m, "is_absolute", |p: &str| Path::new(p).is_absolute());
    m
}

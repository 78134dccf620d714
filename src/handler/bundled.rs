//! The handlers embedded in the binary, from the top-level `handlers/` directory.
//!
//! They are written in Rhai on the public stdlib, exactly as users write theirs, and a user
//! handler for the same kind and version overrides them.

/// `(file name, source)` of every bundled handler.
pub const BUNDLED: &[(&str, &str)] = &[
    (
        "shell_script.rhai",
        include_str!("../../handlers/shell_script.rhai"),
    ),
    (
        "write_file.rhai",
        include_str!("../../handlers/write_file.rhai"),
    ),
    (
        "web_download_file.rhai",
        include_str!("../../handlers/web_download_file.rhai"),
    ),
    (
        "website_up_test.rhai",
        include_str!("../../handlers/website_up_test.rhai"),
    ),
    (
        "git_repo.rhai",
        include_str!("../../handlers/git_repo.rhai"),
    ),
    (
        "cli_input_prompt.rhai",
        include_str!("../../handlers/cli_input_prompt.rhai"),
    ),
];

/// The name bundled handlers are shown under.
pub fn shown_name(file: &str) -> String {
    format!("bundled:handlers/{file}")
}

//! The handlers embedded in the binary, from the top-level `handlers/` directory.
//!
//! They are written in Rhai on the public stdlib, exactly as users write theirs, and a user
//! handler for the same kind and version overrides them. What each registers and may do is
//! also written down here, so a run compiles only the bundled handlers its manifests use
//! (compiling all of them cost more than the rest of a small run); a test checks that this
//! table says exactly what the scripts declare.

/// One bundled handler: its file, source, registrations and permissions.
pub struct Bundled {
    pub file: &'static str,
    pub source: &'static str,
    /// `(kind, range)` as the script's `register` calls say.
    pub kinds: &'static [(&'static str, &'static str)],
    /// As the script's `permissions` call says.
    pub permissions: &'static [&'static str],
}

pub const BUNDLED: &[Bundled] = &[
    Bundled {
        file: "shell_script.rhai",
        source: include_str!("../../handlers/shell_script.rhai"),
        kinds: &[("ShellScript", "^1")],
        permissions: &["shell", "file:read", "env"],
    },
    Bundled {
        file: "write_file.rhai",
        source: include_str!("../../handlers/write_file.rhai"),
        kinds: &[("WriteFile", "^1")],
        permissions: &["file:read", "file:write"],
    },
    Bundled {
        file: "web_download_file.rhai",
        source: include_str!("../../handlers/web_download_file.rhai"),
        kinds: &[("WebDownloadFile", "^1")],
        permissions: &["http", "file:read", "file:write"],
    },
    Bundled {
        file: "website_up_test.rhai",
        source: include_str!("../../handlers/website_up_test.rhai"),
        kinds: &[("WebsiteUpTest", "^1")],
        permissions: &["http"],
    },
    Bundled {
        file: "git_repo.rhai",
        source: include_str!("../../handlers/git_repo.rhai"),
        kinds: &[("GitRepo", "^1")],
        permissions: &["shell", "file:read", "file:write", "env"],
    },
    Bundled {
        file: "cli_input_prompt.rhai",
        source: include_str!("../../handlers/cli_input_prompt.rhai"),
        kinds: &[("CliInputPrompt", "^1")],
        permissions: &["prompt"],
    },
];

/// The name bundled handlers are shown under.
pub fn shown_name(file: &str) -> String {
    format!("bundled:handlers/{file}")
}

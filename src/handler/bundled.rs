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

/// The tests of the bundled handlers (`handlers/*.test.yaml`, DESIGN §12): `(file, text)`,
/// one per bundled handler; `ordo test --bundled` runs them.
pub const BUNDLED_TESTS: &[(&str, &str)] = &[
    (
        "shell_script.test.yaml",
        include_str!("../../handlers/shell_script.test.yaml"),
    ),
    (
        "write_file.test.yaml",
        include_str!("../../handlers/write_file.test.yaml"),
    ),
    (
        "web_download_file.test.yaml",
        include_str!("../../handlers/web_download_file.test.yaml"),
    ),
    (
        "website_up_test.test.yaml",
        include_str!("../../handlers/website_up_test.test.yaml"),
    ),
    (
        "git_repo.test.yaml",
        include_str!("../../handlers/git_repo.test.yaml"),
    ),
    (
        "cli_input_prompt.test.yaml",
        include_str!("../../handlers/cli_input_prompt.test.yaml"),
    ),
];

/// The name bundled handlers are shown under.
pub fn shown_name(file: &str) -> String {
    format!("bundled:handlers/{file}")
}

#[cfg(test)]
mod tests {
    use super::{BUNDLED, BUNDLED_TESTS};

    /// Every bundled handler has its test file embedded, and every test file in
    /// `handlers/` is embedded.
    #[test]
    fn every_bundled_handler_has_its_tests_embedded() {
        for b in BUNDLED {
            let wanted = b.file.replace(".rhai", ".test.yaml");
            assert!(
                BUNDLED_TESTS.iter().any(|(f, _)| *f == wanted),
                "{} has no {wanted} in BUNDLED_TESTS",
                b.file
            );
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("handlers");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".test.yaml"))
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = BUNDLED_TESTS
            .iter()
            .map(|(f, _)| (*f).to_string())
            .collect();
        listed.sort();
        assert_eq!(on_disk, listed);
    }
}

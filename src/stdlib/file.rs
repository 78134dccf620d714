//! `file::`: reading and writing files, atomically where it matters.
//!
//! Reads need `file:read`, changes need `file:write`. Every path goes through the run's
//! policy (`--fs-root`, symlinks resolved). Writes and copies go to a temporary file in the
//! target's directory that is then renamed over the target, so a reader never sees half a
//! file and a crash never leaves one. Relative paths are relative to ordo's working
//! directory; use `path::join(m.dir, ...)` for paths relative to the manifest.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rhai::{Array, Dynamic, EvalAltResult, Map};
use sha2::{Digest, Sha256};

use super::Capability;
use super::StdModule;
use crate::script::context::{self, io_error, script_error};

type R<T> = Result<T, Box<EvalAltResult>>;

/// Checks the policy for `call` on `path` (`plan` is read-only for `file:write`, and
/// `--fs-root`); returns the absolute path. The capability itself was checked from the
/// function's registration (`fallible!`'s `needs`).
fn open(call: &str, cap: Capability, path: &str) -> R<std::path::PathBuf> {
    let ctx = context::require(call)?;
    // A process's environment is the `env` capability, whatever the name (issue 15).
    ctx.refuse_environ(call, path)?;
    if cap == Capability::FileWrite {
        ctx.require_mutation(call)?;
    }
    ctx.path(call, path)
}

/// Reads the whole content of the regular file `p` for `call`. A FIFO, a device or a socket
/// is refused rather than read (issue 15): a FIFO with no writer would block the call past
/// its timeout and every signal.
fn read_content(call: &str, p: &Path) -> R<Vec<u8>> {
    use std::io::Read;
    let mut file = crate::input::open_regular(std::fs::OpenOptions::new().read(true), p)
        .map_err(|e| io_error(call, p, &e))?;
    // Checked again on what was opened: a name swapped after `open`'s check (issue 15).
    if crate::stdlib::is_environ_fd(&file) {
        let what = format!("{call}(\"{}\")", p.display());
        context::require(call)?.require(Capability::Env, &what)?;
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| io_error(call, p, &e))?;
    Ok(bytes)
}

/// Refuses, under `--fs-root`, to change the content or mode of a regular file with more
/// than one hard link (issue 15): its other names may lie outside the roots, and no path
/// check can see them. `file::write` and `file::copy` are not concerned: they rename a new
/// file over the name, which leaves the other names untouched.
fn refuse_hard_link(call: &str, p: &Path, meta: &std::fs::Metadata) -> R<()> {
    use std::os::unix::fs::MetadataExt;
    let ctx = context::require(call)?;
    if ctx.policy.fs_roots.is_empty() || !meta.is_file() || meta.nlink() <= 1 {
        return Ok(());
    }
    Err(script_error(
        format!(
            "`{call}`: {} has {} hard links, and under `--fs-root` a file with other names is not changed in place (they may be outside the roots)",
            p.display(),
            meta.nlink()
        ),
        Some("replace it with `file::write`, which leaves the other names untouched".into()),
    ))
}

/// Writes `bytes` to `target` through a temporary file in the same directory.
///
/// `mode`: the exact mode the file gets, from the moment it appears under its name (issue
/// 14: a secret file was linked 0644 and chmodded afterwards, readable for a moment). With
/// `None`, a new file gets 0644 less the umask and a replaced one keeps exactly its mode.
pub(super) fn write_atomic(call: &str, target: &Path, bytes: &[u8], mode: Option<u32>) -> R<()> {
    let dir = target.parent().unwrap_or(Path::new("/"));
    // Most writes create a file in a directory that exists: try that first (the link fails
    // if the file exists), and only then create the directory or look the existing file up
    // for its mode.
    match create_new(target, dir, bytes, mode) {
        Created::Yes => return Ok(()),
        Created::NoDirectory => {
            std::fs::create_dir_all(dir).map_err(|e| io_error(call, dir, &e))?;
            if create_new(target, dir, bytes, mode) == Created::Yes {
                return Ok(());
            }
        }
        Created::No => {}
    }
    let existing = std::fs::metadata(target)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777);
    // Replacing a file (or no O_TMPFILE here): a named temporary file, renamed over it.
    let exact = mode.or(existing);
    let mut tmp = tempfile::Builder::new()
        .prefix(".ordo-")
        .permissions(std::fs::Permissions::from_mode(exact.unwrap_or(0o644)))
        .tempfile_in(dir)
        .map_err(|e| io_error(call, dir, &e))?;
    tmp.write_all(bytes)
        .map_err(|e| io_error(call, target, &e))?;
    // Creation applied the umask: a given mode, or the replaced file's, is set exactly,
    // before the rename makes the file visible under its name.
    if let Some(exact) = exact {
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(exact))
            .map_err(|e| io_error(call, target, &e))?;
    }
    // Not fsynced: the rename makes the write atomic for every reader, which is what
    // handlers need; forcing each file to disk would cost milliseconds per manifest.
    tmp.persist(target)
        .map_err(|e| io_error(call, target, &e.error))?;
    Ok(())
}

/// Creates `target`, which does not exist yet, atomically: an unnamed file (`O_TMPFILE`)
/// is written and then linked under its name, so no reader sees it half written, and a
/// process killed halfway leaves no temporary file behind. It costs no more than a named
/// temporary file and a rename (less on ext4). When it cannot (no `O_TMPFILE` on this file
/// system, or the target exists) the caller falls back to the rename.
fn create_new(target: &Path, dir: &Path, bytes: &[u8], mode: Option<u32>) -> Created {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_TMPFILE)
        .mode(mode.unwrap_or(0o644))
        .open(dir)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Created::NoDirectory,
        Err(_) => return Created::No,
    };
    // The umask applied at creation; a given mode is set exactly while the file has no
    // name yet.
    if let Some(mode) = mode
        && file
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .is_err()
    {
        return Created::No;
    }
    if file.write_all(bytes).is_err() {
        return Created::No;
    }
    let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    let linked = rustix::fs::linkat(
        rustix::fs::CWD,
        proc_path.as_str(),
        rustix::fs::CWD,
        target,
        rustix::fs::AtFlags::SYMLINK_FOLLOW,
    );
    if linked.is_ok() {
        Created::Yes
    } else {
        Created::No
    }
}

/// What [`create_new`] did.
#[derive(PartialEq, Eq)]
enum Created {
    Yes,
    /// The directory does not exist (yet).
    NoDirectory,
    /// Anything else: the caller falls back to a named temporary file.
    No,
}

fn read(path: &str) -> R<String> {
    let p = open("file::read", Capability::FileRead, path)?;
    let bytes = read_content("file::read", &p)?;
    String::from_utf8(bytes).map_err(|_| {
        script_error(
            format!("`file::read`: {} is not UTF-8 text", p.display()),
            None,
        )
    })
}

fn write(path: &str, content: &str, opts: Option<&Map>) -> R<()> {
    let p = open("file::write", Capability::FileWrite, path)?;
    let mut mode = None;
    for (key, value) in opts.into_iter().flatten() {
        match key.as_str() {
            "mode" => mode = Some(parse_mode("file::write", "mode", value)?),
            other => {
                return Err(script_error(
                    format!("`file::write`: unknown option `{other}`"),
                    Some("options: mode".into()),
                ));
            }
        }
    }
    write_atomic("file::write", &p, content.as_bytes(), mode)
}

/// A file mode as handlers give it: an octal string, `"0640"`, `"640"` or `"0o640"`, at
/// most `0o7777`. The one rule for every mode the stdlib and the bundled handlers take.
///
/// Integers are refused (issue 14): YAML's `0o640` and Rhai's `0o640` are the number 416,
/// while `640` in a manifest means 0640 to its author, and a number cannot say which was
/// meant. Ansible documents the same trap and asks for quoted modes; ordo enforces it, so
/// a mode is always the one written, or an error naming the call and the field.
///
/// # Errors
///
/// A script error naming `call` and `field`, with the quoted spelling to use.
pub(super) fn parse_mode(call: &str, field: &str, value: &Dynamic) -> R<u32> {
    if let Ok(i) = value.as_int() {
        return Err(script_error(
            format!(
                "`{call}`: `{field}` must be an octal mode written as a string, not the number {i}"
            ),
            Some(format!(
                "quote it, such as \"0640\": a number cannot say whether {i} or octal {i:o} was meant"
            )),
        ));
    }
    let text = value
        .clone()
        .into_string()
        .unwrap_or_else(|_| value.to_string());
    let digits = text
        .strip_prefix("0o")
        .unwrap_or(&text)
        .trim_start_matches('0');
    let bits =
        (text.len() <= 6 && !text.is_empty() && digits.bytes().all(|b| (b'0'..=b'7').contains(&b)))
            .then(|| u32::from_str_radix(if digits.is_empty() { "0" } else { digits }, 8).ok())
            .flatten()
            .filter(|b| *b <= 0o7777);
    bits.ok_or_else(|| {
        script_error(
            format!("`{call}`: `{field}` `{text}` is not a file mode"),
            Some("use an octal string such as \"0644\", \"755\" or \"0o600\"".into()),
        )
    })
}

fn append(path: &str, content: &str) -> R<()> {
    let p = open("file::append", Capability::FileWrite, path)?;
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io_error("file::append", dir, &e))?;
    }
    let mut f =
        crate::input::open_regular(std::fs::OpenOptions::new().create(true).append(true), &p)
            .map_err(|e| io_error("file::append", &p, &e))?;
    let meta = f.metadata().map_err(|e| io_error("file::append", &p, &e))?;
    refuse_hard_link("file::append", &p, &meta)?;
    f.write_all(content.as_bytes())
        .map_err(|e| io_error("file::append", &p, &e))
}

fn exists(path: &str) -> R<bool> {
    let p = open("file::exists", Capability::FileRead, path)?;
    Ok(p.symlink_metadata().is_ok())
}

fn is_dir(path: &str) -> R<bool> {
    let p = open("file::is_dir", Capability::FileRead, path)?;
    Ok(p.is_dir())
}

fn remove(path: &str) -> R<bool> {
    let p = open("file::remove", Capability::FileWrite, path)?;
    match std::fs::remove_file(&p) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error("file::remove", &p, &e)),
    }
}

fn remove_dir(path: &str) -> R<bool> {
    let p = open("file::remove_dir", Capability::FileWrite, path)?;
    match std::fs::remove_dir_all(&p) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error("file::remove_dir", &p, &e)),
    }
}

fn mkdir(path: &str) -> R<()> {
    let p = open("file::mkdir", Capability::FileWrite, path)?;
    std::fs::create_dir_all(&p).map_err(|e| io_error("file::mkdir", &p, &e))
}

fn list(path: &str) -> R<Array> {
    let p = open("file::list", Capability::FileRead, path)?;
    let mut names: Vec<String> = std::fs::read_dir(&p)
        .map_err(|e| io_error("file::list", &p, &e))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    Ok(names.into_iter().map(Dynamic::from).collect())
}

fn copy(from: &str, to: &str) -> R<()> {
    let src = open("file::copy", Capability::FileRead, from)?;
    let dst = open("file::copy", Capability::FileWrite, to)?;
    let bytes = read_content("file::copy", &src)?;
    let mode = std::fs::metadata(&src)
        .map(|m| m.permissions().mode() & 0o7777)
        .ok();
    write_atomic("file::copy", &dst, &bytes, mode)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(digest.len() * 2);
    for b in digest.iter() {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

fn sha256(path: &str) -> R<String> {
    let p = open("file::sha256", Capability::FileRead, path)?;
    let bytes = read_content("file::sha256", &p)?;
    Ok(sha256_hex(&bytes))
}

fn size(path: &str) -> R<i64> {
    let p = open("file::size", Capability::FileRead, path)?;
    let meta = std::fs::metadata(&p).map_err(|e| io_error("file::size", &p, &e))?;
    Ok(i64::try_from(meta.len()).unwrap_or(i64::MAX))
}

fn mode(path: &str) -> R<String> {
    let p = open("file::mode", Capability::FileRead, path)?;
    let meta = std::fs::metadata(&p).map_err(|e| io_error("file::mode", &p, &e))?;
    Ok(format!("{:04o}", meta.permissions().mode() & 0o7777))
}

fn chmod(path: &str, mode: &Dynamic) -> R<()> {
    let p = open("file::chmod", Capability::FileWrite, path)?;
    let bits = parse_mode("file::chmod", "mode", mode)?;
    let meta = std::fs::metadata(&p).map_err(|e| io_error("file::chmod", &p, &e))?;
    refuse_hard_link("file::chmod", &p, &meta)?;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(bits))
        .map_err(|e| io_error("file::chmod", &p, &e))
}

pub(super) fn module() -> StdModule {
    let mut m = StdModule::new("file");
    fallible!(&mut m, "read", needs[FileRead], |path: &str| read(path));
    fallible!(
        &mut m,
        "write",
        needs[FileWrite],
        |path: &str, content: &str| write(path, content, None)
    );
    fallible!(
        &mut m,
        "write",
        needs[FileWrite],
        |path: &str, content: &str, opts: Map| write(path, content, Some(&opts))
    );
    fallible!(
        &mut m,
        "append",
        needs[FileWrite],
        |path: &str, content: &str| append(path, content)
    );
    fallible!(&mut m, "exists", needs[FileRead], |path: &str| exists(path));
    fallible!(&mut m, "is_dir", needs[FileRead], |path: &str| is_dir(path));
    fallible!(&mut m, "remove", needs[FileWrite], |path: &str| remove(
        path
    ));
    fallible!(&mut m, "remove_dir", needs[FileWrite], |path: &str| {
        remove_dir(path)
    });
    fallible!(&mut m, "mkdir", needs[FileWrite], |path: &str| mkdir(path));
    fallible!(&mut m, "list", needs[FileRead], |path: &str| list(path));
    fallible!(&mut m, "copy", needs [FileRead, FileWrite], |from: &str, to: &str| copy(from, to));
    fallible!(&mut m, "sha256", needs[FileRead], |path: &str| sha256(path));
    fallible!(&mut m, "size", needs[FileRead], |path: &str| size(path));
    fallible!(&mut m, "mode", needs[FileRead], |path: &str| mode(path));
    fallible!(
        &mut m,
        "chmod",
        needs[FileWrite],
        |path: &str, mode: Dynamic| chmod(path, &mode)
    );
    m
}

//! `file::`: reading and writing files, atomically where it matters.
//!
//! Reads need `file:read`, changes need `file:write`. Every path goes through the run's
//! policy (`--fs-root`, symlinks resolved) and is then opened beneath its root's descriptor
//! (`beneath.rs`), so a path cannot be redirected out of the root between the check and the
//! use. Writes and copies go to a temporary file in the target's directory that is then
//! renamed over the target, so a reader never sees half a file and a crash never leaves
//! one. Relative paths are relative to ordo's working directory; use
//! `path::join(m.dir, ...)` for paths relative to the manifest.
//!
//! Each function acts where the call does ([`on_host`]): on the controller with the code
//! here, on a host through `crate::target::fs`, which keeps the same rules in one `sh`
//! script per call (absolute paths, the host's `fsRoot`). `file::upload` and
//! `file::download` join the two sides; `local::read`/`local::write` are the controller's
//! `read`/`write` whatever the target.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use rhai::{Array, Dynamic, EvalAltResult, Map};
use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};
use rustix::io::Errno;
use sha2::{Digest, Sha256};

use super::Capability;
use super::StdModule;
use super::beneath::{self, Entry, Staged, Target};
use super::on_host::{OnHost, Side, on_host};
use crate::script::context::{self, script_error};

type R<T> = Result<T, Box<EvalAltResult>>;

/// Checks the policy for `call` on `path` (`plan` is read-only for `file:write`, and
/// `--fs-root`); returns the target to open. The capability itself was checked from the
/// function's registration (`fallible!`'s `needs`).
fn open(call: &str, cap: Capability, path: &str) -> R<Target> {
    let ctx = context::require(call)?;
    // A process's environment is the `env` capability, whatever the name (issue 15).
    ctx.refuse_environ(call, path)?;
    if cap == Capability::FileWrite {
        ctx.require_mutation(call)?;
    }
    Target::new(&ctx, call, path)
}

/// Opens the regular file `t` for reading its content. A FIFO, a device or a socket is
/// refused rather than read (issue 15): a FIFO with no writer would block the call past its
/// timeout and every signal.
fn open_content(t: &Target) -> R<std::fs::File> {
    let file = t
        .open_regular(OFlags::RDONLY, Mode::empty())
        .map_err(|e| t.error(&e))?;
    // Checked again on what was opened: a name swapped after `open`'s check (issue 15).
    if crate::stdlib::is_environ_fd(&file) {
        let what = format!("{}(\"{}\")", t.call(), t.path().display());
        context::require(t.call())?.require(Capability::Env, &what)?;
    }
    Ok(file)
}

/// Reads the whole content of the regular file `t` ([`open_content`]), at most the run's
/// string length: more is an error, found by reading one byte more, never from the size
/// the file reports (`/proc` files say 0; a file may grow while it is read).
fn read_content(t: &Target) -> R<Vec<u8>> {
    let limit = context::require(t.call())?.limits.max_string_size;
    let mut bytes = Vec::new();
    open_content(t)?
        .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| t.error(&e))?;
    if bytes.len() > limit {
        return Err(context::too_large(
            t.call(),
            &t.path().display().to_string(),
            "string length",
            limit,
        ));
    }
    Ok(bytes)
}

/// Refuses, under `--fs-root`, to change the content or mode of a regular file with more
/// than one hard link (issue 15): its other names may lie outside the roots, and no path
/// check can see them. `file::write` and `file::copy` are not concerned: they rename a new
/// file over the name, which leaves the other names untouched.
fn refuse_hard_link(t: &Target, kind: FileType, links: u64) -> R<()> {
    if !t.confined() || kind != FileType::RegularFile || links <= 1 {
        return Ok(());
    }
    Err(script_error(
        format!(
            "`{}`: {} has {links} hard links, and under `--fs-root` a file with other names is not changed in place (they may be outside the roots)",
            t.call(),
            t.path().display(),
        ),
        Some("replace it with `file::write`, which leaves the other names untouched".into()),
    ))
}

/// The error for a path that names no entry of a directory (`/`, a root, `x/..`), given to a
/// call that changes a name.
fn no_entry(t: &Target) -> Box<EvalAltResult> {
    script_error(
        format!(
            "`{}`: {} is not a name in a directory (it is `/`, an `--fs-root` root, or ends in `..`)",
            t.call(),
            t.path().display()
        ),
        None,
    )
}

/// The directory entry `t` names, its parents made.
fn entry_made(t: &Target) -> R<Entry> {
    t.entry(true)
        .map_err(|e| t.error(&e))?
        .ok_or_else(|| no_entry(t))
}

/// Writes `bytes` to `t` through a temporary file in the same directory.
///
/// `mode`: the exact mode the file gets, from the moment it appears under its name (issue
/// 14: a secret file was linked 0644 and chmodded afterwards, readable for a moment). With
/// `None`, a new file gets 0644 less the umask and a replaced one keeps exactly its mode.
pub(super) fn write_atomic(t: &Target, bytes: &Content<'_>, mode: Option<u32>) -> R<()> {
    let entry = entry_made(t)?;
    // Most writes create a file: try that first (the link fails if the file exists), and
    // only then look the existing file up for its mode.
    if create_new(&entry, bytes, mode) {
        return Ok(());
    }
    let existing = t.stat().ok().map(|s| s.st_mode & 0o7777);
    // Replacing a file (or no O_TMPFILE here): a named temporary file, renamed over it.
    let exact = mode.or(existing);
    let mut staged =
        Staged::new(entry.dir.as_fd(), exact.unwrap_or(0o644)).map_err(|e| t.error(&e))?;
    bytes.write_to(&mut staged.file).map_err(|e| t.error(&e))?;
    // Creation applied the umask: a given mode, or the replaced file's, is set exactly,
    // before the rename makes the file visible under its name.
    if let Some(exact) = exact {
        rustix::fs::fchmod(&staged.file, Mode::from_raw_mode(exact))
            .map_err(|e| t.error(&e.into()))?;
    }
    // Not fsynced: the rename makes the write atomic for every reader, which is what
    // handlers need; forcing each file to disk would cost milliseconds per manifest.
    staged.commit(&entry.name).map_err(|e| t.error(&e))
}

/// Creates the entry, which does not exist yet, atomically: an unnamed file (`O_TMPFILE`)
/// is written and then linked under its name, so no reader sees it half written, and a
/// process killed halfway leaves no temporary file behind. It costs no more than a named
/// temporary file and a rename (less on ext4). When it cannot (no `O_TMPFILE` on this file
/// system, or the name exists) it returns false and the caller falls back to the rename.
fn create_new(entry: &Entry, bytes: &Content<'_>, mode: Option<u32>) -> bool {
    let Ok(fd) = rustix::fs::openat(
        &entry.dir,
        ".",
        OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC,
        Mode::from_raw_mode(mode.unwrap_or(0o644)),
    ) else {
        return false;
    };
    let mut file = std::fs::File::from(fd);
    // The umask applied at creation; a given mode is set exactly while the file has no
    // name yet.
    if let Some(mode) = mode
        && rustix::fs::fchmod(&file, Mode::from_raw_mode(mode)).is_err()
    {
        return false;
    }
    if bytes.write_to(&mut file).is_err() {
        return false;
    }
    // The name is one name in the directory's descriptor: nothing is resolved by path.
    let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    rustix::fs::linkat(
        CWD,
        proc_path.as_str(),
        &entry.dir,
        &entry.name,
        AtFlags::SYMLINK_FOLLOW,
    )
    .is_ok()
}

/// What [`write_atomic`] writes: text, or the content of an open file, streamed (a copy
/// never holds a whole file in memory).
pub(super) enum Content<'a> {
    Bytes(&'a [u8]),
    File(&'a std::fs::File),
}

impl Content<'_> {
    /// Writes everything to `out` (from the start of the file, for a second attempt).
    fn write_to(&self, out: &mut std::fs::File) -> std::io::Result<()> {
        match self {
            Content::Bytes(b) => out.write_all(b),
            Content::File(f) => {
                let mut f: &std::fs::File = f;
                std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(0))?;
                std::io::copy(&mut f, out).map(|_| ())
            }
        }
    }
}

/// The string length, the most a read may bring back.
fn max_string(call: &str) -> R<usize> {
    Ok(context::require(call)?.limits.max_string_size)
}

/// Runs a host's file operation, its error made a script error.
fn there<T>(
    h: &OnHost,
    op: impl FnOnce(&crate::target::fs::HostFs<'_>) -> Result<T, crate::target::TransportError>,
) -> R<T> {
    op(&h.fs()).map_err(|e| h.error(e))
}

pub(super) fn read(call: &str, side: Side, path: &str) -> R<String> {
    let (bytes, shown) = match on_host(call, Some(Capability::FileRead), side)? {
        Some(h) => {
            let limit = max_string(call)?;
            (
                there(&h, |fs| fs.read(path, limit))?,
                format!("{path} on `{}`", h.host.name),
            )
        }
        None => {
            let t = open(call, Capability::FileRead, path)?;
            (read_content(&t)?, t.path().display().to_string())
        }
    };
    String::from_utf8(bytes)
        .map_err(|_| script_error(format!("`{call}`: {shown} is not UTF-8 text"), None))
}

pub(super) fn write(
    call: &str,
    side: Side,
    path: &str,
    content: &str,
    opts: Option<&Map>,
) -> R<()> {
    let mode = write_options(opts)?;
    if let Some(h) = on_host(call, Some(Capability::FileWrite), side)? {
        return there(&h, |fs| fs.write(path, content.as_bytes(), mode)).map(drop);
    }
    let t = open(call, Capability::FileWrite, path)?;
    write_atomic(&t, &Content::Bytes(content.as_bytes()), mode)
}

/// The options of `file::write`: its `mode`, if given.
pub(super) fn write_options(opts: Option<&Map>) -> R<Option<u32>> {
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
    Ok(mode)
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
    if let Some(h) = on_host("file::append", Some(Capability::FileWrite), Side::Target)? {
        return there(&h, |fs| fs.append(path, content.as_bytes()));
    }
    let t = open("file::append", Capability::FileWrite, path)?;
    let flags = OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE;
    let mode = Mode::from_raw_mode(0o666);
    let mut f = match t.open_regular(flags, mode) {
        // The directory is missing: make it (and its parents), then try again.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            entry_made(&t)?;
            t.open_regular(flags, mode)
        }
        other => other,
    }
    .map_err(|e| t.error(&e))?;
    let stat = rustix::fs::fstat(&f).map_err(|e| t.error(&e.into()))?;
    refuse_hard_link(&t, FileType::from_raw_mode(stat.st_mode), stat.st_nlink)?;
    f.write_all(content.as_bytes()).map_err(|e| t.error(&e))
}

/// Whether `e` is a step out of the roots, which is refused rather than taken for "absent".
fn refused(t: &Target, e: &std::io::Error) -> bool {
    t.confined() && e.raw_os_error() == Some(libc::EXDEV)
}

fn exists(path: &str) -> R<bool> {
    if let Some(h) = on_host("file::exists", Some(Capability::FileRead), Side::Target)? {
        return there(&h, |fs| fs.exists(path));
    }
    let t = open("file::exists", Capability::FileRead, path)?;
    if !t.confined() {
        return Ok(rustix::fs::statat(CWD, t.path(), AtFlags::SYMLINK_NOFOLLOW).is_ok());
    }
    match t.entry(false) {
        // The name itself: a symlink exists even when its target does not.
        Ok(Some(e)) => match rustix::fs::statat(&e.dir, &e.name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(_) => Ok(true),
            Err(Errno::XDEV) if t.confined() => Err(t.error(&Errno::XDEV.into())),
            Err(_) => Ok(false),
        },
        Ok(None) => Ok(t.stat().is_ok()),
        Err(e) if refused(&t, &e) => Err(t.error(&e)),
        Err(_) => Ok(false),
    }
}

fn is_dir(path: &str) -> R<bool> {
    if let Some(h) = on_host("file::is_dir", Some(Capability::FileRead), Side::Target)? {
        return there(&h, |fs| fs.is_dir(path));
    }
    let t = open("file::is_dir", Capability::FileRead, path)?;
    match t.stat() {
        Ok(s) => Ok(FileType::from_raw_mode(s.st_mode) == FileType::Directory),
        Err(e) if refused(&t, &e) => Err(t.error(&e)),
        Err(_) => Ok(false),
    }
}

fn remove(path: &str) -> R<bool> {
    if let Some(h) = on_host("file::remove", Some(Capability::FileWrite), Side::Target)? {
        return there(&h, |fs| fs.remove(path));
    }
    let t = open("file::remove", Capability::FileWrite, path)?;
    let unlinked = if t.confined() {
        let entry = match t.entry(false) {
            Ok(Some(entry)) => entry,
            Ok(None) => return Err(t.error(&Errno::ISDIR.into())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(t.error(&e)),
        };
        rustix::fs::unlinkat(&entry.dir, &entry.name, AtFlags::empty())
    } else {
        rustix::fs::unlinkat(CWD, t.path(), AtFlags::empty())
    };
    match unlinked {
        Ok(()) => Ok(true),
        Err(Errno::NOENT) => Ok(false),
        Err(e) => Err(t.error(&e.into())),
    }
}

fn remove_dir(path: &str) -> R<bool> {
    if let Some(h) = on_host(
        "file::remove_dir",
        Some(Capability::FileWrite),
        Side::Target,
    )? {
        return there(&h, |fs| fs.remove_dir(path));
    }
    let t = open("file::remove_dir", Capability::FileWrite, path)?;
    let entry = match t.entry(false) {
        Ok(Some(entry)) => entry,
        Ok(None) => return Err(no_entry(&t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(t.error(&e)),
    };
    let kind = match rustix::fs::statat(&entry.dir, &entry.name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(s) => FileType::from_raw_mode(s.st_mode),
        Err(Errno::NOENT) => return Ok(false),
        Err(e) => return Err(t.error(&e.into())),
    };
    let removed = match kind {
        // A symlink is removed, never entered.
        FileType::Symlink => {
            rustix::fs::unlinkat(&entry.dir, &entry.name, AtFlags::empty()).map_err(Into::into)
        }
        FileType::Directory => beneath::remove_tree(entry.dir.as_fd(), &entry.name),
        _ => Err(Errno::NOTDIR.into()),
    };
    removed.map(|()| true).map_err(|e| t.error(&e))
}

fn mkdir(path: &str) -> R<()> {
    if let Some(h) = on_host("file::mkdir", Some(Capability::FileWrite), Side::Target)? {
        return there(&h, |fs| fs.mkdir(path));
    }
    let t = open("file::mkdir", Capability::FileWrite, path)?;
    t.mkdir_all().map_err(|e| t.error(&e))
}

fn list(path: &str) -> R<Array> {
    if let Some(h) = on_host("file::list", Some(Capability::FileRead), Side::Target)? {
        let limit = h.ctx.limits.max_array_size;
        let names = there(&h, |fs| fs.list(path, limit))?;
        return Ok(names.into_iter().map(Dynamic::from).collect());
    }
    let t = open("file::list", Capability::FileRead, path)?;
    let dir = t
        .open(OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())
        .map_err(|e| t.error(&e))?;
    let limit = context::require("file::list")?.limits.max_array_size;
    let mut names = beneath::list(dir, limit).map_err(|e| t.error(&e))?;
    names.sort();
    Ok(names.into_iter().map(Dynamic::from).collect())
}

fn copy(from: &str, to: &str) -> R<()> {
    if let Some(h) = on_host("file::copy", Some(Capability::FileWrite), Side::Target)? {
        return there(&h, |fs| fs.copy(from, to));
    }
    copy_here("file::copy", from, to)
}

/// `file::copy` on the controller (and `upload`/`download` when the target is the
/// controller too).
fn copy_here(call: &str, from: &str, to: &str) -> R<()> {
    let src = open(call, Capability::FileRead, from)?;
    let dst = open(call, Capability::FileWrite, to)?;
    let file = open_content(&src)?;
    // The mode of the file read, from its descriptor.
    let mode = rustix::fs::fstat(&file).map(|s| s.st_mode & 0o7777).ok();
    write_atomic(&dst, &Content::File(&file), mode)
}

/// `file::upload(local, remote)`: a file of the controller written on the target,
/// atomically, with its permission bits. At most the string length (64 MiB).
fn upload(from: &str, to: &str) -> R<()> {
    let call = "file::upload";
    let Some(h) = on_host(call, Some(Capability::FileWrite), Side::Target)? else {
        return copy_here(call, from, to);
    };
    let src = open(call, Capability::FileRead, from)?;
    let mut file = open_content(&src)?;
    let mode = rustix::fs::fstat(&file)
        .map(|s| s.st_mode & 0o7777)
        .map_err(|e| src.error(&e.into()))?;
    let limit = max_string(call)?;
    let mut bytes = Vec::new();
    (&mut file)
        .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| src.error(&e))?;
    if bytes.len() > limit {
        return Err(context::too_large(
            call,
            &src.path().display().to_string(),
            "string length",
            limit,
        ));
    }
    there(&h, |fs| fs.write(to, &bytes, Some(mode))).map(drop)
}

/// `file::download(remote, local)`: a file of the target written on the controller,
/// atomically, with its permission bits. At most the string length (64 MiB).
fn download(from: &str, to: &str) -> R<()> {
    let call = "file::download";
    let Some(h) = on_host(call, Some(Capability::FileWrite), Side::Target)? else {
        return copy_here(call, from, to);
    };
    let dst = open(call, Capability::FileWrite, to)?;
    let limit = max_string(call)?;
    let (bytes, mode) = there(&h, |fs| fs.read_with_mode(from, limit))?;
    write_atomic(&dst, &Content::Bytes(&bytes), Some(mode))
}

fn sha256(path: &str) -> R<String> {
    if let Some(h) = on_host("file::sha256", Some(Capability::FileRead), Side::Target)? {
        return there(&h, |fs| fs.sha256(path));
    }
    let t = open("file::sha256", Capability::FileRead, path)?;
    // Streamed: a file of any size is hashed in constant memory.
    let mut file = open_content(&t)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0_u8; 64 * 1024];
    loop {
        let n = match file.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(t.error(&e)),
        };
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    Ok(hasher
        .finalize()
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02x}");
            hex
        }))
}

fn size(path: &str) -> R<i64> {
    if let Some(h) = on_host("file::size", Some(Capability::FileRead), Side::Target)? {
        return there(&h, |fs| fs.size(path));
    }
    let t = open("file::size", Capability::FileRead, path)?;
    let stat = t.stat().map_err(|e| t.error(&e))?;
    Ok(stat.st_size)
}

fn mode(path: &str) -> R<String> {
    if let Some(h) = on_host("file::mode", Some(Capability::FileRead), Side::Target)? {
        return there(&h, |fs| fs.mode(path).map(|m| format!("{m:04o}")));
    }
    let t = open("file::mode", Capability::FileRead, path)?;
    let stat = t.stat().map_err(|e| t.error(&e))?;
    Ok(format!("{:04o}", stat.st_mode & 0o7777))
}

fn chmod(path: &str, mode: &Dynamic) -> R<()> {
    let bits = parse_mode("file::chmod", "mode", mode)?;
    if let Some(h) = on_host("file::chmod", Some(Capability::FileWrite), Side::Target)? {
        return there(&h, |fs| fs.chmod(path, bits));
    }
    let t = open("file::chmod", Capability::FileWrite, path)?;
    // One descriptor, opened beneath the root, is checked and changed: the name is not
    // looked up again in between.
    let fd = t
        .open(OFlags::PATH, Mode::empty())
        .map_err(|e| t.error(&e))?;
    let stat = rustix::fs::fstat(&fd).map_err(|e| t.error(&e.into()))?;
    refuse_hard_link(&t, FileType::from_raw_mode(stat.st_mode), stat.st_nlink)?;
    chmod_fd(&t, &fd, bits).map_err(|e| t.error(&e))
}

/// Sets the mode of the file open as `fd` (an `O_PATH` descriptor, which `fchmod` does not
/// take): through its `/proc/self/fd` link, which names exactly that file. Without `/proc`,
/// the file is opened again for reading, checked to be the same one, and changed by
/// `fchmod`.
fn chmod_fd(t: &Target, fd: &OwnedFd, bits: u32) -> std::io::Result<()> {
    let mode = Mode::from_raw_mode(bits);
    let proc_path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    match rustix::fs::chmodat(CWD, proc_path.as_str(), mode, AtFlags::empty()) {
        Err(Errno::NOENT) => {}
        other => return Ok(other?),
    }
    let again = t.open(
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY,
        Mode::empty(),
    )?;
    let (a, b) = (rustix::fs::fstat(fd)?, rustix::fs::fstat(&again)?);
    if (a.st_dev, a.st_ino) != (b.st_dev, b.st_ino) {
        return Err(Errno::AGAIN.into());
    }
    Ok(rustix::fs::fchmod(&again, mode)?)
}

pub(super) fn module() -> StdModule {
    let mut m = StdModule::new("file");
    fallible!(&mut m, "read", needs[FileRead], |path: &str| read(
        "file::read",
        Side::Target,
        path
    ));
    fallible!(
        &mut m,
        "write",
        needs[FileWrite],
        |path: &str, content: &str| write("file::write", Side::Target, path, content, None)
    );
    fallible!(
        &mut m,
        "write",
        needs[FileWrite],
        |path: &str, content: &str, opts: Map| write(
            "file::write",
            Side::Target,
            path,
            content,
            Some(&opts)
        )
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
    fallible!(&mut m, "upload", needs [FileRead, FileWrite], |from: &str, to: &str| upload(from, to));
    fallible!(&mut m, "download", needs [FileRead, FileWrite], |from: &str, to: &str| download(from, to));
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

//! Opening a path so that the kernel itself keeps it inside the `--fs-root` roots.
//!
//! [`Policy::locate`] resolves a path and checks it against the roots, which gives clear
//! errors, but a check is not an open: between the two, a directory inside a root can be
//! swapped for a symlink to `/` (`renameat2` with `RENAME_EXCHANGE`, in a loop), and an open
//! by name follows it (issue 15). So every file function opens what it touches through a
//! [`Target`], which opens the checked path *relative to a descriptor of its root*:
//!
//! - with `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`: the kernel refuses (`EXDEV`)
//!   every step that would leave the root, whatever changed since the check. It still
//!   follows a symlink that stays beneath the root. The check resolved the path already, so
//!   such a link is only met when the tree changed in between, and it leads to a place
//!   inside the root all the same.
//! - where `openat2` is missing (`ENOSYS` before Linux 5.6, `EPERM` from some seccomp
//!   filters) or `ORDO_NO_OPENAT2=1` asks for it (tests use it), the path is walked one
//!   component at a time with `openat(O_NOFOLLOW)`, each from the descriptor of the one
//!   before: no symlink is followed at all, and `..` is refused.
//!
//! Both cost one system call per component at most. A change to a name (create, replace,
//! remove, `mkdir`) acts on that one name inside a descriptor of its directory, itself
//! opened beneath the root (`linkat`, `renameat`, `unlinkat`, `mkdirat`), so nothing is
//! resolved by name after the check. The root itself is opened at each call.
//!
//! Without `--fs-root` the same functions open paths as given, as any program does: there
//! is no root to stay in, and the rules that hold without one (a FIFO refused, a symlink
//! replaced rather than written through by `file::write`) are the same.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rhai::EvalAltResult;
use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;

use super::Policy;
use crate::script::context::{CallContext, io_error, script_error};

/// Set once `openat2` answered `ENOSYS`: the kernel has none, don't ask again.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// Whether to use `openat2`: it exists (as far as we know) and `ORDO_NO_OPENAT2=1` does not
/// force the fallback walk.
fn openat2_usable() -> bool {
    static FORCED_OFF: std::sync::LazyLock<bool> =
        std::sync::LazyLock::new(|| std::env::var_os("ORDO_NO_OPENAT2").is_some_and(|v| v == "1"));
    !*FORCED_OFF && !NO_OPENAT2.load(Ordering::Relaxed)
}

/// A path a file function acts on, checked against the run's policy, and opened so that
/// under `--fs-root` it cannot leave the root it was found in.
pub(crate) struct Target {
    call: String,
    /// The path as the handler gave it, for refusals.
    given: PathBuf,
    /// The path made absolute (nothing resolved): for messages, and the open without roots.
    absolute: PathBuf,
    /// Under `--fs-root`: the root's path, and the path relative to it, resolved.
    beneath: Option<(PathBuf, PathBuf)>,
    policy: Arc<Policy>,
}

/// A name inside an open directory: what a change to a name acts on.
pub(crate) struct Entry {
    pub(crate) dir: OwnedFd,
    pub(crate) name: OsString,
}

impl Target {
    /// Checks `path` for `call` against the policy (`--fs-root`, symlinks resolved).
    ///
    /// # Errors
    ///
    /// An empty path, or a path outside every root.
    pub(crate) fn new(
        ctx: &CallContext,
        call: &str,
        path: &str,
    ) -> Result<Target, Box<EvalAltResult>> {
        if path.is_empty() {
            return Err(script_error(format!("`{call}`: the path is empty"), None));
        }
        let located = ctx
            .policy
            .locate(call, Path::new(path))
            .map_err(|r| refusal(&r))?;
        Ok(Target {
            call: call.to_string(),
            given: PathBuf::from(path),
            absolute: located.absolute,
            beneath: located.beneath,
            policy: Arc::clone(&ctx.policy),
        })
    }

    /// The stdlib call acting on the path, as messages name it.
    pub(crate) fn call(&self) -> &str {
        &self.call
    }

    /// The path made absolute, as messages show it.
    pub(crate) fn path(&self) -> &Path {
        &self.absolute
    }

    /// Whether the path is confined beneath a root (`--fs-root`).
    pub(crate) fn confined(&self) -> bool {
        self.beneath.is_some()
    }

    /// The script error for `e`, met acting on this path: a step out of the root (`EXDEV`)
    /// is the policy's refusal, anything else the I/O error naming the call and the path.
    pub(crate) fn error(&self, e: &io::Error) -> Box<EvalAltResult> {
        if self.confined() && e.raw_os_error() == Some(libc::EXDEV) {
            return refusal(&self.policy.outside(&self.call, &self.given));
        }
        io_error(&self.call, &self.absolute, e)
    }

    /// Opens the path with `flags` (its last symlink followed, beneath the root).
    ///
    /// # Errors
    ///
    /// The I/O error; `EXDEV` for a step out of the root.
    pub(crate) fn open(&self, flags: OFlags, mode: Mode) -> io::Result<OwnedFd> {
        match &self.beneath {
            None => Ok(rustix::fs::open(
                &self.absolute,
                flags | OFlags::CLOEXEC,
                mode,
            )?),
            Some((root, relative)) => open_beneath(open_root(root)?.as_fd(), relative, flags, mode),
        }
    }

    /// Opens the path for its content with `flags` (`O_CREAT` creating it with `mode`), and
    /// refuses what is not a regular file, checked on the descriptor: a FIFO, a device or a
    /// socket would block a read or a write forever (issue 15), whatever the timeout. The
    /// open does not block either.
    ///
    /// # Errors
    ///
    /// The I/O error, or `InvalidInput` "a directory" / "not a regular file (a FIFO, a
    /// device or a socket)".
    pub(crate) fn open_regular(&self, flags: OFlags, mode: Mode) -> io::Result<File> {
        let not_regular = "not a regular file (a FIFO, a device or a socket)";
        let fd = match self.open(flags | OFlags::NONBLOCK | OFlags::NOCTTY, mode) {
            Ok(fd) => fd,
            // A FIFO opened for writing without a reader.
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, not_regular));
            }
            Err(e) => return Err(e),
        };
        let kind = FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode);
        if kind != FileType::RegularFile {
            let what = if kind == FileType::Directory {
                "a directory"
            } else {
                not_regular
            };
            return Err(io::Error::new(io::ErrorKind::InvalidInput, what));
        }
        Ok(File::from(fd))
    }

    /// The path's metadata, its last symlink followed.
    ///
    /// # Errors
    ///
    /// As [`Target::open`].
    pub(crate) fn stat(&self) -> io::Result<Stat> {
        match &self.beneath {
            None => Ok(rustix::fs::statat(CWD, &self.absolute, AtFlags::empty())?),
            Some(_) => Ok(rustix::fs::fstat(self.open(OFlags::PATH, Mode::empty())?)?),
        }
    }

    /// The directory holding the path's last name, opened (beneath the root), and that
    /// name, which is not followed. `None` when the path names no entry of a directory: it
    /// ends in `..`, or it is `/` or a root itself. With `create`, missing directories on
    /// the way are made (`file::write`'s parents).
    ///
    /// # Errors
    ///
    /// As [`Target::open`].
    pub(crate) fn entry(&self, create: bool) -> io::Result<Option<Entry>> {
        let (Some(name), Some(parent)) = (self.absolute.file_name(), self.absolute.parent()) else {
            return Ok(None);
        };
        let name = name.to_os_string();
        let dir = match &self.beneath {
            None => match rustix::fs::open(parent, dir_flags(), Mode::empty()) {
                Err(Errno::NOENT) if create => {
                    std::fs::create_dir_all(parent)?;
                    rustix::fs::open(parent, dir_flags(), Mode::empty())?
                }
                other => other?,
            },
            Some((_, relative)) if relative.as_os_str().is_empty() => return Ok(None),
            Some(_) => {
                // The parent resolved on its own: the last name may be a symlink, and it is
                // the name that is replaced or removed, not where it points.
                let Ok(located) = self.policy.locate(&self.call, parent) else {
                    return Err(Errno::XDEV.into());
                };
                let Some((root, relative)) = located.beneath else {
                    return Err(Errno::XDEV.into());
                };
                let root = open_root(&root)?;
                if create {
                    mkdir_beneath(root.as_fd(), &relative)?
                } else {
                    open_beneath(
                        root.as_fd(),
                        &relative,
                        OFlags::PATH | OFlags::DIRECTORY,
                        Mode::empty(),
                    )?
                }
            }
        };
        Ok(Some(Entry { dir, name }))
    }

    /// Makes the directory and its missing parents (`file::mkdir`).
    ///
    /// # Errors
    ///
    /// As [`Target::open`], and a name on the way that is not a directory.
    pub(crate) fn mkdir_all(&self) -> io::Result<()> {
        match &self.beneath {
            None => std::fs::create_dir_all(&self.absolute),
            Some((root, relative)) => mkdir_beneath(open_root(root)?.as_fd(), relative).map(drop),
        }
    }
}

/// The script error of a policy refusal.
fn refusal(r: &super::Refusal) -> Box<EvalAltResult> {
    script_error(
        r.to_string(),
        Some("the run was started with `--fs-root`".into()),
    )
}

/// Flags of a directory opened only to act on names inside it.
fn dir_flags() -> OFlags {
    OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC
}

/// Opens a root (canonical, as `--fs-root` was resolved when the run started).
fn open_root(root: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(root, dir_flags(), Mode::empty())?)
}

/// Opens `relative` beneath the directory `root`: with `openat2(RESOLVE_BENEATH)` where it
/// exists, else by [`walk`]. An empty `relative` opens `root` itself.
fn open_beneath(
    root: BorrowedFd<'_>,
    relative: &Path,
    flags: OFlags,
    mode: Mode,
) -> io::Result<OwnedFd> {
    // `openat2` refuses a mode without a flag that creates.
    let mode = if flags.intersects(OFlags::CREATE | OFlags::TMPFILE) {
        mode
    } else {
        Mode::empty()
    };
    let relative = if relative.as_os_str().is_empty() {
        Path::new(".")
    } else {
        relative
    };
    if openat2_usable() {
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        // `EAGAIN`: a rename raced with a `..`; the kernel asks to try again.
        for _ in 0..8 {
            match rustix::fs::openat2(root, relative, flags | OFlags::CLOEXEC, mode, resolve) {
                Err(Errno::AGAIN) => {}
                Err(Errno::NOSYS) => {
                    NO_OPENAT2.store(true, Ordering::Relaxed);
                    break;
                }
                // A seccomp filter that does not know `openat2` (a real EPERM comes back
                // from the walk as well).
                Err(Errno::PERM) => break,
                other => return Ok(other?),
            }
        }
    }
    walk(root, relative, flags, mode)
}

/// The fallback of [`open_beneath`]: `relative` opened one component at a time from `root`,
/// each with `O_NOFOLLOW` from the descriptor of the one before. The policy's check
/// resolved every symlink already, so one met here appeared since and is refused (`EXDEV`),
/// as are `..` and an absolute path.
fn walk(root: BorrowedFd<'_>, relative: &Path, flags: OFlags, mode: Mode) -> io::Result<OwnedFd> {
    let names = names(relative)?;
    let Some((last, dirs)) = names.split_last() else {
        return Ok(rustix::fs::openat(
            root,
            ".",
            flags | OFlags::CLOEXEC,
            mode,
        )?);
    };
    let mut held: Option<OwnedFd> = None;
    for name in dirs {
        let at = held.as_ref().map_or(root, AsFd::as_fd);
        held = Some(open_dir_nofollow(at, name)?);
    }
    let at = held.as_ref().map_or(root, AsFd::as_fd);
    let fd = rustix::fs::openat(at, *last, flags | OFlags::NOFOLLOW | OFlags::CLOEXEC, mode)
        .map_err(|e| link_is_xdev(at, last, e))?;
    // `O_PATH | O_NOFOLLOW` opens a symlink itself rather than failing.
    if flags.contains(OFlags::PATH)
        && FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode) == FileType::Symlink
    {
        return Err(Errno::XDEV.into());
    }
    Ok(fd)
}

/// The names of `relative`; `..`, `/` and prefixes are refused (`EXDEV`): they can only
/// lead up, and the check has resolved them already.
fn names(relative: &Path) -> io::Result<Vec<&OsStr>> {
    let mut names = Vec::new();
    for c in relative.components() {
        match c {
            Component::Normal(name) => names.push(name),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(Errno::XDEV.into());
            }
        }
    }
    Ok(names)
}

/// Opens the directory `name` in `at`, refusing a symlink (`EXDEV`).
fn open_dir_nofollow(at: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    rustix::fs::openat(at, name, dir_flags() | OFlags::NOFOLLOW, Mode::empty())
        .map_err(|e| link_is_xdev(at, name, e))
}

/// `e`, met opening `name` in `at` with `O_NOFOLLOW`, as `EXDEV` when `name` is a symlink:
/// one that appeared after the check, which may lead anywhere.
fn link_is_xdev(at: BorrowedFd<'_>, name: &OsStr, e: Errno) -> io::Error {
    if matches!(e, Errno::LOOP | Errno::NOTDIR)
        && rustix::fs::statat(at, name, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::Symlink)
    {
        return Errno::XDEV.into();
    }
    e.into()
}

/// Makes `relative` and its missing parents beneath `root`, and opens it. Each missing
/// directory is made with `mkdirat` in the descriptor of its parent.
fn mkdir_beneath(root: BorrowedFd<'_>, relative: &Path) -> io::Result<OwnedFd> {
    match open_beneath(
        root,
        relative,
        OFlags::PATH | OFlags::DIRECTORY,
        Mode::empty(),
    ) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        other => return other,
    }
    let mut held: Option<OwnedFd> = None;
    for name in names(relative)? {
        let at = held.as_ref().map_or(root, AsFd::as_fd);
        let next = match open_dir_nofollow(at, name) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                match rustix::fs::mkdirat(at, name, Mode::from_raw_mode(0o777)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(e.into()),
                }
                open_dir_nofollow(at, name)?
            }
            other => other?,
        };
        held = Some(next);
    }
    match held {
        Some(fd) => Ok(fd),
        None => Ok(rustix::fs::openat(root, ".", dir_flags(), Mode::empty())?),
    }
}

/// A temporary file in a directory, renamed over a name when complete ([`Staged::commit`]),
/// removed if dropped before.
pub(crate) struct Staged<'a> {
    dir: BorrowedFd<'a>,
    name: OsString,
    pub(crate) file: File,
    committed: bool,
}

impl<'a> Staged<'a> {
    /// Creates a new temporary file `.ordo-*` in `dir`, with `mode` less the umask.
    ///
    /// # Errors
    ///
    /// The I/O error of the creation.
    pub(crate) fn new(dir: BorrowedFd<'a>, mode: u32) -> io::Result<Staged<'a>> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut last = Errno::EXIST;
        for _ in 0..64 {
            let name = OsString::from(format!(
                ".ordo-{:016x}",
                random(COUNTER.fetch_add(1, Ordering::Relaxed))
            ));
            let flags =
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            match rustix::fs::openat(dir, &name, flags, Mode::from_raw_mode(mode)) {
                Ok(fd) => {
                    return Ok(Staged {
                        dir,
                        name,
                        file: File::from(fd),
                        committed: false,
                    });
                }
                Err(Errno::EXIST) => last = Errno::EXIST,
                Err(e) => return Err(e.into()),
            }
        }
        Err(last.into())
    }

    /// Renames the file over `target`, a name in the same directory.
    ///
    /// # Errors
    ///
    /// The I/O error of the rename; the temporary file is then removed.
    pub(crate) fn commit(mut self, target: &OsStr) -> io::Result<()> {
        rustix::fs::renameat(self.dir, &self.name, self.dir, target)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged<'_> {
    fn drop(&mut self) {
        if !self.committed {
            let _ = rustix::fs::unlinkat(self.dir, &self.name, AtFlags::empty());
        }
    }
}

/// 64 bits that differ between calls and processes, for temporary names (whose creation is
/// exclusive anyway).
fn random(n: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(n);
    h.write_u32(std::process::id());
    h.finish()
}

/// Removes the directory `name` in `dir` and everything in it, following no symlink: a
/// link inside is removed, not entered. The descriptors of the directories being emptied
/// are held from the top down, so nothing is looked up by path.
///
/// # Errors
///
/// The first I/O error; what was removed before it stays removed.
pub(crate) fn remove_tree(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    /// A directory being emptied: its descriptor, its name in its parent, and the
    /// directories still in it.
    struct Level {
        fd: OwnedFd,
        name: OsString,
        subdirs: Vec<OsString>,
    }
    let open = |at: BorrowedFd<'_>, name: &OsStr| -> io::Result<Level> {
        let fd = rustix::fs::openat(
            at,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let subdirs = empty_files(fd.as_fd())?;
        Ok(Level {
            fd,
            name: name.to_os_string(),
            subdirs,
        })
    };
    let mut levels = vec![open(dir, name)?];
    while let Some(level) = levels.last_mut() {
        if let Some(sub) = level.subdirs.pop() {
            let next = open(level.fd.as_fd(), &sub)?;
            levels.push(next);
            continue;
        }
        let Some(done) = levels.pop() else { break };
        let parent = levels.last().map_or(dir, |l| l.fd.as_fd());
        rustix::fs::unlinkat(parent, &done.name, AtFlags::REMOVEDIR)?;
    }
    Ok(())
}

/// Removes every entry of the directory `fd` that is not a directory (symlinks included),
/// and returns the names of the directories in it.
fn empty_files(fd: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    use std::os::unix::ffi::OsStrExt;
    let mut subdirs = Vec::new();
    let mut entries = rustix::fs::Dir::read_from(fd)?;
    while let Some(entry) = entries.read() {
        let entry = entry?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes()).to_os_string();
        if name == "." || name == ".." {
            continue;
        }
        let kind = match entry.file_type() {
            FileType::Unknown => FileType::from_raw_mode(
                rustix::fs::statat(fd, &name, AtFlags::SYMLINK_NOFOLLOW)?.st_mode,
            ),
            kind => kind,
        };
        if kind == FileType::Directory {
            subdirs.push(name);
        } else {
            rustix::fs::unlinkat(fd, &name, AtFlags::empty())?;
        }
    }
    Ok(subdirs)
}

/// The names in the directory `fd`, without `.` and `..`, unsorted.
///
/// # Errors
///
/// The I/O error of reading the directory.
/// At most `limit` names: a directory holding more is an error, found before more are held
/// (the run's limit on array length, issue 15).
pub(crate) fn list(fd: OwnedFd, limit: usize) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    let mut entries = rustix::fs::Dir::new(fd)?;
    while let Some(entry) = entries.read() {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy();
        if name != "." && name != ".." {
            if names.len() >= limit {
                return Err(io::Error::other(format!(
                    "it holds more entries than the run's limit on array length ({limit})"
                )));
            }
            names.push(name.into_owned());
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail by panicking")]

    use super::*;

    /// A root with `d/f`, `in -> d` (relative, inside), `out -> <outside>` and `up -> ..`.
    fn tree() -> (tempfile::TempDir, tempfile::TempDir, OwnedFd) {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("d")).unwrap();
        std::fs::write(root.path().join("d/f"), "in").unwrap();
        std::fs::write(outside.path().join("f"), "out").unwrap();
        std::os::unix::fs::symlink("d", root.path().join("in")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("out")).unwrap();
        std::os::unix::fs::symlink("..", root.path().join("up")).unwrap();
        let fd = open_root(root.path()).unwrap();
        (root, outside, fd)
    }

    fn xdev(r: io::Result<OwnedFd>) -> bool {
        r.is_err_and(|e| e.raw_os_error() == Some(libc::EXDEV))
    }

    #[test]
    fn openat2_stays_beneath_the_root_and_follows_links_inside_it() {
        let (_root, _outside, fd) = tree();
        let rd = OFlags::RDONLY;
        assert!(open_beneath(fd.as_fd(), Path::new("d/f"), rd, Mode::empty()).is_ok());
        assert!(open_beneath(fd.as_fd(), Path::new("in/f"), rd, Mode::empty()).is_ok());
        assert!(xdev(open_beneath(
            fd.as_fd(),
            Path::new("out/f"),
            rd,
            Mode::empty()
        )));
        assert!(xdev(open_beneath(
            fd.as_fd(),
            Path::new("up/x"),
            rd,
            Mode::empty()
        )));
        assert!(xdev(open_beneath(
            fd.as_fd(),
            Path::new("../x"),
            rd,
            Mode::empty()
        )));
    }

    #[test]
    fn the_walk_follows_no_symlink_and_no_dotdot() {
        let (_root, _outside, fd) = tree();
        let rd = OFlags::RDONLY;
        assert!(walk(fd.as_fd(), Path::new("d/f"), rd, Mode::empty()).is_ok());
        assert!(walk(fd.as_fd(), Path::new("d"), OFlags::PATH, Mode::empty()).is_ok());
        for escape in ["in/f", "out/f", "up/x", "../x", "/etc/passwd", "out", "in"] {
            assert!(
                xdev(walk(fd.as_fd(), Path::new(escape), rd, Mode::empty())),
                "{escape}"
            );
            assert!(
                xdev(walk(
                    fd.as_fd(),
                    Path::new(escape),
                    OFlags::PATH,
                    Mode::empty()
                )),
                "{escape}"
            );
        }
        // Creating through a link is refused too.
        let create = OFlags::WRONLY | OFlags::CREATE;
        assert!(xdev(walk(
            fd.as_fd(),
            Path::new("out/new"),
            create,
            Mode::from_raw_mode(0o644)
        )));
        assert!(xdev(walk(
            fd.as_fd(),
            Path::new("out"),
            create,
            Mode::from_raw_mode(0o644)
        )));
    }

    #[test]
    fn mkdir_beneath_makes_parents_and_refuses_links() {
        let (root, outside, fd) = tree();
        assert!(mkdir_beneath(fd.as_fd(), Path::new("a/b/c")).is_ok());
        assert!(root.path().join("a/b/c").is_dir());
        assert!(mkdir_beneath(fd.as_fd(), Path::new("a/b/c")).is_ok());
        assert!(xdev(mkdir_beneath(fd.as_fd(), Path::new("out/new"))));
        assert!(!outside.path().join("new").exists());
    }

    #[test]
    fn remove_tree_removes_links_without_entering_them() {
        let (root, outside, fd) = tree();
        std::fs::create_dir_all(root.path().join("t/a/b")).unwrap();
        std::fs::write(root.path().join("t/a/b/x"), "").unwrap();
        std::fs::write(root.path().join("t/y"), "").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("t/a/link")).unwrap();
        remove_tree(fd.as_fd(), OsStr::new("t")).unwrap();
        assert!(!root.path().join("t").exists());
        assert!(outside.path().join("f").exists());
    }
}

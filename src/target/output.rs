//! A remote command's output: stdout and stderr read to the end under a cap, and the
//! wrapper's start marker taken out of stderr, its process group published as soon as it
//! arrives (a timeout needs it while the command still runs).

use std::io::Read;
use std::sync::OnceLock;

use super::quote::{END, START};

fn push_capped(kept: &mut Vec<u8>, bytes: &[u8], cap: usize, truncated: &mut bool) {
    let room = cap.saturating_sub(kept.len());
    kept.extend_from_slice(bytes.get(..bytes.len().min(room)).unwrap_or_default());
    *truncated |= bytes.len() > room;
}

/// Reads a pipe to the end, keeping at most `cap` bytes.
pub(crate) fn read_capped(mut pipe: impl Read, cap: usize) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut truncated = false;
    let mut buf = [0_u8; 16 * 1024];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => push_capped(
                &mut kept,
                buf.get(..n).unwrap_or_default(),
                cap,
                &mut truncated,
            ),
        }
    }
    (kept, truncated)
}

/// How far into stderr the start marker is looked for (a login script may print first).
const MARKER_WINDOW: usize = 64 << 10;

/// What [`read_stderr`] found.
#[derive(Debug, Default)]
pub(crate) struct Stderr {
    /// The command's stderr, capped, without the markers and without what the login shell
    /// printed before the start marker.
    pub text: Vec<u8>,
    pub truncated: bool,
    /// The exit code the end marker carried: the wrapper saw the command end.
    pub end: Option<i32>,
}

/// Reads stderr like [`read_capped`], taking the start marker out of it (and whatever the
/// host's startup files printed before it) and publishing the remote process group it
/// names as soon as it arrives; the end marker's exit code is taken out too.
pub(crate) fn read_stderr(mut pipe: impl Read, limit: usize, pgid: &OnceLock<i32>) -> Stderr {
    let marker = START.as_bytes();
    // Room for the end marker, which is taken out before the limit applies.
    let cap = limit.saturating_add(64);
    let mut kept = Vec::new();
    let mut truncated = false;
    let mut head: Vec<u8> = Vec::new();
    // The last bytes after the start marker, where the end marker is looked for, whatever
    // the cap kept.
    let mut tail: Vec<u8> = Vec::new();
    let mut searching = true;
    let mut buf = [0_u8; 16 * 1024];
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = buf.get(..n).unwrap_or_default();
        if !searching {
            push_capped(&mut kept, chunk, cap, &mut truncated);
            keep_tail(&mut tail, chunk);
            continue;
        }
        head.extend_from_slice(chunk);
        if let Some(at) = find(&head, marker)
            && let Some(nl) = head.get(at..).and_then(|rest| find(rest, b"\n"))
        {
            let number = head.get(at + marker.len()..at + nl).unwrap_or_default();
            if let Some(group) = std::str::from_utf8(number)
                .ok()
                .and_then(|t| t.trim().parse::<i32>().ok())
            {
                let _ = pgid.set(group);
            }
            // Before the marker: the login shell's startup files, not the command.
            let rest = head.get(at + nl + 1..).unwrap_or_default();
            push_capped(&mut kept, rest, cap, &mut truncated);
            keep_tail(&mut tail, rest);
            head.clear();
            searching = false;
        } else if head.len() > MARKER_WINDOW {
            push_capped(&mut kept, &head, cap, &mut truncated);
            head.clear();
            searching = false;
        }
    }
    push_capped(&mut kept, &head, cap, &mut truncated);
    let end_marker = END.as_bytes();
    let mut end = None;
    if let Some(at) = rfind(&tail, end_marker)
        && let Some(nl) = tail.get(at..).and_then(|rest| find(rest, b"\n"))
    {
        let line = tail.get(at..=at + nl).unwrap_or_default().to_vec();
        end = std::str::from_utf8(line.get(end_marker.len()..).unwrap_or_default())
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok());
        if let Some(k) = rfind(&kept, &line) {
            kept.drain(k..k + line.len());
        }
    }
    if kept.len() > limit {
        kept.truncate(limit);
        truncated = true;
    }
    Stderr {
        text: kept,
        truncated,
        end,
    }
}

fn keep_tail(tail: &mut Vec<u8>, chunk: &[u8]) {
    tail.extend_from_slice(chunk);
    let over = tail.len().saturating_sub(256);
    tail.drain(..over);
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_taken_out_of_stderr_and_names_the_group() {
        let text = format!("motd says hi\n{START}4242\nreal error\n");
        let pgid = OnceLock::new();
        let got = read_stderr(text.as_bytes(), 1000, &pgid);
        assert_eq!(pgid.get(), Some(&4242));
        assert_eq!(
            got.text, b"real error\n",
            "the login shell's noise is dropped"
        );
        assert!(!got.truncated);
        assert_eq!(got.end, None);
        let text = format!("{START}1\nerr\n{END}255\n");
        let got = read_stderr(text.as_bytes(), 1000, &pgid);
        assert_eq!(got.text, b"err\n");
        assert_eq!(got.end, Some(255));
    }

    #[test]
    fn no_marker_means_no_group() {
        let pgid = OnceLock::new();
        let got = read_stderr(
            &b"ssh: connect to host: Connection refused\n"[..],
            1000,
            &pgid,
        );
        assert!(pgid.get().is_none());
        assert_eq!(got.text, b"ssh: connect to host: Connection refused\n");
    }

    #[test]
    fn the_cap_applies_to_the_command_s_stderr() {
        let text = format!("{START}7\n{}{END}3\n", "x".repeat(50));
        let pgid = OnceLock::new();
        let got = read_stderr(text.as_bytes(), 10, &pgid);
        assert_eq!(got.text.len(), 10);
        assert!(got.truncated);
        assert_eq!(got.end, Some(3), "the end marker is found past the cap");
        let text = format!("{START}7\nxy{END}0\n");
        let got = read_stderr(text.as_bytes(), 2, &pgid);
        assert_eq!((got.text.as_slice(), got.truncated), (&b"xy"[..], false));
    }
}

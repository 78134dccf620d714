//! The one hash ordo records and shows: SHA-256 as lowercase hex (a handler's hash, the
//! state key's id, `file::sha256`, the hashed form of a secret, which is masked too).

use sha2::{Digest, Sha256};

/// `bytes`' SHA-256, as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(digest.len() * 2);
    for b in digest.iter() {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

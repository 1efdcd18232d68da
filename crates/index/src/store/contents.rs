//! File contents as a store keeps them: deflated (source compresses 3-5x), so a shared store
//! can serve `get_file` to machines without the files at a fraction of their size.

use super::{Result, StoreError};
use std::io::{Read, Write};

/// `bytes` deflated at a fast level (the parsers compress in parallel with parsing).
pub(crate) fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(bytes.len() / 3),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// The bytes [`deflate`] made `deflated` from.
pub(crate) fn inflate(deflated: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(deflated.len() * 4);
    flate2::read::DeflateDecoder::new(deflated)
        .read_to_end(&mut out)
        .map_err(|e| {
            StoreError::Database(format!("a stored file content is corrupt: {e}").into())
        })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn contents_round_trip_and_shrink() {
        let text = "fn main() {\n    println!(\"hello\");\n}\n".repeat(200);
        let deflated = super::deflate(text.as_bytes());
        assert!(deflated.len() * 5 < text.len(), "{} bytes", deflated.len());
        assert_eq!(super::inflate(&deflated).unwrap(), text.as_bytes());
        assert_eq!(super::inflate(&super::deflate(b"")).unwrap(), b"");
        assert!(super::inflate(b"\xff\xfe not deflate").is_err());
    }
}

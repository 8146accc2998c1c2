//! A compact envelope for cached bytes: small values are stored as they
//! are, larger ones LZ4-compressed when that saves space. Values stay opaque:
//! the registry encodes its own types into the bytes it hands over.
//!
//! Layout: one tag byte, then either the raw bytes (`0`) or the original
//! length as a little-endian `u32` followed by an LZ4 block (`1`).

use std::fmt;

const RAW: u8 = 0;
const LZ4: u8 = 1;

/// Values shorter than this are not worth compressing.
const COMPRESS_FROM: usize = 512;

/// Refuse to inflate beyond this, whatever a (possibly foreign) entry claims.
const MAX_DECODED: usize = 256 << 20;

/// Wraps `value`, compressing it when it is large and compressible.
pub fn encode(value: &[u8]) -> Vec<u8> {
    if value.len() >= COMPRESS_FROM
        && let Ok(len) = u32::try_from(value.len())
    {
        let compressed = lz4_flex::block::compress(value);
        if compressed.len() + 4 < value.len() {
            let mut out = Vec::with_capacity(5 + compressed.len());
            out.push(LZ4);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&compressed);
            return out;
        }
    }
    let mut out = Vec::with_capacity(1 + value.len());
    out.push(RAW);
    out.extend_from_slice(value);
    out
}

/// Unwraps what [`encode`] produced.
pub fn decode(encoded: &[u8]) -> Result<Vec<u8>, DecodeError> {
    match encoded.split_first() {
        Some((&RAW, rest)) => Ok(rest.to_vec()),
        Some((&LZ4, rest)) => {
            let (len, block) = rest.split_first_chunk::<4>().ok_or(DecodeError)?;
            let len = u32::from_le_bytes(*len) as usize;
            if len > MAX_DECODED {
                return Err(DecodeError);
            }
            lz4_flex::block::decompress(block, len).map_err(|_| DecodeError)
        }
        _ => Err(DecodeError),
    }
}

/// The bytes are not an envelope written by [`encode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError;

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a cache value envelope")
    }
}

impl std::error::Error for DecodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_small_large_and_incompressible() {
        let small = b"module@v1".to_vec();
        let large = "syntax = \"proto3\";\n".repeat(200).into_bytes();
        let noisy: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for value in [Vec::new(), small, large.clone(), noisy] {
            assert_eq!(decode(&encode(&value)).unwrap(), value);
        }
        assert!(encode(&large).len() < large.len() / 4, "text compresses");
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(decode(&[]), Err(DecodeError));
        assert_eq!(decode(&[9, 1, 2]), Err(DecodeError));
        assert_eq!(decode(&[LZ4, 1]), Err(DecodeError));
        assert_eq!(decode(&[LZ4, 0xff, 0xff, 0xff, 0x7f, 0]), Err(DecodeError));
        assert_eq!(decode(&[LZ4, 10, 0, 0, 0, 0xf0]), Err(DecodeError));
    }
}

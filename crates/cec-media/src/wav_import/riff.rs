//! RIFF chunk walking: find the `fmt ` and `data` chunks wherever they are.

use super::WavImportError;

/// The two chunks an import needs, borrowed from the upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct WavChunks<'a> {
    /// The `fmt ` chunk body.
    pub fmt: &'a [u8],
    /// The `data` chunk body, cut to what the file really holds.
    pub data: &'a [u8],
}

/// `RIFF` id, size, `WAVE` form type.
const RIFF_HEADER_LEN: usize = 12;
/// Chunk id and size.
const CHUNK_HEADER_LEN: usize = 8;

/// Walks the chunk list: chunks may come in any order, odd sizes are padded to even,
/// unknown chunks are skipped, the first `fmt ` and `data` win. A `data` chunk claiming
/// more than the file holds (streaming writers put `0xFFFFFFFF` there) is cut to the
/// bytes present. The RIFF size field is ignored for the same reason.
pub(super) fn find_chunks(bytes: &[u8]) -> Result<WavChunks<'_>, WavImportError> {
    let Some(header) = bytes.get(..RIFF_HEADER_LEN) else {
        // A bare "RIFF" prefix is a WAV file cut short; anything else is another format.
        return Err(if bytes.len() >= 4 && bytes.starts_with(b"RIFF") {
            WavImportError::Truncated
        } else {
            WavImportError::NotRiffWave
        });
    };
    if header.get(..4) != Some(b"RIFF".as_slice()) || header.get(8..) != Some(b"WAVE".as_slice()) {
        return Err(WavImportError::NotRiffWave);
    }

    let mut fmt = None;
    let mut data = None;
    // Set when the file ends inside a chunk header or a chunk other than `data`.
    let mut cut_short = false;
    let mut position = RIFF_HEADER_LEN;
    while fmt.is_none() || data.is_none() {
        let rest = bytes.get(position..).unwrap_or_default();
        if rest.is_empty() {
            break;
        }
        let Some((id, size)) = chunk_header(rest) else {
            cut_short = true;
            break;
        };
        let body = rest.get(CHUNK_HEADER_LEN..).unwrap_or_default();
        let declared = usize::try_from(size).unwrap_or(usize::MAX);
        if id == *b"data" {
            if data.is_none() {
                data = Some(body.get(..declared).unwrap_or(body));
            }
            if declared > body.len() {
                // A streaming writer's open-ended data chunk: nothing can follow it.
                break;
            }
        } else {
            let Some(complete) = body.get(..declared) else {
                cut_short = true;
                break;
            };
            if id == *b"fmt " && fmt.is_none() {
                fmt = Some(complete);
            }
        }
        // Odd-sized chunks are followed by one pad byte.
        let padded = declared.saturating_add(declared & 1);
        position = position
            .saturating_add(CHUNK_HEADER_LEN)
            .saturating_add(padded);
    }

    match (fmt, data) {
        (Some(fmt), Some(data)) => Ok(WavChunks { fmt, data }),
        _ if cut_short => Err(WavImportError::Truncated),
        (None, _) => Err(WavImportError::MissingChunk("fmt ")),
        (Some(_), None) => Err(WavImportError::MissingChunk("data")),
    }
}

/// A chunk's four-byte id and little-endian size, if the header is complete.
fn chunk_header(bytes: &[u8]) -> Option<([u8; 4], u32)> {
    let id: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    let size: [u8; 4] = bytes.get(4..CHUNK_HEADER_LEN)?.try_into().ok()?;
    Some((id, u32::from_le_bytes(size)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        out.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
        out.extend_from_slice(body);
        if body.len() % 2 == 1 {
            out.push(0);
        }
        out
    }

    fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = chunks.concat();
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_le_bytes());
        out.extend_from_slice(b"WAVE");
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn finds_chunks_in_any_order_past_odd_unknown_chunks() {
        let file = riff(&[
            chunk(b"LIST", b"odd"),
            chunk(b"data", &[1, 2, 3, 4]),
            chunk(b"junk", &[9; 5]),
            chunk(b"fmt ", &[7; 16]),
        ]);
        let found = find_chunks(&file).unwrap();
        assert_eq!(found.data, &[1, 2, 3, 4]);
        assert_eq!(found.fmt, &[7; 16]);
    }

    #[test]
    fn first_chunk_of_each_kind_wins() {
        let file = riff(&[
            chunk(b"fmt ", &[1; 16]),
            chunk(b"fmt ", &[2; 16]),
            chunk(b"data", &[3]),
        ]);
        let found = find_chunks(&file).unwrap();
        assert_eq!(found.fmt, &[1; 16]);
        assert_eq!(found.data, &[3]);
    }

    #[test]
    fn open_ended_data_chunk_is_cut_to_the_file() {
        let mut file = riff(&[chunk(b"fmt ", &[0; 16]), chunk(b"data", &[5; 6])]);
        let size_at = file.len() - 6 - 4;
        file[size_at..size_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(find_chunks(&file).unwrap().data, &[5; 6]);
    }

    #[test]
    fn wrong_magic_is_not_riff_wave() {
        assert_eq!(find_chunks(b""), Err(WavImportError::NotRiffWave));
        assert_eq!(find_chunks(b"RIF"), Err(WavImportError::NotRiffWave));
        assert_eq!(
            find_chunks(b"ID3\x04\0\0\0\0\0\x0a"),
            Err(WavImportError::NotRiffWave)
        );
        assert_eq!(
            find_chunks(b"RIFF\0\0\0\0AVI LIST"),
            Err(WavImportError::NotRiffWave)
        );
        assert_eq!(
            find_chunks(b"RIFF\0\0\0\0WA"),
            Err(WavImportError::Truncated)
        );
    }

    #[test]
    fn missing_and_truncated_chunks_are_told_apart() {
        let fmt_only = riff(&[chunk(b"fmt ", &[0; 16])]);
        assert_eq!(
            find_chunks(&fmt_only),
            Err(WavImportError::MissingChunk("data"))
        );
        let data_only = riff(&[chunk(b"data", &[0; 2])]);
        assert_eq!(
            find_chunks(&data_only),
            Err(WavImportError::MissingChunk("fmt "))
        );
        // Ends inside the fmt body, inside the next chunk header, inside a LIST chunk.
        let whole = riff(&[chunk(b"fmt ", &[0; 16]), chunk(b"LIST", &[0; 8])]);
        for cut in [30, 38, 42] {
            assert_eq!(
                find_chunks(&whole[..cut]),
                Err(WavImportError::Truncated),
                "{cut}"
            );
        }
    }

    #[test]
    fn huge_chunk_sizes_do_not_overflow() {
        let mut file = riff(&[chunk(b"fmt ", &[0; 16])]);
        file.extend_from_slice(b"LIST");
        file.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(find_chunks(&file), Err(WavImportError::Truncated));
    }
}

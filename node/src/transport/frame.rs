//! Frames: a 4-byte big-endian length, then that many payload bytes; one per stream side.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::READ_CHUNK_BYTES;

/// Bytes of the length prefix.
pub(crate) const HEADER_BYTES: usize = 4;

/// Why a frame could not be read or written.
#[derive(Debug)]
pub(crate) enum FrameError {
    /// The length prefix announces more than the limit.
    TooLarge { bytes: u64, limit: usize },
    /// The stream ended inside the frame.
    Truncated { expected: u64, received: u64 },
    /// Bytes followed the frame before the end of the stream.
    Trailing,
    /// No byte of the frame arrived for this long.
    Stalled { after: Duration },
    /// The stream failed (a quinn read or write error inside).
    Io(io::Error),
}

impl From<io::Error> for FrameError {
    fn from(error: io::Error) -> FrameError {
        FrameError::Io(error)
    }
}

/// Reads a frame's length prefix and checks it against `limit`, before any payload.
pub(crate) async fn read_header<R: AsyncRead + Unpin>(
    reader: &mut R,
    limit: usize,
) -> Result<usize, FrameError> {
    let mut header = [0u8; HEADER_BYTES];
    let mut filled = 0;
    while filled < HEADER_BYTES {
        let read = reader.read(header.get_mut(filled..).unwrap_or_default()).await?;
        if read == 0 {
            return Err(FrameError::Truncated { expected: HEADER_BYTES as u64, received: filled as u64 });
        }
        filled += read;
    }
    let bytes = u32::from_be_bytes(header);
    match usize::try_from(bytes) {
        Ok(length) if length <= limit => Ok(length),
        _ => Err(FrameError::TooLarge { bytes: u64::from(bytes), limit }),
    }
}

/// Reads `length` payload bytes, then insists on the end of the stream.
pub(crate) async fn read_payload<R: AsyncRead + Unpin>(
    reader: &mut R,
    length: usize,
) -> Result<Vec<u8>, FrameError> {
    let mut payload = Vec::with_capacity(length.min(READ_CHUNK_BYTES));
    let expected = length as u64;
    let received = (&mut *reader).take(expected).read_to_end(&mut payload).await? as u64;
    if received < expected {
        return Err(FrameError::Truncated {
            expected: expected + HEADER_BYTES as u64,
            received: received + HEADER_BYTES as u64,
        });
    }
    let mut probe = [0u8; 1];
    if reader.read(&mut probe).await? != 0 {
        return Err(FrameError::Trailing);
    }
    Ok(payload)
}

/// Reads one frame of at most `limit` payload bytes, the whole stream.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    limit: usize,
) -> Result<Vec<u8>, FrameError> {
    let length = read_header(reader, limit).await?;
    read_payload(reader, length).await
}

/// Writes one frame. The caller checked `payload` against the limit.
pub(crate) async fn write_frame<W: AsyncWrite + Unpin>(
    writer: &mut W,
    payload: &[u8],
) -> Result<(), FrameError> {
    let length = u32::try_from(payload.len())
        .map_err(|_| FrameError::TooLarge { bytes: payload.len() as u64, limit: u32::MAX as usize })?;
    writer.write_all(&length.to_be_bytes()).await?;
    writer.write_all(payload).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn framed(payload: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        write_frame(&mut bytes, payload).await.unwrap();
        bytes
    }

    #[tokio::test]
    async fn frames_round_trip() {
        for payload in [&b""[..], b"a", &[7u8; 100_000]] {
            let bytes = framed(payload).await;
            assert_eq!(bytes.len(), HEADER_BYTES + payload.len());
            assert_eq!(read_frame(&mut bytes.as_slice(), 100_000).await.unwrap(), payload);
        }
    }

    #[tokio::test]
    async fn oversized_length_is_refused_before_the_payload_is_read() {
        // Only the header: had the payload been read, this would be Truncated.
        let header = (1_001u32).to_be_bytes();
        match read_frame(&mut &header[..], 1_000).await {
            Err(FrameError::TooLarge { bytes: 1_001, limit: 1_000 }) => {}
            other => panic!("{other:?}"),
        }
        let header = u32::MAX.to_be_bytes();
        assert!(matches!(
            read_frame(&mut &header[..], crate::transport::MAX_FRAME_BYTES).await,
            Err(FrameError::TooLarge { bytes, .. }) if bytes == u64::from(u32::MAX)
        ));
    }

    #[tokio::test]
    async fn truncated_and_trailing_frames_are_refused() {
        let bytes = framed(b"hello").await;
        for cut in 0..bytes.len() {
            let result = read_frame(&mut bytes.get(..cut).unwrap(), 100).await;
            assert!(matches!(result, Err(FrameError::Truncated { .. })), "cut at {cut}: {result:?}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(read_frame(&mut longer.as_slice(), 100).await, Err(FrameError::Trailing)));
    }
}

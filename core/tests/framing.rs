//! WIRE.md §2/§5 framing: u32 big-endian length, then that many bytes; limit checked before allocation.

use bytes::BytesMut;
use quorumnet_core::codec::framing::{check_frame_len, read_frame, write_frame, write_frame_async, ReadFrameError};
use quorumnet_core::codec::{CodecError, FrameDecoder};

const LIMIT: usize = 1024;

#[test]
fn prefix_is_u32_big_endian_length_of_the_frame() {
    let mut out = BytesMut::new();
    write_frame(&mut out, &[0xaa; 300], LIMIT).unwrap();
    assert_eq!(&out[..4], &[0, 0, 1, 44]);
    assert_eq!(out.len(), 304);
}

#[test]
fn zero_length_and_over_limit_are_refused_on_both_sides() {
    assert_eq!(check_frame_len(0, LIMIT), Err(CodecError::EmptyFrame));
    assert_eq!(check_frame_len(LIMIT as u64, LIMIT), Ok(LIMIT));
    assert_eq!(check_frame_len(LIMIT as u64 + 1, LIMIT), Err(CodecError::FrameTooLarge { len: 1025, limit: LIMIT }));
    let mut out = BytesMut::new();
    assert_eq!(write_frame(&mut out, &[], LIMIT), Err(CodecError::EmptyFrame));
    assert!(write_frame(&mut out, &[0; LIMIT + 1], LIMIT).is_err());
    assert!(out.is_empty(), "nothing is written for a refused frame");

    let mut wire = BytesMut::from(&[0u8, 0, 0, 0][..]);
    assert_eq!(FrameDecoder::new(LIMIT).decode(&mut wire), Err(CodecError::EmptyFrame));
}

#[test]
fn huge_length_prefix_is_refused_before_any_allocation() {
    let mut wire = BytesMut::from(&[0xffu8, 0xff, 0xff, 0xff][..]);
    let capacity = wire.capacity();
    let err = FrameDecoder::new(4 * 1024 * 1024).decode(&mut wire).unwrap_err();
    assert_eq!(err, CodecError::FrameTooLarge { len: u32::MAX as u64, limit: 4 * 1024 * 1024 });
    assert_eq!(wire.capacity(), capacity, "the buffer did not grow for the announced length");
}

#[test]
fn decoder_waits_for_whole_frames_and_splits_coalesced_ones() {
    let mut wire = BytesMut::new();
    for frame in [&b"a"[..], &[7u8; 600][..], b"end"] {
        write_frame(&mut wire, frame, LIMIT).unwrap();
    }
    let all = wire.split().freeze();
    let mut decoder = FrameDecoder::new(LIMIT);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    // Feed one byte at a time: every split point must be handled.
    for byte in all.iter() {
        buf.extend_from_slice(&[*byte]);
        while let Some(frame) = decoder.decode(&mut buf).unwrap() {
            frames.push(frame);
        }
    }
    assert_eq!(frames.len(), 3);
    assert_eq!(&frames[0][..], b"a");
    assert_eq!(frames[1].len(), 600);
    assert_eq!(&frames[2][..], b"end");
    assert!(buf.is_empty());
}

#[tokio::test]
async fn stream_reader_sees_clean_end_truncation_and_oversize() {
    let mut wire = Vec::new();
    write_frame_async(&mut wire, b"hello", LIMIT).await.unwrap();
    let mut reader = &wire[..];
    assert_eq!(read_frame(&mut reader, LIMIT).await.unwrap().unwrap(), b"hello");
    assert!(read_frame(&mut reader, LIMIT).await.unwrap().is_none(), "clean end between frames");

    for cut in [2, 4, 7] {
        let mut truncated = &wire[..cut];
        let err = read_frame(&mut truncated, LIMIT).await.unwrap_err();
        assert!(
            matches!(&err, ReadFrameError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof),
            "cut at {cut}: {err}"
        );
    }

    let mut oversize = &[0u8, 0, 8, 0, 1, 2][..];
    let err = read_frame(&mut oversize, LIMIT).await.unwrap_err();
    assert!(matches!(err, ReadFrameError::Codec(CodecError::FrameTooLarge { len: 2048, .. })), "{err}");
}

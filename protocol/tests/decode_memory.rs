//! Memory a refused message costs: a frame of the largest size, shaped to be expensive
//! (nested as deep as it is long, or as wide), must be refused using at most a small
//! multiple of its own size, however it is shaped.
//!
//! A test binary of its own: the global allocator counts every allocation of the process,
//! and the one test runs the cases one after the other, so nothing else allocates while a
//! case is measured. Memory is counted, not timed: the outcome is deterministic.
#![allow(clippy::unwrap_used, clippy::panic)]

use kvitt_protocol::error::ErrorCode;
use kvitt_protocol::wire::{Request, MAX_MESSAGE_BYTES};
use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// The most memory a frame in flight may cost while it is decoded, the frame included, as
/// a multiple of the frame's size.
const MEMORY_PER_FRAME_BYTE: usize = 4;

/// Builds a frame of a shape.
type Frame = fn() -> Vec<u8>;

/// `head` repeated to fill a frame of the largest size, then `tail` to end it.
fn repeated(head: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(MAX_MESSAGE_BYTES);
    while bytes.len() + head.len() + tail.len() <= MAX_MESSAGE_BYTES {
        bytes.extend_from_slice(head);
    }
    bytes.extend_from_slice(tail);
    bytes
}

/// Definite-length arrays, each holding the next: `[[[…[]…]]]`, well-formed.
fn nested_arrays() -> Vec<u8> {
    repeated(&[0x81], &[0x80])
}

/// Indefinite-length arrays, each holding the next, all closed: well-formed.
fn nested_indefinite_arrays() -> Vec<u8> {
    let half = MAX_MESSAGE_BYTES / 2;
    [vec![0x9f; half], vec![0xff; half]].concat()
}

/// Indefinite-length arrays, each holding the next, never closed: one level per byte.
fn unclosed_indefinite_arrays() -> Vec<u8> {
    repeated(&[0x9f], &[])
}

/// Indefinite-length arrays that each open an array of 255 items holding the next, never
/// closed: every level has items still to come when the next one opens.
fn unfinished_arrays() -> Vec<u8> {
    repeated(&[0x9f, 0x98, 0xff], &[])
}

/// Maps whose first key is the next map: `{{{…}: 0}: 0}`, never closed.
fn nested_map_keys() -> Vec<u8> {
    repeated(&[0xa1], &[])
}

/// One array of as many zeros as fit: shallow and well-formed, but one item per byte.
fn wide_array() -> Vec<u8> {
    let count = MAX_MESSAGE_BYTES - 5;
    let mut bytes = vec![0x9a];
    bytes.extend_from_slice(&u32::try_from(count).unwrap().to_be_bytes());
    bytes.resize(MAX_MESSAGE_BYTES, 0x00);
    bytes
}

/// The peak of memory allocated while `Request::decode` refuses `frame`, the frame itself
/// included, and the code it refused it with.
fn measure(frame: &[u8]) -> (usize, ErrorCode) {
    ALLOCATOR.reset_peak_usage();
    let before = ALLOCATOR.current_usage();
    let refused = Request::decode(frame).unwrap_err().code();
    let peak = ALLOCATOR.peak_usage() - before;
    (peak + frame.len(), refused)
}

#[test]
fn a_frame_is_refused_within_a_small_multiple_of_its_size_however_it_nests() {
    let cases: [(&str, Frame, ErrorCode); 6] = [
        ("nested definite arrays", nested_arrays, ErrorCode::TooDeep),
        ("nested indefinite arrays", nested_indefinite_arrays, ErrorCode::TooDeep),
        ("unclosed indefinite arrays", unclosed_indefinite_arrays, ErrorCode::Malformed),
        ("unfinished arrays", unfinished_arrays, ErrorCode::Malformed),
        ("nested map keys", nested_map_keys, ErrorCode::Malformed),
        ("one wide array", wide_array, ErrorCode::TooManyItems),
    ];
    let mut failures = Vec::new();
    for (name, frame, expected) in cases {
        let frame = frame();
        assert!(frame.len() > MAX_MESSAGE_BYTES - 4 && frame.len() <= MAX_MESSAGE_BYTES, "{name}");
        let (memory, refused) = measure(&frame);
        let limit = MEMORY_PER_FRAME_BYTE * frame.len();
        println!("{name}: {memory} bytes in flight for a {} byte frame ({refused:?})", frame.len());
        if refused != expected || memory > limit {
            failures.push(format!("{name}: {refused:?} (expected {expected:?}), {memory} bytes > {limit}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

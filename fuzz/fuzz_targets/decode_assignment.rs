#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kvitt_protocol_fuzz::decode::<kvitt_protocol::assignment::Assignment>(data));

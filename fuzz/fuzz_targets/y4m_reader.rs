//! Any byte stream given to the y4m reader: a clean error or frames, never a panic, and no
//! allocation beyond the reader's bounds on declared sizes.
#![no_main]

use filigree::video::FrameSource;
use filigree::video::y4m::Y4mReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = Y4mReader::new(data, "fuzz") else {
        return;
    };
    // Every frame is read fully; a stream of many tiny frames stops at a bound.
    for _ in 0..64 {
        match reader.next_frame() {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
});

//! Any text as a key file: a key or a reason, never a panic, and a parsed key saves back to
//! the same key.
#![no_main]

use filigree::Key;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = Key::parse_key_file(text) {
        let canonical = format!(
            "filigree-key-v1\n{}\n",
            key.as_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        assert_eq!(
            Key::parse_key_file(&canonical).unwrap().as_bytes(),
            key.as_bytes()
        );
    }
});

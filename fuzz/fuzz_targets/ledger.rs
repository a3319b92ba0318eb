//! Any file as a ledger: `verify`, `read` and `find_recipient` report problems, never panic;
//! `read` and `verify` agree on whether the entries parse.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(data).expect("write");
    let path = file.path();
    let report = filigree::ledger::verify(path);
    let entries = filigree::ledger::read(path);
    let _ = filigree::ledger::find_recipient(path, 7, "0123456789abcdef");
    if let Ok(report) = report
        && report.is_ok()
    {
        assert!(entries.is_ok(), "a verified ledger must parse");
    }
});

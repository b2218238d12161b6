//! Links arrive from anywhere (chat, bug trackers, a URL bar): decoding must
//! return a value or a typed error for every input, never panic, and whatever
//! it accepts must re-encode to a link that decodes to the same run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oomlab_core::permalink::Permalink;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = Permalink::decode(s) {
        let again = Permalink::decode(&p.encode()).expect("a decoded link re-encodes");
        assert_eq!(again, p);
        // The scenario inside may still be invalid for this build; that is an
        // error value, not a panic.
        let _ = p.scenario();
    }
});

//! Fuzzes the whole-frame decoder: whatever the bytes and the link type,
//! `write_frame` must not panic, and its text must be UTF-8 lines.

#![no_main]

use libfuzzer_sys::fuzz_target;
use decodeur_trame::sheet::decode_trame;
use decodeur_trame::walk::{write_frame, LinkType};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the link layer, so every decoder is reached.
    let Some((&selector, frame)) = data.split_first() else {
        return;
    };
    let link = match selector % 4 {
        0 => LinkType::Ethernet,
        1 => LinkType::LinuxSll,
        2 => LinkType::LinuxSll2,
        _ => LinkType::RawIp,
    };
    let mut out = Vec::new();
    write_frame(&mut out, frame, link);
    let text = std::str::from_utf8(&out).expect("the decoder writes UTF-8");
    assert!(text.ends_with('\n'), "every line ends with a newline");
    if link == LinkType::Ethernet {
        assert_eq!(
            decode_trame(frame),
            text,
            "one implementation for both APIs"
        );
    }
});

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| spoke_fuzz::fuzz_entry(spoke_fuzz::config, data));

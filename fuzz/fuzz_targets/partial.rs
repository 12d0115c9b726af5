//! The partial-result reader of `merge`: a `partial-K-of-N.json`, merged against the default
//! model.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = alliance_sim_fuzz::partial(data);
});

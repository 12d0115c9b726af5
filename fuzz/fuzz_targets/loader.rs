//! The scenario loader and the expression compiler: scenario bytes, `extends` inside a sandbox
//! folder, decode, compile the model.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn sandbox() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = alliance_sim_fuzz::process_dir("loader");
        alliance_sim_fuzz::prepare_sandbox(&root).expect("write the sandbox");
        root
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = alliance_sim_fuzz::loader(sandbox(), data);
});

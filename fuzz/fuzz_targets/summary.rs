//! The `summary.json` reader of `report`: the table and `report.html` for every input, every
//! chart for one input in 32.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// (stub charts, output folder)
fn folders() -> &'static (PathBuf, PathBuf) {
    static DIRS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    DIRS.get_or_init(|| {
        let root = alliance_sim_fuzz::process_dir("summary");
        let charts = root.join("charts");
        alliance_sim_fuzz::prepare_charts_stub(&charts).expect("write the stub charts");
        let out = root.join("out");
        std::fs::create_dir_all(&out).expect("make the output folder");
        (charts, out)
    })
}

fuzz_target!(|data: &[u8]| {
    let (charts, out) = folders();
    let draw = alliance_sim_fuzz::draws_charts(data);
    let _ = alliance_sim_fuzz::summary(charts, out, data, draw);
});

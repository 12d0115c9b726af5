//! Which vector instructions the hot loops may use.
//!
//! The lane interpreter, the lane engine and the sketch inserts are compiled twice: for the
//! baseline x86-64 target (SSE2) and for AVX2. Both copies do the same IEEE operations in the
//! same order, so the choice changes speed, never results; `ALLIANCE_SIM_NO_AVX2=1` forces the
//! baseline copy, so that the equality can be checked on a machine that has AVX2.

use std::sync::OnceLock;

/// Whether to run the AVX2 copies: the CPU has AVX2 and `ALLIANCE_SIM_NO_AVX2` is not set.
#[inline]
pub fn avx2() -> bool {
    static AVX2: OnceLock<bool> = OnceLock::new();
    *AVX2.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        let detected = std::arch::is_x86_feature_detected!("avx2");
        #[cfg(not(target_arch = "x86_64"))]
        let detected = false;
        detected && std::env::var_os("ALLIANCE_SIM_NO_AVX2").is_none()
    })
}

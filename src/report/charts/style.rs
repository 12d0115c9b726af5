//! The look every chart shares, summary and analysis charts alike: the embedded font, the
//! colours and the page's margins. Kept in one place so that a change of style is one edit
//! and no chart drifts from the others.

use std::sync::OnceLock;

use plotters::prelude::*;

use super::{DrawError, DrawResult};

/// The font family every chart uses (registered from the embedded DejaVu Sans).
pub(crate) const FONT: &str = "sans-serif";

pub(crate) static FONT_BYTES: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/fonts/DejaVuSans.ttf"
));

/// Register the embedded font under [`FONT`], once per process.
pub(crate) fn ensure_font() -> DrawResult {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES)
                .map_err(|_| "the embedded DejaVu Sans font is invalid".to_string())
        })
        .clone()
        .map_err(DrawError)
}

pub(crate) const TEXT: RGBColor = RGBColor(33, 37, 41);
pub(crate) const MUTED: RGBColor = RGBColor(108, 117, 125);
pub(crate) const GRID: RGBColor = RGBColor(226, 229, 233);
pub(crate) const AXIS: RGBColor = RGBColor(150, 155, 160);
pub(crate) const NOT_TAKEN: RGBColor = RGBColor(200, 204, 208);
pub(crate) const EVENT: RGBColor = RGBColor(110, 110, 110);
pub(crate) const DECISION: RGBColor = RGBColor(181, 41, 90);

/// Tableau 10: distinct, readable, colour-blind-considerate.
const PALETTE: [RGBColor; 10] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(225, 87, 89),
    RGBColor(118, 183, 178),
    RGBColor(89, 161, 79),
    RGBColor(237, 201, 72),
    RGBColor(176, 122, 161),
    RGBColor(255, 157, 167),
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
];

pub(crate) fn palette(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Black or white, whichever reads better on `bg`.
pub(crate) fn ink_on(bg: RGBColor) -> RGBColor {
    let l = 0.299 * f64::from(bg.0) + 0.587 * f64::from(bg.1) + 0.114 * f64::from(bg.2);
    if l > 150.0 {
        TEXT
    } else {
        WHITE
    }
}

/// Height of the header drawn by [`super::frame`].
pub(crate) const HEADER: i32 = 74;
/// Height of the footer drawn by [`super::frame`].
pub(crate) const FOOTER: i32 = 30;
/// Left and right page margin.
pub(crate) const PAGE_MARGIN: i32 = 24;

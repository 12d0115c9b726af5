//! Text: measuring, and drawing with glyphs placed where the font says.
//!
//! plotters 0.3.7 draws bitmap text through ab_glyph but drops each glyph's left side bearing
//! and rounds tall glyphs' vertical offset the wrong way, which makes words look unevenly spaced
//! ("Seou l l ets") and raises commas and full stops. So for bitmaps we lay text out ourselves
//! from the embedded font's own metrics (read here from its `cmap`, `hmtx`, `glyf` and `kern`
//! tables) and hand plotters one glyph at a time at the corrected pixel. SVG text is written
//! as whole strings for the browser to lay out.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

use super::{DrawResult, FONT, FONT_BYTES};

/// How to draw a piece of text.
#[derive(Clone, Copy)]
pub(crate) struct TextSpec {
    pub size: f64,
    pub color: RGBColor,
    pub h: HPos,
    pub v: VPos,
    /// Rotated to read upwards (for vertical axis titles).
    pub upward: bool,
}

impl TextSpec {
    /// `size` px, `color`, anchored at its top left.
    pub fn new(size: f64, color: RGBColor) -> Self {
        TextSpec {
            size,
            color,
            h: HPos::Left,
            v: VPos::Top,
            upward: false,
        }
    }

    pub fn anchor(self, h: HPos, v: VPos) -> Self {
        TextSpec { h, v, ..self }
    }

    pub fn with_color(self, color: RGBColor) -> Self {
        TextSpec { color, ..self }
    }

    pub fn upward(self) -> Self {
        TextSpec {
            upward: true,
            ..self
        }
    }

    fn style(&self, h: HPos, v: VPos) -> TextStyle<'static> {
        let style = (FONT, self.size)
            .into_font()
            .color(&self.color)
            .pos(Pos::new(h, v));
        if self.upward {
            style.transform(FontTransform::Rotate270)
        } else {
            style
        }
    }
}

/// Draw `text` at `pos` (pixels of `area`). `raster` selects glyph-by-glyph placement.
pub(crate) fn draw_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    raster: bool,
    text: &str,
    pos: (i32, i32),
    spec: TextSpec,
) -> DrawResult {
    if text.is_empty() {
        return Ok(());
    }
    match metrics() {
        Some(m) if raster => draw_glyphs(area, m, text, pos, spec),
        m => {
            // plotters writes `font-size = size / 1.24` in SVG, while ab_glyph draws `size` as
            // ascent-to-descent height: scale so that both formats show the same text size.
            let spec = TextSpec {
                size: spec.size * m.map_or(1.0, |m| 1.24 * m.units_per_em / m.height),
                ..spec
            };
            area.draw(&Text::new(text, pos, spec.style(spec.h, spec.v)))?;
            Ok(())
        }
    }
}

/// Width of `text` in pixels at `size`.
pub(crate) fn text_width(text: &str, size: f64) -> i32 {
    match metrics() {
        Some(m) => m.width(text, size).ceil() as i32,
        None => match (FONT, size).into_font().box_size(text) {
            Ok((w, _)) => w as i32,
            Err(_) => (text.chars().count() as f64 * size * 0.55) as i32,
        },
    }
}

fn draw_glyphs<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    m: &Metrics,
    text: &str,
    (x, y): (i32, i32),
    spec: TextSpec,
) -> DrawResult {
    let size = spec.size;
    let scale = size / m.height;
    let width = m.width(text, size);
    let along = match spec.h {
        HPos::Left => 0.0,
        HPos::Center => -width / 2.0,
        HPos::Right => -width,
    };
    let cap = m.cap_height * scale;
    // Distance from the anchor to the baseline, across the text.
    let across = match spec.v {
        VPos::Top => cap,
        VPos::Center => cap / 2.0,
        VPos::Bottom => -m.descent * scale,
    };
    // plotters offsets each glyph by `trunc(size / 2 + top)` (f32): mirror it to undo it.
    let half = (size as f32) / 2.0;
    let style = spec.style(HPos::Left, VPos::Top);
    let (x, y) = (f64::from(x), f64::from(y));
    let baseline = if spec.upward { x + across } else { y + across }.round() as i32;

    let mut pen = along;
    let mut prev: Option<u16> = None;
    let mut buf = [0u8; 4];
    for c in text.chars() {
        let gid = m.glyph(c);
        if let Some(p) = prev {
            pen += f64::from(m.kern(p, gid)) * scale;
        }
        prev = Some(gid);
        if let Some((x_min, y_max)) = m.bbox(gid) {
            let left = (f64::from(x_min) * scale).floor();
            let top = (-f64::from(y_max) * scale).floor();
            let shift = (half + top as f32) as i32;
            let cross = baseline - shift + top as i32;
            let pos = if spec.upward {
                (cross, (y - pen - left).round() as i32)
            } else {
                ((x + pen + left).round() as i32, cross)
            };
            area.draw(&Text::new(&*c.encode_utf8(&mut buf), pos, style.clone()))?;
        }
        pen += f64::from(m.advance(gid)) * scale;
    }
    Ok(())
}

fn metrics() -> Option<&'static Metrics> {
    static METRICS: OnceLock<Option<Metrics>> = OnceLock::new();
    METRICS.get_or_init(|| Metrics::parse(FONT_BYTES)).as_ref()
}

/// What we need of a TrueType font to lay text out.
struct Metrics {
    data: &'static [u8],
    /// ascent - descent in font units (ab_glyph's pixel size is this height).
    height: f64,
    units_per_em: f64,
    /// Descent below the baseline in font units, positive.
    descent: f64,
    cap_height: f64,
    num_h_metrics: u16,
    num_glyphs: u16,
    hmtx: usize,
    loca: usize,
    long_loca: bool,
    glyf: usize,
    /// Offset of a format 4 `cmap` subtable.
    cmap4: usize,
    /// Offset and pair count of a format 0 `kern` subtable.
    kern: Option<(usize, usize)>,
}

fn u16_at(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

fn i16_at(d: &[u8], at: usize) -> Option<i16> {
    u16_at(d, at).map(|v| v as i16)
}

fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *d.get(at)?,
        *d.get(at + 1)?,
        *d.get(at + 2)?,
        *d.get(at + 3)?,
    ]))
}

impl Metrics {
    fn parse(data: &'static [u8]) -> Option<Metrics> {
        let tables = usize::from(u16_at(data, 4)?);
        let table = |tag: &[u8; 4]| -> Option<usize> {
            (0..tables)
                .find_map(|i| {
                    let rec = 12 + 16 * i;
                    (data.get(rec..rec + 4)? == tag).then(|| u32_at(data, rec + 8))?
                })
                .map(|o| o as usize)
        };
        let head = table(b"head")?;
        let hhea = table(b"hhea")?;
        let maxp = table(b"maxp")?;
        let cmap = table(b"cmap")?;

        let ascent = f64::from(i16_at(data, hhea + 4)?);
        let descent = -f64::from(i16_at(data, hhea + 6)?);
        let mut cmap4 = None;
        for i in 0..usize::from(u16_at(data, cmap + 2)?) {
            let rec = cmap + 4 + 8 * i;
            let (platform, encoding) = (u16_at(data, rec)?, u16_at(data, rec + 2)?);
            let sub = cmap + u32_at(data, rec + 4)? as usize;
            let unicode = platform == 0 || (platform == 3 && encoding == 1);
            if unicode && u16_at(data, sub)? == 4 {
                cmap4 = Some(sub);
                break;
            }
        }
        let kern = table(b"kern").and_then(|k| {
            // Version 0 table, first subtable, format 0, horizontal.
            if u16_at(data, k)? != 0 || u16_at(data, k + 2)? == 0 {
                return None;
            }
            let coverage = u16_at(data, k + 4 + 4)?;
            if coverage >> 8 != 0 || coverage & 1 == 0 {
                return None;
            }
            Some((k + 4 + 6 + 8, usize::from(u16_at(data, k + 4 + 6)?)))
        });

        let mut m = Metrics {
            data,
            height: ascent + descent,
            units_per_em: f64::from(u16_at(data, head + 18)?),
            descent,
            cap_height: 0.0,
            num_h_metrics: u16_at(data, hhea + 34)?,
            num_glyphs: u16_at(data, maxp + 4)?,
            hmtx: table(b"hmtx")?,
            loca: table(b"loca")?,
            long_loca: i16_at(data, head + 50)? != 0,
            glyf: table(b"glyf")?,
            cmap4: cmap4?,
            kern,
        };
        if m.height <= 0.0 || m.units_per_em <= 0.0 || m.num_h_metrics == 0 {
            return None;
        }
        m.cap_height = f64::from(m.bbox(m.glyph('H'))?.1);
        Some(m)
    }

    /// Glyph id of `c` (0, the missing glyph, if the font has none).
    fn glyph(&self, c: char) -> u16 {
        self.lookup(c).unwrap_or(0)
    }

    fn lookup(&self, c: char) -> Option<u16> {
        let c = u16::try_from(u32::from(c)).ok()?;
        let d = self.data;
        let t = self.cmap4;
        let segs = usize::from(u16_at(d, t + 6)? / 2);
        let ends = t + 14;
        let starts = ends + 2 * segs + 2;
        let deltas = starts + 2 * segs;
        let offsets = deltas + 2 * segs;
        // Binary search for the first segment whose end >= c.
        let (mut lo, mut hi) = (0, segs);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if u16_at(d, ends + 2 * mid)? < c {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let i = lo;
        if i >= segs || u16_at(d, starts + 2 * i)? > c {
            return None;
        }
        let delta = u16_at(d, deltas + 2 * i)?;
        let range_offset = usize::from(u16_at(d, offsets + 2 * i)?);
        let start = u16_at(d, starts + 2 * i)?;
        if range_offset == 0 {
            return Some(c.wrapping_add(delta));
        }
        let at = offsets + 2 * i + range_offset + 2 * usize::from(c - start);
        match u16_at(d, at)? {
            0 => None,
            g => Some(g.wrapping_add(delta)),
        }
    }

    fn advance(&self, gid: u16) -> u16 {
        let i = usize::from(gid.min(self.num_h_metrics - 1));
        u16_at(self.data, self.hmtx + 4 * i).unwrap_or(0)
    }

    /// (xMin, yMax) of the glyph's outline, `None` for an empty glyph (a space).
    fn bbox(&self, gid: u16) -> Option<(i16, i16)> {
        if gid >= self.num_glyphs {
            return None;
        }
        let i = usize::from(gid);
        let (start, end) = if self.long_loca {
            (
                u32_at(self.data, self.loca + 4 * i)? as usize,
                u32_at(self.data, self.loca + 4 * i + 4)? as usize,
            )
        } else {
            (
                2 * usize::from(u16_at(self.data, self.loca + 2 * i)?),
                2 * usize::from(u16_at(self.data, self.loca + 2 * i + 2)?),
            )
        };
        if end <= start {
            return None;
        }
        let g = self.glyf + start;
        Some((i16_at(self.data, g + 2)?, i16_at(self.data, g + 8)?))
    }

    fn kern(&self, left: u16, right: u16) -> i16 {
        let Some((pairs, n)) = self.kern else {
            return 0;
        };
        let key = (u32::from(left) << 16) | u32::from(right);
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let at = pairs + 6 * mid;
            match u32_at(self.data, at) {
                Some(k) if k == key => return i16_at(self.data, at + 4).unwrap_or(0),
                Some(k) if k < key => lo = mid + 1,
                Some(_) => hi = mid,
                None => return 0,
            }
        }
        0
    }

    /// Advance width of `text` in pixels at `size`, kerning included.
    fn width(&self, text: &str, size: f64) -> f64 {
        let mut units = 0.0;
        let mut prev: Option<u16> = None;
        for c in text.chars() {
            let gid = self.glyph(c);
            if let Some(p) = prev {
                units += f64::from(self.kern(p, gid));
            }
            units += f64::from(self.advance(gid));
            prev = Some(gid);
        }
        units * size / self.height
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_embedded_font() {
        let m = metrics().expect("DejaVu Sans parses");
        assert_eq!(m.height, 2384.0);
        assert_ne!(m.glyph('A'), 0);
        assert_ne!(m.glyph('…'), 0);
        assert_ne!(m.glyph('·'), 0);
        assert_eq!(m.bbox(m.glyph(' ')), None);
        assert!(m.advance(m.glyph('M')) > m.advance(m.glyph('i')));
        assert!(m.cap_height > 1000.0 && m.cap_height < 1600.0);
    }

    #[test]
    fn widths_agree_with_plotters() {
        super::super::ensure_font().unwrap();
        for text in [
            "MMMMMMMMMMMMMMMMMMMM",
            "GSOMIA terminated: Seoul lets the pact lapse",
        ] {
            let ours = metrics().unwrap().width(text, 20.0);
            let theirs = f64::from((FONT, 20.0).into_font().box_size(text).unwrap().0);
            assert!((ours - theirs).abs() <= 2.0, "{text}: {ours} vs {theirs}");
        }
    }
}

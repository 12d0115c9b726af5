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

use super::style::{FONT, FONT_BYTES};
use super::DrawResult;

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

/// Whether `text` is at most `max_width` pixels wide at `size`: `text_width(text, size) <=
/// max_width`, but it stops at the first character that goes past, so asking about a
/// 50,000-character label costs what the part that fits costs. Exact because the pen never
/// moves back (`kerning_never_moves_the_pen_back`).
pub(crate) fn fits(text: &str, size: f64, max_width: i32) -> bool {
    let Some(m) = metrics() else {
        return text_width(text, size) <= max_width;
    };
    let mut units = 0.0;
    let mut prev: Option<u16> = None;
    for c in text.chars() {
        let gid = m.glyph(c);
        if let Some(p) = prev {
            units += f64::from(m.kern(p, gid));
        }
        units += f64::from(m.advance(gid));
        prev = Some(gid);
        if m.pixels(units, size) > max_width {
            return false;
        }
    }
    true
}

/// `text` cut at the last character such that the cut (trailing whitespace trimmed) and an
/// ellipsis fit `max_width` pixels at `size`; `"…"` when nothing does. The caller has checked
/// that `text` itself does not fit. The widths are the ones [`text_width`] gives, so the cut is
/// the one measuring every candidate would choose; but since the pen never moves back, no cut
/// longer than the first prefix that is too wide can fit, and the scan stops there: the cost
/// is that of the part that fits, however long the text. `None` without the font's metrics.
pub(crate) fn cut_with_ellipsis(text: &str, max_width: i32, size: f64) -> Option<String> {
    let m = metrics()?;
    let mut chars: Vec<char> = Vec::new();
    let mut gids: Vec<u16> = Vec::new();
    // prefix[n]: font units of the first n characters, kerning between them included, summed
    // in the order `Metrics::width` sums them (whole numbers, so exactly).
    let mut prefix = vec![0.0];
    for c in text.chars() {
        let g = m.glyph(c);
        let mut units = prefix[prefix.len() - 1];
        if let Some(&p) = gids.last() {
            units += f64::from(m.kern(p, g));
        }
        units += f64::from(m.advance(g));
        chars.push(c);
        gids.push(g);
        prefix.push(units);
        if m.pixels(units, size) > max_width {
            break;
        }
    }
    // kept[n]: how many of the first n characters remain once trailing whitespace is trimmed.
    // A longer cut that the scan did not reach either keeps more (too wide) or ends in the
    // same whitespace and gives the same text.
    let mut kept = vec![0usize; chars.len() + 1];
    for n in 1..=chars.len() {
        kept[n] = if chars[n - 1].is_whitespace() {
            kept[n - 1]
        } else {
            n
        };
    }
    let ellipsis = m.glyph('…');
    let with_ellipsis_fits = |k: usize| {
        let mut units = prefix[k];
        if k > 0 {
            units += f64::from(m.kern(gids[k - 1], ellipsis));
        }
        units += f64::from(m.advance(ellipsis));
        m.pixels(units, size) <= max_width
    };
    let n = (1..=chars.len())
        .rev()
        .find(|&n| with_ellipsis_fits(kept[n]));
    Some(match n {
        Some(n) => chars[..kept[n]].iter().collect::<String>() + "…",
        None => "…".to_string(),
    })
}

/// Measures a line as words are added to it, in the units and order of [`text_width`], so
/// that wrapping a long text is linear in it rather than measuring each longer candidate
/// from its start.
pub(crate) struct LineMeter {
    size: f64,
    units: f64,
    last: Option<u16>,
    /// Without the font's metrics, the line itself, measured whole each time.
    text: String,
}

impl LineMeter {
    pub fn new(size: f64) -> LineMeter {
        LineMeter {
            size,
            units: 0.0,
            last: None,
            text: String::new(),
        }
    }

    /// Units of the line with `more` appended, and the glyph it would end with.
    fn extended(&self, m: &Metrics, more: &str) -> (f64, Option<u16>) {
        let (mut units, mut prev) = (self.units, self.last);
        for c in more.chars() {
            let gid = m.glyph(c);
            if let Some(p) = prev {
                units += f64::from(m.kern(p, gid));
            }
            units += f64::from(m.advance(gid));
            prev = Some(gid);
        }
        (units, prev)
    }

    /// Width in pixels of the line with `more` appended, as [`text_width`] would give it.
    pub fn width_with(&self, more: &str) -> i32 {
        match metrics() {
            Some(m) => (self.extended(m, more).0 * self.size / m.height).ceil() as i32,
            None => text_width(&(self.text.clone() + more), self.size),
        }
    }

    pub fn push(&mut self, more: &str) {
        match metrics() {
            Some(m) => (self.units, self.last) = self.extended(m, more),
            None => self.text.push_str(more),
        }
    }

    pub fn clear(&mut self) {
        *self = LineMeter::new(self.size);
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
    let along = match spec.h {
        HPos::Left => 0.0,
        HPos::Center => -m.width(text, size) / 2.0,
        HPos::Right => -m.width(text, size),
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

    // Glyphs wholly outside the area draw nothing: skip those before it, stop after it (the
    // pen only moves forward), so a very long text costs what its visible part costs.
    let (area_w, area_h) = area.dim_in_pixel();
    let margin = 4.0 * size;
    let past_end = |pen: f64| {
        if spec.upward {
            y - pen < -margin
        } else {
            x + pen > f64::from(area_w) + margin
        }
    };
    let before_start = |pen: f64| {
        if spec.upward {
            y - pen > f64::from(area_h) + margin
        } else {
            x + pen < -margin
        }
    };

    let mut pen = along;
    let mut prev: Option<u16> = None;
    let mut buf = [0u8; 4];
    for c in text.chars() {
        let gid = m.glyph(c);
        if let Some(p) = prev {
            pen += f64::from(m.kern(p, gid)) * scale;
        }
        prev = Some(gid);
        if past_end(pen) {
            break;
        }
        if before_start(pen) {
            pen += f64::from(m.advance(gid)) * scale;
            continue;
        }
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
    /// Glyph ids of the ASCII characters, looked up once: most text is ASCII, and a label
    /// is measured several times per chart.
    ascii: [u16; 128],
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
            ascii: [0; 128],
        };
        for c in 0u8..128 {
            m.ascii[usize::from(c)] = m.lookup(char::from(c)).unwrap_or(0);
        }
        if m.height <= 0.0 || m.units_per_em <= 0.0 || m.num_h_metrics == 0 {
            return None;
        }
        m.cap_height = f64::from(m.bbox(m.glyph('H'))?.1);
        Some(m)
    }

    /// Glyph id of `c` (0, the missing glyph, if the font has none).
    fn glyph(&self, c: char) -> u16 {
        match self.ascii.get(c as usize) {
            Some(&gid) => gid,
            None => self.lookup(c).unwrap_or(0),
        }
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

    /// Font units as whole pixels at `size`, rounded up as [`text_width`] rounds.
    fn pixels(&self, units: f64, size: f64) -> i32 {
        (units * size / self.height).ceil() as i32
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

    /// `fits`, `cut_with_ellipsis` and `draw_glyphs` stop at the first character past the
    /// width; that is exact only if no kerning pair pulls the pen back further than the
    /// glyph's own advance.
    #[test]
    fn kerning_never_moves_the_pen_back() {
        let m = metrics().expect("DejaVu Sans parses");
        let (pairs, n) = m.kern.expect("the font kerns");
        for i in 0..n {
            let at = pairs + 6 * i;
            let right = u16_at(m.data, at + 2).expect("pair");
            let value = i16_at(m.data, at + 4).expect("pair");
            assert!(
                i32::from(m.advance(right)) + i32::from(value) >= 0,
                "pair {i}: glyph {right} advances {} but kerns {value}",
                m.advance(right)
            );
        }
    }

    #[test]
    fn a_long_text_is_cut_as_trying_every_cut_would_cut_it() {
        super::super::style::ensure_font().unwrap();
        for text in [
            "GSOMIA terminated: Seoul lets the pact lapse on 23 Nov 2019",
            "Seoul   waits     ",
            "AVAVAVAVAVAV To. Ty. WAWAWA",
        ] {
            for max in [0, 8, 20, 47, 90, 151, 400] {
                let chars: Vec<char> = text.chars().collect();
                let slow = (1..=chars.len())
                    .rev()
                    .map(|n| chars[..n].iter().collect::<String>().trim_end().to_string() + "…")
                    .find(|c| text_width(c, 13.0) <= max)
                    .unwrap_or_else(|| "…".to_string());
                assert_eq!(
                    cut_with_ellipsis(text, max, 13.0).as_deref(),
                    Some(slow.as_str()),
                    "{text} in {max}px"
                );
                assert_eq!(fits(text, 13.0, max), text_width(text, 13.0) <= max);
            }
        }
    }

    #[test]
    fn widths_agree_with_plotters() {
        super::super::style::ensure_font().unwrap();
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

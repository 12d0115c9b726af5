//! Decoding `[correlations]`: rank correlations between uncertain parameters, each pair
//! checked where it is written, and the whole set checked to be one that a joint distribution
//! can have (its Pearson matrix positive semi-definite).

use super::reader::{as_table, Reader};
use super::Errors;
use crate::diagnostic::{suggest, Diagnostic, Span};
use crate::distribution::copula::{
    consistent_ranks, CorrelationMatrix, GaussianCopula, MAX_CORRELATED,
};
use crate::scenario::tree::{Kind, Table};
use crate::scenario::{CorrelationPair, Correlations, Ident, Parameter};

const KEYS: &[&str] = &["pairs"];
const PAIR_KEYS: &[&str] = &["a", "b", "rank", "rationale", "source"];
const PAIR_EXAMPLE: &str =
    "write a pair as `{ a = \"trade_pressure\", b = \"public_anger\", rank = 0.6 }`";

/// `[correlations]` with `pairs = [{ a, b, rank }, ...]`. `declared` is the `[parameters]`
/// table as written, so that a parameter that failed to decode (reported already) is not
/// also called unknown. `None` when the table lists no pair or a pair is wrong.
pub(super) fn decode_correlations(
    table: &Table,
    span: Span,
    parameters: &[Parameter],
    declared: Option<&Table>,
    errors: &mut Errors,
) -> Option<Correlations> {
    let mut r = Reader::new(table, span, "[correlations]", errors);
    let pairs_entry = r.take("pairs");
    r.finish(KEYS);
    let Some(entry) = pairs_entry else {
        errors.push(
            Diagnostic::new("missing key `pairs` in [correlations]", span).with_hint(format!(
                "list the correlated pairs: `pairs = [...]`; {PAIR_EXAMPLE}"
            )),
        );
        return None;
    };
    let Kind::Array(items) = &entry.value.kind else {
        errors.push(
            Diagnostic::new(
                format!(
                    "`pairs` must be an array of pairs, found {}",
                    entry.value.type_name()
                ),
                entry.value.span,
            )
            .with_hint(PAIR_EXAMPLE),
        );
        return None;
    };
    let before = errors.len();
    let mut pairs: Vec<CorrelationPair> = Vec::with_capacity(items.len());
    // Parameter indexes of each good pair, for the consistency check.
    let mut indexes: Vec<(usize, usize)> = Vec::with_capacity(items.len());
    for (n, item) in items.iter().enumerate() {
        let what = format!("item {} of `pairs`", n + 1);
        let Some((pair_table, pair_span)) = as_table(item, &what, errors) else {
            continue;
        };
        let mut r = Reader::new(pair_table, pair_span, "a pair of [correlations]", errors);
        let a = r.ident_ref("a");
        let b = r.ident_ref("b");
        let rank = r.number("rank", true);
        let rank_span = pair_table.entries.get("rank").map(|e| e.value.span);
        let rationale = r.string("rationale", false).unwrap_or_default();
        let source = super::source(&mut r);
        r.finish(PAIR_KEYS);
        let (Some(a), Some(b), Some(rank)) = (a, b, rank) else {
            continue;
        };
        if !(-1.0..=1.0).contains(&rank) {
            errors.push(
                Diagnostic::new(
                    format!("`rank` must be between -1 and 1, got {rank}"),
                    rank_span.unwrap_or(pair_span),
                )
                .with_hint("a rank (Spearman) correlation lies in [-1, 1]; 0 is the same as leaving the pair out"),
            );
            continue;
        }
        let (Some(i), Some(j)) = (
            parameter(&a, parameters, declared, errors),
            parameter(&b, parameters, declared, errors),
        ) else {
            continue;
        };
        if i == j {
            errors.push(
                Diagnostic::new(
                    format!("`{}` is correlated with itself", a.name),
                    pair_span,
                )
                .with_hint("a pair names two different parameters; a parameter's correlation with itself is always 1"),
            );
            continue;
        }
        if let Some(first) = indexes
            .iter()
            .position(|&(x, y)| (x, y) == (i, j) || (x, y) == (j, i))
        {
            errors.push(
                Diagnostic::new(
                    format!(
                        "the pair `{}` and `{}` is listed twice (first as item {} of `pairs`)",
                        a.name,
                        b.name,
                        pair_position(items, pairs[first].span)
                    ),
                    pair_span,
                )
                .with_hint("keep one of them; the order of `a` and `b` does not matter"),
            );
            continue;
        }
        let mut fixed = false;
        for (id, k) in [(&a, i), (&b, j)] {
            let distribution = &parameters[k].distribution;
            if distribution.is_fixed() {
                fixed = true;
                errors.push(
                    Diagnostic::new(
                        format!(
                            "`{}` cannot vary ({}), so it cannot be correlated",
                            id.name,
                            distribution.describe()
                        ),
                        id.span,
                    )
                    .with_hint("give it a distribution (`dist = ...`), or remove the pair"),
                );
            }
        }
        if fixed {
            continue;
        }
        indexes.push((i, j));
        pairs.push(CorrelationPair {
            a,
            b,
            rank,
            rationale,
            source,
            span: pair_span,
        });
    }
    if errors.len() > before || pairs.is_empty() {
        return None;
    }
    let mut members: Vec<usize> = indexes.iter().flat_map(|&(i, j)| [i, j]).collect();
    members.sort_unstable();
    members.dedup();
    if members.len() > MAX_CORRELATED {
        errors.push(
            Diagnostic::new(
                format!(
                    "the correlations join {} parameters; the limit is {MAX_CORRELATED}",
                    members.len()
                ),
                span,
            )
            .with_hint("correlate fewer parameters, or drive the study with `run --design`"),
        );
        return None;
    }
    let local: Vec<(usize, usize, f64)> = indexes
        .iter()
        .zip(&pairs)
        .map(|(&(i, j), p)| (position(&members, i), position(&members, j), p.rank))
        .collect();
    if let Err(at) = GaussianCopula::new(members.len(), &local) {
        errors.push(inconsistent(&pairs, &local, members.len(), at, span));
        return None;
    }
    Some(Correlations { pairs, span })
}

/// The index among `parameters` of the parameter `id` names, or an error at it.
fn parameter(
    id: &Ident,
    parameters: &[Parameter],
    declared: Option<&Table>,
    errors: &mut Errors,
) -> Option<usize> {
    if let Some(i) = parameters.iter().position(|p| p.id.name == id.name) {
        return Some(i);
    }
    // Declared but broken: reported where it is written.
    if declared.is_some_and(|t| t.entries.contains_key(&id.name)) {
        return None;
    }
    let mut d = Diagnostic::new(
        format!("`{}` is not a parameter of this scenario", id.name),
        id.span,
    );
    d = match suggest(&id.name, parameters.iter().map(|p| p.id.name.as_str())) {
        Some(hint) => d.with_hint(hint),
        None => d.with_hint(
            "only uncertain parameters (`[parameters.ID]` with a `dist`) can be correlated",
        ),
    };
    errors.push(d);
    None
}

fn position(members: &[usize], i: usize) -> usize {
    members.partition_point(|&m| m < i)
}

/// 1-based item number of the pair written at `span`.
fn pair_position(items: &[crate::scenario::tree::Value], span: Span) -> usize {
    items
        .iter()
        .position(|v| v.span == span)
        .map_or(0, |k| k + 1)
}

/// The error for pairs no joint distribution can have: it names the pairs that conflict (the
/// three parameters furthest from consistent, or the parameters up to where the factor
/// failed), points at the last of them as written, and suggests the pairs shrunk toward 0 by
/// one common factor.
fn inconsistent(
    pairs: &[CorrelationPair],
    local: &[(usize, usize, f64)],
    n: usize,
    failed_at: usize,
    span: Span,
) -> Diagnostic {
    let matrix = CorrelationMatrix::from_ranks(n, local);
    let show = |k: usize, rank: f64| format!("{}~{} {}", pairs[k].a.name, pairs[k].b.name, rank);
    // The name of each dimension, from any pair that holds it.
    let name = |d: usize| {
        pairs
            .iter()
            .zip(local)
            .find_map(|(p, &(i, j, _))| {
                (i == d)
                    .then_some(&p.a.name)
                    .or((j == d).then_some(&p.b.name))
            })
            .map_or("?", |s| s.as_str())
    };
    let (involved, listed): (Vec<usize>, Vec<String>) = match matrix.worst_triple() {
        Some(triple) => {
            let involved: Vec<usize> = (0..pairs.len())
                .filter(|&k| triple.contains(&local[k].0) && triple.contains(&local[k].1))
                .collect();
            let mut listed: Vec<String> =
                involved.iter().map(|&k| show(k, pairs[k].rank)).collect();
            // A pair left out is a correlation of 0, and can be what breaks the three.
            for (x, y) in [(0, 1), (0, 2), (1, 2)] {
                let (i, j) = (triple[x], triple[y]);
                if !involved.iter().any(|&k| {
                    (local[k].0, local[k].1) == (i, j) || (local[k].0, local[k].1) == (j, i)
                }) {
                    listed.push(format!("{}~{} 0 (not listed)", name(i), name(j)));
                }
            }
            (involved, listed)
        }
        None => {
            let involved: Vec<usize> = (0..pairs.len())
                .filter(|&k| {
                    local[k].0 <= failed_at && local[k].1 <= failed_at && local[k].2 != 0.0
                })
                .collect();
            let listed = involved.iter().map(|&k| show(k, pairs[k].rank)).collect();
            (involved, listed)
        }
    };
    let (_, ranks) = consistent_ranks(n, local);
    const SHOWN: usize = 8;
    let mut suggested: Vec<String> = (0..pairs.len())
        .take(SHOWN)
        .map(|k| show(k, ranks[k]))
        .collect();
    if pairs.len() > SHOWN {
        suggested.push(format!("and the other {} likewise", pairs.len() - SHOWN));
    }
    let at = involved.last().map_or(span, |&k| pairs[k].span);
    Diagnostic::new(
        format!(
            "these rank correlations cannot hold together: {} (no joint distribution has them; their Pearson matrix is not positive semi-definite)",
            listed.join(", ")
        ),
        at,
    )
    .with_hint(format!(
        "weaken one of them, or shrink every pair toward 0 by one factor; the nearest such set is {}",
        suggested.join(", ")
    ))
}

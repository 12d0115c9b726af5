//! Decoding `[parameters.ID]`: which distribution, its keys, and the checks of
//! [`Distribution`]'s constructors reported at the value they are about.

use super::reader::{as_table, Reader};
use super::{documentation, with_doc_keys, Errors, DOC_KEYS};
use crate::diagnostic::Diagnostic;
use crate::distribution::{DistError, Distribution};
use crate::scenario::tree::{Kind, Value};
use crate::scenario::{Ident, Parameter};

/// Every key some distribution takes.
const DIST_KEYS: &[&str] = &[
    "value", "min", "max", "mean", "sd", "mu", "sigma", "mode", "lambda", "alpha", "beta", "p",
    "values", "weights",
];

pub(super) fn decode_parameter(id: Ident, value: &Value, errors: &mut Errors) -> Option<Parameter> {
    if let Kind::Integer(_) | Kind::Float(_) = value.kind {
        errors.push(
            Diagnostic::new(
                format!(
                    "parameter `{}` must be a table, found {}",
                    id.name,
                    value.type_name()
                ),
                value.span,
            )
            .with_hint(format!(
                "for a fixed value write `{} = {{ value = ... }}`, or a `[parameters.{}]` table with `value = ...`",
                id.name, id.name
            )),
        );
        return None;
    }
    let (table, span) = as_table(value, &format!("parameter `{}`", id.name), errors)?;
    let mut r = Reader::new(table, span, "a parameter", errors);
    let doc = documentation(&mut r);
    let has_value = table.entries.contains_key("value");
    let kinds = [
        "fixed",
        "uniform",
        "normal",
        "lognormal",
        "triangular",
        "pert",
        "beta",
        "bernoulli",
        "discrete",
    ];
    let kind = if table.entries.contains_key("dist") {
        r.choice("dist", &kinds, true)
    } else if has_value {
        Some("fixed")
    } else {
        r.errors.push(
            Diagnostic::new(
                format!("parameter `{}` has neither `dist` nor `value`", id.name),
                span,
            )
            .with_hint(format!(
                "give a distribution and its keys (`dist = \"uniform\"`, `min`, `max`; dist is one of {}), or `value = ...` for a fixed value",
                kinds.join(", ")
            )),
        );
        None
    };
    let kind = kind?;
    let calibrate = r.boolean("calibrate", false).unwrap_or(false);
    let mut keys: Vec<&'static str> = with_doc_keys(&["dist", "calibrate"]);
    let result: Option<Result<Distribution, DistError>> = match kind {
        "fixed" => {
            keys.push("value");
            r.number("value", true).map(Distribution::fixed)
        }
        "uniform" => {
            keys.extend(["min", "max"]);
            let (min, max) = (r.number("min", true), r.number("max", true));
            Some(Distribution::uniform(min?, max?))
        }
        "normal" => {
            keys.extend(["mean", "sd", "min", "max"]);
            let (mean, sd) = (r.number("mean", true), r.number("sd", true));
            let (min, max) = (r.number("min", false), r.number("max", false));
            Some(Distribution::normal(mean?, sd?, min, max))
        }
        "lognormal" => {
            keys.extend(["mu", "sigma"]);
            let (mu, sigma) = (r.number("mu", true), r.number("sigma", true));
            Some(Distribution::lognormal(mu?, sigma?))
        }
        "triangular" => {
            keys.extend(["min", "mode", "max"]);
            let (min, mode, max) = (
                r.number("min", true),
                r.number("mode", true),
                r.number("max", true),
            );
            Some(Distribution::triangular(min?, mode?, max?))
        }
        "pert" => {
            keys.extend(["min", "mode", "max", "lambda"]);
            let (min, mode, max) = (
                r.number("min", true),
                r.number("mode", true),
                r.number("max", true),
            );
            let lambda = r.number("lambda", false).unwrap_or(4.0);
            Some(Distribution::pert(min?, mode?, max?, lambda))
        }
        "beta" => {
            keys.extend(["alpha", "beta", "min", "max"]);
            let (alpha, beta) = (r.number("alpha", true), r.number("beta", true));
            let min = r.number("min", false).unwrap_or(0.0);
            let max = r.number("max", false).unwrap_or(1.0);
            Some(Distribution::beta(alpha?, beta?, min, max))
        }
        "bernoulli" => {
            keys.push("p");
            r.number("p", true).map(Distribution::bernoulli)
        }
        _ => {
            keys.extend(["values", "weights"]);
            let values = r.number_array("values", true);
            let weights = r.number_array("weights", true);
            Some(Distribution::discrete(values?, weights?))
        }
    };
    // A key of another distribution is likely a mix-up of `dist`, not a typo.
    for key in table.entries.keys() {
        if DIST_KEYS.contains(&key.as_str()) && !keys.contains(&key.as_str()) {
            r.taken.push(key);
            let own: Vec<&str> = keys
                .iter()
                .copied()
                .filter(|k| !DOC_KEYS.contains(k) && *k != "dist")
                .collect();
            r.errors.push(
                Diagnostic::new(
                    format!("`{key}` does not apply to a {kind} distribution"),
                    table.entries[key].key_span,
                )
                .with_hint(format!(
                    "a {kind} distribution takes {}; check `dist`",
                    own.join(", ")
                )),
            );
        }
    }
    r.finish(&keys);
    match result? {
        Ok(distribution) => Some(Parameter {
            id,
            doc,
            distribution,
            calibrate,
        }),
        Err(err) => {
            let at = table
                .entries
                .get(err.key)
                .map(|e| e.value.span)
                .unwrap_or(span);
            errors.push(Diagnostic::new(
                format!("parameter `{}`: {}", id.name, err.message),
                at,
            ));
            None
        }
    }
}

//! TEMPORARY stand-in until the full distribution module lands.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    kind: K,
}
#[derive(Debug, Clone, PartialEq)]
enum K {
    Fixed(f64),
    Uniform(f64, f64),
    Tri(f64, f64, f64),
    Bern(f64),
    Disc(Vec<f64>, Vec<f64>),
}
#[derive(Debug, Clone, PartialEq)]
pub struct DistError {
    pub key: &'static str,
    pub message: String,
}
impl Distribution {
    pub fn fixed(v: f64) -> Result<Self, DistError> {
        Ok(Self { kind: K::Fixed(v) })
    }
    pub fn uniform(a: f64, b: f64) -> Result<Self, DistError> {
        if a >= b {
            return Err(DistError {
                key: "min",
                message: format!("min {a} must be less than max {b}"),
            });
        }
        Ok(Self {
            kind: K::Uniform(a, b),
        })
    }
    pub fn normal(m: f64, sd: f64, _a: Option<f64>, _b: Option<f64>) -> Result<Self, DistError> {
        if sd <= 0.0 {
            return Err(DistError {
                key: "sd",
                message: format!("sd must be > 0, got {sd}"),
            });
        }
        Ok(Self {
            kind: K::Uniform(m - sd, m + sd),
        })
    }
    pub fn lognormal(m: f64, s: f64) -> Result<Self, DistError> {
        Self::normal(m, s, None, None)
    }
    pub fn triangular(a: f64, m: f64, b: f64) -> Result<Self, DistError> {
        if !(a <= m && m <= b) {
            return Err(DistError {
                key: "mode",
                message: format!("mode {m} is outside [min, max] = [{a}, {b}]"),
            });
        }
        Ok(Self {
            kind: K::Tri(a, m, b),
        })
    }
    pub fn pert(a: f64, m: f64, b: f64, _l: f64) -> Result<Self, DistError> {
        Self::triangular(a, m, b)
    }
    pub fn beta(_al: f64, _be: f64, a: f64, b: f64) -> Result<Self, DistError> {
        Self::uniform(a, b)
    }
    pub fn bernoulli(p: f64) -> Result<Self, DistError> {
        Ok(Self { kind: K::Bern(p) })
    }
    pub fn discrete(v: Vec<f64>, w: Vec<f64>) -> Result<Self, DistError> {
        Ok(Self {
            kind: K::Disc(v, w),
        })
    }
    pub fn quantile(&self, u: f64) -> f64 {
        match &self.kind {
            K::Fixed(v) => *v,
            K::Uniform(a, b) => a + u * (b - a),
            K::Tri(a, m, b) => {
                let f = (m - a) / (b - a);
                if u < f {
                    a + ((b - a) * (m - a) * u).sqrt()
                } else {
                    b - ((b - a) * (b - m) * (1.0 - u)).sqrt()
                }
            }
            K::Bern(p) => {
                if u < *p {
                    1.0
                } else {
                    0.0
                }
            }
            K::Disc(v, w) => {
                let t: f64 = w.iter().sum();
                let mut c = 0.0;
                for (x, wi) in v.iter().zip(w) {
                    c += wi / t;
                    if u < c {
                        return *x;
                    }
                }
                *v.last().unwrap_or(&0.0)
            }
        }
    }
    pub fn is_fixed(&self) -> bool {
        matches!(self.kind, K::Fixed(_))
    }
    pub fn support(&self) -> (f64, f64) {
        (self.quantile(0.0), self.quantile(1.0))
    }
    pub fn describe(&self) -> String {
        format!("{:?}", self.kind)
    }
}

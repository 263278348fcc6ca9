//! Isolation forest (Liu, Ting and Zhou, 2008) over [`Features`].
//!
//! Each tree splits a random subsample on a random feature at a random value
//! between that feature's minimum and maximum, until points are alone or the
//! height limit `ceil(log2(sample_size))` is reached. Outliers are isolated
//! in few splits, so a short average path means anomalous. The score is
//! `2^(-E[h(x)] / c(psi))`, where `c(n)` is the average path length of an
//! unsuccessful search in a binary search tree of `n` keys and a leaf still
//! holding `n > 1` points adds `c(n)` to the path.
//!
//! Trees are stored flat, all in one `Vec<Node>` of 12-byte nodes whose two
//! children sit side by side, so scoring 100 trees walks a few contiguous
//! kilobytes. A leaf stores its finished path length (depth + `c(size)`), so
//! scoring is one walk and one add per tree.
//!
//! One departure from the original: split values are drawn from the node's
//! range widened by a margin on each side (the feature's standard deviation
//! over the training sample, or 0.5 when it has none), and a feature that is
//! constant in a node may still be chosen, once per path, for a split just
//! past its value. Such a split leaves one side empty. The original only
//! splits inside the range it has seen, so a value beyond it always travels
//! with the most extreme training points, however far out it is, and a
//! feature training never varied (a token absent from all training traffic)
//! cannot be split at all: a request carrying it is invisible on it. Here it
//! falls into the empty side and is isolated in one step. Training points
//! all take the other side, so their scores (and the threshold) already
//! account for the extra depth. On synthetic data (33 features, outliers 25
//! standard deviations off on 4 of them) this moved the outliers from below
//! the highest of 200 inliers to above it.

use super::features::{Features, N};
use serde::{Deserialize, Serialize};

/// Deterministic, seeded generator (SplitMix64). Our own because models
/// must be reproducible from their seed, and a dependency for 10 lines of
/// well-known arithmetic is not worth it.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), by multiply-shift (bias below 2^-32 for
    /// the sizes used here).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForestParams {
    pub trees: usize,
    /// Points per tree (psi); fewer when there are fewer samples.
    pub sample_size: usize,
    pub seed: u64,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            trees: 100,
            sample_size: 256,
            seed: DEFAULT_SEED,
        }
    }
}

/// The default seed: any fixed value will do, this one is easy to spot.
pub const DEFAULT_SEED: u64 = 0x5EED_0F0A_FE12_0001;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FitError {
    #[error("no training samples")]
    Empty,
    #[error("{got} training samples; at least 2 are needed")]
    TooFew { got: usize },
    #[error("bad forest parameters: {0}")]
    Params(&'static str),
}

/// Leaf marker in `Node::feature`.
const LEAF: u16 = u16::MAX;

#[derive(Clone, Copy, Debug, PartialEq)]
struct Node {
    /// Feature index, or `LEAF`.
    feature: u16,
    /// Split value (go left when `x < value`), or for a leaf its path length.
    value: f32,
    /// Index of the left child; the right child is `left + 1`.
    left: u32,
}

/// A fitted forest. Serialized as parallel arrays (compact, and checked on
/// load: a hostile model file cannot make scoring index out of bounds).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ForestRepr", into = "ForestRepr")]
pub struct Forest {
    nodes: Vec<Node>,
    roots: Vec<u32>,
    /// Sample size actually used (psi), for the normalisation.
    psi: usize,
}

#[derive(Serialize, Deserialize)]
struct ForestRepr {
    psi: usize,
    roots: Vec<u32>,
    feature: Vec<u16>,
    value: Vec<f32>,
    left: Vec<u32>,
}

impl From<Forest> for ForestRepr {
    fn from(f: Forest) -> Self {
        ForestRepr {
            psi: f.psi,
            roots: f.roots,
            feature: f.nodes.iter().map(|n| n.feature).collect(),
            value: f.nodes.iter().map(|n| n.value).collect(),
            left: f.nodes.iter().map(|n| n.left).collect(),
        }
    }
}

impl TryFrom<ForestRepr> for Forest {
    type Error = String;
    fn try_from(r: ForestRepr) -> Result<Self, String> {
        let len = r.feature.len();
        if r.value.len() != len || r.left.len() != len {
            return Err("forest arrays differ in length".into());
        }
        if r.psi < 2 || r.roots.is_empty() {
            return Err("forest has no trees or psi < 2".into());
        }
        let mut nodes = Vec::with_capacity(len);
        for i in 0..len {
            let (feature, value, left) = (r.feature[i], r.value[i], r.left[i]);
            if !value.is_finite() {
                return Err(format!("node {i}: value is not finite"));
            }
            if feature != LEAF {
                // Children after their parent: walks always move forward and end.
                if usize::from(feature) >= N || left as usize <= i || left as usize + 1 >= len {
                    return Err(format!("node {i}: bad feature or child index"));
                }
            }
            nodes.push(Node {
                feature,
                value,
                left,
            });
        }
        if r.roots.iter().any(|&x| x as usize >= len) {
            return Err("root index out of range".into());
        }
        Ok(Forest {
            nodes,
            roots: r.roots,
            psi: r.psi,
        })
    }
}

/// Average path length of an unsuccessful search in a BST of `n` keys.
pub fn c(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + 0.577_215_664_901_532_9) - 2.0 * (n - 1.0) / n
        }
    }
}

/// NaN becomes 0, infinities and huge values are clamped, so every split and
/// comparison is between ordinary numbers.
pub fn sanitize(x: &Features) -> Features {
    let mut out = *x;
    for v in &mut out {
        *v = if v.is_nan() {
            0.0
        } else {
            v.clamp(-1e30, 1e30)
        };
    }
    out
}

impl Forest {
    /// Fits `params.trees` trees, each on its own subsample, deterministically
    /// from `params.seed`.
    pub fn fit(samples: &[Features], params: &ForestParams) -> Result<Forest, FitError> {
        if samples.is_empty() {
            return Err(FitError::Empty);
        }
        if samples.len() < 2 {
            return Err(FitError::TooFew { got: samples.len() });
        }
        if params.trees == 0 || params.trees > 10_000 {
            return Err(FitError::Params("trees must be 1 to 10,000"));
        }
        if params.sample_size < 2 || params.sample_size > 1 << 20 {
            return Err(FitError::Params("sample_size must be 2 to 2^20"));
        }
        let psi = params.sample_size.min(samples.len());
        let height = usize::BITS - (psi - 1).leading_zeros(); // ceil(log2 psi)
        let data: Vec<Features> = samples.iter().map(sanitize).collect();
        let mut rng = SplitMix64::new(params.seed);
        // A permutation reused across trees: each tree takes a partial
        // Fisher-Yates shuffle of it, without re-allocating n indexes.
        let mut perm: Vec<u32> = (0..data.len() as u32).collect();
        let mut forest = Forest {
            nodes: Vec::with_capacity(params.trees * 2 * psi),
            roots: Vec::with_capacity(params.trees),
            psi,
        };
        let mut margin = [0.5f32; N];
        for (f, m) in margin.iter_mut().enumerate() {
            let n = data.len() as f64;
            let mean = data.iter().map(|x| f64::from(x[f])).sum::<f64>() / n;
            let var = data
                .iter()
                .map(|x| (f64::from(x[f]) - mean).powi(2))
                .sum::<f64>()
                / n;
            let sd = var.sqrt() as f32;
            if sd.is_finite() && sd > 0.0 {
                *m = sd;
            }
        }
        let mut b = Builder {
            data: &data,
            rng: &mut rng,
            height: height as usize,
            margin,
        };
        for _ in 0..params.trees {
            for i in 0..psi {
                let j = i + b.rng.below(perm.len() - i);
                perm.swap(i, j);
            }
            let mut idx: Vec<u32> = perm[..psi].to_vec();
            let root = forest.nodes.len() as u32;
            forest.roots.push(root);
            forest.nodes.push(Node {
                feature: LEAF,
                value: 0.0,
                left: 0,
            });
            b.grow(&mut forest.nodes, root as usize, &mut idx, 0, 0);
        }
        Ok(forest)
    }

    /// Anomaly score in (0, 1): near 1 is isolated quickly, below 0.5 is ordinary.
    pub fn score(&self, x: &Features) -> f64 {
        let x = sanitize(x);
        let mut total = 0.0f64;
        for &root in &self.roots {
            let mut i = root as usize;
            loop {
                let n = self.nodes[i];
                if n.feature == LEAF {
                    total += f64::from(n.value);
                    break;
                }
                i = n.left as usize + usize::from(x[usize::from(n.feature)] >= n.value);
            }
        }
        let mean = total / self.roots.len() as f64;
        let s = 2f64.powf(-mean / c(self.psi));
        // Clamp into the open interval: NaN cannot arise (c(psi) >= 1), but
        // an extreme forest could round to 0 or 1.
        s.clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON)
    }

    pub fn trees(&self) -> usize {
        self.roots.len()
    }

    pub fn nodes(&self) -> usize {
        self.nodes.len()
    }
}

struct Builder<'a> {
    data: &'a [Features],
    rng: &'a mut SplitMix64,
    height: usize,
    /// Per feature, how far past a node's range a split may fall (the
    /// feature's standard deviation over all samples, or 0.5).
    margin: [f32; N],
}

impl Builder<'_> {
    /// Turns `nodes[at]` into the subtree over `idx`. `extended` marks the
    /// features already given an extension split on this path. Recursion
    /// depth is bounded by `height` (at most 21).
    fn grow(
        &mut self,
        nodes: &mut Vec<Node>,
        at: usize,
        idx: &mut [u32],
        depth: usize,
        extended: u64,
    ) {
        let leaf = |n: usize, depth: usize| Node {
            feature: LEAF,
            value: (depth as f64 + c(n)) as f32,
            left: 0,
        };
        if depth >= self.height || idx.len() <= 1 {
            nodes[at] = leaf(idx.len(), depth);
            return;
        }
        // Candidate features with their ranges here: those that vary, and
        // constant ones not yet extended on this path.
        let mut cand = [(0u16, 0f32, 0f32); N];
        let mut nc = 0;
        for f in 0..N {
            let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
            for &i in idx.iter() {
                let v = self.data[i as usize][f];
                lo = lo.min(v);
                hi = hi.max(v);
            }
            if hi > lo || extended & (1 << f) == 0 {
                cand[nc] = (f as u16, lo, hi);
                nc += 1;
            }
        }
        if nc == 0 {
            nodes[at] = leaf(idx.len(), depth);
            return;
        }
        let (f, lo, hi) = cand[self.rng.below(nc)];
        let mut extended = extended;
        let m = f64::from(self.margin[usize::from(f)]);
        let split = if hi > lo {
            // Drawn from the range widened by the margin on both sides: when
            // it falls outside, one side is empty (see the module doc).
            let (a, b) = (f64::from(lo) - m, f64::from(hi) + m);
            (a + self.rng.unit() * (b - a)) as f32
        } else {
            // Extension split: a constant feature cut just past its value,
            // above or below, leaves one side empty. Training points all go
            // on; a new point with another value here lands in the empty
            // leaf and is isolated at once. Plain isolation forests never
            // split a feature that is constant in their sample (a token
            // absent from all training traffic), so they cannot see it at all.
            extended |= 1 << f;
            let m = self.margin[usize::from(f)];
            if self.rng.next_u64() & 1 == 0 {
                lo + m
            } else {
                lo - m
            }
        };
        // Partition: x < split to the front.
        let mut mid = 0;
        for k in 0..idx.len() {
            if self.data[idx[k] as usize][usize::from(f)] < split {
                idx.swap(k, mid);
                mid += 1;
            }
        }
        let left = nodes.len();
        nodes[at] = Node {
            feature: f,
            value: split,
            left: left as u32,
        };
        let blank = leaf(0, depth + 1);
        nodes.push(blank);
        nodes.push(blank);
        let (l, r) = idx.split_at_mut(mid);
        // An empty side stays the blank leaf: depth + 1, no c(n).
        if !l.is_empty() {
            self.grow(nodes, left, l, depth + 1, extended);
        }
        if !r.is_empty() {
            self.grow(nodes, left + 1, r, depth + 1, extended);
        }
    }
}

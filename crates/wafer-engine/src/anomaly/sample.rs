//! What training keeps of a request: its features, without the request.
//!
//! Training needs two passes: route profiles are learned from every
//! request's arguments first, and only then can each request's route
//! features be computed against them. Everything else a request gives is
//! known at once. So a [`Sample`] holds the route-independent features, the
//! route template, and per argument only what profiles and route features
//! read (name, value length, value shape). Values, headers and bodies are
//! not kept: a request with a 60 KiB header is 33 numbers and a short path
//! here, and no sample is larger than [`Sample::MAX_BYTES`].
//!
//! A sample's features against any routes are exactly what scoring the
//! request computes against them (tests check both, with and without the
//! engine's parse of the body), so a model trained on samples sees the
//! numbers it will see at run time.

use super::features::{self, Features, MAX_ARGS, MAX_NAME};
use super::route::{ArgView, Learner, MAX_TEMPLATE, RouteProfiles, Shape, route_template};
use crate::request::{Request, Value};

#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Every feature but the route features (0 here).
    base: Features,
    template: Box<str>,
    args: Box<[SampleArg]>,
}

#[derive(Clone, Debug, PartialEq)]
struct SampleArg {
    name: Box<str>,
    len: u32,
    shape: Shape,
}

impl ArgView for SampleArg {
    fn name(&self) -> &str {
        &self.name
    }
    fn value_len(&self) -> usize {
        self.len as usize
    }
    fn shape(&self) -> Shape {
        self.shape
    }
}

impl Sample {
    /// The most memory one sample holds (see [`bytes`](Self::bytes)):
    /// the longest template and [`MAX_ARGS`] arguments with the longest names.
    pub const MAX_BYTES: usize = std::mem::size_of::<Sample>()
        + MAX_TEMPLATE
        + MAX_ARGS * (std::mem::size_of::<SampleArg>() + MAX_NAME);

    /// The request's sample, parsing its body as training does.
    pub fn of(req: &Request) -> Sample {
        Self::of_with(req, None)
    }

    /// [`of`](Self::of), reusing the engine's parse of the body where it
    /// gives the same arguments (as scoring does).
    pub fn of_with(req: &Request, body: Option<&[Value]>) -> Sample {
        let a = features::args_with(req, body);
        Sample {
            base: features::base(req, &a),
            template: route_template(req.raw_path()).into_boxed_str(),
            args: a
                .pairs
                .iter()
                .map(|(k, v)| SampleArg {
                    name: k.as_str().into(),
                    // Values are capped at `MAX_VALUE` (8 KiB) when parsed.
                    len: u32::try_from(v.len()).unwrap_or(u32::MAX),
                    shape: Shape::of(v),
                })
                .collect(),
        }
    }

    /// The route template the request was on.
    pub fn template(&self) -> &str {
        &self.template
    }

    /// Adds the sample to route profiles being learned.
    pub(crate) fn learn_into(&self, learner: &mut Learner) {
        learner.add(&self.template, self.args.iter());
    }

    /// The request's full feature vector against `routes`.
    pub fn features(&self, routes: &RouteProfiles) -> Features {
        let mut f = self.base;
        features::route_features(&mut f, &self.args, &self.template, routes);
        f
    }

    /// Memory the sample holds: itself and what it owns (allocator
    /// overhead aside). At most [`MAX_BYTES`](Self::MAX_BYTES).
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Sample>()
            + self.template.len()
            + self
                .args
                .iter()
                .map(|a| std::mem::size_of::<SampleArg>() + a.name.len())
                .sum::<usize>()
    }
}

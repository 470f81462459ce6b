//! Layers with named parameters. Names and layouts are PyTorch's `state_dict` keys for the
//! same layers (`conv.weight` [Cout, Cin, KH, KW], `bn.running_var`, ...), so a file saved
//! here loads into PyTorch and back (see `io`).

pub mod io;
mod layers;

pub use layers::{BatchNorm2d, Conv2d, Linear, PRelu};

use crate::autograd::Param;
use crate::tensor::Tensor;
use std::sync::Arc;

/// A tensor a module saves: a trainable parameter, or a buffer such as batch norm's running
/// statistics.
#[derive(Clone)]
pub enum Entry {
    Param(Arc<Param>),
    Buffer(String, Tensor),
    /// PyTorch's `num_batches_tracked`, an int64 scalar: kept so files load into PyTorch
    /// with `strict=True`.
    Counter(String, Arc<std::sync::atomic::AtomicU64>),
}

impl Entry {
    /// The tensor (for counters, none: they live on the CPU).
    pub fn tensor(&self) -> Tensor {
        match self {
            Entry::Param(p) => p.value(),
            Entry::Buffer(_, t) => t.clone(),
            Entry::Counter(..) => panic!("a counter has no tensor"),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Entry::Param(p) => &p.name,
            Entry::Buffer(n, _) | Entry::Counter(n, _) => n,
        }
    }
}

/// Anything made of layers: lists what it saves, in a fixed order.
pub trait Module {
    fn entries(&self) -> Vec<Entry>;

    fn params(&self) -> Vec<Arc<Param>> {
        self.entries()
            .into_iter()
            .filter_map(|e| match e {
                Entry::Param(p) => Some(p),
                _ => None,
            })
            .collect()
    }

    fn zero_grad(&self) {
        for p in self.params() {
            p.zero_grad();
        }
    }

    /// The number of trainable values.
    fn param_count(&self) -> usize {
        self.params().iter().map(|p| p.value().numel()).sum()
    }
}

/// Joins a prefix and a name the way PyTorch does: "" + "conv" = "conv", "blocks.0" + "conv" =
/// "blocks.0.conv".
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

//! The tape: nodes appended in the order ops run, so walking it backwards visits every node
//! after all the nodes that used its output. Gradients live in a table indexed by node while
//! `backward` runs, and land in the parameters' `grad` at the leaves, adding to what is
//! already there until `Param::zero_grad`.
//!
//! A tape made with `Tape::inference()` records nothing: ops return plain values and every
//! intermediate is freed (its buffer back in the pool) as soon as the model drops it.

use crate::tensor::Tensor;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A trainable tensor with a name (PyTorch's state_dict key) and its accumulated gradient.
/// Shared (`Arc`) between the model, the tapes that use it and the optimizer, possibly on
/// several threads (a model serving requests in parallel).
pub struct Param {
    pub name: String,
    /// Replaced only by `move_to` (the optimizer gathering its parameters into one buffer).
    value: Mutex<Tensor>,
    grad: Mutex<Option<Tensor>>,
}

impl Param {
    pub fn new(name: impl Into<String>, value: Tensor) -> Arc<Param> {
        Arc::new(Param {
            name: name.into(),
            value: Mutex::new(value),
            grad: Mutex::new(None),
        })
    }

    /// The current value (a handle: the values stay on the GPU).
    pub fn value(&self) -> Tensor {
        self.value.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Copies the value into `place` (a tensor of the same shape) and keeps it there from now
    /// on. Tensors taken from `value()` before keep the old storage: call this before any
    /// computation uses the parameter.
    pub fn move_to(&self, place: Tensor) {
        let mut value = self.value.lock().unwrap_or_else(|e| e.into_inner());
        assert_eq!(
            value.shape(),
            place.shape(),
            "{}: moved to another shape",
            self.name
        );
        place.copy_from(&value);
        *value = place;
    }

    /// The gradient accumulated since the last `zero_grad` or `take_grad`, if any.
    pub fn grad(&self) -> Option<Tensor> {
        self.grad_slot().clone()
    }

    /// The gradient, leaving none (what the optimizer consumes).
    pub fn take_grad(&self) -> Option<Tensor> {
        self.grad_slot().take()
    }

    pub fn zero_grad(&self) {
        *self.grad_slot() = None;
    }

    fn grad_slot(&self) -> std::sync::MutexGuard<'_, Option<Tensor>> {
        self.grad.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn accumulate(&self, g: Tensor) {
        let mut grad = self.grad_slot();
        *grad = Some(match grad.take() {
            Some(old) => crate::ops::elementwise::add(&old, &g),
            None => g,
        });
    }
}

/// A value in a computation: its tensor and, if a gradient must flow back through it, the
/// tape node that produced it.
#[derive(Clone)]
pub struct Var {
    pub value: Tensor,
    node: Option<usize>,
    /// The tape whose node `node` is (`Tape::id`).
    tape: u64,
}

impl Var {
    /// The same value cut off from the tape: no gradient flows back through it.
    pub fn detach(&self) -> Var {
        Var {
            value: self.value.clone(),
            node: None,
            tape: self.tape,
        }
    }

    pub fn requires_grad(&self) -> bool {
        self.node.is_some()
    }

    pub fn shape(&self) -> &[usize] {
        self.value.shape()
    }
}

/// Turns the gradient of an op's output into the gradients of its inputs. The flags say which
/// inputs need one; a rule may return `None` for the others and skip their kernels.
pub type Backward = Box<dyn Fn(&Tensor, &[bool]) -> Vec<Option<Tensor>>>;

enum Node {
    Leaf(Arc<Param>),
    Op {
        inputs: Vec<Option<usize>>,
        backward: Backward,
    },
}

pub struct Tape {
    /// Tells this tape's values from another's: a node index means nothing on another tape.
    id: u64,
    recording: bool,
    nodes: RefCell<Vec<Node>>,
    /// Parameters used as constants here (`freeze`), by address.
    frozen: RefCell<std::collections::HashSet<*const Param>>,
}

impl Default for Tape {
    fn default() -> Self {
        Tape::new()
    }
}

impl Tape {
    /// A tape that records, for training.
    pub fn new() -> Tape {
        Tape {
            id: next_tape_id(),
            recording: true,
            nodes: RefCell::new(Vec::new()),
            frozen: Default::default(),
        }
    }

    /// A tape that records nothing, for inference.
    pub fn inference() -> Tape {
        Tape {
            id: next_tape_id(),
            recording: false,
            nodes: RefCell::new(Vec::new()),
            frozen: Default::default(),
        }
    }

    pub fn is_recording(&self) -> bool {
        self.recording
    }

    /// A value that needs no gradient (inputs, targets, frozen weights).
    pub fn constant(&self, value: Tensor) -> Var {
        Var {
            value,
            node: None,
            tape: self.id,
        }
    }

    /// A parameter as a leaf: its gradient is accumulated into `param.grad`.
    /// Makes `params` constants on this tape: gradients still flow through the ops that use
    /// them, but none is computed for them (the discriminator while the generator learns).
    pub fn freeze(&self, params: &[Arc<Param>]) {
        self.frozen
            .borrow_mut()
            .extend(params.iter().map(Arc::as_ptr));
    }

    pub fn param(&self, param: &Arc<Param>) -> Var {
        if !self.recording || self.frozen.borrow().contains(&Arc::as_ptr(param)) {
            return Var {
                value: param.value(),
                node: None,
                tape: self.id,
            };
        }
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(Node::Leaf(param.clone()));
        Var {
            value: param.value(),
            node: Some(nodes.len() - 1),
            tape: self.id,
        }
    }

    /// Records an op's output; `backward` runs later only if some input needs a gradient.
    pub fn record(
        &self,
        value: Tensor,
        inputs: &[&Var],
        backward: impl Fn(&Tensor, &[bool]) -> Vec<Option<Tensor>> + 'static,
    ) -> Var {
        for v in inputs {
            self.check_own(v);
        }
        if !self.recording || inputs.iter().all(|v| v.node.is_none()) {
            return Var {
                value,
                node: None,
                tape: self.id,
            };
        }
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(Node::Op {
            inputs: inputs.iter().map(|v| v.node).collect(),
            backward: Box::new(backward),
        });
        Var {
            value,
            node: Some(nodes.len() - 1),
            tape: self.id,
        }
    }

    /// A value that needs a gradient belongs to the tape it was recorded on: its node index
    /// would name another node here and silently give wrong gradients.
    fn check_own(&self, v: &Var) {
        assert!(
            v.node.is_none() || v.tape == self.id,
            "a value recorded on another tape was used on this one: detach() it, or record \
             the whole computation on one tape"
        );
    }

    /// Fills the gradient of every parameter that `loss` (a one-element value) depends on.
    /// The tape is consumed: its saved tensors are released as it goes.
    pub fn backward(&self, loss: &Var) {
        self.backward_scaled(loss, 1.0);
    }

    /// `backward` of `scale * loss`: every gradient comes out multiplied by `scale` (loss
    /// scaling, for gradients that would underflow in f16; a power of two changes no bit of
    /// the f32 arithmetic). The optimizer divides it out again (`Adam::grad_scale`).
    pub fn backward_scaled(&self, loss: &Var, scale: f32) {
        assert_eq!(
            loss.value.numel(),
            1,
            "backward needs a scalar loss, got shape {:?}",
            loss.shape()
        );
        self.check_own(loss);
        let Some(root) = loss.node else { return };
        let nodes = std::mem::take(&mut *self.nodes.borrow_mut());
        let mut grads: Vec<Option<Tensor>> = vec![None; nodes.len()];
        grads[root] = Some(Tensor::from_slice(loss.value.gpu(), loss.shape(), &[scale]));
        for (i, node) in nodes.into_iter().enumerate().rev() {
            let Some(g) = grads[i].take() else { continue };
            match node {
                Node::Leaf(param) => param.accumulate(g),
                Node::Op { inputs, backward } => {
                    let needs: Vec<bool> = inputs.iter().map(Option::is_some).collect();
                    let input_grads = backward(&g, &needs);
                    assert_eq!(
                        input_grads.len(),
                        inputs.len(),
                        "a backward rule returned the wrong number of gradients"
                    );
                    for (input, ig) in inputs.into_iter().zip(input_grads) {
                        if let (Some(j), Some(ig)) = (input, ig) {
                            grads[j] = Some(match grads[j].take() {
                                Some(old) => crate::ops::elementwise::add(&old, &ig),
                                None => ig,
                            });
                        }
                    }
                }
            }
        }
    }
}

fn next_tape_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

//! The tape: nodes appended in the order ops run, so walking it backwards visits every node
//! after all the nodes that used its output. Gradients live in a table indexed by node while
//! `backward` runs, and land in the parameters' `grad` at the leaves, adding to what is
//! already there until `Param::zero_grad`.
//!
//! A tape made with `Tape::inference()` records nothing: ops return plain values and every
//! intermediate is freed (its buffer back in the pool) as soon as the model drops it.

use crate::tensor::Tensor;
use std::cell::RefCell;
use std::rc::Rc;

/// A trainable tensor with a name (PyTorch's state_dict key) and its accumulated gradient.
pub struct Param {
    pub name: String,
    pub value: Tensor,
    pub grad: RefCell<Option<Tensor>>,
}

impl Param {
    pub fn new(name: impl Into<String>, value: Tensor) -> Rc<Param> {
        Rc::new(Param {
            name: name.into(),
            value,
            grad: RefCell::new(None),
        })
    }

    pub fn zero_grad(&self) {
        self.grad.replace(None);
    }

    fn accumulate(&self, g: Tensor) {
        let mut grad = self.grad.borrow_mut();
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
}

impl Var {
    /// The same value cut off from the tape: no gradient flows back through it.
    pub fn detach(&self) -> Var {
        Var {
            value: self.value.clone(),
            node: None,
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
    Leaf(Rc<Param>),
    Op {
        inputs: Vec<Option<usize>>,
        backward: Backward,
    },
}

pub struct Tape {
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
            recording: true,
            nodes: RefCell::new(Vec::new()),
            frozen: Default::default(),
        }
    }

    /// A tape that records nothing, for inference.
    pub fn inference() -> Tape {
        Tape {
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
        Var { value, node: None }
    }

    /// A parameter as a leaf: its gradient is accumulated into `param.grad`.
    /// Makes `params` constants on this tape: gradients still flow through the ops that use
    /// them, but none is computed for them (the discriminator while the generator learns).
    pub fn freeze(&self, params: &[Rc<Param>]) {
        self.frozen
            .borrow_mut()
            .extend(params.iter().map(Rc::as_ptr));
    }

    pub fn param(&self, param: &Rc<Param>) -> Var {
        if !self.recording || self.frozen.borrow().contains(&Rc::as_ptr(param)) {
            return Var {
                value: param.value.clone(),
                node: None,
            };
        }
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(Node::Leaf(param.clone()));
        Var {
            value: param.value.clone(),
            node: Some(nodes.len() - 1),
        }
    }

    /// Records an op's output; `backward` runs later only if some input needs a gradient.
    pub fn record(
        &self,
        value: Tensor,
        inputs: &[&Var],
        backward: impl Fn(&Tensor, &[bool]) -> Vec<Option<Tensor>> + 'static,
    ) -> Var {
        if !self.recording || inputs.iter().all(|v| v.node.is_none()) {
            return Var { value, node: None };
        }
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(Node::Op {
            inputs: inputs.iter().map(|v| v.node).collect(),
            backward: Box::new(backward),
        });
        Var {
            value,
            node: Some(nodes.len() - 1),
        }
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

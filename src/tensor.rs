//! Tensors: f32 arrays on the GPU with a shape.
//!
//! Layout: row-major over the shape, images as NCHW (batch, channel, height, width), the
//! layout PyTorch uses, so weights and activations compare one to one. A tensor owns (shares,
//! when cloned or reshaped) one pooled buffer, from its start, or is a slice of a larger one at
//! an aligned offset (`Tensor::slices`: the optimizer keeps all its parameters in one buffer;
//! `Tensor::part`: an op hands out several results of one buffer);
//! its contents never change once an op has written them, except for parameters and optimizer
//! state, which are updated in place between steps.
//!
//! Running out of GPU memory inside an op cannot be handled there, so it unwinds with the
//! `Error` as the panic payload; the binary turns it into a one-line message (see `main.rs`).

use crate::gpu::{Gpu, GpuBuffer, View};
use std::fmt;
use std::sync::Arc;

#[derive(Clone)]
pub struct Tensor {
    shape: Vec<usize>,
    buffer: Arc<GpuBuffer>,
    /// Where the values start in `buffer`, in elements: a multiple of the adapter's storage
    /// offset alignment, so a view of the tensor can be bound.
    offset: usize,
    gpu: Gpu,
}

impl Tensor {
    /// A tensor with undefined contents, for an op to write.
    pub fn uninit(gpu: &Gpu, shape: &[usize]) -> Tensor {
        let numel: usize = shape.iter().product();
        let buffer = gpu
            .buffer(numel as u64 * 4)
            .unwrap_or_else(|e| std::panic::panic_any(e));
        Tensor {
            shape: shape.to_vec(),
            buffer: Arc::new(buffer),
            offset: 0,
            gpu: gpu.clone(),
        }
    }

    pub fn zeros(gpu: &Gpu, shape: &[usize]) -> Tensor {
        let t = Tensor::uninit(gpu, shape);
        t.clear();
        t
    }

    /// Tensors of the given shapes as consecutive slices of one zeroed buffer, each starting
    /// at an aligned element, and the buffer's length in elements. Element i of the buffer
    /// belongs to at most one of them; the gaps stay zero.
    pub fn slices(gpu: &Gpu, shapes: &[Vec<usize>]) -> (Vec<Tensor>, usize) {
        let align = gpu.align_elements();
        let mut offsets = Vec::with_capacity(shapes.len());
        let mut end = 0;
        for shape in shapes {
            offsets.push(end);
            end += shape.iter().product::<usize>().next_multiple_of(align);
        }
        let whole = Tensor::zeros(gpu, &[end.max(1)]);
        let tensors = shapes
            .iter()
            .zip(offsets)
            .map(|(shape, offset)| Tensor {
                shape: shape.clone(),
                buffer: whole.buffer.clone(),
                offset,
                gpu: gpu.clone(),
            })
            .collect();
        (tensors, end)
    }

    /// The whole buffer behind a tensor made by `slices`, as one flat tensor of `len` elements.
    pub fn backing(&self, len: usize) -> Tensor {
        assert!(
            len * 4 <= self.buffer.bytes() as usize,
            "backing: {len} elements past the buffer"
        );
        Tensor {
            shape: vec![len],
            buffer: self.buffer.clone(),
            offset: 0,
            gpu: self.gpu.clone(),
        }
    }

    /// Elements `start ..` of this tensor as a tensor of `shape` that shares its buffer (an op
    /// that writes several results into one buffer hands them out so); `start` must be a
    /// multiple of the adapter's storage offset alignment, in elements.
    pub(crate) fn part(&self, start: usize, shape: &[usize]) -> Tensor {
        let numel: usize = shape.iter().product();
        assert!(start + numel <= self.numel(), "part: past the tensor's end");
        assert!(
            start.is_multiple_of(self.gpu.align_elements()),
            "part: start {start} is not aligned"
        );
        Tensor {
            shape: shape.to_vec(),
            buffer: self.buffer.clone(),
            offset: self.offset + start,
            gpu: self.gpu.clone(),
        }
    }

    /// Where the tensor starts in its buffer, in elements (0 unless made by `slices` or `part`).
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Sets every value to zero.
    pub fn clear(&self) {
        let bytes = self.numel() as u64 * 4;
        if bytes > 0 {
            self.gpu.clear(&self.buffer, self.offset as u64 * 4, bytes);
        }
    }

    /// Copies the values of `src`, a tensor of as many elements, into this one.
    pub fn copy_from(&self, src: &Tensor) {
        assert_eq!(self.numel(), src.numel(), "copy_from: sizes differ");
        let bytes = self.numel() as u64 * 4;
        if bytes > 0 {
            let (from, to) = (src.offset as u64 * 4, self.offset as u64 * 4);
            self.gpu.copy(&src.buffer, from, &self.buffer, to, bytes);
        }
    }

    pub fn from_slice(gpu: &Gpu, shape: &[usize], data: &[f32]) -> Tensor {
        let numel: usize = shape.iter().product();
        assert_eq!(
            numel,
            data.len(),
            "shape {shape:?} needs {numel} values, got {}",
            data.len()
        );
        let t = Tensor::uninit(gpu, shape);
        gpu.write(&t.buffer, 0, data);
        t
    }

    /// Waits for the GPU and copies the values back.
    pub fn to_vec(&self) -> Vec<f32> {
        self.gpu
            .read(&self.buffer, self.offset as u64 * 4, self.numel())
    }

    /// `to_vec`, awaiting the GPU instead of blocking (what a browser needs).
    pub async fn to_vec_async(&self) -> Vec<f32> {
        let offset = self.offset as u64 * 4;
        self.gpu
            .read_async(&self.buffer, offset, self.numel())
            .await
    }

    /// Starts reading `tensors` back, one after another in one list (see `Gpu::read_later`).
    pub fn read_later(tensors: &[&Tensor]) -> crate::gpu::ReadBack {
        let gpu = &tensors.first().expect("at least one tensor").gpu;
        let parts: Vec<_> = tensors
            .iter()
            .map(|t| (&*t.buffer, t.offset as u64 * 4, t.numel()))
            .collect();
        gpu.read_later(&parts)
    }

    /// Overwrites the values in place (loading weights, resetting optimizer state).
    pub fn write(&self, data: &[f32]) {
        assert_eq!(
            self.numel(),
            data.len(),
            "writing {} values into a tensor of shape {:?}",
            data.len(),
            self.shape
        );
        self.gpu.write(&self.buffer, self.offset as u64 * 4, data);
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// (N, C, H, W) of a 4-D tensor.
    pub fn nchw(&self) -> (usize, usize, usize, usize) {
        match self.shape[..] {
            [n, c, h, w] => (n, c, h, w),
            _ => panic!("expected an NCHW tensor, got shape {:?}", self.shape),
        }
    }

    /// The same values under another shape with as many elements (no copy).
    pub fn reshape(&self, shape: &[usize]) -> Tensor {
        let numel: usize = shape.iter().product();
        assert_eq!(
            numel,
            self.numel(),
            "cannot reshape {:?} to {shape:?}",
            self.shape
        );
        Tensor {
            shape: shape.to_vec(),
            buffer: self.buffer.clone(),
            offset: self.offset,
            gpu: self.gpu.clone(),
        }
    }

    /// The whole tensor as one binding. Ops that cannot split their work call this; past the
    /// adapter's binding limit it unwinds with an `Error` (as running out of memory does),
    /// which the binary prints as one line, so the user can take a smaller batch or tile.
    pub fn view(&self) -> View<'_> {
        let bytes = (self.numel() as u64 * 4).max(4);
        if bytes > self.gpu.max_binding() {
            std::panic::panic_any(crate::Error(format!(
                "a tensor of shape {:?} ({} MiB) is larger than this GPU's storage binding limit ({} MiB) for this op: try a smaller batch, crop or tile",
                self.shape,
                bytes >> 20,
                self.gpu.max_binding() >> 20
            )));
        }
        View {
            buffer: &self.buffer,
            offset: self.offset as u64 * 4,
            bytes,
        }
    }

    /// Elements `start .. start + len` as a binding; `start` must be a multiple of the adapter's
    /// storage offset alignment (in elements), see `ops::chunks`.
    pub fn range(&self, start: usize, len: usize) -> View<'_> {
        assert!(start + len <= self.numel());
        View {
            buffer: &self.buffer,
            offset: (self.offset + start) as u64 * 4,
            bytes: (len as u64 * 4).max(4),
        }
    }

    /// The binding that holds elements `start .. start + len` although `start` need not be
    /// aligned: the window begins at the aligned element below `start`, returned second, so a
    /// kernel adds it to its indices.
    pub fn window(&self, start: usize, len: usize) -> (View<'_>, usize) {
        let align = self.gpu.align_elements();
        let base = start % align;
        (self.range(start - base, len + base), base)
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor{:?}", self.shape)
    }
}

//! The networks of the SRGAN paper (Ledig et al. 2017, Figure 4), built from `crate::nn`
//! layers: the SRResNet generator, the discriminator, and the VGG19 feature extractor of the
//! perceptual loss; and LPIPS, the perceptual distance `eval` reports.

pub mod discriminator;
pub mod lpips;
pub mod srresnet;
pub mod vgg;

pub use discriminator::Discriminator;
pub use lpips::Lpips;
pub use srresnet::{Generator, GeneratorConfig};
pub use vgg::{Vgg19, VggLayer};

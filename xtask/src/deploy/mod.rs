//! What deploying is made of: the AWS connection, the CloudFormation stack, the images (built
//! without a container engine) and the registry they are pushed to. The tasks that use these are
//! in `tasks/deploy.rs` and `tasks/images.rs`.

pub mod aws;
pub mod change_set;
pub mod emulator;
pub mod events;
pub mod image;
pub mod oci;
pub mod one_off;
pub mod origin;
pub mod registry;
pub mod resources;
pub mod stack;
pub mod template;
#[cfg(test)]
mod template_checks;

//! The lab's control plane: what functions, versions and aliases exist and how an alias routes.

pub mod alias;

//! The lab reads a SAM or CloudFormation template: [`translate`] expands it into plain
//! CloudFormation with the real SAM translator, its local code staged.

mod stage;
pub mod translate;

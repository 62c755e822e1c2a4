//! Rollout model.

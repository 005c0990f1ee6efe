//! The kvitt node.

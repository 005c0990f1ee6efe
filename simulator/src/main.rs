//! kvitt simulator.
fn main() {}

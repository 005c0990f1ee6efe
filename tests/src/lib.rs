//! End-to-end tests live in `tests/tests/`: they start `kvitt` node processes on loopback
//! and drive them through the client API. This library is empty on purpose.

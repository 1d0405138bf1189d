//! Helpers for the end-to-end tests in `tests/tests/`: start a workspace
//! binary, read its port from the ready line, and stop it.

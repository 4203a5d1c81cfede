//! `strata-workspace-hack`: no code. Its dependencies, with the features the whole workspace
//! enables, make every member's build compile them the same way (see its `Cargo.toml`).

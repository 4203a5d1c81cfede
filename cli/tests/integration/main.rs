//! The integration tests of the `strata` binary and its engine: sqllogictest files, CLI
//! behaviour (formats, exit codes, stdin, stats), registration and refresh.

mod cli;
mod common;
mod slt;

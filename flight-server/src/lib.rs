//! `strata-flight`: Strata's Arrow Flight SQL server.
//!
//! It sits on top of `strata-engine` (`catalog ← engine ← flight-server ← cli`) and serves the
//! whole client surface real drivers need: statements, prepared statements with parameters,
//! updates, catalog metadata, GetSqlInfo, GetXdbcTypeInfo, cancellation and session options.
//! Main types: [`StrataFlightSql`] (the service), [`ServerConfig`], [`bind`] / [`Listening`]
//! (the listener), [`Auth`] (users, API tokens, signed bearer tokens) and [`Role`].

mod auth;
mod boundary;
mod config;
mod connections;
mod error;
mod handles;
mod limits;
mod metadata;
mod policy;
mod querylog;
mod server;
mod service;
mod session;

pub use auth::{Auth, Principal, hash_password, new_api_token, sha256_hex};
pub use boundary::panic_message;
pub use config::{AuthConfig, LimitsConfig, Role, ServerConfig, TokenEntry, UserEntry};
pub use error::{Error, Result};
pub use server::{Listening, bind};
pub use service::{RESULT_CACHE_HEADER, STATS_HEADER, StrataFlightSql};

//! The Rising Stars HTTP API: routes by the spec's sections, built from configuration in `startup`.

pub mod config;
pub mod problem;
pub mod routes;
pub mod startup;
pub mod state;

//! The Rising Stars HTTP API: routes by the spec's sections, built from configuration in `startup`.

pub mod allow;
pub mod auth;
pub mod config;
pub mod domain;
pub mod errors;
pub mod fields;
pub mod json;
pub mod middleware;
pub mod outbox;
pub mod problem;
pub mod rankings;
pub mod routes;
pub mod startup;
pub mod state;
pub mod upload;
pub mod web;

//! The Rising Stars HTTP API: routes by the spec's sections, built from configuration in `startup`.

pub mod auth;
pub mod config;
pub mod domain;
pub mod fresh_cache;
pub mod http;
pub mod integrity;
pub mod lines;
pub mod mail;
pub mod migrate;
pub mod outbox;
pub mod rankings;
pub mod reads;
pub mod results;
pub mod routes;
pub mod showcase;
pub mod startup;
pub mod state;
pub mod upload;
pub mod verification;
pub mod web;

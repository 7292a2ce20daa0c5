//! The local environment the tasks stand up, each piece idempotently and saying what it does:
//! Debian packages, the Python tools' venv, PostgreSQL, the AWS emulator, a private OCI registry,
//! the web app's build, and the product itself as child processes with its mail folder.

pub mod apt;
pub mod mail;
pub mod moto;
pub mod postgres;
pub mod product;
pub mod registry_server;
pub mod venv;
pub mod web;

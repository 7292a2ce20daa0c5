//! The API's settings: the shared ones (see `showcase::config`) plus its own.
//!
//! Variables read here:
//! - `LISTEN_ADDR`: address and port to serve on (default `127.0.0.1:8080` in dev,
//!   `0.0.0.0:8080` in production, where the load balancer must reach it).

use std::net::SocketAddr;

use showcase::config::{
    ConfigError, DatabaseSettings, QueueSettings, RunMode, StorageSettings, parse_or,
};

#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: RunMode,
    pub listen_addr: SocketAddr,
    pub database: DatabaseSettings,
    pub storage: StorageSettings,
    pub queue: QueueSettings,
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let mode = RunMode::from_env()?;
        let default_addr = match mode {
            RunMode::Dev => SocketAddr::from(([127, 0, 0, 1], 8080)),
            RunMode::Production => SocketAddr::from(([0, 0, 0, 0], 8080)),
        };
        Ok(Self {
            mode,
            listen_addr: parse_or("LISTEN_ADDR", default_addr)?,
            database: DatabaseSettings::from_env()?,
            storage: StorageSettings::from_env(mode)?,
            queue: QueueSettings::from_env()?,
        })
    }
}

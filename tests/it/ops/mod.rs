//! Running Quorum for real: idle connections, the connection cap, trusted proxies, settings from
//! the environment, the periodic sweep, graceful restarts and metrics.

mod connections;
mod env;
mod metrics;
mod proxy;
mod restart;
mod sweep;

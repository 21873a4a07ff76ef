//! Easel: a self-hosted AI image studio on Amazon Bedrock.

pub mod api;
pub mod availability;
pub mod bedrock;
pub mod catalogue;
pub mod config;
pub mod domain;
pub mod gallery;
pub mod guard;
pub mod hex;
pub mod http;
pub mod identity;
pub mod metrics;
pub mod off_thread;
pub mod probe;
pub mod startup;
pub mod storage;
pub mod studio;
pub mod telemetry;
pub mod upload;

pub use config::Config;
pub use startup::Application;

use anyhow::Context;
use clap::{Parser, Subcommand};
use easel::{Application, config::RawConfig, probe, startup::shutdown_signal, telemetry};

/// Easel: a self-hosted AI image studio on Amazon Bedrock.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: RawConfig,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the studio (the default).
    Serve,
    /// Exit 0 when the server at EASEL_LISTEN answers /healthz (for container health checks).
    Healthcheck,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = cli.config.parse()?;
    if let Some(Command::Healthcheck) = cli.command {
        std::process::exit(if probe::healthy(config.listen) { 0 } else { 1 });
    }
    telemetry::init();
    let aws = aws_config::load_from_env().await;
    let app = Application::build(config, &aws)
        .await
        .context("starting Easel")?;
    tracing::info!(address = %app.address(), "Easel is listening");
    app.run_until(shutdown_signal()).await.context("serving")?;
    Ok(())
}

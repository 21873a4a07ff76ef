//! `oidc-provider [--port N]`: the sign-in tests' OpenID Connect provider as a server of its
//! own, to try sign-in by hand: any username signs in.
//!
//! Listens on `localhost` and the given port (default 0, any free port), prints the settings
//! that point Easel at it (`EASEL_OIDC_ISSUER`, `EASEL_OIDC_CLIENT_ID`,
//! `EASEL_OIDC_CLIENT_SECRET`) and serves until stopped. It accepts callbacks to Easel on any
//! port of 127.0.0.1.

use std::net::{Ipv4Addr, TcpListener};
use std::process::ExitCode;

use easel_tests::oidc_provider::OidcProvider;

const USAGE: &str = "usage: oidc-provider [--port N]";

fn port(args: &[String]) -> Result<u16, String> {
    match args {
        [] => Ok(0),
        [flag, value] if flag == "--port" => value
            .parse()
            .map_err(|_| format!("the port must be a number from 0 to 65535, got {value:?}")),
        _ => Err(format!("unexpected arguments {args:?}")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = match port(&args) {
        Ok(port) => port,
        Err(problem) => {
            eprintln!("oidc-provider: {problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("oidc-provider: cannot listen on port {port}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let provider = OidcProvider::start_on(listener).await;
    println!(
        "oidc provider listening on {issuer}\n\
         EASEL_AUTH=oidc EASEL_OIDC_ISSUER={issuer} EASEL_OIDC_CLIENT_ID={id} EASEL_OIDC_CLIENT_SECRET={secret}",
        issuer = provider.issuer(),
        id = provider.client_id(),
        secret = provider.client_secret(),
    );
    // Nothing to tidy up: the provider keeps everything in memory.
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}

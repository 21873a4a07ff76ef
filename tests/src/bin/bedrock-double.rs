//! `bedrock-double [--port N] [--host ADDR] [--all-live] [--answer-after-ms N]
//! [--control-plane-after-ms N] [--upscale-to-pixels N] [--not-subscribed MODEL]...`: the Bedrock test double as a
//! server of its own, for `cargo xtask dev` and container smoke tests.
//!
//! Listens on `0.0.0.0` (all interfaces, so a container can reach it) and the given port
//! (also `BEDROCK_DOUBLE_PORT`; default 0, any free port), prints one line
//! `bedrock double listening on http://ADDR:PORT` and serves until SIGTERM or Ctrl-C.
//! With `--all-live` every model it knows is active; without it, models stand where they
//! stand on AWS today. With `--answer-after-ms` every model call, and with
//! `--control-plane-after-ms` every model-list call, is answered that late (the bench's slow
//! Bedrock). `--upscale-to-pixels` sets how large Conservative and Creative Upscale answer
//! (the bench asks for true 4K). Each `--not-subscribed` model has no AWS Marketplace agreement yet (an account that
//! never used it), for the deploy's agreement step.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::process::ExitCode;
use std::time::Duration;

use easel_tests::bedrock_double::BedrockDouble;

const USAGE: &str =
    "usage: bedrock-double [--port N] [--host ADDR] [--all-live] [--answer-after-ms N]
                      [--control-plane-after-ms N] [--upscale-to-pixels N]
                      [--not-subscribed MODEL]...

  --port N             port to listen on (env BEDROCK_DOUBLE_PORT; default 0 = any free port)
  --host ADDR          address to listen on (env BEDROCK_DOUBLE_HOST; default 0.0.0.0)
  --all-live           make every model active (the Titan family too)
  --answer-after-ms N  answer every model call N milliseconds late
  --control-plane-after-ms N
                       answer every model-list call N milliseconds late
  --upscale-to-pixels N
                       Conservative and Creative Upscale answer with about N pixels
                       (default 4194304, 2048x2048 for a square source)
  --not-subscribed MODEL
                       the account has no AWS Marketplace agreement for MODEL (repeatable)";

#[derive(Debug, PartialEq)]
struct Options {
    address: SocketAddr,
    all_live: bool,
    answer_after: Option<Duration>,
    control_plane_after: Option<Duration>,
    upscale_to: Option<u64>,
    not_subscribed: Vec<String>,
}

fn parse(
    mut args: impl Iterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Options, String> {
    let mut host = env("BEDROCK_DOUBLE_HOST");
    let mut port = env("BEDROCK_DOUBLE_PORT");
    let mut all_live = false;
    let mut answer_after = None;
    let mut control_plane_after = None;
    let mut upscale_to = None;
    let mut not_subscribed = Vec::new();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        match flag.as_str() {
            "--port"
            | "--host"
            | "--answer-after-ms"
            | "--control-plane-after-ms"
            | "--upscale-to-pixels"
            | "--not-subscribed" => {
                let value = inline
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("{flag} needs a value"))?;
                match flag.as_str() {
                    "--port" => port = Some(value),
                    "--host" => host = Some(value),
                    "--answer-after-ms" => answer_after = Some(millis(&flag, &value)?),
                    "--not-subscribed" => not_subscribed.push(value),
                    "--upscale-to-pixels" => upscale_to = Some(pixels(&flag, &value)?),
                    _ => control_plane_after = Some(millis(&flag, &value)?),
                }
            }
            "--all-live" if inline.is_none() => all_live = true,
            "-h" | "--help" => return Err(String::new()),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    let port = match port.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(text) => text
            .parse::<u16>()
            .map_err(|_| format!("the port must be a number from 0 to 65535, got {text:?}"))?,
    };
    let host = match host.as_deref().map(str::trim) {
        None | Some("") => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Some(text) => text
            .parse::<IpAddr>()
            .map_err(|_| format!("the host must be an IP address, got {text:?}"))?,
    };
    Ok(Options {
        address: SocketAddr::new(host, port),
        all_live,
        answer_after,
        control_plane_after,
        upscale_to,
        not_subscribed,
    })
}

fn pixels(flag: &str, value: &str) -> Result<u64, String> {
    value
        .trim()
        .parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{flag} must be a positive number of pixels, got {value:?}"))
}

fn millis(flag: &str, value: &str) -> Result<Duration, String> {
    value
        .trim()
        .parse()
        .map(Duration::from_millis)
        .map_err(|_| format!("{flag} must be a number of milliseconds, got {value:?}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1), |key| std::env::var(key).ok()) {
        Ok(options) => options,
        Err(problem) if problem.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("bedrock-double: {problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Some(unknown) = options
        .not_subscribed
        .iter()
        .find(|id| !BedrockDouble::knows(id))
    {
        eprintln!("bedrock-double: --not-subscribed {unknown}: not a model the double knows");
        return ExitCode::from(2);
    }
    let listener = match TcpListener::bind(options.address) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!(
                "bedrock-double: cannot listen on {}: {error}",
                options.address
            );
            return ExitCode::FAILURE;
        }
    };
    let double = BedrockDouble::start_on(listener).await;
    if options.all_live {
        double.set_all_live();
    }
    if let Some(delay) = options.answer_after {
        double.will_answer_after(delay);
    }
    if let Some(delay) = options.control_plane_after {
        double.will_answer_control_plane_after(delay);
    }
    if let Some(pixels) = options.upscale_to {
        double.will_upscale_to(pixels);
    }
    for model in &options.not_subscribed {
        double.model_is_not_subscribed(model);
    }
    println!("bedrock double listening on http://{}", double.address());

    shutdown_signal().await;
    drop(double);
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.expect("listening for Ctrl-C");
    };
    #[cfg(unix)]
    let terminate = async {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("listening for SIGTERM")
            .recv()
            .await;
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str], env: &[(&str, &str)]) -> Result<Options, String> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse(args.iter().map(|arg| arg.to_string()), |key| {
            env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_to_any_port_on_all_interfaces() {
        let options = parse_args(&[], &[]).unwrap();
        assert_eq!(options.address, "0.0.0.0:0".parse().unwrap());
        assert!(!options.all_live);
        assert_eq!(options.answer_after, None);
        assert_eq!(options.control_plane_after, None);
    }

    #[test]
    fn flags_win_over_the_environment() {
        let env = [("BEDROCK_DOUBLE_PORT", "4000")];
        assert_eq!(parse_args(&[], &env).unwrap().address.port(), 4000);
        let options = parse_args(&["--port", "4100", "--all-live"], &env).unwrap();
        assert_eq!(options.address.port(), 4100);
        assert!(options.all_live);
        let options = parse_args(&["--port=4200", "--host=127.0.0.1"], &env).unwrap();
        assert_eq!(options.address, "127.0.0.1:4200".parse().unwrap());
        let options = parse_args(&["--answer-after-ms", "10000"], &env).unwrap();
        assert_eq!(options.answer_after, Some(Duration::from_secs(10)));
        let options = parse_args(&["--control-plane-after-ms=500"], &env).unwrap();
        assert_eq!(
            options.control_plane_after,
            Some(Duration::from_millis(500))
        );
        let options =
            parse_args(&["--not-subscribed", "a.b", "--not-subscribed=c.d"], &env).unwrap();
        assert_eq!(options.not_subscribed, ["a.b", "c.d"]);
        let options = parse_args(&["--upscale-to-pixels", "8294400"], &env).unwrap();
        assert_eq!(options.upscale_to, Some(8_294_400));
    }

    #[test]
    fn bad_arguments_are_explained() {
        assert!(
            parse_args(&["--port", "http"], &[])
                .unwrap_err()
                .contains("port")
        );
        assert!(
            parse_args(&["--port"], &[])
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(
            parse_args(&["--answer-after-ms", "soon"], &[])
                .unwrap_err()
                .contains("milliseconds")
        );
        assert!(
            parse_args(&["--upscale-to-pixels", "0"], &[])
                .unwrap_err()
                .contains("positive number of pixels")
        );
        assert!(
            parse_args(&["--colour"], &[])
                .unwrap_err()
                .contains("--colour")
        );
    }
}

//! `oomlab`: the native command line front end. It turns arguments into core
//! calls and prints what core returns; the model itself lives in `oomlab-core`.

use clap::{CommandFactory, FromArgMatches, Parser};

#[derive(Parser, Debug)]
#[command(
    name = "oomlab",
    about = "Deterministic simulator of the Linux OOM killer / OOM reaper race"
)]
struct Cli {}

/// Traces are only comparable between runs of the same model, so the version
/// users quote must name the model version, not just the package version.
fn version() -> String {
    format!(
        "{} (model version {})",
        env!("CARGO_PKG_VERSION"),
        oomlab_core::MODEL_VERSION
    )
}

fn main() {
    let matches = Cli::command().version(version()).get_matches();
    let _cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // No subcommands yet: with none given, say what this binary is.
    println!("oomlab {}", version());
}

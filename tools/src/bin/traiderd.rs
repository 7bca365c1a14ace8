//! `traiderd`: the TRAIDER daemon.
//!
//! - `traiderd run --config config/paper.toml` paper-trades live Coinbase market data.
//! - `traiderd replay --config config/replay.toml --capture FILE [--journal-dir DIR] [--json]`
//!   runs a recorded session through the same engine as fast as the machine allows.
//! - `traiderd journal dump DIR` prints a journal.

use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use traider_tools::{dump, replay, run, summary};

#[derive(Parser)]
#[command(name = "traiderd", version, about = "TRAIDER trading daemon")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Trade: paper mode (live market data, simulated fills) until Ctrl-C.
    Run {
        #[arg(long)]
        config: PathBuf,
        /// Journal directory for this session (default: a new one under [journal] dir).
        #[arg(long)]
        journal_dir: Option<PathBuf>,
        /// Print the final summary as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Replay a capture through the engine with simulated fills, as fast as possible.
    Replay {
        #[arg(long)]
        config: PathBuf,
        /// A cryptofeed capture (zstd JSONL), e.g. the recorded Coinbase session.
        #[arg(long)]
        capture: PathBuf,
        #[arg(long)]
        journal_dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Journal tools.
    Journal {
        #[command(subcommand)]
        command: JournalCommand,
    },
}

#[derive(Subcommand)]
enum JournalCommand {
    /// Print every record.
    Dump {
        dir: PathBuf,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// Only records of this kind (md_frame, products, feed, timer, order_new, fill, ...).
        #[arg(long)]
        kind: Option<String>,
        /// First sequence number to print.
        #[arg(long)]
        from: Option<u64>,
        /// Last sequence number to print.
        #[arg(long)]
        to: Option<u64>,
        /// Characters of each input frame to show (text mode).
        #[arg(long, default_value_t = 160)]
        frame_bytes: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    traider_tools::init_logging();
    match execute(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("traiderd: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn execute(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Run {
            config,
            journal_dir,
            json,
        } => {
            let outcome = run::run(&run::RunArgs {
                config,
                journal_dir,
            })?;
            print_summary(&outcome.summary, json)
        }
        Command::Replay {
            config,
            capture,
            journal_dir,
            json,
        } => {
            let outcome = replay::replay(&replay::ReplayArgs {
                config,
                capture,
                journal_dir,
            })?;
            print_summary(&outcome.summary, json)
        }
        Command::Journal {
            command:
                JournalCommand::Dump {
                    dir,
                    json,
                    kind,
                    from,
                    to,
                    frame_bytes,
                },
        } => {
            let args = dump::DumpArgs {
                dir: &dir,
                json,
                kind: kind.as_deref(),
                from_seq: from,
                to_seq: to,
                frame_bytes,
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            dump::dump(&args, &mut out)?;
            out.flush()?;
            Ok(())
        }
    }
}

fn print_summary(value: &serde_json::Value, json: bool) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        writeln!(out, "{value}")?;
    } else {
        write!(out, "{}", summary::human(value))?;
    }
    Ok(())
}

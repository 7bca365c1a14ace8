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
use traiderd::config::DaemonConfig;
use traiderd::inspect::{self, dump};
use traiderd::modes::{self as run, replay};
use traiderd::summary;

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
        /// Journal directory (default: [journal] dir). An existing journal is replayed into the
        /// engine first, then the daemon continues it.
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
        /// Journal directory. An existing one is rebuilt and the capture resumes after its
        /// last input (default: a new directory under [journal] dir).
        #[arg(long)]
        journal_dir: Option<PathBuf>,
        /// Feed at most this many inputs per second (default: as fast as possible).
        #[arg(long)]
        max_rate: Option<u32>,
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
    /// Check every record. Exit 0: clean; 2: clean up to a torn tail (the last append before a
    /// crash, which opening the journal cuts); 1: a bad record, named by segment and offset.
    Verify {
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Counts and bytes by record kind, sequence and time range.
    Stats {
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Delete a journal's oldest segments (whole files, oldest first; the newest is always
    /// kept). For archived journals: a journal that lost its first segment can no longer
    /// be resumed by `run` or `replay`, which rebuild state from the first record.
    Prune {
        dir: PathBuf,
        /// Keep at most this many segments.
        #[arg(long)]
        keep_segments: Option<usize>,
        /// Delete segments last written longer ago than this ("30d", "12h").
        #[arg(long, value_parser = humantime::parse_duration)]
        older_than: Option<std::time::Duration>,
        #[arg(long)]
        json: bool,
    },
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
        /// The config that wrote the journal: names every instrument index by its product
        /// (by default the journal's own market data names those it synced).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Run {
            config,
            journal_dir,
            json,
        } => run::run(&run::RunArgs {
            config,
            journal_dir,
        })
        .and_then(|outcome| print_summary(&outcome.summary, json)),
        Command::Replay {
            config,
            capture,
            journal_dir,
            max_rate,
            json,
        } => replay::replay(&replay::ReplayArgs {
            config,
            capture,
            journal_dir,
            max_rate,
        })
        .and_then(|outcome| print_summary(&outcome.summary, json)),
        Command::Journal { command } => journal(command),
    };
    match result {
        Ok(code) => code,
        // A reader that stopped reading (`traiderd journal dump DIR | head`) is not an error.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("traiderd: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `traiderd journal ...`.
fn journal(command: JournalCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let code = match command {
        JournalCommand::Verify { dir, json } => {
            let verdict = inspect::verify(&dir)?;
            writeln!(out, "{}", verdict.render(&dir, json))?;
            ExitCode::from(verdict.exit_code())
        }
        JournalCommand::Prune {
            dir,
            keep_segments,
            older_than,
            json,
        } => {
            let report = inspect::prune(&dir, keep_segments, older_than)?;
            writeln!(out, "{}", inspect::render_prune(&report, &dir, json))?;
            ExitCode::SUCCESS
        }
        JournalCommand::Stats { dir, json } => {
            let stats = inspect::stats(&dir)?;
            match json {
                true => writeln!(out, "{stats}")?,
                false => write!(out, "{}", inspect::render_stats(&stats))?,
            }
            ExitCode::SUCCESS
        }
        JournalCommand::Dump {
            dir,
            json,
            kind,
            from,
            to,
            frame_bytes,
            config,
        } => {
            let products = config
                .map(|path| {
                    let config = DaemonConfig::load(&path)?;
                    anyhow::Ok(
                        config
                            .product_ids()
                            .into_iter()
                            .map(str::to_owned)
                            .collect::<Vec<_>>(),
                    )
                })
                .transpose()?;
            let args = dump::DumpArgs {
                dir: &dir,
                json,
                kind: kind.as_deref(),
                from_seq: from,
                to_seq: to,
                frame_bytes,
                products: products.as_deref(),
            };
            dump::dump(&args, &mut out)?;
            ExitCode::SUCCESS
        }
    };
    out.flush()?;
    Ok(code)
}

fn print_summary(value: &serde_json::Value, json: bool) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        writeln!(out, "{value}")?;
    } else {
        write!(out, "{}", summary::human(value))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`); colours only on a terminal.
fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let stderr = std::io::stderr;
    let ansi = stderr().is_terminal();
    tracing_subscriber::fmt()
        .with_writer(stderr)
        .with_ansi(ansi)
        .with_env_filter(filter)
        .init();
}

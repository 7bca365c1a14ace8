//! `traiderctl`: the operator's client for the TRAIDER daemon's admin HTTP API.
//!
//! - `traiderctl status|positions|orders|limits show` reads; `kill [--flatten]`, `resume`,
//!   `cancel-all`, `strategy enable|disable` and `limits set NAME VALUE` command.
//! - `traiderctl token new --name NAME --role ROLE` and `traiderctl totp --secret-file PATH`
//!   work offline.
//!
//! This file only parses arguments; the work is in the `traiderctl` library, whose crate doc
//! lists the exit codes.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use traider_admin_api::Role;
use traiderctl::{self as ctl, AdminClient, Call, ClientOptions, CtlError, NewToken};

#[derive(Parser)]
#[command(
    name = "traiderctl",
    version,
    about = "Operate a running TRAIDER daemon through its admin HTTP API",
    after_help = ctl::EXIT_CODES_HELP
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Global {
    /// The daemon's admin endpoint: http://HOST:PORT, https://HOST:PORT or HOST:PORT.
    #[arg(
        long,
        global = true,
        env = "TRAIDER_ADMIN_ADDR",
        default_value = ctl::ADDR_DEFAULT,
        value_parser = parse_addr,
        value_name = "URL"
    )]
    addr: String,
    /// A file holding the bearer token (whitespace around it is trimmed). Without it the
    /// token is read from the environment variable TRAIDER_TOKEN.
    #[arg(long, global = true, value_name = "PATH")]
    token_file: Option<PathBuf>,
    /// The current 6-digit code from the authenticator app, for resume, strategy enable and
    /// loosening a limit (sent with every command when given).
    #[arg(long, global = true, value_name = "CODE", value_parser = parse_totp)]
    totp: Option<String>,
    /// A PEM CA certificate to trust, for a daemon with a self-signed TLS certificate.
    #[arg(long, global = true, env = "TRAIDER_ADMIN_CA", value_name = "PATH")]
    ca_cert: Option<PathBuf>,
    /// Print the daemon's JSON answer (pretty) instead of the human rendering.
    #[arg(long, global = true)]
    json: bool,
    /// Give up on connecting, and on the whole request, after this long.
    #[arg(
        long,
        global = true,
        default_value_t = 5000,
        value_parser = clap::value_parser!(u64).range(1..),
        value_name = "N"
    )]
    timeout_ms: u64,
    /// Trace each request on stderr (never the token or the TOTP code).
    #[arg(short, long, global = true)]
    verbose: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Trading state, controls, P&L, counters and books.
    Status,
    /// Positions and P&L per instrument.
    Positions,
    /// Live orders, oldest first.
    Orders,
    /// Show or change the risk limits.
    Limits {
        #[command(subcommand)]
        command: LimitsCommand,
    },
    /// Kill switch: halt trading and cancel every open order (operator).
    Kill {
        /// Also flatten every position.
        #[arg(long)]
        flatten: bool,
    },
    /// Back to active trading (admin, --totp).
    Resume,
    /// Cancel every open order; the trading state stays (operator).
    CancelAll,
    /// Switch the strategy on (admin, --totp) or off (operator).
    Strategy {
        #[command(subcommand)]
        command: StrategyCommand,
    },
    /// Bearer tokens for the daemon's config (offline).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Print the current TOTP code for a base32 secret kept in a file (offline).
    Totp {
        #[arg(long, value_name = "PATH")]
        secret_file: PathBuf,
    },
}

#[derive(Subcommand)]
enum LimitsCommand {
    /// Every risk limit now.
    Show,
    /// Set one limit (admin; loosening it needs --totp).
    Set {
        /// The limit, e.g. max_position or daily_loss_limit.
        name: String,
        /// The new value: decimal text for sizes and money, an integer for bps, counts, ms.
        #[arg(allow_hyphen_values = true)]
        value: String,
        /// The product id, for a per-instrument limit.
        #[arg(long, value_name = "PRODUCT")]
        instrument: Option<String>,
    },
}

#[derive(Subcommand)]
enum StrategyCommand {
    /// Switch the strategy on (admin, --totp).
    Enable,
    /// Switch the strategy off (operator).
    Disable,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make a random token, print it once with the [[admin.tokens]] lines for the config.
    New {
        /// The identity's name: 1 to 24 characters of [A-Za-z0-9_.-].
        #[arg(long, value_parser = parse_name)]
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Viewer,
    Operator,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Viewer => Role::Viewer,
            RoleArg::Operator => Role::Operator,
            RoleArg::Admin => Role::Admin,
        }
    }
}

fn parse_addr(text: &str) -> Result<String, CtlError> {
    ctl::normalize_addr(text)
}

fn parse_totp(text: &str) -> Result<String, CtlError> {
    ctl::parse_totp_code(text)
}

fn parse_name(text: &str) -> Result<String, CtlError> {
    ctl::check_token_name(text).map(|()| text.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = run(cli);
    let mut stdout = std::io::stdout().lock();
    match result {
        Ok(text) => match writeln!(stdout, "{}", text.trim_end()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(ctl::Exit::Unexpected.code()),
        },
        Err(error) => {
            eprintln!("traiderctl: {error}");
            ExitCode::from(error.exit().code())
        }
    }
}

/// What to print on success.
fn run(cli: Cli) -> Result<String, CtlError> {
    let Global { json, .. } = cli.global;
    let call = match cli.command {
        Command::Token {
            command: TokenCommand::New { name, role },
        } => {
            let new = NewToken::generate(&name, role.into())?;
            return Ok(if json {
                ctl::pretty(&new.to_json())
            } else {
                new.render()
            });
        }
        Command::Totp { secret_file } => {
            let unix_s = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            return ctl::totp_from_file(&secret_file, unix_s);
        }
        Command::Status => Call::Status,
        Command::Positions => Call::Positions,
        Command::Orders => Call::Orders,
        Command::Limits {
            command: LimitsCommand::Show,
        } => Call::LimitsShow,
        Command::Limits {
            command:
                LimitsCommand::Set {
                    name,
                    value,
                    instrument,
                },
        } => Call::LimitsSet {
            limit: name,
            value,
            instrument,
        },
        Command::Kill { flatten } => Call::Kill { flatten },
        Command::Resume => Call::Resume,
        Command::CancelAll => Call::CancelAll,
        Command::Strategy { command } => Call::Strategy {
            enabled: matches!(command, StrategyCommand::Enable),
        },
    };
    call_daemon(&cli.global, &call)
}

fn call_daemon(global: &Global, call: &Call) -> Result<String, CtlError> {
    let token_env = std::env::var("TRAIDER_TOKEN").ok();
    let token = ctl::resolve_token(global.token_file.as_deref(), token_env.as_deref())?;
    let options = ClientOptions {
        ca_cert: global.ca_cert.clone(),
        timeout_ms: global.timeout_ms,
        totp: global.totp.clone(),
        verbose: global.verbose,
    };
    let client = AdminClient::new(&global.addr, &token, &options)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CtlError::Client {
            reason: format!("no tokio runtime: {e}"),
        })?;
    runtime.block_on(ctl::execute(&client, call, global.json))
}

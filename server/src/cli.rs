//! The command line: `berth serve` (default), `migrate`, `admin create`, `token create`,
//! `audit verify`.
use crate::config::Config;
use berth_core::{audit, tokens, users, Ctx};
use berth_model::{InstanceRole, Scope};
use clap::{Parser, Subcommand};
use std::io::BufRead;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "berth",
    version,
    about = "Berth: a self-hosted control panel for Docker sites"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the panel (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users from the shell.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Manage API tokens from the shell.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage the master key that seals secrets.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Check the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a user; the password is read from standard input.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long, default_value = "admin")]
        role: String,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token and print it once.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "read")]
        scope: String,
        /// e.g. 30d, 12h; no expiry when absent.
        #[arg(long)]
        expires_in: Option<String>,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Make a new master key and re-seal every secret under it; the old key stays in the key
    /// file to open values until they are re-sealed, so running servers keep working.
    RotateKey,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the hash chain; exits 1 and names the first bad event when it is broken.
    Verify,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berth: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli.command.unwrap_or(Command::Serve))) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("berth: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn service_err(e: berth_core::ServiceError) -> anyhow::Error {
    match e {
        berth_core::ServiceError::Invalid { field, message } => {
            anyhow::anyhow!("{field}: {message}")
        }
        other => anyhow::anyhow!("{other}"),
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    let config = Config::from_env()?;
    match command {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
            crate::launch_with_listener(config, listener, crate::shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            crate::build_state(&config).await?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    username,
                    role,
                    password_stdin: _,
                },
        } => {
            let role: InstanceRole = role
                .parse()
                .map_err(|m: String| anyhow::anyhow!("--role {m}"))?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            let password = line.trim_end_matches(['\n', '\r']);
            let state = crate::build_state(&config).await?;
            let user = users::create_from_cli(&state, &username, password, role)
                .await
                .map_err(service_err)?;
            println!("created {} ({})", user.username, user.instance_role);
            Ok(ExitCode::SUCCESS)
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    username,
                    name,
                    scope,
                    expires_in,
                },
        } => {
            let scope: Scope = scope
                .parse()
                .map_err(|m: String| anyhow::anyhow!("--scope {m}"))?;
            let state = crate::build_state(&config).await?;
            let created = tokens::create(
                &state,
                &Ctx::system(),
                Some(&username),
                &name,
                scope,
                expires_in.as_deref().unwrap_or(""),
            )
            .await
            .map_err(service_err)?;
            println!("{}", created.secret);
            Ok(ExitCode::SUCCESS)
        }
        Command::Secrets {
            command: SecretsCommand::RotateKey,
        } => {
            let state = crate::build_state(&config).await?;
            let id = state.secrets.rotate().map_err(service_err)?;
            let n = berth_core::secrets::reseal_all(&state)
                .await
                .map_err(service_err)?;
            println!("new master key {id}; re-sealed {n} secrets");
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let state = crate::build_state(&config).await?;
            let report = audit::verify(&state.db).await.map_err(service_err)?;
            if report.ok {
                println!("audit chain intact: {} events", report.events_checked);
                Ok(ExitCode::SUCCESS)
            } else {
                println!(
                    "audit chain BROKEN at event {}: {}",
                    report.first_bad_seq.unwrap_or_default(),
                    report.problem.unwrap_or_default()
                );
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

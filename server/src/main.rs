//! The `berth` binary.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    berth_server::cli::main()
}

//! The `berth` binary.
#![forbid(unsafe_code)]

/// jemalloc keeps freed pages for ~10 s before giving them back (glibc gives back at once
/// whatever is free above 128 KiB), so a dashboard's next 30-day query reuses the last one's
/// memory instead of faulting in fresh pages: a third of such a query's time with glibc
/// (`make bench`, BENCHMARKS.md "Issue 13").
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    berth_server::cli::main()
}

//! The `timemachine` command: DataFusion's SQL plus MaxCompute's time machine statements.

fn main() -> std::process::ExitCode {
    datafusion_timemachine::cli::main()
}

fn main() -> std::process::ExitCode {
    alliance_sim::cli::main()
}

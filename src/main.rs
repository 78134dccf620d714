fn main() {
    if let Err(code) = ordo::run(std::env::args_os()) {
        std::process::exit(code);
    }
}

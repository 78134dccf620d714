//! The `ordo` binary: everything is in the library; this only maps the outcome to an exit code.

// mimalloc: the loader and the runner allocate many small nodes and strings; the system
// allocator spent 40% of a 100k-manifest `validate` in malloc and free.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if let Err(code) = ordo::run(std::env::args_os()) {
        std::process::exit(code);
    }
}

//! Release builds of `strata` for x86-64 Linux link the functions a fresh process runs next to
//! each other (`symbol-order.txt.gz`, made by `scripts/symbol_order.py`), so a cold process
//! reads far less of its own binary from disk: see docs/performance.md, "Function order".
//!
//! Only when the linker takes `--symbol-ordering-file` (LLD: rust-lld, the default of rustup's
//! toolchains for this target since Rust 1.90), which a trivial program linked first with the
//! same compiler, flags and linker shows; otherwise, or with `STRATA_SYMBOL_ORDER=off`, the
//! build goes on without the ordering.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

fn main() {
    println!("cargo:rerun-if-changed=symbol-order.txt.gz");
    for name in [
        "STRATA_SYMBOL_ORDER",
        "RUSTC_LINKER",
        "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER",
    ] {
        println!("cargo:rerun-if-env-changed={name}");
    }
    if var("PROFILE") != "release"
        || var("TARGET") != "x86_64-unknown-linux-gnu"
        || var("STRATA_SYMBOL_ORDER") == "off"
    {
        return;
    }
    let out = PathBuf::from(var("OUT_DIR"));
    if !linker_takes_ordering(&out) {
        println!(
            "cargo:warning=the linker does not take --symbol-ordering-file (not LLD): \
             strata is linked without its function order"
        );
        return;
    }
    let mut names = String::new();
    let read = std::fs::File::open("symbol-order.txt.gz")
        .and_then(|file| flate2::read::GzDecoder::new(file).read_to_string(&mut names));
    if let Err(e) = read {
        println!("cargo:warning=symbol-order.txt.gz not used: {e}");
        return;
    }
    let list = out.join("symbol-order.txt");
    std::fs::write(&list, names).expect("cannot write the symbol order into OUT_DIR");
    // -Xlinker passes each argument whole (-Wl, would split a path at its commas).
    for arg in [
        "-Xlinker".to_string(),
        format!("--symbol-ordering-file={}", list.display()),
        "-Xlinker".to_string(),
        // Functions renamed since the file was made are skipped, silently.
        "--no-warn-symbol-ordering".to_string(),
    ] {
        println!("cargo:rustc-link-arg-bin=strata={arg}");
    }
}

/// Link `fn main() {}` with this build's compiler, target, flags and linker, and the option.
fn linker_takes_ordering(out: &Path) -> bool {
    let source = out.join("order_probe.rs");
    if std::fs::write(&source, "fn main() {}\n").is_err() {
        return false;
    }
    let mut cmd = Command::new(var("RUSTC"));
    cmd.args([
        "--crate-type=bin",
        "--edition=2021",
        "--target",
        &var("TARGET"),
    ])
    .arg("-o")
    .arg(out.join("order_probe"))
    .args(["-C", "link-arg=-Xlinker", "-C"])
    .arg("link-arg=--symbol-ordering-file=/dev/null")
    .args(
        var("CARGO_ENCODED_RUSTFLAGS")
            .split('\x1f')
            .filter(|flag| !flag.is_empty()),
    );
    let linker = var("RUSTC_LINKER");
    if !linker.is_empty() {
        cmd.arg("-C").arg(format!("linker={linker}"));
    }
    cmd.arg(&source)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

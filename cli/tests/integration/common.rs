//! Shared set-up: the built binary, fixtures, temporary catalogs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The committed fixture lakes (`applogs` by day, `rides` by year/month).
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// A temporary directory with a catalog; the `strata` binary runs inside it.
pub struct Lake {
    pub dir: tempfile::TempDir,
}

impl Lake {
    pub fn new() -> Self {
        Lake {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn catalog(&self) -> String {
        format!("sqlite:{}", self.dir.path().join("strata.db").display())
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Run `strata ARGS` with this lake's catalog and optional stdin.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
        cmd.current_dir(self.dir.path())
            .env("STRATA_CATALOG", self.catalog())
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("run strata");
        if let Some(input) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write stdin");
        }
        child.wait_with_output().expect("wait for strata")
    }

    /// Run and require success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args, None);
        assert!(
            out.status.success(),
            "strata {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Register both fixture lakes.
    pub fn with_fixtures(self) -> Self {
        let f = fixtures();
        self.ok(&[
            "table",
            "register",
            "applogs",
            "--location",
            f.join("applogs").to_str().expect("utf-8 path"),
        ]);
        self.ok(&[
            "table",
            "register",
            "rides",
            "--location",
            f.join("rides").to_str().expect("utf-8 path"),
        ]);
        self
    }
}

// SPDX-License-Identifier: Apache-2.0
//! Shared helpers of the CLI's flow tests: the reference server on loopback, the `vistalid`
//! binary run with piped standard input (so PINs come from stdin, as in a script), and a
//! loopback URL that nothing listens on.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use vistalid_server::{RunningServer, ServerConfig};

/// The PIN the flow tests choose (not trivial, so the policy accepts it).
pub(crate) const PIN: &str = "581937";

/// `vistalid --state-dir STATE ARGS…`, in English, with no client secret in the environment.
pub(crate) fn vistalid(state: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vistalid"));
    cmd.arg("--state-dir")
        .arg(state)
        .args(args)
        .env("VISTALID_LANG", "en")
        .env_remove("VISTALID_CLIENT_SECRET");
    cmd
}

/// Runs `cmd` with `stdin` as its standard input; returns what it printed and its status.
pub(crate) fn run(mut cmd: Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that exits before reading its input closes the pipe: not an error here.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

/// Standard output and error of `out`, for assertion messages.
pub(crate) fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The process's exit code (`-1` if a signal ended it).
pub(crate) fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// A loopback URL where nothing listens (a port just freed by the OS).
pub(crate) fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// The reference server on a free loopback port, with its database in `dir`.
pub(crate) fn start_server(rt: &tokio::runtime::Runtime, dir: &Path) -> RunningServer {
    rt.block_on(vistalid_server::start(ServerConfig::for_tests(dir)))
        .unwrap()
}

/// The Unix permission bits of `path`.
pub(crate) fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

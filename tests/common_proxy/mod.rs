//! Shared by the `--validate` tests: a tiny recording proxy on localhost (HTTPS_PROXY) that
//! sees each CONNECT and refuses it, so the binary's requests are observed without leaving the
//! machine, and a directory holding a generated fake GitHub token.

#![allow(dead_code)] // each test crate uses a different subset

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common_hostile::{keyhound, run, write, Run};
use keyhound::rules::templates::{expand, ExampleRng};

/// A proxy that records the first line of every connection and answers 403.
pub struct Proxy {
    pub url: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    pub fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let lines = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&lines);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                // The request head is read in full before answering: closing with unread
                // bytes would reset the connection before the client reads the 403.
                let mut reader = BufReader::new(&stream);
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                log.lock().unwrap().push(line.trim_end().to_string());
                let mut header = String::new();
                loop {
                    header.clear();
                    match reader.read_line(&mut header) {
                        Ok(n) if n > 0 && !header.trim().is_empty() => {}
                        _ => break,
                    }
                }
                let _ = stream.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
            }
        });
        Proxy { url, lines }
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

pub fn github_token(seed: u64) -> String {
    expand("@{github:ghp}", &mut ExampleRng::new(seed)).unwrap()
}

/// A directory with one GitHub token written in two files (one secret, two findings).
pub fn repo_with_token() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let token = github_token(7);
    write(dir.path(), "a.env", format!("GITHUB_TOKEN={token}\n"));
    write(dir.path(), "b.env", format!("GH={token}\n"));
    (dir, token)
}

/// `keyhound ARGS` in `dir` with the proxy variables set to `proxy` and nothing else.
pub fn scan(dir: &Path, proxy: &Proxy, args: &[&str]) -> Run {
    let mut cmd = keyhound();
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "KEYHOUND_VALIDATE",
    ] {
        cmd.env_remove(var);
    }
    run(cmd
        .current_dir(dir)
        .env("HTTPS_PROXY", &proxy.url)
        .args(args))
}

//! A webhook receiver on loopback: answers each POST with the next status of a script (200
//! once the script runs out) and hands every request it got to the test.

use std::collections::HashMap;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// Header names (lower case) and values.
    pub headers: HashMap<String, String>,
    /// The body.
    pub body: String,
    /// The status it was answered with.
    pub answered: u16,
}

/// A running receiver.
pub struct Receiver {
    /// Its URL.
    pub url: String,
    requests: mpsc::UnboundedReceiver<Received>,
}

impl Receiver {
    /// Starts a receiver that answers with `script` in turn, then 200.
    pub async fn start(script: Vec<u16>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a receiver");
        let url = format!("http://{}/hook", listener.local_addr().expect("address"));
        let (sender, requests) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut script = script.into_iter();
            while let Ok((stream, _)) = listener.accept().await {
                answer(stream, script.next().unwrap_or(200), &sender).await;
            }
        });
        Self { url, requests }
    }

    /// Starts a receiver on `https://127.0.0.1` that always answers 200, with a certificate
    /// issued by a CA made for it. Returns the receiver and the CA certificate (PEM), which
    /// the server must be told to trust.
    pub async fn start_tls() -> (Self, String) {
        let (ca_pem, acceptor) = crate::test_tls::receiver_tls();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a receiver");
        let url = format!("https://{}/hook", listener.local_addr().expect("address"));
        let (sender, requests) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                if let Ok(stream) = acceptor.accept(stream).await {
                    answer(stream, 200, &sender).await;
                }
            }
        });
        (Self { url, requests }, ca_pem)
    }

    /// The next request, if one comes within `limit`.
    pub async fn next(&mut self, limit: std::time::Duration) -> Option<Received> {
        tokio::time::timeout(limit, self.requests.recv()).await.ok().flatten()
    }
}

/// Reads one request from `stream`, answers it with `status` and reports it.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    status: u16,
    sender: &mpsc::UnboundedSender<Received>,
) {
    let mut stream = BufReader::new(stream);
    let mut headers = HashMap::new();
    let mut line = String::new();
    // The request line, then headers up to the blank line.
    let _ = stream.read_line(&mut line).await;
    loop {
        line.clear();
        if stream.read_line(&mut line).await.unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.trim_end().split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    let _ = stream.read_exact(&mut body).await;
    let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    let _ = stream.get_mut().write_all(reply.as_bytes()).await;
    let _ = stream.get_mut().shutdown().await;
    let body = String::from_utf8_lossy(&body).into_owned();
    let _ = sender.send(Received { headers, body, answered: status });
}

//! The admin listener's HTTP/1.1: one request per connection, bounded in count, size and time.
//!
//! Hand-rolled over `std::net` with `httparse` for the request head, rather than a server
//! crate: three routes and `Connection: close` need no keep-alive, chunking or bodies, and the
//! three bounds the listener promises (connections, head size, read time) are each one line
//! here instead of whatever a crate's own pool and timeouts do.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use super::{metrics, MAX_CONNECTIONS, MAX_REQUEST, READ_WAIT};
use crate::context::Shared;

/// Connections open now.
static OPEN: AtomicUsize = AtomicUsize::new(0);

/// Accept connections forever, each on a thread of its own, at most [`MAX_CONNECTIONS`] at once.
pub(super) fn accept(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else {
            // EMFILE and the like: wait a little rather than spin.
            thread::sleep(std::time::Duration::from_millis(10));
            continue;
        };
        if OPEN.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
            OPEN.fetch_sub(1, Ordering::AcqRel);
            drop(stream);
            continue;
        }
        let shared = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name("simple-daemon-admin-conn".into())
            .stack_size(128 * 1024)
            .spawn(move || {
                answer(stream, &shared);
                OPEN.fetch_sub(1, Ordering::AcqRel);
            });
        if spawned.is_err() {
            OPEN.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// A response: status, content type, body.
pub(super) struct Response {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Response {
    fn text(status: u16, body: &str) -> Self {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.as_bytes().to_vec(),
        }
    }
}

/// Read one request head within [`READ_WAIT`], answer it, close.
fn answer(mut stream: TcpStream, shared: &Shared) {
    let deadline = Instant::now() + READ_WAIT;
    let _ = stream.set_write_timeout(Some(READ_WAIT));
    let mut buf = vec![0u8; MAX_REQUEST];
    let mut len = 0;
    let response = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            break Some(Response::text(408, "request timeout\n"));
        }
        match stream.read(&mut buf[len..]) {
            Ok(0) => break None,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break Some(Response::text(408, "request timeout\n"))
            }
            Err(_) => break None,
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf[..len]) {
            Ok(httparse::Status::Complete(_)) => break Some(route(&req, shared)),
            Ok(httparse::Status::Partial) if len < MAX_REQUEST => continue,
            Ok(httparse::Status::Partial) => break Some(Response::text(400, "request head too large\n")),
            Err(_) => break Some(Response::text(400, "bad request\n")),
        }
    };
    if let Some(r) = response {
        let head_only = head_request(&buf[..len]);
        let _ = write_response(&mut stream, &r, head_only);
    }
    let _ = stream.shutdown(Shutdown::Write);
}

fn head_request(buf: &[u8]) -> bool {
    buf.starts_with(b"HEAD ")
}

/// The answer to a parsed request.
fn route(req: &httparse::Request<'_, '_>, shared: &Shared) -> Response {
    let (Some(method), Some(target)) = (req.method, req.path) else {
        return Response::text(400, "bad request\n");
    };
    if method != "GET" && method != "HEAD" {
        return Response::text(405, "method not allowed\n");
    }
    let path = target.split('?').next().unwrap_or(target);
    match path {
        "/healthz" => {
            if shared.health.live(Instant::now()) {
                Response::text(200, "ok\n")
            } else {
                Response::text(503, "unhealthy: a tick has run past tick_timeout\n")
            }
        }
        "/readyz" => {
            // The handler's flag too: 503 from the moment a stop signal lands.
            if shared.stop_requested() || crate::signals::stop_signalled() {
                Response::text(503, "stopping\n")
            } else if shared.health.built() {
                Response::text(200, "ready\n")
            } else {
                Response::text(503, "starting\n")
            }
        }
        "/metrics" => {
            let open_metrics = req.headers.iter().any(|h| {
                h.name.eq_ignore_ascii_case("accept")
                    && std::str::from_utf8(h.value).is_ok_and(asks_open_metrics)
            });
            match metrics::page(open_metrics) {
                Ok((content_type, body)) => Response {
                    status: 200,
                    content_type,
                    body: body.into_bytes(),
                },
                Err(_) => Response::text(500, "cannot encode the metrics\n"),
            }
        }
        _ => Response::text(404, "not found\n"),
    }
}

fn write_response(stream: &mut TcpStream, r: &Response, head_only: bool) -> std::io::Result<()> {
    let reason = match r.status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        500 => "Internal Server Error",
        _ => "Service Unavailable",
    };
    let allow = if r.status == 405 {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    let head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{allow}Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        r.status,
        r.content_type,
        r.body.len()
    );
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(&r.body)?;
    }
    stream.flush()
}

/// Whether an `Accept` value prefers OpenMetrics to the text format 0.0.4: its best `q` for
/// `application/openmetrics-text` is above zero and above the best for `text/plain`, `text/*`
/// and `*/*` (a tie gets the text format). Prometheus asks `openmetrics-text;version=1.0.0,...,
/// text/plain;version=0.0.4;q=0.5,*/*;q=0.1`.
fn asks_open_metrics(accept: &str) -> bool {
    let (mut open, mut text) = (0.0f32, 0.0f32);
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let kind = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0)
            .clamp(0.0, 1.0);
        match kind.as_str() {
            "application/openmetrics-text" => open = open.max(q),
            "text/plain" | "text/*" | "*/*" => text = text.max(q),
            _ => {}
        }
    }
    open > 0.0 && open > text
}

#[cfg(test)]
mod tests {
    use super::asks_open_metrics;

    #[test]
    fn accept_is_read_with_its_q_values() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert!(asks_open_metrics(prometheus));
        assert!(asks_open_metrics("application/openmetrics-text"));
        assert!(asks_open_metrics("Application/OpenMetrics-Text; version=1.0.0"));
        assert!(!asks_open_metrics(
            "application/openmetrics-text;q=0, text/plain;q=1"
        ));
        assert!(!asks_open_metrics("application/openmetrics-text;q=0"));
        assert!(!asks_open_metrics(
            "text/plain;q=0.9, application/openmetrics-text;q=0.5"
        ));
        assert!(!asks_open_metrics(
            "application/openmetrics-text;q=0.5, */*;q=0.5"
        ));
        assert!(!asks_open_metrics("*/*"));
        assert!(!asks_open_metrics(""));
    }
}

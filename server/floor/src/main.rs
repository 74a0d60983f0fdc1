//! The floor under `make bench`'s verify/healthz ratios: the two request shapes the benchmark sends,
//! answered by the stack Latchkey is built on (axum on hyper, tokio's multi-threaded runtime, mimalloc)
//! with none of Latchkey's work: no middleware, no service token, no key, no JSON parsing.
//!
//! `GET /healthz` answers `ok`. `POST /v1/keys/verify` reads its body and answers the JSON in
//! `FLOOR_ANSWER`, which `.ci/bench.sh` copies from a real verification, so the bytes on the wire match.
//! What this verify costs over this healthz is the price of the request's shape (a body to read, a longer
//! answer); what Latchkey's verify costs over this one is the verification itself.
//!
//! ```sh
//! FLOOR_ANSWER='{"valid":true}' cargo run --release -p http-floor -- 127.0.0.1:3912
//! ```

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use std::io::Write;
use std::process::ExitCode;

// The same allocator as the latchkey binary: allocation is part of what is compared.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let Some(addr) = std::env::args().nth(1) else {
        return fail("usage: http_floor ADDRESS (e.g. 127.0.0.1:3912), with the verify answer in FLOOR_ANSWER", 2);
    };
    let answer: &'static str = std::env::var("FLOOR_ANSWER").unwrap_or_else(|_| r#"{"valid":true}"#.into()).leak();
    let app = Router::new().route("/healthz", get(|| async { "ok" })).route(
        "/v1/keys/verify",
        post(move |body: Bytes| async move {
            // Read, as a handler that parses it would; the answer does not depend on it.
            std::hint::black_box(body);
            ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], answer).into_response()
        }),
    );
    let served = tokio::runtime::Builder::new_multi_thread().enable_all().build().and_then(|runtime| {
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind(&addr).await?;
            axum::serve(listener, app).await
        })
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(&format!("http_floor: cannot serve on {addr}: {err}"), 1),
    }
}

/// One line on stderr, where `.ci/bench.sh` looks when the floor does not start.
fn fail(message: &str, code: u8) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "{message}");
    ExitCode::from(code)
}

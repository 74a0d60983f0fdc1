//! When a page is live: every island on it hydrated. Islands load their code on their own, in any order,
//! so each reports in, and the last one marks the page (`<body data-hydrated="true">`) for tests and
//! curious operators.

use leptos::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Islands hydrated on this page so far (each page load starts a new wasm instance).
static HYDRATED: AtomicUsize = AtomicUsize::new(0);

/// Call first in every island: once the island is hydrated, counts it, and marks the page live when it is
/// the last of the page's islands.
pub fn island_live() {
    // Effects run in the browser only, after the island's own hydration.
    Effect::new(|_| {
        let hydrated = HYDRATED.fetch_add(1, Ordering::SeqCst) + 1;
        let document = document();
        let islands = document.query_selector_all("leptos-island").map_or(usize::MAX, |all| all.length() as usize);
        if hydrated >= islands
            && let Some(body) = document.body()
        {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

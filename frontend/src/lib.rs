//! The browser bundle: hydrates the interactive islands of the page the server rendered.

// Links the portal's crate, whose islands each export the function that hydrates them; nothing here names
// them, so without this the linker would leave them out.
extern crate app;

/// Entry point called by the hydration script Leptos puts in every page; the islands hydrate after it.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}

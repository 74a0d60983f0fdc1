//! Inline SVG marks.

use leptos::prelude::*;

/// Latchkey's mark: a key in a rounded square.
#[component]
pub fn KeyMark() -> impl IntoView {
    view! {
        <svg class="brand-mark" viewBox="0 0 32 32" width="28" height="28" aria-hidden="true" focusable="false">
            <rect width="32" height="32" rx="8" fill="currentColor"/>
            <circle cx="12" cy="16" r="5" fill="none" stroke="#fff" stroke-width="2.5"/>
            <path d="M17 16h9m-3 0v4m-3-4v3" fill="none" stroke="#fff" stroke-width="2.5" stroke-linecap="round"/>
        </svg>
    }
}

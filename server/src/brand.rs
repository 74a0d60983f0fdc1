//! The provider's brand, served: the accent colour's style sheet (`/brand.css`) and a logo file
//! (`/brand/logo`) when the logo is one.

use crate::config::brand::{Accent, Logo};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// What `/brand.css` and `/brand/logo` answer.
#[derive(Debug, Clone, Default)]
pub struct BrandAssets {
    /// The style sheet with the accent colour, when one is set.
    pub style_sheet: Option<String>,
    /// The logo, when it is a file.
    pub logo: Option<Logo>,
}

impl BrandAssets {
    /// The assets for `accent` and `logo`.
    pub fn new(accent: Option<Accent>, logo: Option<Logo>) -> Self {
        Self { style_sheet: accent.map(|accent| accent.style_sheet()), logo }
    }
}

/// `GET /brand.css`: empty when no accent is set.
pub async fn style_sheet(State(assets): State<BrandAssets>) -> Response {
    let body = assets.style_sheet.unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=300")], body)
        .into_response()
}

/// `GET /brand/logo`: the logo file, or 404 when the logo is not a file.
pub async fn logo(State(assets): State<BrandAssets>) -> Response {
    match assets.logo {
        Some(Logo::File { content_type, bytes }) => {
            let mut response = bytes.as_ref().clone().into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
            // An SVG opened on its own must not run script.
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
            );
            response
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

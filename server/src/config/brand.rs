//! The provider's brand on the portal: an accent colour that stays readable, and a logo from a URL or a file.

use std::path::Path;

/// Largest logo file served.
pub const MAX_LOGO_BYTES: usize = 512 * 1024;
/// WCAG 2 AA: normal text needs this contrast ratio with its background.
pub const MIN_CONTRAST: f64 = 4.5;

/// An accent colour that white text on it, and it as text on white, can be read against (WCAG AA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accent {
    rgb: [u8; 3],
}

impl Accent {
    /// Parses `#rrggbb` or `#rgb` and checks its contrast with white.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let hex = raw.strip_prefix('#').unwrap_or(raw);
        let digits: Vec<u8> = hex
            .chars()
            .map(|c| c.to_digit(16).and_then(|d| u8::try_from(d).ok()))
            .collect::<Option<_>>()
            .ok_or_else(|| format!("'{raw}' is not a colour like #1d4ed8"))?;
        let rgb = match digits.as_slice() {
            [r, g, b] => [r * 17, g * 17, b * 17],
            [r1, r2, g1, g2, b1, b2] => [r1 * 16 + r2, g1 * 16 + g2, b1 * 16 + b2],
            _ => return Err(format!("'{raw}' is not a colour like #1d4ed8")),
        };
        let accent = Self { rgb };
        let ratio = accent.contrast_with_white();
        if ratio < MIN_CONTRAST {
            return Err(format!(
                "'{raw}' has a contrast of {ratio:.2}:1 with white; buttons (white text on it) and links (it on \
                 white) need at least {MIN_CONTRAST}:1 (WCAG AA). Choose a darker shade."
            ));
        }
        Ok(accent)
    }

    /// `#rrggbb`.
    pub fn hex(&self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.rgb[0], self.rgb[1], self.rgb[2])
    }

    /// WCAG 2's contrast ratio between this colour and white.
    pub fn contrast_with_white(&self) -> f64 {
        (1.0 + 0.05) / (relative_luminance(self.rgb) + 0.05)
    }

    /// The style sheet that puts the accent where the portal's own colour was.
    pub fn style_sheet(&self) -> String {
        let hex = self.hex();
        format!(
            ":root {{\n  --brand: {hex};\n  --brand-strong: color-mix(in srgb, {hex} 80%, black);\n  \
             --brand-soft: color-mix(in srgb, {hex} 9%, white);\n  --focus: {hex};\n}}\n"
        )
    }
}

/// WCAG 2's relative luminance of an sRGB colour.
fn relative_luminance(rgb: [u8; 3]) -> f64 {
    let linear = |channel: u8| {
        let c = f64::from(channel) / 255.0;
        if c <= 0.040_45 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2])
}

/// Where the logo comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum Logo {
    /// Shown from the provider's own server.
    Url(String),
    /// Read at start-up and served at `/brand/logo`.
    File {
        /// Its media type.
        content_type: &'static str,
        /// The bytes.
        bytes: std::sync::Arc<Vec<u8>>,
    },
}

impl std::fmt::Debug for Logo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Url(url) => f.debug_tuple("Url").field(url).finish(),
            Self::File { content_type, bytes } => write!(f, "File({content_type}, {} bytes)", bytes.len()),
        }
    }
}

impl Logo {
    /// An https URL (http on localhost), or a readable image file of at most 512 KiB.
    pub fn load(raw: &str) -> Result<Self, String> {
        if raw.starts_with("https://") || raw.starts_with("http://") {
            let url = url::Url::parse(raw).map_err(|_| format!("'{raw}' is not a URL"))?;
            let local = url.host_str().is_some_and(super::is_loopback_host);
            if url.scheme() == "http" && !local {
                return Err(format!("'{raw}' must be an https:// URL (http only for localhost)"));
            }
            return Ok(Self::Url(url.to_string()));
        }
        let path = Path::new(raw);
        let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
        let content_type = match extension.as_str() {
            "png" => "image/png",
            "svg" => "image/svg+xml",
            "jpg" | "jpeg" => "image/jpeg",
            "webp" => "image/webp",
            "gif" => "image/gif",
            _ => return Err(format!("'{raw}' is neither an https:// URL nor a .png, .svg, .jpg, .webp or .gif file")),
        };
        let bytes = std::fs::read(path).map_err(|err| format!("cannot read '{raw}': {err}"))?;
        if bytes.len() > MAX_LOGO_BYTES {
            return Err(format!("'{raw}' is {} bytes; a logo may be at most {MAX_LOGO_BYTES}", bytes.len()));
        }
        Ok(Self::File { content_type, bytes: std::sync::Arc::new(bytes) })
    }

    /// The address pages show it from.
    pub fn src(&self) -> String {
        match self {
            Self::Url(url) => url.clone(),
            Self::File { .. } => "/brand/logo".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_that_white_text_cannot_be_read_on_are_refused_with_the_ratio() {
        assert_eq!(Accent::parse("#4338ca").map(|a| a.hex()), Ok("#4338ca".to_owned()));
        assert_eq!(Accent::parse("#000").map(|a| a.hex()), Ok("#000000".to_owned()));
        let err = Accent::parse("#ffcc00").expect_err("yellow is unreadable with white");
        assert!(err.contains("1.") && err.contains("4.5:1"), "{err}");
        // #767676 is the lightest grey that passes on white (4.54:1); #777777 fails (4.48:1).
        assert!(Accent::parse("#767676").is_ok());
        assert!(Accent::parse("#777777").is_err());
        for bad in ["blue", "#12345", "#gggggg", "", "#1234567"] {
            assert!(Accent::parse(bad).expect_err(bad).contains("not a colour"), "{bad}");
        }
    }

    #[test]
    fn the_style_sheet_replaces_the_portal_colour() {
        let sheet = Accent::parse("#0f766e").expect("teal passes").style_sheet();
        assert!(sheet.contains("--brand: #0f766e;"), "{sheet}");
    }

    #[test]
    fn logos_are_https_urls_or_image_files() {
        assert_eq!(
            Logo::load("https://cdn.example.com/logo.svg").map(|l| l.src()),
            Ok("https://cdn.example.com/logo.svg".into())
        );
        assert!(Logo::load("http://cdn.example.com/logo.svg").is_err());
        assert!(Logo::load("/no/such/logo.png").expect_err("missing").contains("cannot read"));
        assert!(Logo::load("/etc/passwd").expect_err("not an image").contains(".png"));
    }
}

//! What a form the browser posted itself (no bundle) did, for the page it comes back to to say: the server
//! function names it in the address it redirects to (`?done=…`, post/redirect/get), and the page reads it.

/// The query parameter that names what a plain form post did, such as `?done=role`.
pub const DONE: &str = "done";

/// `path?done=what#fragment`: the page at `path`, told what was done, opened at the form that did it.
pub fn done_at(path: &str, what: &str, fragment: &str) -> String {
    done_with(path, what, &[], fragment)
}

/// Like [`done_at`], with details of what was done (`?done=revoked&tokens=3`). The names and values are
/// Latchkey's own words and numbers, never text a user typed, so they need no escaping.
pub fn done_with(path: &str, what: &str, details: &[(&str, u64)], fragment: &str) -> String {
    use std::fmt::Write as _;
    let mut address = format!("{path}?{DONE}={what}");
    for (name, value) in details {
        let _ = write!(address, "&{name}={value}");
    }
    address.push('#');
    address.push_str(fragment);
    address
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_outcome_goes_before_the_fragment_so_that_the_page_can_read_it() {
        assert_eq!(super::done_at("/o/a/members", "role", "members"), "/o/a/members?done=role#members");
    }

    #[test]
    fn details_of_what_was_done_come_after_it() {
        assert_eq!(
            super::done_with("/o/a/keys/k", "revoked", &[("tokens", 3)], "key"),
            "/o/a/keys/k?done=revoked&tokens=3#key"
        );
    }
}

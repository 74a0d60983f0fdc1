//! What a form the browser posted itself (no bundle) did, for the page it comes back to to say: the server
//! function names it in the address it redirects to (`?done=…`, post/redirect/get), and the page reads it.

/// The query parameter that names what a plain form post did, such as `?done=role`.
pub const DONE: &str = "done";

/// `path?done=what#fragment`: the page at `path`, told what was done, opened at the form that did it.
pub fn done_at(path: &str, what: &str, fragment: &str) -> String {
    format!("{path}?{DONE}={what}#{fragment}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_outcome_goes_before_the_fragment_so_that_the_page_can_read_it() {
        assert_eq!(super::done_at("/o/a/members", "role", "members"), "/o/a/members?done=role#members");
    }
}

//! Text that tables lay out well: a date that keeps its day and its time together, and an email address
//! that breaks only at its @ and dots.

use leptos::prelude::*;

/// A server-formatted moment such as "7 Dec 2026, 23:03 UTC": the day and the time each on one line, so a
/// narrow column shows it on two lines at most. Text without a comma ("Never") is shown as it is.
#[component]
pub fn When(#[prop(into)] text: String) -> impl IntoView {
    match text.split_once(", ") {
        Some((day, time)) => {
            let (day, time) = (format!("{day},"), time.to_owned());
            view! { <span class="when">{day}</span>" "<span class="when">{time}</span> }.into_any()
        }
        None => view! { <span class="when">{text}</span> }.into_any(),
    }
}

/// An email address that may break after its @ and before its dots rather than inside a word.
#[component]
pub fn Address(#[prop(into)] email: String) -> impl IntoView {
    let parts = break_points(&email);
    view! {
        <span class="address">
            {parts.into_iter().map(|(part, wbr)| view! { {part}{wbr.then(|| view! { <wbr/> })} }).collect_view()}
        </span>
    }
}

/// `email` cut where a line may break: after the @, and before each dot.
fn break_points(email: &str) -> Vec<(String, bool)> {
    if !email.contains('@') {
        return vec![(email.to_owned(), false)];
    }
    let mut parts: Vec<(String, bool)> = Vec::new();
    let mut current = String::new();
    for c in email.chars() {
        if c == '.' && !current.is_empty() {
            parts.push((std::mem::take(&mut current), true));
        }
        current.push(c);
        if c == '@' {
            parts.push((std::mem::take(&mut current), true));
        }
    }
    parts.push((current, false));
    parts
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_address_breaks_after_the_at_and_before_dots_and_loses_nothing() {
        let parts = super::break_points("ann.lee@mail.example.com");
        let joined: String = parts.iter().map(|(part, _)| part.as_str()).collect();
        assert_eq!(joined, "ann.lee@mail.example.com");
        let cut: Vec<(&str, bool)> = parts.iter().map(|(part, wbr)| (part.as_str(), *wbr)).collect();
        assert_eq!(cut, vec![("ann", true), (".lee@", true), ("mail", true), (".example", true), (".com", false)]);
        assert_eq!(super::break_points("not-an-address"), vec![("not-an-address".to_owned(), false)]);
    }
}

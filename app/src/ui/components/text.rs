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

/// An email address that may break after its @ and before its dots, never inside a word.
#[component]
pub fn Address(#[prop(into)] email: String) -> impl IntoView {
    let parts = break_points(&email);
    view! {
        <span class="address">
            {parts.into_iter().map(|(part, wbr)| view! { {part}{wbr.then(|| view! { <wbr/> })} }).collect_view()}
        </span>
    }
}

/// `email` cut where a line may break: after the @, and before each dot of the domain.
fn break_points(email: &str) -> Vec<(String, bool)> {
    let Some((local, domain)) = email.split_once('@') else { return vec![(email.to_owned(), false)] };
    let mut parts = vec![(format!("{local}@"), true)];
    let mut labels = domain.split('.').peekable();
    let mut first = true;
    while let Some(label) = labels.next() {
        let text = if first { label.to_owned() } else { format!(".{label}") };
        first = false;
        parts.push((text, labels.peek().is_some()));
    }
    parts
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_address_breaks_after_the_at_and_before_dots_and_loses_nothing() {
        let parts = super::break_points("ann.lee@mail.example.com");
        let joined: String = parts.iter().map(|(part, _)| part.as_str()).collect();
        assert_eq!(joined, "ann.lee@mail.example.com");
        assert_eq!(
            parts,
            vec![
                ("ann.lee@".to_owned(), true),
                ("mail".to_owned(), true),
                (".example".to_owned(), true),
                (".com".to_owned(), false)
            ]
        );
        assert_eq!(super::break_points("not-an-address"), vec![("not-an-address".to_owned(), false)]);
    }
}

//! A stacked bar chart of verifications, drawn as SVG on the server: readable without JavaScript, and
//! nothing to compute in the browser, so hydration cannot disagree with it. Bars are laid out in percent of
//! the chart's width and text in pixels, so the chart fills a phone or a desktop without scaling its type.
//! Exact values appear above the plot when a bar is hovered or focused (CSS only), and in a table below.

use crate::api::usage::ChartView;
use leptos::prelude::*;

/// The chart, its legend with each code's total, and the same numbers as a table, as the server rendered
/// them (see [`render`]). Set as the content of one element: nothing in it is interactive (hover and focus
/// are CSS), so the browser never walks an SVG tree to hydrate it.
#[component]
pub fn UsageChart(
    /// What to draw, with its HTML.
    chart: ChartView,
) -> impl IntoView {
    view! { <div class="chart-island" inner_html=chart.html></div> }
}

/// Renders `chart` to HTML, on the server: the server functions ship it inside the [`ChartView`].
#[cfg(feature = "ssr")]
pub fn render(chart: &ChartView) -> String {
    draw::chart_html(chart.clone(), chart.title.clone())
}

/// Drawing the chart, on the server only.
#[cfg(feature = "ssr")]
mod draw {
    use crate::api::usage::{ChartView, grouped};
    use leptos::prelude::*;

    /// Height of the bars' area, in pixels.
    const PLOT_HEIGHT: f64 = 160.0;
    /// Room above the plot for the readout of the hovered bar.
    const READOUT_HEIGHT: f64 = 56.0;
    /// Room below the plot for the axis labels and title.
    const AXIS_HEIGHT: f64 = 40.0;
    /// Smallest visible height of a non-zero segment, so a quiet hour next to a huge outlier still shows.
    const MIN_SEGMENT: f64 = 1.5;

    pub(super) fn chart_html(chart: ChartView, title: String) -> String {
        let max = chart.buckets.iter().map(|b| b.counts.iter().sum::<u64>()).max().unwrap_or(0);
        let axis = YAxis::for_max(max);
        let n = chart.buckets.len().max(1);
        let slot = 100.0 / n as f64;
        let label_every = (n / 5).max(1);
        let summary = format!("{}: {} verifications", title, grouped(chart.total));
        let codes = chart.codes.clone();
        let ticks = axis
            .ticks()
            .map(|value| {
                let y = axis.y(value);
                view! {
                    <line class="chart-grid" x1="0" x2="100%" y1=fmt(y) y2=fmt(y)/>
                    <text class="chart-tick" x="-8" y=fmt(y + 4.0) text-anchor="end">{compact(value)}</text>
                }
            })
            .collect_view();
        let bars = chart
            .buckets
            .iter()
            .enumerate()
            .map(|(i, bucket)| {
                let total: u64 = bucket.counts.iter().sum();
                let x = fmt_pct(i as f64 * slot + slot * 0.15);
                let width = fmt_pct(slot * 0.7);
                let mut top = PLOT_HEIGHT;
                let segments = bucket
                    .counts
                    .iter()
                    .zip(&codes)
                    .filter(|(count, _)| **count > 0)
                    .map(|(count, code)| {
                        let height = (PLOT_HEIGHT * *count as f64 / axis.top as f64).max(MIN_SEGMENT);
                        top -= height;
                        view! {
                            <rect class=format!("chart-bar code-{}", code.code.to_lowercase()) x=x.clone() width=width.clone()
                                y=fmt(top) height=fmt(height)/>
                        }
                    })
                    .collect_view();
                let detail: Vec<String> = bucket
                    .counts
                    .iter()
                    .zip(&codes)
                    .filter(|(count, _)| **count > 0)
                    .map(|(count, code)| format!("{} {}", grouped(*count), code.label.to_lowercase()))
                    .collect();
                let described = format!(
                    "{}: {} verifications{}{}",
                    bucket.title,
                    grouped(total),
                    if detail.is_empty() { "" } else { ", " },
                    detail.join(", ")
                );
                let headline = format!("{} · {} verifications", bucket.short_title, grouped(total));
                // Two outcomes a line keeps the readout within a phone's width.
                let lines: Vec<String> = detail.chunks(2).map(|pair| pair.join(" · ")).collect();
                let (first, rest) = match lines.split_first() {
                    Some((first, rest)) => (first.clone(), rest.join(" · ")),
                    None => (String::new(), String::new()),
                };
                view! {
                    <g class="chart-column" tabindex="0" role="img" aria-label=described>
                        <rect class="chart-hit" x=fmt_pct(i as f64 * slot) width=fmt_pct(slot) y="0" height=fmt(PLOT_HEIGHT)/>
                        {segments}
                        <text class="chart-readout" x="0" y=fmt(-READOUT_HEIGHT + 14.0)>
                            <tspan class="chart-readout-head">{headline}</tspan>
                            {line(first)}
                            {line(rest)}
                        </text>
                    </g>
                }
            })
            .collect_view();
        let labels = chart
            .buckets
            .iter()
            .enumerate()
            .filter(|(i, _)| i % label_every == 0 || *i + 1 == n && n < 8)
            .map(|(i, bucket)| {
                view! {
                    <text class="chart-tick" x=fmt_pct(i as f64 * slot + slot / 2.0) y=fmt(PLOT_HEIGHT + 16.0)
                        text-anchor="middle">{bucket.label.clone()}</text>
                }
            })
            .collect_view();
        let empty = (chart.total == 0).then(|| {
            view! {
                <text class="chart-empty" x="50%" y=fmt(PLOT_HEIGHT / 2.0) text-anchor="middle">
                    "No verifications in this period"
                </text>
            }
        });
        let height = READOUT_HEIGHT + PLOT_HEIGHT + AXIS_HEIGHT;
        let legend = chart
            .codes
            .iter()
            .map(|code| {
                view! {
                    <li>
                        <span class=format!("swatch code-{}", code.code.to_lowercase()) aria-hidden="true"></span>
                        <span class="legend-label">{code.label.clone()}</span>
                        <span class="legend-total" data-code=code.code.clone()>{grouped(code.total)}</span>
                    </li>
                }
            })
            .collect_view();
        let axis_label = chart.axis.clone();
        view! {
            <figure class="chart" aria-label=summary>
                <div class="chart-head">
                    <h3 class="chart-title">{title}</h3>
                    <p class="chart-total"><strong data-testid="usage-total">{grouped(chart.total)}</strong> " verifications"</p>
                </div>
                <ul class="chart-legend">{legend}</ul>
                <div class="chart-frame">
                    <svg class="chart-svg" width="100%" height=fmt(height) overflow="visible" role="group"
                        aria-label="Verifications per bucket; focus a bar for its numbers">
                        <g transform=format!("translate(0,{})", fmt(READOUT_HEIGHT))>
                            <text class="chart-hint" x="0" y=fmt(-READOUT_HEIGHT + 14.0)>"Hover over or tap a bar for exact numbers"</text>
                            <text class="chart-axis-title" transform=format!("translate(-42,{}) rotate(-90)", fmt(PLOT_HEIGHT / 2.0))
                                text-anchor="middle">"Verifications"</text>
                            {ticks}
                            {empty}
                            {bars}
                            <line class="chart-baseline" x1="0" x2="100%" y1=fmt(PLOT_HEIGHT) y2=fmt(PLOT_HEIGHT)/>
                            {labels}
                            <text class="chart-axis-title" x="50%" y=fmt(PLOT_HEIGHT + 34.0) text-anchor="middle">{axis_label}</text>
                        </g>
                    </svg>
                </div>
                {chart_table(chart)}
            </figure>
        }
        .to_html()
    }

    /// One more line of a readout, or none when there is nothing to say.
    fn line(text: String) -> Option<impl IntoView> {
        (!text.is_empty()).then(|| view! { <tspan x="0" dy="16">{text}</tspan> })
    }

    /// The chart's numbers as a table, folded away: for screen readers, copying, and anyone who prefers rows.
    fn chart_table(chart: ChartView) -> impl IntoView {
        let heads = chart.codes.iter().map(|code| view! { <th scope="col">{code.label.clone()}</th> }).collect_view();
        let rows = chart
            .buckets
            .iter()
            .map(|bucket| {
                let cells = bucket.counts.iter().map(|count| view! { <td>{grouped(*count)}</td> }).collect_view();
                view! {
                    <tr>
                        <th scope="row">{bucket.title.clone()}</th>
                        <td>{grouped(bucket.counts.iter().sum())}</td>
                        {cells}
                    </tr>
                }
            })
            .collect_view();
        view! {
            <details class="chart-table">
                <summary>"Show the numbers as a table"</summary>
                <div class="table-wrap">
                    <table>
                        <thead><tr><th scope="col">{chart.axis.clone()}</th><th scope="col">"Total"</th>{heads}</tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            </details>
        }
    }

    /// The vertical scale: a round top value and four equal steps up to it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct YAxis {
        top: u64,
        step: u64,
    }

    impl YAxis {
        fn for_max(max: u64) -> Self {
            if max == 0 {
                return Self { top: 4, step: 1 };
            }
            let rough = max.div_ceil(4);
            let magnitude = 10_u64.pow(rough.checked_ilog10().unwrap_or(0));
            let step =
                [1, 2, 5, 10].into_iter().map(|m| m * magnitude).find(|step| *step >= rough).unwrap_or(10 * magnitude);
            Self { top: (max.div_ceil(step) * step).max(step * 2), step }
        }

        fn ticks(self) -> impl Iterator<Item = u64> {
            (0..=self.top / self.step).map(move |i| i * self.step)
        }

        fn y(self, value: u64) -> f64 {
            PLOT_HEIGHT - PLOT_HEIGHT * value as f64 / self.top as f64
        }
    }

    /// 1234 → "1.2k", 5000000 → "5M": axis labels stay narrow.
    fn compact(n: u64) -> String {
        let scaled = |value: f64, unit: &str| {
            let text = format!("{value:.1}");
            format!("{}{unit}", text.strip_suffix(".0").unwrap_or(&text))
        };
        match n {
            0..1_000 => n.to_string(),
            1_000..1_000_000 => scaled(n as f64 / 1e3, "k"),
            1_000_000..1_000_000_000 => scaled(n as f64 / 1e6, "M"),
            _ => scaled(n as f64 / 1e9, "G"),
        }
    }

    fn fmt(value: f64) -> String {
        format!("{value:.1}")
    }

    fn fmt_pct(value: f64) -> String {
        format!("{value:.3}%")
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_scale_rounds_up_to_a_friendly_top_with_four_or_five_steps() {
            assert_eq!(YAxis::for_max(0), YAxis { top: 4, step: 1 });
            assert_eq!(YAxis::for_max(7), YAxis { top: 8, step: 2 });
            assert_eq!(YAxis::for_max(100), YAxis { top: 100, step: 50 });
            assert_eq!(YAxis::for_max(1), YAxis { top: 2, step: 1 });
            assert_eq!(YAxis::for_max(1_000_003), YAxis { top: 1_500_000, step: 500_000 });
            for max in [1, 3, 9, 10, 11, 99, 101, 4_321, 999_999] {
                let axis = YAxis::for_max(max);
                assert!(axis.top >= max, "{max}: {axis:?}");
                assert!((2..=5).contains(&(axis.top / axis.step)), "{max}: {axis:?}");
            }
        }

        #[test]
        fn axis_labels_are_compact() {
            assert_eq!(compact(999), "999");
            assert_eq!(compact(1_000), "1k");
            assert_eq!(compact(1_250), "1.2k");
            assert_eq!(compact(5_000_000), "5M");
        }
    }
}

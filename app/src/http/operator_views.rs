//! What the operator's page shows, built from the studio's operator view: the month's spend as
//! an SVG chart drawn here (no chart library goes to the browser), with its numbers as a table
//! too, what each person spent, and the work in flight.

use askama::Template;
use time::{OffsetDateTime, macros::format_description};

use crate::studio::{ModelLoad, OperatorView, PersonSpend, Usd};

/// The chart's drawing area, in SVG units; it scales to the page's width.
const WIDTH: f64 = 620.0;
const HEIGHT: f64 = 160.0;
/// Room under the bars for the day numbers.
const LABELS: f64 = 18.0;

#[derive(Template)]
#[template(path = "admin.html")]
pub struct OperatorPage {
    pub month_name: String,
    pub spent: String,
    pub held: String,
    pub monthly_cap: Option<String>,
    pub daily_cap: Option<String>,
    pub resets_at: String,
    pub chart: SpendChart,
    pub people: Vec<PersonRow>,
    pub models: Vec<ModelLoad>,
}

impl OperatorPage {
    pub fn new(view: &OperatorView, now: OffsetDateTime) -> Self {
        let month_name = format!("{} {}", now.month(), now.year());
        Self {
            spent: view.month.spent.to_string(),
            held: (view.month.committed - view.month.spent).to_string(),
            monthly_cap: view.caps.monthly.map(|cap| cap.to_string()),
            daily_cap: view.caps.daily_per_browser.map(|cap| cap.to_string()),
            resets_at: view
                .resets_at
                .format(format_description!(
                    "[day padding:none] [month repr:long] [year], [hour]:[minute] UTC"
                ))
                .unwrap_or_default(),
            chart: SpendChart::new(&month_name, &view.days, view.today),
            people: view
                .people
                .iter()
                .map(|person| PersonRow::new(person, view.caps.daily_per_browser))
                .collect(),
            models: view.models.clone(),
            month_name,
        }
    }
}

/// One person's line: who (by name and address when known), today against the daily cap,
/// and the month.
pub struct PersonRow {
    pub who: String,
    pub owner: String,
    pub today: String,
    pub over_daily: bool,
    pub month: String,
}

impl PersonRow {
    fn new(person: &PersonSpend, daily_cap: Option<Usd>) -> Self {
        let who = match (&person.name, &person.email) {
            (Some(name), Some(email)) => format!("{name} <{email}>"),
            (Some(known), None) | (None, Some(known)) => known.clone(),
            (None, None) => "Anonymous browser".to_owned(),
        };
        Self {
            who,
            owner: person.owner.to_string(),
            today: person.today.to_string(),
            over_daily: daily_cap.is_some_and(|cap| person.today >= cap),
            month: person.month.to_string(),
        }
    }
}

/// Spend per day of the month as bars, the highest day's the full height.
#[derive(Template)]
#[template(path = "spend_chart.html")]
pub struct SpendChart {
    pub title: String,
    pub width: f64,
    pub height: f64,
    /// Where the day numbers sit.
    pub label_y: f64,
    pub bars: Vec<Bar>,
    /// The days that spent anything, for the table beside the chart.
    pub spent_days: Vec<(u8, String)>,
}

pub struct Bar {
    pub day: u8,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    /// The middle of the bar, for its day number.
    pub label_x: f64,
    /// "7 December 2026: $0.12", for whoever points at the bar or reads it aloud.
    pub title: String,
    pub today: bool,
    /// Day numbers are written under the 1st, every 5th day and the last.
    pub labelled: bool,
}

impl SpendChart {
    /// `days[0]` is what the 1st spent.
    pub fn new(month_name: &str, days: &[Usd], today: u8) -> Self {
        let highest = days.iter().max().copied().unwrap_or_default().dollars();
        let slot = WIDTH / days.len().max(1) as f64;
        let bars = days
            .iter()
            .zip(1u8..)
            .map(|(spent, day)| {
                let height = if highest > 0.0 {
                    round(spent.dollars() / highest * HEIGHT)
                } else {
                    0.0
                };
                let left = f64::from(day - 1) * slot;
                Bar {
                    day,
                    x: round(left + slot * 0.1),
                    label_x: round(left + slot / 2.0),
                    y: round(HEIGHT - height),
                    width: round(slot * 0.8),
                    height,
                    title: format!("{day} {month_name}: {spent}"),
                    today: day == today,
                    labelled: day == 1 || day % 5 == 0 || usize::from(day) == days.len(),
                }
            })
            .collect();
        Self {
            title: format!("Spend per day, {month_name}"),
            width: WIDTH,
            height: HEIGHT + LABELS,
            label_y: HEIGHT + LABELS - 4.0,
            spent_days: days
                .iter()
                .zip(1u8..)
                .filter(|(spent, _)| **spent > Usd::ZERO)
                .map(|(spent, day)| (day, spent.to_string()))
                .collect(),
            bars,
        }
    }
}

/// A tenth of a unit is as fine as a screen shows.
fn round(units: f64) -> f64 {
    (units * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cents(n: u64) -> Usd {
        Usd::from_dollars(0.01).times(n)
    }

    #[test]
    fn each_day_of_the_month_has_a_bar_as_tall_as_its_spend() {
        let mut november = vec![Usd::ZERO; 30];
        november[0] = cents(8);
        november[6] = cents(2);
        november[29] = cents(4);

        let chart = SpendChart::new("November 2026", &november, 7);

        let days: Vec<u8> = chart.bars.iter().map(|b| b.day).collect();
        assert_eq!(days, (1..=30).collect::<Vec<u8>>());
        let heights: Vec<f64> = [0, 6, 29, 1]
            .iter()
            .map(|i| chart.bars[*i].height)
            .collect();
        assert_eq!(heights, [HEIGHT, HEIGHT / 4.0, HEIGHT / 2.0, 0.0]);
        assert!(chart.bars[6].today);
        assert_eq!(
            chart.spent_days,
            [
                (1, "$0.08".into()),
                (7, "$0.02".into()),
                (30, "$0.04".into())
            ]
        );
    }

    #[test]
    fn the_chart_is_an_svg_with_a_title_and_a_bar_per_day() {
        let svg = SpendChart::new("February 2027", &[cents(1); 28], 1)
            .render()
            .unwrap();

        assert!(svg.contains("<svg"), "{svg}");
        assert!(
            svg.contains("<title id=\"spend-chart-title\">Spend per day, February 2027</title>")
        );
        assert_eq!(svg.matches("<rect").count(), 28, "{svg}");
        assert!(
            svg.contains("<title>28 February 2027: $0.01</title>"),
            "{svg}"
        );
    }

    #[test]
    fn a_month_without_spend_draws_no_bar_height() {
        let chart = SpendChart::new("March 2027", &[Usd::ZERO; 31], 3);
        assert!(chart.bars.iter().all(|b| b.height == 0.0));
        assert!(chart.spent_days.is_empty());
    }
}

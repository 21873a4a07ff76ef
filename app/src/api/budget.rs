//! `GET /api/v1/budget`: what the caller may still spend today, in the numbers the page shows,
//! and whether the deployment's month still takes work. What the month has spent stays the
//! operator's: from it, anyone could work out what everyone else spent.

use axum::{Json, extract::State};
use serde::Serialize;
use time::OffsetDateTime;

use super::{ApiCaller, ApiError, ApiState};
use crate::studio::{Standing, Usd};

#[derive(Debug, Serialize)]
pub struct Budget {
    today: Today,
    month: Month,
}

#[derive(Debug, Serialize)]
struct Today {
    /// Spent and held by work not yet ended, as the page's "Spent today" says.
    spent_usd: f64,
    /// `null`: no daily cap.
    cap_usd: Option<f64>,
    left_usd: Option<f64>,
    #[serde(with = "time::serde::rfc3339")]
    resets_at: OffsetDateTime,
}

#[derive(Debug, Serialize)]
struct Month {
    /// False once the deployment's monthly cap is reached: no one's work is taken until it resets.
    open: bool,
    #[serde(with = "time::serde::rfc3339")]
    resets_at: OffsetDateTime,
}

impl From<Standing> for Budget {
    fn from(standing: Standing) -> Self {
        let spent = standing.today.committed;
        Self {
            today: Today {
                spent_usd: spent.dollars(),
                cap_usd: standing.daily_cap.map(Usd::dollars),
                left_usd: standing.daily_cap.map(|cap| (cap - spent).dollars()),
                resets_at: standing.day_resets_at,
            },
            month: Month {
                open: standing.month_open,
                resets_at: standing.month_resets_at,
            },
        }
    }
}

pub async fn show(
    State(state): State<ApiState>,
    ApiCaller(owner): ApiCaller,
) -> Result<Json<Budget>, ApiError> {
    Ok(Json(state.studio.standing(&owner).await?.into()))
}

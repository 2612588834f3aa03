//! The SSE answer of `GET /api/v1/deploys/{id}/log`: a deploy's log followed until it ends.
use axum::response::sse::Event;
use berth_core::deploy;
use berth_core::AppState;
use std::convert::Infallible;
use std::time::Duration;

/// Follows one deploy's log for an SSE answer: each poll turns what is new since the last into
/// events.
pub struct LogFollower {
    state: AppState,
    ctx: berth_core::Ctx,
    id: i64,
    /// The last line sent (its sequence number).
    after: i64,
    /// The status last sent.
    status: String,
    done: bool,
}

impl LogFollower {
    /// Follows deploy `id` from after line `after`, as `ctx` (who was authorized already).
    pub fn new(state: AppState, ctx: berth_core::Ctx, id: i64, after: i64) -> Self {
        LogFollower {
            state,
            ctx,
            id,
            after,
            status: String::new(),
            done: false,
        }
    }

    /// Between polls.
    const INTERVAL: Duration = Duration::from_millis(200);
    /// The runner stores every line before it records the end, so once the deploy has
    /// finished and a poll returned less than a full page, nothing is left.
    const PAGE: usize = 2_000;

    /// The events of one poll: a `line` per new line, `status` when it changed, and `end`
    /// once the deploy has finished and every line was sent (or `error`); `None` after that.
    async fn poll(&mut self) -> Option<Vec<Event>> {
        if self.done {
            return None;
        }
        let (lines, view) =
            match deploy::log_since(&self.state, &self.ctx, self.id, self.after).await {
                Ok(v) => v,
                Err(e) => {
                    // What any API answer would say: internal causes stay in the server log.
                    self.done = true;
                    let e = berth_model::error::AppError::from(e);
                    return Some(vec![Event::default().event("error").data(e.to_string())]);
                }
            };
        let full_page = lines.len() >= Self::PAGE;
        let mut events = Vec::with_capacity(lines.len() + 2);
        for l in lines {
            self.after = l.seq;
            let data = serde_json::to_string(&l).unwrap_or_default();
            events.push(
                Event::default()
                    .event("line")
                    .id(l.seq.to_string())
                    .data(data),
            );
        }
        if view.status != self.status {
            self.status = view.status.clone();
            let data = serde_json::to_string(&view).unwrap_or_default();
            events.push(Event::default().event("status").data(data));
        }
        if view.finished() && !full_page {
            events.push(Event::default().event("end").data(view.status.clone()));
            self.done = true;
        }
        Some(events)
    }

    /// Polls at once, then every [`Self::INTERVAL`], until the end.
    pub fn into_stream(self) -> impl futures_util::Stream<Item = Result<Event, Infallible>> {
        use futures_util::StreamExt;
        futures_util::stream::unfold((self, true), |(mut f, first)| async move {
            if !first {
                tokio::time::sleep(Self::INTERVAL).await;
            }
            let events = f.poll().await?;
            Some((
                futures_util::stream::iter(events.into_iter().map(Ok)),
                (f, false),
            ))
        })
        .flatten()
    }
}

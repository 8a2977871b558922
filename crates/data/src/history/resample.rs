//! Turning tick history into price paths: [`resample_last`] samples an event
//! stream on a fixed time grid, [`kline_path`] expands one kline into four
//! timed prices.

use super::merge::ReplayEvent;
use crate::error::DataError;

/// Samples the price of an event stream at `steps` boundaries
/// `start_ns + k × step_ns` (`k = 0 .. steps`): element `k` is the price of
/// the last price-bearing event at or before boundary `k` (forward-filled
/// across boundaries with no new event).
///
/// Price-bearing events are [`ReplayEvent::Price`] (its `mark`) and
/// [`ReplayEvent::Trade`] (its `price`); funding events are skipped. To sample
/// marks only (or trades only), filter the stream first. With a
/// [`Replay`](super::merge::Replay) as input, a trade and a mark with the same
/// timestamp resolve to the trade, which the replay yields last.
///
/// The stream is consumed only up to the first event after the last
/// boundary, so it may be much longer than the window. `steps == 0` returns
/// an empty path without reading anything.
///
/// # Errors
///
/// - [`DataError::InvalidInput`] if `step_ns <= 0`, if the last boundary
///   overflows `i64`, or if the events' timestamps decrease;
/// - [`DataError::NoPriceAtStart`] if no price-bearing event is at or before
///   `start_ns` (the window starts before the data);
/// - any error the stream yields.
pub fn resample_last<I>(
    events: I,
    start_ns: i64,
    step_ns: i64,
    steps: usize,
) -> Result<Vec<f64>, DataError>
where
    I: IntoIterator<Item = Result<ReplayEvent, DataError>>,
{
    check_grid(start_ns, step_ns, steps)?;
    if steps == 0 {
        return Ok(Vec::new());
    }
    let mut path = Vec::with_capacity(steps);
    let mut boundary = start_ns;
    let mut last_price: Option<f64> = None;
    let mut previous_ts: Option<i64> = None;
    let mut events = events.into_iter();
    while path.len() < steps {
        let Some(event) = events.next() else {
            break;
        };
        let event = event?;
        let ts = event.ts_ns();
        if let Some(previous) = previous_ts
            && ts < previous
        {
            return Err(DataError::InvalidInput {
                what: "event stream",
                reason: format!("timestamp {ts} ns follows {previous} ns"),
            });
        }
        previous_ts = Some(ts);
        // Every boundary before this event is settled by what came earlier.
        while path.len() < steps && boundary < ts {
            let Some(price) = last_price else {
                let first = match event.price() {
                    Some(_) => Some(ts),
                    None => first_price_ts(&mut events)?,
                };
                return Err(DataError::NoPriceAtStart {
                    start_ns,
                    first_price_ts_ns: first,
                });
            };
            path.push(price);
            // Cannot overflow before the last boundary, which was checked.
            boundary = boundary.saturating_add(step_ns);
        }
        if let Some(price) = event.price() {
            last_price = Some(price);
        }
    }
    // The stream ended: the last price holds for the remaining boundaries.
    if path.len() < steps {
        let Some(price) = last_price else {
            return Err(DataError::NoPriceAtStart {
                start_ns,
                first_price_ts_ns: None,
            });
        };
        path.resize(steps, price);
    }
    Ok(path)
}

/// Refuses a grid with `step_ns <= 0` or whose last boundary overflows `i64`.
fn check_grid(start_ns: i64, step_ns: i64, steps: usize) -> Result<(), DataError> {
    if step_ns <= 0 {
        return Err(DataError::InvalidInput {
            what: "resample step",
            reason: format!("step_ns must be > 0, got {step_ns}"),
        });
    }
    let last_boundary = i64::try_from(steps.saturating_sub(1))
        .ok()
        .and_then(|k| k.checked_mul(step_ns))
        .and_then(|offset| start_ns.checked_add(offset));
    if last_boundary.is_none() {
        return Err(DataError::InvalidInput {
            what: "resample grid",
            reason: format!(
                "{steps} steps of {step_ns} ns from {start_ns} ns overflow the timestamp range"
            ),
        });
    }
    Ok(())
}

/// Timestamp of the next price-bearing event in `events`, for error messages.
fn first_price_ts<I>(events: &mut I) -> Result<Option<i64>, DataError>
where
    I: Iterator<Item = Result<ReplayEvent, DataError>>,
{
    for event in events {
        let event = event?;
        if event.price().is_some() {
            return Ok(Some(event.ts_ns()));
        }
    }
    Ok(None)
}

/// Replays one kline (candle) as a path of four timed prices:
///
/// | time                  | price                                        |
/// |-----------------------|----------------------------------------------|
/// | `ts_ns`               | `open`                                       |
/// | `ts_ns + ¼ interval`  | the extreme in the direction of the move     |
/// | `ts_ns + ½ interval`  | the other extreme                            |
/// | `ts_ns + ¾ interval`  | `close`                                      |
///
/// The direction is that of the candle: a **down** candle (`close < open`)
/// goes open → **low** → high → close; an **up** or unchanged candle
/// (`close >= open`, green on the usual charts) goes open → **high** → low →
/// close. The close is held until the next kline's open at
/// `ts_ns + interval_ns`. Offsets are rounded down to whole nanoseconds.
///
/// Why this order: a kline does not say which extreme came first. The
/// simulator stresses liquidation machinery, so the path is adverse-first for
/// the side the candle's move hurts: in a down candle longs reach their
/// worst price (the low) before any rebound can help them, and shorts in an
/// up candle reach the high first. It is also the longer of the two possible
/// paths (by `2 × |close − open|`), so it never understates the range
/// travelled. The common "nearer extreme first" heuristic would, for a
/// down candle that opened near its high, show longs a rally before the
/// crash.
///
/// This is pure geometry: the caller (which knows the file and row) checks
/// that prices are finite and positive, `low <= min(open, close)`,
/// `high >= max(open, close)` and `interval_ns > 0`. The function never
/// panics; timestamps saturate at the ends of the `i64` range.
#[must_use]
pub fn kline_path(
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    ts_ns: i64,
    interval_ns: i64,
) -> [(i64, f64); 4] {
    let (first, second) = if close < open {
        (low, high)
    } else {
        (high, low)
    };
    let at = |quarters: i64| {
        let offset = i128::from(interval_ns) * i128::from(quarters) / 4;
        let ts = i128::from(ts_ns) + offset;
        i64::try_from(ts).unwrap_or(if ts < 0 { i64::MIN } else { i64::MAX })
    };
    [
        (ts_ns, open),
        (at(1), first),
        (at(2), second),
        (at(3), close),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::trades::Side;

    fn mark(ts_ns: i64, mark: f64) -> Result<ReplayEvent, DataError> {
        Ok(ReplayEvent::Price {
            ts_ns,
            mark,
            index: None,
        })
    }

    fn trade(ts_ns: i64, price: f64) -> Result<ReplayEvent, DataError> {
        Ok(ReplayEvent::Trade {
            ts_ns,
            price,
            size: 1.0,
            side: Side::Buy,
        })
    }

    fn funding(ts_ns: i64) -> Result<ReplayEvent, DataError> {
        Ok(ReplayEvent::Funding {
            ts_ns,
            rate: 0.0001,
            interval_s: 28_800,
        })
    }

    #[test]
    fn samples_last_price_at_or_before_each_boundary() {
        let events = vec![
            mark(0, 100.0),
            trade(5, 101.0),
            funding(10),
            mark(10, 102.0),
            trade(25, 103.0),
            mark(41, 104.0),
        ];
        // Boundaries 0, 10, 20, 30, 40, 50, 60.
        let path = resample_last(events, 0, 10, 7).unwrap();
        assert_eq!(path, [100.0, 102.0, 102.0, 103.0, 103.0, 104.0, 104.0]);
    }

    #[test]
    fn stops_reading_after_the_last_boundary() {
        let events = (0..).map(|i| mark(i * 10, 1.0 + i as f64));
        let path = resample_last(events, 0, 10, 3).unwrap();
        assert_eq!(path, [1.0, 2.0, 3.0]);
    }

    #[test]
    fn window_before_first_price_is_an_error() {
        let err = resample_last(vec![funding(0), mark(7, 1.0)], 5, 1, 3).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::NoPriceAtStart {
                    start_ns: 5,
                    first_price_ts_ns: Some(7)
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("at 7 ns"), "{err}");

        let err = resample_last(vec![funding(0)], 5, 1, 3).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::NoPriceAtStart {
                    first_price_ts_ns: None,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(resample_last(Vec::new(), 0, 1, 1).is_err());
        assert_eq!(
            resample_last(Vec::new(), 0, 1, 0).unwrap(),
            Vec::<f64>::new()
        );
    }

    #[test]
    fn bad_arguments_and_unsorted_events_are_rejected() {
        let err = resample_last(vec![mark(0, 1.0)], 0, 0, 3).unwrap_err();
        assert!(matches!(err, DataError::InvalidInput { .. }), "{err:?}");
        let err = resample_last(vec![mark(0, 1.0)], i64::MAX - 5, 10, 3).unwrap_err();
        assert!(matches!(err, DataError::InvalidInput { .. }), "{err:?}");
        let err = resample_last(vec![mark(5, 1.0), mark(4, 1.0)], 5, 10, 3).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::InvalidInput {
                    what: "event stream",
                    ..
                }
            ),
            "{err:?}"
        );
        let failing = vec![
            mark(0, 1.0),
            Err(DataError::InvalidInput {
                what: "test",
                reason: String::new(),
            }),
        ];
        let err = resample_last(failing, 0, 10, 3).unwrap_err();
        assert!(matches!(err, DataError::InvalidInput { what: "test", .. }));
    }

    #[test]
    fn down_candle_visits_low_first() {
        let path = kline_path(100.0, 105.0, 90.0, 95.0, 1_000, 60_000);
        assert_eq!(
            path,
            [
                (1_000, 100.0),
                (16_000, 90.0),
                (31_000, 105.0),
                (46_000, 95.0)
            ]
        );
    }

    #[test]
    fn up_and_flat_candles_visit_high_first() {
        let up = kline_path(100.0, 110.0, 99.0, 108.0, 0, 4);
        assert_eq!(up, [(0, 100.0), (1, 110.0), (2, 99.0), (3, 108.0)]);
        let flat = kline_path(100.0, 101.0, 99.0, 100.0, 0, 7);
        assert_eq!(flat, [(0, 100.0), (1, 101.0), (3, 99.0), (5, 100.0)]);
    }

    #[test]
    fn kline_timestamps_saturate() {
        let path = kline_path(1.0, 1.0, 1.0, 1.0, i64::MAX - 1, i64::MAX);
        assert_eq!(path[3].0, i64::MAX);
        let path = kline_path(1.0, 1.0, 1.0, 1.0, i64::MIN, -8);
        assert_eq!(path[1].0, i64::MIN);
    }
}

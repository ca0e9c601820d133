//! Durations as flags take them: seconds (`5`, `0.5`, `2s`) or milliseconds (`300ms`).

use std::time::Duration;

/// Seconds (`5`, `0.5`) or milliseconds with an `ms` suffix (`300ms`); never zero.
pub(crate) fn parse_duration(value: &str) -> Result<Duration, String> {
    match parse_duration_or_zero(value)? {
        duration if duration.is_zero() => Err("it must be more than zero".to_owned()),
        duration => Ok(duration),
    }
}

/// As [`parse_duration`], zero included: for a time that may be none (a cache's).
pub(crate) fn parse_duration_or_zero(value: &str) -> Result<Duration, String> {
    let parsed = match value.strip_suffix("ms") {
        Some(millis) => millis.trim().parse::<u64>().map(Duration::from_millis).ok(),
        None => value
            .trim_end_matches('s')
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok()),
    };
    parsed.ok_or_else(|| "expected seconds (5, 0.5) or milliseconds (300ms)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_seconds_or_milliseconds() {
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("300ms"), Ok(Duration::from_millis(300)));
        for bad in ["0", "0ms", "-1", "soon", "1e400", ""] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_duration_or_zero("0"), Ok(Duration::ZERO));
        assert!(parse_duration_or_zero("-1").is_err());
    }
}

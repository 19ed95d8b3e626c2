//! Durations (`"1m30s"`) and byte sizes (`"512m"`).

use std::fmt;
use std::time::Duration;

/// Why a text is not a duration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DurationError {
    /// Not amounts with units, largest first (a bare number is refused: seconds or
    /// milliseconds would be a guess).
    Format,
    /// The amounts add up to zero, which would time out at once.
    Zero,
    /// More milliseconds than 64 bits hold.
    TooLong,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DurationError::Format => {
                "expected a number and a unit (`h`, `m`, `s` or `ms`), largest unit first, \
                 like `500ms`, `30s` or `1m30s`"
            }
            DurationError::Zero => "the duration must be longer than zero",
            DurationError::TooLong => "the duration is too long",
        })
    }
}

impl std::error::Error for DurationError {}

/// Why a text is not a byte size.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SizeError {
    /// Not a whole number with an optional suffix.
    Format,
    /// Zero bytes.
    Zero,
    /// More bytes than 64 bits hold.
    TooLarge,
}

impl fmt::Display for SizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SizeError::Format => {
                "expected a number of bytes with an optional `b`, `k`, `m` or `g` suffix, \
                 like `512m`"
            }
            SizeError::Zero => "the size must be larger than zero",
            SizeError::TooLarge => "the size does not fit in 64 bits",
        })
    }
}

impl std::error::Error for SizeError {}

/// Reads amounts with the units `h`, `m`, `s` and `ms`, largest first, each unit at most once:
/// `"500ms"`, `"30s"`, `"2m"`, `"1m30s"`. Zero is refused.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(dockside_syntax::parse_duration("1h2m"), Ok(Duration::from_secs(3720)));
/// assert!(dockside_syntax::parse_duration("30").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    if text.is_empty() {
        return Err(DurationError::Format);
    }
    let mut rest = text;
    let mut millis: u64 = 0;
    let mut last_unit = None;
    while !rest.is_empty() {
        let (amount, after) = leading_number(rest).ok_or(DurationError::Format)?;
        let (unit, after) = duration_unit(after).ok_or(DurationError::Format)?;
        if last_unit.is_some_and(|last| unit >= last) {
            return Err(DurationError::Format);
        }
        last_unit = Some(unit);
        millis = amount
            .checked_mul(unit)
            .and_then(|part| millis.checked_add(part))
            .ok_or(DurationError::TooLong)?;
        rest = after;
    }
    if millis == 0 {
        return Err(DurationError::Zero);
    }
    Ok(Duration::from_millis(millis))
}

/// Reads a whole number of bytes with an optional suffix `b`, `k`, `m` or `g` (any case; powers
/// of 1024, as `docker run --memory` reads them). Zero is refused.
///
/// ```
/// assert_eq!(dockside_syntax::parse_size("2K"), Ok(2048));
/// ```
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let (amount, suffix) = leading_number(text).ok_or(SizeError::Format)?;
    let scale: u64 = match suffix {
        "" | "b" | "B" => 1,
        "k" | "K" => 1 << 10,
        "m" | "M" => 1 << 20,
        "g" | "G" => 1 << 30,
        _ => return Err(SizeError::Format),
    };
    match amount.checked_mul(scale) {
        Some(0) => Err(SizeError::Zero),
        Some(bytes) => Ok(bytes),
        None => Err(SizeError::TooLarge),
    }
}

/// The decimal number at the start of `text` and what follows it; `None` without digits or when
/// the number does not fit in 64 bits.
fn leading_number(text: &str) -> Option<(u64, &str)> {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, rest) = text.split_at(end);
    Some((digits.parse().ok()?, rest))
}

/// The duration unit at the start of `text`, in milliseconds, and what follows it.
fn duration_unit(text: &str) -> Option<(u64, &str)> {
    // `ms` before `m`: both start with `m`.
    [("ms", 1), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)]
        .into_iter()
        .find_map(|(unit, millis)| text.strip_prefix(unit).map(|rest| (millis, rest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let cases: &[(&str, Result<u64, DurationError>)] = &[
            ("500ms", Ok(500)),
            ("30s", Ok(30_000)),
            ("2m", Ok(120_000)),
            ("1m30s", Ok(90_000)),
            ("1h2m3s4ms", Ok(3_723_004)),
            ("0h1s", Ok(1_000)),
            ("18446744073709551615ms", Ok(u64::MAX)),
            // A bare number: seconds or milliseconds would be a guess.
            ("30", Err(DurationError::Format)),
            ("", Err(DurationError::Format)),
            ("s", Err(DurationError::Format)),
            ("30 s", Err(DurationError::Format)),
            (" 30s", Err(DurationError::Format)),
            ("30sec", Err(DurationError::Format)),
            ("1.5s", Err(DurationError::Format)),
            ("30s1m", Err(DurationError::Format)),
            ("1s1s", Err(DurationError::Format)),
            ("-1s", Err(DurationError::Format)),
            ("+1s", Err(DurationError::Format)),
            ("1m30", Err(DurationError::Format)),
            ("0s", Err(DurationError::Zero)),
            ("0m0ms", Err(DurationError::Zero)),
            // Each part fits in 64 bits, the product does not.
            ("9999999999999999h", Err(DurationError::TooLong)),
            ("18446744073709551615ms1ms", Err(DurationError::Format)),
            ("18446744073709552s", Err(DurationError::TooLong)),
            ("18446744073709551s616ms", Err(DurationError::TooLong)),
            // The amount itself does not fit.
            ("99999999999999999999h", Err(DurationError::Format)),
        ];
        for (text, expected) in cases {
            let actual = parse_duration(text).map(|d| d.as_millis() as u64);
            assert_eq!(&actual, expected, "{text:?}");
        }
    }

    #[test]
    fn sizes() {
        let cases: &[(&str, Result<u64, SizeError>)] = &[
            ("100", Ok(100)),
            ("100b", Ok(100)),
            ("100B", Ok(100)),
            ("2k", Ok(2048)),
            ("512m", Ok(512 << 20)),
            ("512M", Ok(512 << 20)),
            ("1G", Ok(1 << 30)),
            ("", Err(SizeError::Format)),
            ("m", Err(SizeError::Format)),
            ("512mb", Err(SizeError::Format)),
            ("1.5g", Err(SizeError::Format)),
            ("512 m", Err(SizeError::Format)),
            ("-1m", Err(SizeError::Format)),
            ("12t", Err(SizeError::Format)),
            ("0m", Err(SizeError::Zero)),
            ("0", Err(SizeError::Zero)),
            ("99999999999g", Err(SizeError::TooLarge)),
        ];
        for (text, expected) in cases {
            assert_eq!(&parse_size(text), expected, "{text:?}");
        }
    }
}

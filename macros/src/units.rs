//! Durations (`"1m30s"`) and byte sizes (`"512m"`) written as string literals.

/// Milliseconds in `text`: amounts with the units `h`, `m`, `s` and `ms`, largest first, each
/// unit at most once (`"500ms"`, `"30s"`, `"2m"`, `"1m30s"`). Zero is refused.
pub(crate) fn duration_millis(text: &str) -> Result<u64, String> {
    const FORMAT: &str = "expected a number and a unit (`h`, `m`, `s` or `ms`), \
                          largest unit first, like `500ms`, `30s` or `1m30s`";
    let mut rest = text;
    let mut total: u64 = 0;
    let mut last_unit = None;
    if rest.is_empty() {
        return Err(FORMAT.to_owned());
    }
    while !rest.is_empty() {
        let (amount, after) = leading_number(rest).ok_or(FORMAT)?;
        let (unit, after) = duration_unit(after).ok_or(FORMAT)?;
        if last_unit.is_some_and(|last| unit >= last) {
            return Err(FORMAT.to_owned());
        }
        last_unit = Some(unit);
        total = amount
            .checked_mul(unit)
            .and_then(|millis| total.checked_add(millis))
            .ok_or("the duration is too long")?;
        rest = after;
    }
    if total == 0 {
        return Err("the duration must be longer than zero".to_owned());
    }
    Ok(total)
}

/// Bytes in `text`: a whole number with an optional suffix `b`, `k`, `m` or `g`
/// (any case; powers of 1024, as `docker run --memory` reads them). Zero is refused.
pub(crate) fn memory_bytes(text: &str) -> Result<u64, String> {
    const FORMAT: &str = "expected a number of bytes with an optional `b`, `k`, `m` or `g` \
                          suffix, like `512m`";
    let (amount, suffix) = leading_number(text).ok_or(FORMAT)?;
    let scale: u64 = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return Err(FORMAT.to_owned()),
    };
    let bytes = amount
        .checked_mul(scale)
        .ok_or("the size does not fit in 64 bits")?;
    if bytes == 0 {
        return Err("the size must be larger than zero".to_owned());
    }
    Ok(bytes)
}

/// The decimal number at the start of `text` and what follows it.
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
        assert_eq!(duration_millis("500ms"), Ok(500));
        assert_eq!(duration_millis("30s"), Ok(30_000));
        assert_eq!(duration_millis("2m"), Ok(120_000));
        assert_eq!(duration_millis("1m30s"), Ok(90_000));
        assert_eq!(duration_millis("1h2m3s4ms"), Ok(3_723_004));
    }

    #[test]
    fn bad_durations() {
        for text in [
            "", "30", "s", "30 s", "30sec", "1.5s", "30s1m", "1s1s", "-1s", "1m30",
        ] {
            assert!(duration_millis(text).is_err(), "{text:?} accepted");
        }
        assert!(duration_millis("0s").unwrap_err().contains("zero"));
        assert!(duration_millis("99999999999999999999h").is_err());
        assert!(duration_millis("9999999999999999h")
            .unwrap_err()
            .contains("too long"));
    }

    #[test]
    fn sizes() {
        assert_eq!(memory_bytes("100"), Ok(100));
        assert_eq!(memory_bytes("100b"), Ok(100));
        assert_eq!(memory_bytes("2k"), Ok(2048));
        assert_eq!(memory_bytes("512m"), Ok(512 << 20));
        assert_eq!(memory_bytes("512M"), Ok(512 << 20));
        assert_eq!(memory_bytes("1G"), Ok(1 << 30));
    }

    #[test]
    fn bad_sizes() {
        for text in ["", "m", "512mb", "1.5g", "512 m", "-1m", "12t"] {
            assert!(memory_bytes(text).is_err(), "{text:?} accepted");
        }
        assert!(memory_bytes("0m").unwrap_err().contains("zero"));
        assert!(memory_bytes("99999999999g")
            .unwrap_err()
            .contains("64 bits"));
    }
}

//! RFC 3339 timestamps with millisecond precision and a `Z` suffix, the form the Telemetry API
//! uses (`"2022-10-12T00:00:15.064Z"`, Telemetry schema reference). Parsing accepts any RFC 3339
//! timestamp (any precision, any offset), as `chrono`'s `DateTime<Utc>` in `lambda-extension` does.

use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
use time::{OffsetDateTime, UtcOffset, format_description::well_known::Rfc3339};

/// Formats `t` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (converted to UTC, truncated to milliseconds).
pub fn format_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Parses any RFC 3339 timestamp.
pub(crate) fn parse(s: &str) -> Result<OffsetDateTime, time::error::Parse> {
    OffsetDateTime::parse(s, &Rfc3339)
}

/// `#[serde(with = "crate::time_format::rfc3339_millis")]` for `OffsetDateTime` fields.
pub(crate) mod rfc3339_millis {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_millis(*t))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse(&raw)
            .map_err(|e| D::Error::custom(format!("invalid RFC 3339 timestamp {raw:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn parses_any_rfc3339_and_formats_utc_millis() {
        // (input, formatted back)
        let cases = [
            ("2022-10-12T00:00:15.064Z", "2022-10-12T00:00:15.064Z"),
            ("2022-10-12T00:00:15Z", "2022-10-12T00:00:15.000Z"),
            ("2022-10-12T02:00:15.0649+02:00", "2022-10-12T00:00:15.064Z"),
            (
                "2022-10-11T23:59:59.999999999-00:30",
                "2022-10-12T00:29:59.999Z",
            ),
        ];
        for (input, want) in cases {
            let t = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(format_millis(t), want, "{input}");
        }
        for bad in ["2022-08-02T12:01:23:521Z", "1665532815064", ""] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            format_millis(datetime!(0999-01-02 03:04:05.006 UTC)),
            "0999-01-02T03:04:05.006Z"
        );
    }
}

//! The Query protocol's XML, written by hand: a response wraps its result in
//! `<{Action}Response><{Action}Result>` with the request id in `<ResponseMetadata>`; an error is
//! an `<ErrorResponse>`. Every text is escaped ([`escape`]).

use time::OffsetDateTime;
use time::macros::format_description;

use crate::control::stacks::CloudFormationError;

/// CloudFormation's XML namespace.
pub const NAMESPACE: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";

/// CloudFormation's timestamp form: ISO 8601 in UTC with milliseconds.
const TIMESTAMP: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// `t` as CloudFormation writes timestamps (`2026-12-04T18:24:21.123Z`).
pub fn timestamp(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(TIMESTAMP)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// `text` escaped for an XML element's content or attribute: the five markup characters, and
/// carriage returns as references (an XML reader would fold `\r\n` into `\n`). Characters XML
/// 1.0 cannot carry at all (other C0 controls) become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// An XML document being written.
#[derive(Debug, Default)]
pub struct Xml {
    out: String,
}

impl Xml {
    /// Opens `<tag>`.
    pub fn open(&mut self, tag: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    /// Closes `</tag>`.
    pub fn close(&mut self, tag: &str) -> &mut Self {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    /// `<tag>text</tag>`, the text escaped.
    pub fn text(&mut self, tag: &str, text: &str) -> &mut Self {
        self.open(tag);
        self.out.push_str(&escape(text));
        self.close(tag)
    }

    /// A bare text (a plain list member's value), escaped.
    pub fn out_text(&mut self, text: &str) -> &mut Self {
        self.out.push_str(&escape(text));
        self
    }

    /// [`text`](Self::text) when there is one.
    pub fn opt(&mut self, tag: &str, text: Option<&str>) -> &mut Self {
        if let Some(text) = text {
            self.text(tag, text);
        }
        self
    }

    /// `<tag>` with a timestamp.
    pub fn time(&mut self, tag: &str, t: OffsetDateTime) -> &mut Self {
        self.text(tag, &timestamp(t))
    }

    /// `<tag><member>…</member>…</tag>`, each member written by `member`.
    pub fn members<T>(
        &mut self,
        tag: &str,
        items: impl IntoIterator<Item = T>,
        mut member: impl FnMut(&mut Self, T),
    ) -> &mut Self {
        self.open(tag);
        for item in items {
            self.open("member");
            member(self, item);
            self.close("member");
        }
        self.close(tag)
    }
}

/// The response document of `action`: its result written by `result`.
pub fn response(action: &str, request_id: &str, result: impl FnOnce(&mut Xml)) -> String {
    let mut xml = Xml::default();
    xml.out.push_str(&format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{NAMESPACE}\">"
    ));
    xml.open(&format!("{action}Result"));
    result(&mut xml);
    xml.close(&format!("{action}Result"));
    xml.open("ResponseMetadata")
        .text("RequestId", request_id)
        .close("ResponseMetadata");
    xml.close(&format!("{action}Response"));
    xml.out
}

/// The error document of `error`.
pub fn error(error: &CloudFormationError, request_id: &str) -> String {
    let mut xml = Xml::default();
    xml.out.push_str(&format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"{NAMESPACE}\">"
    ));
    xml.open("Error")
        .text("Type", error.code.fault())
        .text("Code", error.code.as_str())
        .text("Message", &error.message)
        .close("Error");
    xml.text("RequestId", request_id);
    xml.close("ErrorResponse");
    xml.out
}

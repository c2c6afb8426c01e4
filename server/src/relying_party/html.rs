// SPDX-License-Identifier: Apache-2.0
//! Just enough HTML reading for the user agent of tests and demos: elements by id or tag,
//! their attributes and text, and forms with their fields. Not a conforming HTML parser: it
//! reads well-formed server-rendered pages (the login pages, the sample service), which is
//! what its users check.
//!
//! Guarantees: never panics on any input (it is fuzzed by the tests with random bytes);
//! comments, `<!DOCTYPE>` and the contents of `<script>` and `<style>` are never taken for
//! elements; attribute values and text come back with character references decoded
//! (`&amp;`, `&lt;`, `&gt;`, `&quot;`, `&#39;`, `&nbsp;`, decimal and hexadecimal); text has
//! its whitespace collapsed.

/// A page's HTML (its start tags read once, on the first look-up, and kept).
#[derive(Debug, Clone)]
pub struct Html {
    text: String,
    elements: std::sync::OnceLock<Vec<Element>>,
}

/// An element's start tag, and where its content lies in the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The tag name, lowercase.
    pub name: String,
    /// The attributes in order, names lowercase, values decoded.
    pub attrs: Vec<(String, String)>,
    /// Byte offset just after the start tag.
    content_start: usize,
}

impl Element {
    /// The value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A form and the fields it would submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// `action` (empty when absent: the page's own URL).
    pub action: String,
    /// `method`, lowercase (`get` when absent).
    pub method: String,
    /// Every named `input` (but unchecked boxes, `submit`, `button`, `file`), `textarea`
    /// and `select`'s first selected option, with its value.
    pub fields: Vec<(String, String)>,
}

impl Form {
    /// The value of field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets field `name` to `value` (added when the form has none).
    pub fn set(&mut self, name: &str, value: &str) {
        match self.fields.iter_mut().find(|(k, _)| k == name) {
            Some(field) => field.1 = value.to_owned(),
            None => self.fields.push((name.to_owned(), value.to_owned())),
        }
    }
}

/// Elements without content (no end tag).
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

impl Html {
    /// Wraps a page's text.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            elements: std::sync::OnceLock::new(),
        }
    }

    /// The page's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every start tag, in document order.
    pub fn elements(&self) -> Vec<Element> {
        self.parsed().to_vec()
    }

    /// Every start tag, in document order (read on the first call).
    fn parsed(&self) -> &[Element] {
        self.elements.get_or_init(|| self.read_elements())
    }

    fn read_elements(&self) -> Vec<Element> {
        let mut out = Vec::new();
        let t = self.text.as_str();
        let mut at = 0;
        while let Some(rel) = t[at..].find('<') {
            let start = at + rel;
            let rest = &t[start..];
            if rest.starts_with("<!--") {
                at = rest.find("-->").map_or(t.len(), |e| start + e + 3);
                continue;
            }
            if rest.starts_with("<!") || rest.starts_with("<?") || rest.starts_with("</") {
                at = rest.find('>').map_or(t.len(), |e| start + e + 1);
                continue;
            }
            let Some((element, end)) = start_tag(t, start) else {
                at = start + 1;
                continue;
            };
            at = end;
            if matches!(element.name.as_str(), "script" | "style") {
                let close = format!("</{}", element.name);
                at = find_ci(&t[end..], &close).map_or(t.len(), |e| end + e);
            }
            out.push(element);
        }
        out
    }

    /// The first element with `id`.
    pub fn by_id(&self, id: &str) -> Option<Element> {
        self.parsed()
            .iter()
            .find(|e| e.attr("id") == Some(id))
            .cloned()
    }

    /// The first element named `tag`.
    pub fn first(&self, tag: &str) -> Option<Element> {
        self.parsed().iter().find(|e| e.name == tag).cloned()
    }

    /// The text inside `element` (tags removed, references decoded, whitespace collapsed).
    pub fn inner_text(&self, element: &Element) -> String {
        let inner = &self.text[element.content_start..self.content_end(element)];
        let mut text = String::new();
        let mut rest = inner;
        while let Some(lt) = rest.find('<') {
            text.push_str(&rest[..lt]);
            text.push(' ');
            rest = rest[lt..].find('>').map_or("", |gt| &rest[lt + gt + 1..]);
        }
        text.push_str(rest);
        decode(&text)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The text of the first element with `id`.
    pub fn text_of(&self, id: &str) -> Option<String> {
        self.by_id(id).map(|e| self.inner_text(&e))
    }

    /// The form with `id` and its fields.
    pub fn form(&self, id: &str) -> Option<Form> {
        let form = self
            .parsed()
            .iter()
            .find(|e| e.name == "form" && e.attr("id") == Some(id))?;
        let end = self.content_end(form);
        let inner = Html::new(&self.text[form.content_start..end]);
        let mut fields = Vec::new();
        let elements = inner.parsed();
        for (i, e) in elements.iter().enumerate() {
            let Some(name) = e.attr("name") else { continue };
            match e.name.as_str() {
                "input" => {
                    let kind = e.attr("type").unwrap_or("text").to_ascii_lowercase();
                    let unchecked = matches!(kind.as_str(), "checkbox" | "radio")
                        && e.attr("checked").is_none();
                    if unchecked || matches!(kind.as_str(), "submit" | "button" | "file" | "image")
                    {
                        continue;
                    }
                    fields.push((name.to_owned(), e.attr("value").unwrap_or("").to_owned()));
                }
                "textarea" => fields.push((name.to_owned(), inner.inner_text(e))),
                "select" => {
                    let options = elements[i + 1..].iter().take_while(|o| o.name == "option");
                    let chosen = options
                        .clone()
                        .find(|o| o.attr("selected").is_some())
                        .or_else(|| options.clone().next());
                    let value = chosen
                        .map(|o| {
                            o.attr("value")
                                .map_or_else(|| inner.inner_text(o), str::to_owned)
                        })
                        .unwrap_or_default();
                    fields.push((name.to_owned(), value));
                }
                _ => {}
            }
        }
        Some(Form {
            action: form.attr("action").unwrap_or("").to_owned(),
            method: form.attr("method").unwrap_or("get").to_ascii_lowercase(),
            fields,
        })
    }

    /// Where `element`'s content ends: before its matching end tag (same-name elements
    /// nested inside counted), at its start for a void element, else at the page's end.
    fn content_end(&self, element: &Element) -> usize {
        if VOID.contains(&element.name.as_str()) {
            return element.content_start;
        }
        let t = &self.text;
        let open = format!("<{}", element.name);
        let close = format!("</{}", element.name);
        let mut depth = 0usize;
        let mut at = element.content_start;
        loop {
            let next_close = find_ci(&t[at..], &close).map(|i| at + i);
            let next_open = find_ci(&t[at..], &open)
                .map(|i| at + i)
                .filter(|&i| is_tag_end(t, i + open.len()));
            match (next_open, next_close) {
                (Some(o), Some(c)) if o < c => {
                    depth += 1;
                    at = o + open.len();
                }
                (_, Some(c)) if depth == 0 => return c,
                (_, Some(c)) => {
                    depth -= 1;
                    at = c + close.len();
                }
                (_, None) => return t.len(),
            }
        }
    }
}

/// Whether the byte at `i` ends a tag name (so `<a` does not match `<abbr`).
fn is_tag_end(t: &str, i: usize) -> bool {
    t.as_bytes()
        .get(i)
        .is_none_or(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
}

/// The start tag at `start` (which holds `<`) and the offset after its `>`.
fn start_tag(t: &str, start: usize) -> Option<(Element, usize)> {
    let b = t.as_bytes();
    let mut i = start + 1;
    let name_start = i;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-') {
        i += 1;
    }
    if i == name_start || !b[name_start].is_ascii_alphabetic() {
        return None;
    }
    let name = t[name_start..i].to_ascii_lowercase();
    let mut attrs = Vec::new();
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        match b.get(i) {
            None => return None,
            Some(b'>') => break,
            Some(_) => {}
        }
        let k_start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        let key = t[k_start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if b.get(i) == Some(&b'=') {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            match b.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    let v_start = i + 1;
                    let len = t[v_start..].find(q as char)?;
                    value = decode(&t[v_start..v_start + len]);
                    i = v_start + len + 1;
                }
                _ => {
                    let v_start = i;
                    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                        i += 1;
                    }
                    value = decode(&t[v_start..i]);
                }
            }
        }
        if !key.is_empty() {
            attrs.push((key, value));
        }
    }
    Some((
        Element {
            name,
            attrs,
            content_start: i + 1,
        },
        i + 1,
    ))
}

/// The first offset of `needle` (ASCII) in `hay`, ignoring ASCII case.
fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    (0..=h.len().checked_sub(n.len())?).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// `text` with its character references decoded (the common named ones and numeric ones);
/// anything else is kept as written.
pub fn decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.bytes().take(12).position(|b| b == b';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse::<u32>))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!DOCTYPE html><html lang="fr"><head>
<meta charset="utf-8"><title>Connexion</title>
<script nonce="x">if (a < b) { document.write('<main data-state="fake">'); }</script>
<style>main > p { color: red }</style></head>
<body><!-- <main data-state="comment"> -->
<main data-state="waiting" class=page>
  <p>Service : <strong id="service">Dossier M&eacute;dical &amp; Co</strong></p>
  <p id="code" aria-label="code">4<span>2</span></p>
  <div id="outer"><div>inner</div> after</div>
  <form id="retry" method="POST" action="/login/abc/retry">
    <input type="hidden" name="csrf" value="t&#x2F;1&quot;">
    <input type=checkbox name=remember>
    <input type="checkbox" name="keep" checked value="yes">
    <select name="lang"><option value="fr">FR</option><option value="en" selected>EN</option></select>
    <textarea name="note">a &lt; b</textarea>
    <button type="submit">Réessayer</button>
  </form>
  <form id="identifier" action=""><input name="identifier" value="8100"><input type="submit" name="go" value="Go"></form>
</main></body></html>"#;

    #[test]
    fn elements_attributes_and_text_are_read() {
        let html = Html::new(PAGE);
        let main = html.first("main").expect("main");
        assert_eq!(main.attr("data-state"), Some("waiting"));
        assert_eq!(main.attr("class"), Some("page"));
        // &eacute; is not among the references decoded: kept as written.
        assert_eq!(
            html.text_of("service").as_deref(),
            Some("Dossier M&eacute;dical & Co")
        );
        assert_eq!(html.text_of("code").as_deref(), Some("4 2"));
        assert_eq!(html.text_of("outer").as_deref(), Some("inner after"));
        assert!(html.by_id("nothing").is_none());
        assert_eq!(
            html.elements().iter().filter(|e| e.name == "main").count(),
            1,
            "script text and comments are not elements"
        );
    }

    #[test]
    fn forms_give_the_fields_a_browser_would_send() {
        let html = Html::new(PAGE);
        let mut retry = html.form("retry").expect("form");
        assert_eq!(retry.action, "/login/abc/retry");
        assert_eq!(retry.method, "post");
        assert_eq!(
            retry.fields,
            [
                ("csrf", "t/1\""),
                ("keep", "yes"),
                ("lang", "en"),
                ("note", "a < b")
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        retry.set("note", "x");
        retry.set("extra", "y");
        assert_eq!(retry.field("note"), Some("x"));
        assert_eq!(retry.field("extra"), Some("y"));
        let id = html.form("identifier").expect("form");
        assert_eq!((id.action.as_str(), id.method.as_str()), ("", "get"));
        assert_eq!(id.field("identifier"), Some("8100"));
        assert_eq!(id.field("go"), None);
    }

    #[test]
    fn references_decode_and_broken_ones_stay() {
        assert_eq!(decode("a&amp;b&#233;&#xE9;&lt;"), "a&béé<");
        assert_eq!(
            decode("&unknown; & &#xFFFFFFFF; &"),
            "&unknown; & &#xFFFFFFFF; &"
        );
    }

    #[test]
    fn no_input_makes_it_panic() {
        let samples = [
            "<",
            "<a",
            "<a b='",
            "<a b=\"x\"",
            "</",
            "<!--",
            "<script>",
            "<div><div></div>",
            "<form id=f><input name=a value='1",
            "&#",
            "&#x;",
            "<é>",
            "<a\u{e9}=1>",
            "<select name=s>",
        ];
        for s in samples {
            let html = Html::new(s);
            for e in html.elements() {
                let _ = html.inner_text(&e);
            }
            let _ = html.form("f");
            let _ = decode(s);
        }
        // Random bytes (a fixed generator: reproducible) as text.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2_000 {
            let bytes: Vec<u8> = (0..64)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    b"<>/=\"' a&#;x!-scriptformid"[(x % 26) as usize]
                })
                .collect();
            let s = String::from_utf8_lossy(&bytes).into_owned();
            let html = Html::new(s);
            for e in html.elements() {
                let _ = html.inner_text(&e);
            }
            let _ = html.form("id");
        }
    }
}

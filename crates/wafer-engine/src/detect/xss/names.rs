//! Names the XSS detector knows: DOM event names, HTML elements by what they
//! do, URL-valued attributes, and the headers it leaves alone. Written from
//! the HTML and DOM specifications' element and event indexes.

use super::ci_eq;

/// Headers with no reflection surface worth the noise (browser-generated).
pub(super) fn header_skipped(name: &str) -> bool {
    name.starts_with("accept")
        || name.starts_with("sec-")
        || name.starts_with("if-")
        || name.starts_with("content-")
        || matches!(
            name,
            "authorization"
                | "proxy-authorization"
                | "cache-control"
                | "pragma"
                | "x-client-data"
                | "upgrade-insecure-requests"
                | "dnt"
                | "priority"
                | "te"
                | "range"
                | "x-requested-with"
                | "x-csrf-token"
                | "x-xsrf-token"
                | "x-request-id"
                | "traceparent"
                | "tracestate"
                | "baggage"
                | "sentry-trace"
                | "expect"
                | "keep-alive"
                | "upgrade"
                | "via"
                | "date"
        )
}

/// Words starting with "on" that are not event names (checked lowercase).
pub(super) fn is_common_on_word(rest_lower: &str) -> bool {
    matches!(
        rest_lower,
        "e" | "es"
            | "ce"
            | "ly"
            | "to"
            | "line"
            | "set"
            | "ion"
            | "ions"
            | "going"
            | "ward"
            | "wards"
            | "board"
            | "boarding"
            | "site"
            | "sale"
            | "stage"
            | "shore"
            | "screen"
            | "us"
            | "yx"
            | "ce_only"
    )
}

/// Whether `n` (without `on`, lowercase) is an event the DOM fires.
pub(super) fn is_known_event(rest_lower: &str) -> bool {
    matches!(
        rest_lower,
        "abort"
            | "activate"
            | "afterprint"
            | "animationend"
            | "animationiteration"
            | "animationstart"
            | "animationcancel"
            | "auxclick"
            | "beforecopy"
            | "beforecut"
            | "beforeinput"
            | "beforepaste"
            | "beforeprint"
            | "beforetoggle"
            | "beforeunload"
            | "begin"
            | "blur"
            | "cancel"
            | "canplay"
            | "canplaythrough"
            | "change"
            | "click"
            | "close"
            | "contextmenu"
            | "copy"
            | "cuechange"
            | "cut"
            | "dblclick"
            | "drag"
            | "dragend"
            | "dragenter"
            | "dragleave"
            | "dragover"
            | "dragstart"
            | "drop"
            | "durationchange"
            | "emptied"
            | "end"
            | "ended"
            | "error"
            | "focus"
            | "focusin"
            | "focusout"
            | "formdata"
            | "fullscreenchange"
            | "hashchange"
            | "input"
            | "invalid"
            | "keydown"
            | "keypress"
            | "keyup"
            | "load"
            | "loadeddata"
            | "loadedmetadata"
            | "loadend"
            | "loadstart"
            | "message"
            | "mousedown"
            | "mouseenter"
            | "mouseleave"
            | "mousemove"
            | "mouseout"
            | "mouseover"
            | "mouseup"
            | "mousewheel"
            | "pagehide"
            | "pageshow"
            | "paste"
            | "pause"
            | "play"
            | "playing"
            | "pointerdown"
            | "pointerenter"
            | "pointerleave"
            | "pointermove"
            | "pointerout"
            | "pointerover"
            | "pointerup"
            | "popstate"
            | "progress"
            | "ratechange"
            | "readystatechange"
            | "repeat"
            | "reset"
            | "resize"
            | "scroll"
            | "scrollend"
            | "search"
            | "seeked"
            | "seeking"
            | "select"
            | "selectionchange"
            | "selectstart"
            | "show"
            | "start"
            | "stalled"
            | "storage"
            | "submit"
            | "suspend"
            | "timeupdate"
            | "toggle"
            | "touchend"
            | "touchmove"
            | "touchstart"
            | "transitionend"
            | "transitionstart"
            | "transitionrun"
            | "unload"
            | "volumechange"
            | "waiting"
            | "wheel"
            | "zoom"
    ) || rest_lower.starts_with("webkit")
}

/// Attributes whose value the browser loads or follows as a URL.
pub(super) fn is_url_attr(n: &str) -> bool {
    const URL_ATTRS: &[&str] = &[
        "href",
        "src",
        "action",
        "formaction",
        "data",
        "background",
        "poster",
        "code",
        "codebase",
        "dynsrc",
        "lowsrc",
        "to",
        "from",
        "by",
        "values",
        "archive",
        "classid",
        "datasrc",
        "icon",
        "manifest",
        "profile",
        "srcdoc",
    ];
    URL_ATTRS.iter().any(|a| ci_eq(a, n))
        || (n.len() > 5 && n.as_bytes()[n.len() - 5..].eq_ignore_ascii_case(b":href"))
}

/// Elements that load active content by themselves.
pub(super) fn is_active_element(local: &str) -> bool {
    [
        "iframe", "frame", "frameset", "object", "embed", "applet", "portal", "vmlframe", "layer",
        "ilayer",
    ]
    .iter()
    .any(|e| ci_eq(e, local))
}

/// HTML (and SVG/MathML) elements, for paranoia-2 markup findings.
pub(super) fn is_known_element(local: &str) -> bool {
    const ELEMENTS: &[&str] = &[
        "a",
        "abbr",
        "address",
        "animate",
        "area",
        "article",
        "aside",
        "audio",
        "b",
        "base",
        "bdo",
        "blockquote",
        "body",
        "br",
        "button",
        "canvas",
        "caption",
        "center",
        "cite",
        "code",
        "col",
        "dd",
        "del",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "em",
        "embed",
        "fieldset",
        "figure",
        "font",
        "footer",
        "foreignobject",
        "form",
        "frame",
        "frameset",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "head",
        "header",
        "hr",
        "html",
        "i",
        "iframe",
        "image",
        "img",
        "input",
        "isindex",
        "keygen",
        "label",
        "li",
        "link",
        "listing",
        "maction",
        "main",
        "map",
        "marquee",
        "math",
        "menu",
        "meta",
        "nav",
        "noembed",
        "noframes",
        "noscript",
        "object",
        "ol",
        "option",
        "p",
        "param",
        "picture",
        "plaintext",
        "pre",
        "q",
        "s",
        "script",
        "section",
        "select",
        "set",
        "source",
        "span",
        "strong",
        "style",
        "sub",
        "summary",
        "sup",
        "svg",
        "table",
        "tbody",
        "td",
        "template",
        "textarea",
        "tfoot",
        "th",
        "thead",
        "title",
        "tr",
        "track",
        "u",
        "ul",
        "use",
        "video",
        "xmp",
    ];
    ELEMENTS.iter().any(|e| ci_eq(e, local))
}

/// Elements that are suspicious in a value even without attributes.
pub(super) fn is_notable_element(local: &str) -> bool {
    [
        "svg",
        "math",
        "iframe",
        "object",
        "embed",
        "style",
        "template",
        "noscript",
        "xmp",
        "plaintext",
        "title",
        "textarea",
        "frameset",
        "base",
        "meta",
        "link",
        "form",
        "input",
        "button",
        "details",
        "marquee",
        "video",
        "audio",
        "img",
        "image",
        "body",
        "isindex",
    ]
    .iter()
    .any(|e| ci_eq(e, local))
}

/// End tags that leave a raw-text context (the classic `</title><script>`).
pub(super) fn is_raw_text_element(local: &str) -> bool {
    [
        "script",
        "style",
        "title",
        "textarea",
        "noscript",
        "xmp",
        "template",
        "iframe",
        "noembed",
        "noframes",
        "plaintext",
    ]
    .iter()
    .any(|e| ci_eq(e, local))
}

//! Main-content extraction over a token stream.
//!
//! The page is tokenized once by html5ever's tokenizer (no tree is built).
//! A stack of open elements, closed by end tags and by the few implied
//! closes that matter for text (`<p>`, `<li>`, table cells, `<head>`), turns
//! the tokens into *blocks*: runs of text between block-level tags, each
//! knowing whether it sat in a link, a heading, a list item, or a region
//! that is never the article (`<nav>`, `<aside>`, `<footer>`, an element
//! whose class or id reads as comments, sharing, related stories, ...).
//!
//! Every element that holds blocks is a *container* and covers a contiguous
//! range of blocks (the DOM is nested, so its descendants are contiguous in
//! document order). A paragraph-like block credits its nearest containers,
//! readability-style (1, 1/2, 1/3), so the best-scoring container is the one
//! that directly holds most of the article's prose. It may widen to an
//! ancestor holding clearly more prose at the same density (an article split
//! over siblings). Its range, less the boilerplate and link-list blocks in
//! it ([`keep`]), a second copy of its prose or of a block just shown, and
//! a related-stories tail ([`related_tail`]), is the article. Elements
//! hidden by style are left out, except an accordion's collapsed panels; a
//! page with no article without them is read again with them shown, then
//! with class words not taken for boilerplate ([`Pass`]).
//!
//! Work per token is bounded (an end tag looks for its element among the top
//! [`MAX_CLOSE_SEARCH`] open ones; credits go to at most three containers),
//! so time and memory are linear in the page, however deep its nesting.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use html5ever::tokenizer::states::{RawKind, State as States};
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::{LocalName, TokenizerResult};
use regex::Regex;

use super::date;

/// How far down the stack an end tag looks for the element it closes; one
/// not found there is ignored (stray end tags are common, and an unbounded
/// search would make a deep page quadratic).
const MAX_CLOSE_SEARCH: usize = 64;
/// Paragraph-like blocks shorter than this (in characters) credit nothing.
const MIN_PARAGRAPH_CHARS: usize = 25;

/// Class or id words of regions that are not the article (after
/// readability's list, with sharing, newsletters, paywalls and cookies,
/// bylines and author cards, and footnotes). `header` is checked apart, by
/// [`names_header`].
#[allow(clippy::unwrap_used)] // constant patterns
static UNLIKELY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)-ad-|ai2html|banner|breadcrumb|combx|comment|community|cover-wrap|disqus|extra|footer|gdpr|legends|menu|related|remark|replies|rss|shoutbox|sidebar|skyscraper|social|sponsor|supplemental|ad-break|agegate|pagination|pager|popup|yom-remote|
        share|sharing|sharedaddy|addthis|newsletter|subscribe|subscription|signup|paywall|cookie|consent|promo|advert|
        recommended|more-stories|read-more|readmore|also-read|author-bio|author-box|about-author|
        wp-caption-text|screen-reader-text|sr-only|visually-hidden|jp-relatedposts|yarpp|post-tags|tag-list|table-of-contents|
        byline|vcard|footnotes",
    )
    .unwrap()
});

/// Whether a class or id name starts or ends with `header` (`site-header`,
/// `headerwrapper`); in the middle (`kt-pane-header-alignment-left`) it is
/// a style modifier. Checked apart from [`UNLIKELY`], whose plain words
/// keep it a fast literal search.
fn names_header(words: &str) -> bool {
    words
        .split_ascii_whitespace()
        .any(|w| w.starts_with("header") || w.ends_with("header"))
}

/// Words that keep an element whose class or id also matches [`UNLIKELY`]
/// (`article-header` may hold the article; readability's exceptions).
#[allow(clippy::unwrap_used)]
static MAYBE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"and|article|body|column|content|main|shadow").unwrap());

/// Class or id words of a layout's main column.
#[allow(clippy::unwrap_used)]
static MAIN_COLUMN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[\s_-])main(?:$|[\s_-])").unwrap());

/// Class or id words that mark the article itself: never boilerplate.
#[allow(clippy::unwrap_used)]
static LIKELY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"article-body|articlebody|article-content|entry-content|post-content|post-body|story-body|story-content|main-content|content-body|td-post-content|rich-text",
    )
    .unwrap()
});

/// Labels of what follows an article (related stories, popular posts,
/// comments): the article ends before them (see [`related_tail`]).
#[allow(clippy::unwrap_used)]
static AFTER_ARTICLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)^(?:also\ in\ the\ news|related\ (?:articles?|posts?|stories|news|reading|content|topics|resources|guides)
        |more\ (?:stories|news|articles|posts|to\ read|on\ this\ topic)|more\ from\ .{1,40}
        |you\ (?:may|might)\ also\ (?:like|enjoy|be\ interested\ in)|recommended(?:\ (?:for\ you|reading|articles|stories))?
        |read\ (?:this\ )?(?:next|also)|latest\ (?:news|posts|articles|stories)|(?:most\ )?popular(?:\ (?:posts|stories|articles))?
        |trending(?:\ now|\ stories)?|top\ stories|don'?t\ miss|what\ to\ read\ next|keep\ reading|similar\ (?:articles|posts)
        |other\ (?:articles|stories|news)|leave\ a\ (?:reply|comment)|comments?|\d+\ comments?|about\ the\ (?:authors?|reviewers?)|disclaimer)\s*:?$",
    )
    .unwrap()
});

/// What kind of text a block holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// Running text (`<p>`, or text directly in a `<div>`).
    Text,
    /// A heading, `<h1>`..`<h6>`.
    Heading,
    /// A list item.
    Item,
    /// Preformatted text, whitespace kept.
    Pre,
}

/// A run of text between block-level tags.
#[derive(Debug, Clone)]
pub struct Block {
    /// Its text, whitespace collapsed (except in `<pre>`).
    pub text: String,
    /// Characters of it inside links.
    pub link_chars: usize,
    /// What it is.
    pub kind: BlockKind,
    /// Inside a region that is never the article.
    pub boiler: bool,
    /// Inside a region marked as the article body.
    pub likely: bool,
    /// Inside an `<h1>`.
    pub h1: bool,
    /// The innermost boilerplate-looking container around it, if any.
    boiler_by: Option<usize>,
    /// Its nearest containers, innermost first (`usize::MAX` for none).
    near: [usize; 3],
    /// Characters of `text`, counted once: every pass over the blocks asks.
    n_chars: usize,
}

impl Block {
    fn chars(&self) -> usize {
        self.n_chars
    }

    fn link_density(&self) -> f64 {
        let n = self.chars();
        if n == 0 {
            0.0
        } else {
            self.link_chars as f64 / n as f64
        }
    }
}

#[derive(Debug, Clone)]
struct Container {
    parent: Option<usize>,
    first_block: usize,
    end_block: usize,
    score: f64,
    likely: bool,
    /// `<article>`, `<main>` or `itemprop=articleBody`.
    semantic: bool,
    /// A paragraph or list item: its text credits the elements around it,
    /// not itself (readability's way), so an article whose paragraphs each
    /// sit in their own wrapper is still found whole.
    leaf: bool,
    /// A list (`<ul>`, `<ol>`, `<dl>`).
    list: bool,
    /// Tag, id and class, for [`debug_containers`].
    label: String,
    /// A hash of the tag, id and class; 0 for an element with neither.
    key: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    skip: bool,
    boiler: bool,
    likely: bool,
    link: bool,
    heading: bool,
    h1: bool,
    item: bool,
    pre: bool,
}

#[derive(Debug)]
struct Open {
    /// An interned tag name: cloning it costs no allocation.
    name: LocalName,
    flags: Flags,
    container: Option<usize>,
    /// Boilerplate by class words only.
    soft: bool,
    /// An article element, see [`State::open_shield`].
    shield: bool,
}

#[derive(Default)]
struct State {
    stack: Vec<Open>,
    containers: Vec<Container>,
    /// Indexes into `containers` of the open ones, innermost last.
    open_containers: Vec<usize>,
    /// Those of them that look like boilerplate.
    open_boiler: Vec<usize>,
    /// Those that look like boilerplate by class or id words only; an
    /// article inside one of them (`with-sidebar-layout`) is not.
    open_soft_boiler: Vec<usize>,
    /// Open `<article>`, `<main>` and article-body elements.
    open_shield: Vec<usize>,
    blocks: Vec<Block>,
    current: String,
    current_link_chars: usize,
    /// Counts of open elements with each flag.
    skip: usize,
    boiler: usize,
    likely: usize,
    link: usize,
    heading: usize,
    h1: usize,
    item: usize,
    pre: usize,
    in_head: bool,
    /// Characters in all blocks.
    chars: usize,
    /// How this pass reads the page.
    pass: Pass,
    /// Fill [`Container::label`], for [`debug_containers`] only: building
    /// it for every element of every page cost an allocation each.
    labels: bool,
    /// A raw-text element just opened whose content is ignored: the
    /// tokenizer was paused so that [`segment_with`] can step over it.
    raw_pending: Option<RawSkip>,
}

/// An element whose text the tokenizer reads raw (`<script>`, `<style>`)
/// and the blocks ignore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RawSkip {
    /// Ends at the first `</script`, unless an HTML comment opener comes
    /// first (its escape states are left to the tokenizer).
    Script,
    /// Ends at the first end tag of its own name.
    Rawtext(&'static str),
}

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen",
];
const SKIP: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "math", "head", "iframe", "object", "select",
    "option", "button", "textarea", "canvas", "video", "audio", "title", "dialog", "map",
];
const BOILER: &[&str] = &[
    "nav",
    "aside",
    "footer",
    "header",
    "figcaption",
    "menu",
    "form",
];
const INLINE: &[&str] = &[
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd",
    "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "del",
    "ins", "label", "nobr", "strike", "tt", "big", "picture",
];
const HEAD_ONLY: &[&str] = &[
    "meta", "link", "title", "script", "style", "base", "noscript", "template",
];
/// Start tags that close an open `<p>`.
const CLOSES_P: &[&str] = &[
    "p",
    "div",
    "ul",
    "ol",
    "dl",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "section",
    "article",
    "aside",
    "nav",
    "header",
    "footer",
    "figure",
    "form",
    "hr",
    "main",
    "address",
    "details",
    "fieldset",
];

impl State {
    fn flush(&mut self) {
        let pre = self.pre > 0;
        let text = if pre {
            self.current.trim_matches('\n').to_owned()
        } else {
            self.current
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        let link_chars = self.current_link_chars;
        self.current.clear();
        self.current_link_chars = 0;
        if text.is_empty() {
            return;
        }
        let kind = if pre {
            BlockKind::Pre
        } else if self.heading > 0 {
            BlockKind::Heading
        } else if self.item > 0 {
            BlockKind::Item
        } else {
            BlockKind::Text
        };
        let mut near = [usize::MAX; 3];
        let around = self
            .open_containers
            .iter()
            .rev()
            .enumerate()
            // A page of bare paragraphs still credits them.
            .filter(|&(i, &c)| {
                !(i == 0 && self.containers[c].leaf && self.open_containers.len() > 1)
            })
            .map(|(_, &c)| c);
        for (slot, c) in near.iter_mut().zip(around) {
            *slot = c;
        }
        let n_chars = text.chars().count();
        let block = Block {
            n_chars,
            link_chars: link_chars.min(n_chars),
            text,
            kind,
            boiler: false,
            likely: self.likely > 0,
            h1: self.h1 > 0,
            boiler_by: self.boiler_by(),
            near,
        };
        self.chars += block.chars();
        self.blocks.push(block);
    }

    /// The innermost boilerplate region around the next block: a region
    /// marked by its tag or role, or by its class words unless an article
    /// element opened inside it.
    fn boiler_by(&self) -> Option<usize> {
        let hard = self.open_boiler.last().copied();
        let shield = self.open_shield.last().copied();
        let soft = self
            .open_soft_boiler
            .last()
            .copied()
            .filter(|&s| shield.is_none_or(|sh| s > sh));
        hard.max(soft)
    }

    fn push(&mut self, name: LocalName, attrs: &[html5ever::Attribute]) {
        let mut flags = Flags {
            skip: SKIP.contains(&&*name),
            boiler: BOILER.contains(&&*name),
            link: &*name == "a",
            heading: matches!(&*name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6"),
            h1: &*name == "h1",
            item: matches!(&*name, "li" | "dd" | "dt"),
            pre: &*name == "pre",
            likely: false,
        };
        let mut semantic = matches!(&*name, "article" | "main");
        let mut words = String::new();
        for a in attrs {
            match &*a.name.local {
                "class" | "id" => {
                    words.push(' ');
                    words.push_str(&a.value.to_ascii_lowercase());
                }
                "itemprop" if a.value.eq_ignore_ascii_case("articleBody") => {
                    semantic = true;
                    flags.likely = true;
                }
                // React's streamed parts wait in `<div hidden id="S:0">` until a
                // script moves them in; other hidden elements stay hidden.
                "hidden" => {
                    flags.skip = !attrs
                        .iter()
                        .any(|a| &*a.name.local == "id" && a.value.starts_with("S:"))
                }
                "aria-hidden" if &*a.value == "true" => flags.boiler = true,
                "role"
                    if matches!(
                        &*a.value,
                        "navigation" | "complementary" | "contentinfo" | "banner"
                    ) =>
                {
                    flags.boiler = true
                }
                // A collapsed accordion panel (WAI-ARIA's pattern: `role="region"`
                // under its header button) is the article folded for the reader,
                // not chrome; other elements hidden by style stay out.
                "style" if a.value.replace(' ', "").contains("display:none") => {
                    flags.skip = self.pass != Pass::Revealed
                        && !attrs
                            .iter()
                            .any(|a| &*a.name.local == "role" && &*a.value == "region")
                }
                _ => {}
            }
        }
        let mut soft = false;
        // An `<article>` shields what it holds from the layout's class words,
        // unless it is an entry of a list (comments, teasers) or its own
        // words say it is one (`article-comment-12`).
        // So does the layout's main column (`c-layout-main`) inside a
        // wrapper named for its sidebar (`c-layout-sidebar-left`).
        // Each class pattern runs at most once per element.
        let unlikely = !words.is_empty() && (UNLIKELY.is_match(&words) || names_header(&words));
        let main_column = words.contains("main") && MAIN_COLUMN.is_match(&words);
        let mut shield = flags.likely
            || &*name == "main"
            || (semantic && self.item == 0 || main_column) && !unlikely;
        if !words.is_empty() {
            if LIKELY.is_match(&words) {
                flags.likely = true;
            } else if unlikely
                && self.pass != Pass::WordsIgnored
                && !MAYBE.is_match(&words)
                && !matches!(&*name, "body" | "html" | "article" | "main")
            {
                soft = !flags.boiler;
                flags.boiler = true;
            }
        }
        if flags.likely {
            // The article body is never boilerplate, whatever encloses it.
            flags.boiler = false;
            soft = false;
        }
        shield |= flags.likely;
        let is_inline = INLINE.contains(&&*name);
        if !is_inline {
            self.flush();
        }
        let container = ((!is_inline || flags.boiler) && !flags.skip).then(|| {
            let parent = self.open_containers.last().copied();
            self.containers.push(Container {
                parent,
                first_block: self.blocks.len(),
                end_block: self.blocks.len(),
                score: 0.0,
                likely: flags.likely,
                semantic,
                leaf: matches!(&*name, "p" | "li" | "dt" | "dd"),
                list: matches!(&*name, "ul" | "ol" | "dl"),
                label: if self.labels {
                    format!("{name}{}", words.chars().take(60).collect::<String>())
                } else {
                    String::new()
                },
                key: if words.is_empty() {
                    0
                } else {
                    xxhash_rust::xxh3::xxh3_64_with_seed(
                        words.as_bytes(),
                        xxhash_rust::xxh3::xxh3_64(name.as_bytes()),
                    )
                },
            });
            self.containers.len() - 1
        });
        if let Some(c) = container {
            self.open_containers.push(c);
            if soft {
                self.open_soft_boiler.push(c);
            } else if flags.boiler {
                self.open_boiler.push(c);
            }
            if shield {
                self.open_shield.push(c);
            }
        }
        self.count(flags, 1);
        self.stack.push(Open {
            name,
            flags,
            container,
            soft,
            shield,
        });
    }

    fn count(&mut self, f: Flags, up: isize) {
        let add = |n: &mut usize, on: bool| {
            if on {
                *n = n.saturating_add_signed(up);
            }
        };
        add(&mut self.skip, f.skip);
        add(&mut self.boiler, f.boiler);
        add(&mut self.likely, f.likely);
        add(&mut self.link, f.link);
        add(&mut self.heading, f.heading);
        add(&mut self.h1, f.h1);
        add(&mut self.item, f.item);
        add(&mut self.pre, f.pre);
    }

    fn pop(&mut self) {
        let Some(open) = self.stack.pop() else { return };
        if !INLINE.contains(&&*open.name) {
            self.flush();
        }
        if let Some(c) = open.container {
            self.containers[c].end_block = self.blocks.len();
            self.open_containers.pop();
            if open.soft {
                self.open_soft_boiler.pop();
            } else if open.flags.boiler {
                self.open_boiler.pop();
            }
            if open.shield {
                self.open_shield.pop();
            }
        }
        if &*open.name == "head" {
            self.in_head = false;
        }
        self.count(open.flags, -1);
    }

    /// Leave `<head>` however many unclosed elements it holds (a page with
    /// seventy open `<template>`s lost its body to an unended head); every
    /// element is popped once, so this stays linear.
    fn leave_head(&mut self) {
        while self.in_head && !self.stack.is_empty() {
            self.pop();
        }
    }

    /// Pop down to and including the innermost open `name` among the top
    /// [`MAX_CLOSE_SEARCH`], stopping at any of `barriers`; false when absent.
    fn close(&mut self, name: &str, barriers: &[&str]) -> bool {
        let found = self
            .stack
            .iter()
            .rev()
            .take(MAX_CLOSE_SEARCH)
            .take_while(|o| &*o.name == name || !barriers.contains(&&*o.name))
            .position(|o| &*o.name == name);
        match found {
            Some(depth) => {
                for _ in 0..=depth {
                    self.pop();
                }
                true
            }
            None => false,
        }
    }

    fn start(&mut self, tag: &Tag) -> TokenSinkResult<()> {
        let name = tag.name.clone();
        let n = &*tag.name;
        if self.in_head && !HEAD_ONLY.contains(&n) {
            self.leave_head();
        }
        match n {
            "br" => {
                if self.pre > 0 {
                    self.current.push('\n');
                } else {
                    self.flush();
                }
                return TokenSinkResult::Continue;
            }
            "body" => {
                self.leave_head();
                self.push(name, &tag.attrs);
                return TokenSinkResult::Continue;
            }
            "html" if !self.stack.is_empty() => return TokenSinkResult::Continue,
            _ => {}
        }
        if CLOSES_P.contains(&n) {
            self.close(
                "p",
                &[
                    "div",
                    "section",
                    "article",
                    "td",
                    "li",
                    "blockquote",
                    "body",
                ],
            );
        }
        match n {
            "li" => {
                self.close("li", &["ul", "ol", "menu"]);
            }
            "dt" | "dd" if !self.close("dd", &["dl"]) => {
                self.close("dt", &["dl"]);
            }
            "td" | "th" if !self.close("td", &["tr", "table"]) => {
                self.close("th", &["tr", "table"]);
            }
            "tr" => {
                self.close("tr", &["table", "tbody", "thead"]);
            }
            "option" => {
                self.close("option", &["select"]);
            }
            _ => {}
        }
        if VOID.contains(&n) || tag.self_closing && n != "script" {
            if n == "hr" || n == "img" {
                self.flush();
            }
            return TokenSinkResult::Continue;
        }
        if n == "head" {
            self.in_head = true;
        }
        self.push(name, &tag.attrs);
        // Where `text` ignores what follows, pause the tokenizer instead, and
        // let `segment_with` step over the element's text: scripts and
        // styles are half of a page's bytes, and the tokenizer reads them
        // one character at a time.
        let ignored = self.skip > 0 || self.in_head;
        let raw = |skip: RawSkip, kind: RawKind, st: &mut State| {
            if ignored {
                st.raw_pending = Some(skip);
                TokenSinkResult::Script(())
            } else {
                TokenSinkResult::RawData(kind)
            }
        };
        match n {
            "script" => raw(RawSkip::Script, RawKind::ScriptData, self),
            "style" => raw(RawSkip::Rawtext("style"), RawKind::Rawtext, self),
            "noscript" => raw(RawSkip::Rawtext("noscript"), RawKind::Rawtext, self),
            "iframe" => raw(RawSkip::Rawtext("iframe"), RawKind::Rawtext, self),
            "xmp" | "noembed" | "noframes" => TokenSinkResult::RawData(RawKind::Rawtext),
            "title" | "textarea" => TokenSinkResult::RawData(RawKind::Rcdata),
            "plaintext" => TokenSinkResult::Plaintext,
            _ => TokenSinkResult::Continue,
        }
    }

    fn end(&mut self, tag: &Tag) {
        let n = &*tag.name;
        if n == "br" {
            self.flush();
            return;
        }
        if n == "body" || n == "html" {
            return;
        }
        self.close(n, &[]);
    }

    fn text(&mut self, s: &str) {
        if self.skip > 0 || self.in_head {
            return;
        }
        if self.link > 0 {
            self.current_link_chars += s.chars().filter(|c| !c.is_whitespace()).count();
        }
        self.current.push_str(s);
    }
}

/// What a block adds to its containers: prose earns, links and short bits do not.
fn paragraph_score(b: &Block) -> f64 {
    if b.boiler || b.kind == BlockKind::Heading {
        return 0.0;
    }
    let n = b.chars();
    if n < MIN_PARAGRAPH_CHARS || b.link_density() > 0.5 {
        return 0.0;
    }
    let commas = b.text.matches([',', '，', '、']).count() as f64;
    (1.0 + commas + (n as f64 / 100.0).min(3.0)) * (1.0 - b.link_density())
}

struct Sink(RefCell<State>);

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut st = self.0.borrow_mut();
        match token {
            Token::TagToken(tag) => match tag.kind {
                TagKind::StartTag => return st.start(&tag),
                TagKind::EndTag => st.end(&tag),
            },
            Token::CharacterTokens(t) => st.text(&t),
            Token::NullCharacterToken
            | Token::CommentToken(_)
            | Token::DoctypeToken(_)
            | Token::ParseError(_)
            | Token::EOFToken => {}
            #[allow(unreachable_patterns)]
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// How a pass reads a page. Each is tried in this order until one finds
/// an article: nearly every page is read once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Pass {
    /// As shown.
    #[default]
    Shown,
    /// Elements hidden by style (`display: none`) read as shown: a script
    /// reveals them (tabs, filtered portfolios).
    Revealed,
    /// Class and id words not taken for boilerplate: a page whose only
    /// prose sits in a region named like chrome (an article's
    /// `hub--header` holding its standfirst) still has an article. Tags
    /// and roles still mark boilerplate.
    WordsIgnored,
}

const PASSES: [Pass; 3] = [Pass::Shown, Pass::Revealed, Pass::WordsIgnored];

/// Tokenize `html` into blocks and containers, read as `pass` says.
fn segment(html: &str, pass: Pass) -> State {
    segment_with(html, pass, false)
}

/// [`segment`], with each container's label filled when `labels`.
fn segment_with(html: &str, pass: Pass, labels: bool) -> State {
    let tokenizer = Tokenizer::new(
        Sink(RefCell::new(State {
            pass,
            labels,
            ..State::default()
        })),
        TokenizerOpts::default(),
    );
    let input = BufferQueue::default();
    input.push_back(html.into());
    let mut tokenizer = tokenizer;
    // The sink pauses the tokenizer after the start tag of an element whose
    // text it ignores; the text up to the end tag is dropped from the input,
    // and the tokenizer, back in its data state, reads the end tag next.
    while let TokenizerResult::Script(()) = tokenizer.feed(&input) {
        let pending = tokenizer.sink.0.borrow_mut().raw_pending.take();
        let Some(skip) = pending else { continue };
        let Some(mut rest) = input.pop_front() else {
            break;
        };
        // The page is fed as one buffer; should the tokenizer have split
        // it, the end tag is looked for in all that is left.
        while let Some(more) = input.pop_front() {
            rest.push_tendril(&more);
        }
        match raw_text_end(&rest, skip) {
            Some(end) => input.push_front(rest.subtendril(end as u32, rest.len32() - end as u32)),
            // A script with a comment opener in it: the tokenizer's own
            // script states decide where it ends.
            None if skip == RawSkip::Script && rest.contains("<!--") => {
                input.push_front(rest);
                let st = std::mem::take(&mut *tokenizer.sink.0.borrow_mut());
                tokenizer = Tokenizer::new(
                    Sink(RefCell::new(st)),
                    TokenizerOpts {
                        discard_bom: false,
                        initial_state: Some(States::RawData(RawKind::ScriptData)),
                        last_start_tag_name: Some("script".to_owned()),
                        ..TokenizerOpts::default()
                    },
                );
            }
            // Unclosed: the text runs to the end of the page.
            None => {}
        }
    }
    tokenizer.end();
    let mut st = tokenizer.sink.0.into_inner();
    while !st.stack.is_empty() {
        st.pop();
    }
    st.flush();
    decide_boiler_and_score(&mut st);
    st
}

/// Where the raw text at the start of `rest` ends: the offset of the end
/// tag that closes it (`</style` then whitespace, `/` or `>`, in any case),
/// as the tokenizer's raw-text states find it. `None` when there is none,
/// and for a script when an HTML comment opener comes before it (the
/// tokenizer's escape states may then read past that end tag).
fn raw_text_end(rest: &str, skip: RawSkip) -> Option<usize> {
    let name = match skip {
        RawSkip::Script => "script",
        RawSkip::Rawtext(name) => name,
    };
    let bytes = rest.as_bytes();
    let mut from = 0;
    while let Some(at) = memchr::memmem::find(&bytes[from..], b"</").map(|i| from + i) {
        let tag = at + 2;
        let named = bytes
            .get(tag..tag + name.len())
            .is_some_and(|t| t.eq_ignore_ascii_case(name.as_bytes()));
        let closed = matches!(
            bytes.get(tag + name.len()),
            Some(b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>')
        );
        if named && closed {
            if skip == RawSkip::Script && memchr::memmem::find(&bytes[..at], b"<!--").is_some() {
                return None;
            }
            return Some(at);
        }
        from = tag;
    }
    None
}

/// A boilerplate-looking region holding this share of the page's text or
/// more is a page wrapper with an unlucky class (`flex-wrap-footer`), not
/// boilerplate.
const MAX_BOILER_SHARE: f64 = 0.6;

/// Mark the blocks of boilerplate regions, then credit the containers.
fn decide_boiler_and_score(st: &mut State) {
    let mut prefix = Vec::with_capacity(st.blocks.len() + 1);
    prefix.push(0usize);
    for b in &st.blocks {
        prefix.push(prefix.last().copied().unwrap_or(0) + b.chars());
    }
    let limit = (st.chars as f64 * MAX_BOILER_SHARE) as usize;
    for b in st.blocks.iter_mut() {
        b.boiler = b.boiler_by.is_some_and(|c| {
            let k = &st.containers[c];
            prefix[k.end_block] - prefix[k.first_block] < limit
        });
        let credit = paragraph_score(b);
        if credit > 0.0 {
            for (i, &c) in b.near.iter().enumerate().filter(|(_, &c)| c != usize::MAX) {
                st.containers[c].score += credit / (i + 1) as f64;
            }
        }
    }
}

/// The article's blocks, in order; empty when the page has no article
/// content (no paragraph of prose outside boilerplate).
pub fn article_blocks(html: &str) -> Vec<Block> {
    page_blocks(html).article_text_blocks()
}

/// Every block of a page, and where the article lies among them.
#[derive(Debug, Clone, Default)]
pub struct PageBlocks {
    /// All blocks in document order, boilerplate included.
    pub blocks: Vec<Block>,
    /// The chosen container's blocks (empty when the page has no article);
    /// [`keep`] decides which of them are article text.
    pub article: std::ops::Range<usize>,
}

impl PageBlocks {
    /// Short blocks around the headline, nearest first (those after it
    /// before those as far before it): where pages show the byline and the
    /// date. The headline is the `<h1>` nearest the article's start, else
    /// the start itself.
    pub fn around_headline(&self) -> Vec<&Block> {
        let start = self.article.start;
        let anchor = self
            .blocks
            .iter()
            .enumerate()
            .filter(|(_, b)| b.h1)
            .min_by_key(|(i, _)| {
                // An `<h1>` before the article's start is the usual layout.
                if *i <= start {
                    (start - i) / 2
                } else {
                    i - start
                }
            })
            .map_or(start, |(i, _)| i);
        let lo = anchor.saturating_sub(HINT_BEFORE);
        let mut hi = (anchor + HINT_AFTER).min(self.blocks.len());
        // Once the article's prose is under way, a date belongs to what it
        // quotes or lists (an embedded post, a comment, a related story).
        let mut prose = 0;
        for i in anchor + 1..hi {
            if self.blocks[i].chars() > HINT_PROSE_CHARS {
                prose += 1;
                if prose == HINT_PROSE_BLOCKS {
                    hi = i;
                    break;
                }
            }
        }
        let mut near: Vec<(usize, &Block)> = (lo..hi)
            .filter(|&i| self.blocks[i].chars() <= HINT_MAX_CHARS)
            .map(|i| {
                let key = if i >= anchor {
                    (i - anchor) * 2
                } else {
                    (anchor - i) * 3
                };
                (key, &self.blocks[i])
            })
            .collect();
        near.sort_by_key(|(k, _)| *k);
        near.into_iter().map(|(_, b)| b).collect()
    }

    /// The article's blocks, in order. A run of paragraphs that repeats
    /// earlier ones is a second copy of the text (a layout for another
    /// screen size, a carousel's clones) and is left out, as is a block or a
    /// pair repeated right after itself (a card's hover overlay); a lone
    /// repeat further on (a disclaimer under each item) is the page's own
    /// and stays.
    pub fn article_text_blocks(&self) -> Vec<Block> {
        let kept: Vec<&Block> = self.blocks[self.article.clone()]
            .iter()
            .filter(|b| keep(b))
            .collect();
        // Each paragraph of prose, in order, with the place among them of its
        // first occurrence.
        let mut first = HashMap::with_capacity(kept.len());
        let prose: Vec<(usize, usize)> = kept
            .iter()
            .enumerate()
            .filter(|(_, b)| b.kind == BlockKind::Text && b.chars() >= MIN_REPEAT_CHARS)
            .enumerate()
            .map(|(k, (i, b))| (i, *first.entry(b.text.as_str()).or_insert(k)))
            .collect();
        // A repeat is a copy when its neighbour repeats the original's.
        let copy = |k: usize, d: isize| {
            let (Some(j), Some(o)) = (k.checked_add_signed(d), prose[k].1.checked_add_signed(d))
            else {
                return false;
            };
            prose.get(j).is_some_and(|&(_, oj)| oj == o && oj != j)
        };
        let mut drop = vec![false; kept.len()];
        for (k, &(i, o)) in prose.iter().enumerate() {
            drop[i] = o != k && (copy(k, -1) || copy(k, 1));
        }
        // A block that repeats the one before it, or a pair of blocks that
        // repeats the pair before it (a card's title and teaser), is a
        // layout's second copy: a hover overlay, a label for small screens.
        // One of them must be a line of text: short cells ("Rest", "Best")
        // repeat in tables.
        let text = |i: Option<usize>| i.and_then(|i| kept.get(i)).map(|b| b.text.as_str());
        let same = |i: usize, j: Option<usize>| text(Some(i)).is_some() && text(Some(i)) == text(j);
        let long = |i: usize| {
            kept.get(i)
                .is_some_and(|b| b.chars() >= MIN_NEAR_REPEAT_CHARS)
        };
        for (i, d) in drop.iter_mut().enumerate().skip(1) {
            let back = |k: usize| i.checked_sub(k);
            // This block and the next repeat the two before, or this block
            // and the one before repeat the two before them.
            let first_of_pair =
                same(i, back(2)) && same(i + 1, back(1)) && (long(i) || long(i + 1));
            let second_of_pair = same(i, back(2))
                && back(3).is_some_and(|k| same(k + 2, Some(k)))
                && (long(i) || long(i - 1));
            if same(i, back(1)) && long(i) || first_of_pair || second_of_pair {
                *d = true;
            }
        }
        let end = related_tail(&kept);
        kept.into_iter()
            .take(end)
            .zip(drop)
            .filter(|(_, d)| !d)
            .map(|(b, _)| b.clone())
            .collect()
    }
}

/// Where a related-stories section closes the article. Either the first
/// block that names one ([`AFTER_ARTICLE`]), after some of the article's
/// prose, and followed by teasers only (nothing longer than a teaser, with at
/// least half of the prose before it) or by teaser cards (two or more blocks
/// that are only a date); or, with no such label, the first date of three or
/// more among the short blocks that end the page, with at least half of the
/// prose before it. `blocks.len()` when there is none. A box of links in the
/// middle of an article is followed by more paragraphs, so it is left to
/// [`keep`].
fn related_tail(blocks: &[&Block]) -> usize {
    let prose = |b: &Block| {
        if b.kind == BlockKind::Text && b.chars() >= MIN_REPEAT_CHARS {
            b.chars()
        } else {
            0
        }
    };
    let total: usize = blocks.iter().map(|b| prose(b)).sum();
    // Teasers only: after the last long block.
    let first = blocks
        .iter()
        .rposition(|b| b.chars() > MAX_TEASER_CHARS)
        .map_or(0, |i| i + 1);
    // Blocks that are only a date: cards carry one each.
    let dates: Vec<usize> = (0..blocks.len())
        .filter(|&j| {
            let t = &blocks[j].text;
            t.len() <= MAX_DATE_BYTES && date::normalize(t).is_some()
        })
        .collect();
    let dates_after = |i: usize| dates.len() - dates.partition_point(|&d| d <= i);
    let mut before = 0;
    for (i, b) in blocks.iter().enumerate() {
        before += prose(b);
        if before == 0
            || b.kind == BlockKind::Item
            || b.chars() > MAX_LABEL_CHARS
            || !AFTER_ARTICLE.is_match(&b.text)
        {
            continue;
        }
        if before * 2 >= total && i >= first || dates_after(i) >= 2 {
            return i;
        }
    }
    let k = dates.partition_point(|&d| d < first);
    if dates.len() - k >= 3 {
        let d = dates[k];
        let before: usize = blocks[..d].iter().map(|b| prose(b)).sum();
        if before > 0 && before * 2 >= total {
            return d;
        }
    }
    blocks.len()
}

/// Blocks after a related-stories heading are at most this long (in
/// characters): headlines and one-line teasers.
const MAX_TEASER_CHARS: usize = 300;
/// A block of only a date is at most this long (in bytes).
const MAX_DATE_BYTES: usize = 32;
/// A section label is at most this long.
const MAX_LABEL_CHARS: usize = 60;
/// Paragraphs this long (in characters) or longer are checked for repeats.
const MIN_REPEAT_CHARS: usize = 100;
/// A repeat of the block or pair just before is a copy when it holds a
/// block this long; shorter ones ("Rest", "Best") repeat in tables.
const MIN_NEAR_REPEAT_CHARS: usize = 40;
/// Blocks before the headline looked at for its byline and date.
const HINT_BEFORE: usize = 12;
/// Blocks after it.
const HINT_AFTER: usize = 30;
/// Longer blocks are prose, not a byline or a dateline.
const HINT_MAX_CHARS: usize = 120;
/// Blocks this long are the article's prose ...
const HINT_PROSE_CHARS: usize = 200;
/// ... and this many of them end the search for a dateline.
const HINT_PROSE_BLOCKS: usize = 2;

/// The first of the [`PASSES`] whose reading finds an article, and its
/// best container; the last reading when none does.
fn first_article(read: impl Fn(Pass) -> State) -> (State, Option<usize>) {
    let mut st = read(PASSES[0]);
    let mut best = best_container(&st);
    for &pass in &PASSES[1..] {
        if best.is_some() {
            break;
        }
        st = read(pass);
        best = best_container(&st);
    }
    (st, best)
}

/// The container with the best boosted score, if any scores at all.
fn best_container(st: &State) -> Option<usize> {
    st.containers
        .iter()
        .enumerate()
        .filter(|(_, c)| c.score > 0.0)
        .max_by(|(i, a), (j, b)| {
            let boost = |c: &Container| if c.likely || c.semantic { 1.25 } else { 1.0 };
            (a.score * boost(a))
                .total_cmp(&(b.score * boost(b)))
                // The outermost of equals (ties go to the earlier index).
                .then(j.cmp(i))
        })
        .map(|(i, _)| i)
}

/// Segment `html` and choose its article container. A page whose shown
/// text holds no article is read again, as the later [`PASSES`] say.
pub fn page_blocks(html: &str) -> PageBlocks {
    let (st, best) = first_article(|pass| segment(html, pass));
    let Some(mut best) = best else {
        return PageBlocks {
            blocks: st.blocks,
            article: 0..0,
        };
    };
    // Widen to an ancestor that holds clearly more prose, at the same
    // density: an article split over sibling containers.
    let mut good = Vec::with_capacity(st.blocks.len() + 1);
    let mut all = Vec::with_capacity(st.blocks.len() + 1);
    good.push(0usize);
    all.push(0usize);
    // A copy of earlier prose (the same article laid out again for another
    // screen size) is no gain: widening over it would give the text twice.
    let mut seen = HashSet::with_capacity(st.blocks.len());
    for b in &st.blocks {
        let n = b.chars();
        let fresh = seen.insert(b.text.as_str());
        let g = if fresh && paragraph_score(b) > 0.0 {
            n
        } else {
            0
        };
        good.push(good.last().copied().unwrap_or(0) + g);
        // Density is over the text a widened article would give: the link
        // lists [`keep`] leaves out do not dilute it.
        let shown = fresh && keep(b);
        all.push(all.last().copied().unwrap_or(0) + if shown { n } else { 0 });
    }
    let sum = |v: &[usize], c: &Container| v[c.end_block] - v[c.first_block];
    // Wrappers that add no prose to the one below them are passed through
    // (they may still add chrome, so they are not taken themselves) and do
    // not use up the levels, also above an ancestor that was refused: a
    // page builder nests each part of an article in five or six of them.
    let mut at = best;
    let mut levels = 0;
    let mut steps = 0;
    while levels < MAX_WIDEN && steps < MAX_WIDEN_STEPS {
        steps += 1;
        let Some(p) = st.containers[at].parent else {
            break;
        };
        let (cur, par) = (&st.containers[best], &st.containers[p]);
        let (g_cur, g_par) = (sum(&good, cur), sum(&good, par));
        let g_at = sum(&good, &st.containers[at]);
        at = p;
        if g_par == g_at {
            continue;
        }
        levels += 1;
        // A list of long items can outscore the element holding it (its
        // items credit it whole), but an article written as a list has its
        // introduction beside it: from a list, any more prose is taken.
        // A CMS that breaks the article's rich text around an embedded
        // call to action leaves sibling elements of the same class: any
        // prose in one before the chosen one is the article's opening (one
        // after it is as often an author's bio or footnotes set alike).
        let twin = || {
            cur.key != 0
                && st.containers.iter().enumerate().any(|(i, c)| {
                    i != best
                        && c.parent == Some(p)
                        && c.key == cur.key
                        && c.end_block <= cur.first_block
                        && sum(&good, c) > 0
                })
        };
        if (g_par as f64 >= g_cur as f64 * WIDEN_GAIN || (cur.list || twin()) && g_par > g_cur)
            && g_par as f64 >= sum(&all, par) as f64 * WIDEN_DENSITY
        {
            best = p;
        }
        // An ancestor that fails may be a wrapper adding a teaser or a
        // caption; the one above it can still hold the rest of the article.
    }
    let article = st.containers[best].first_block..st.containers[best].end_block;
    PageBlocks {
        blocks: st.blocks,
        article,
    }
}

/// Levels the chosen container may widen by: an article whose sections
/// each nest the next one adds a little prose per level, and its start
/// can be five levels up.
const MAX_WIDEN: usize = 5;
/// Ancestors looked at when widening, prose-neutral wrappers included.
const MAX_WIDEN_STEPS: usize = 12;
/// How much more prose an ancestor must hold to be taken instead: an
/// article split over siblings doubles it, while the bio, disclaimer or
/// teasers that follow one add a fifth or so.
const WIDEN_GAIN: f64 = 1.3;
/// The share of the text an ancestor would give (see [`keep`]) that must be
/// prose.
const WIDEN_DENSITY: f64 = 0.5;

/// The `n` best-scoring containers of `html` and the chosen range, one a
/// line: for studying pages, not for the pipeline.
#[doc(hidden)]
pub fn debug_containers(html: &str, n: usize) -> String {
    // As [`page_blocks`] reads the page.
    let (st, _) = first_article(|pass| segment_with(html, pass, true));
    let mut order: Vec<usize> = (0..st.containers.len()).collect();
    order.sort_by(|&a, &b| st.containers[b].score.total_cmp(&st.containers[a].score));
    let mut out = String::new();
    for i in order.into_iter().take(n) {
        let c = &st.containers[i];
        let depth = std::iter::successors(c.parent, |&p| st.containers[p].parent).count();
        out.push_str(&format!(
            "#{i} d{depth} score {:.1} blocks {}..{} parent {:?} {}\n",
            c.score, c.first_block, c.end_block, c.parent, c.label
        ));
    }
    let page = page_blocks(html);
    out.push_str(&format!("chosen {:?}\n", page.article));
    out
}

/// Whether a block inside the chosen container is article text.
pub fn keep(b: &Block) -> bool {
    if b.boiler || is_placeholder(&b.text) {
        return false;
    }
    let n = b.chars();
    match b.kind {
        BlockKind::Heading | BlockKind::Pre => b.link_density() < 0.9,
        BlockKind::Item => b.link_density() < 0.5 || n > 80 && b.link_density() < 0.7,
        BlockKind::Text => b.link_density() < 0.5 || n > 200 && b.link_density() < 0.7,
    }
}

/// Template filler ("Lorem ipsum dolor sit amet, ..."): a theme's demo
/// content left in the page, never the article.
fn is_placeholder(text: &str) -> bool {
    text.get(..11)
        .is_some_and(|h| h.eq_ignore_ascii_case("lorem ipsum"))
}

/// Join blocks as the record's text: one blank line between paragraphs,
/// list items one per line.
pub fn join(blocks: &[Block]) -> String {
    let mut out = String::new();
    let mut prev: Option<BlockKind> = None;
    for b in blocks {
        if let Some(p) = prev {
            let sep = if p == BlockKind::Item && b.kind == BlockKind::Item {
                "\n"
            } else {
                "\n\n"
            };
            out.push_str(sep);
        }
        out.push_str(&b.text);
        prev = Some(b.kind);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(html: &str) -> String {
        join(&article_blocks(html))
    }

    const PROSE: &str = "The council voted on Tuesday to rebuild the old bridge, which has carried traffic across the river since 1921, at a cost of twelve million pounds.";

    #[test]
    fn rich_text_split_by_a_call_to_action_is_joined_but_a_bio_after_is_not() {
        // The opening holds far less prose than the rest, so it adds too
        // little to widen by prose alone; its class says it is the article.
        let rest: String = (0..8)
            .map(|i| format!("<p>{PROSE} Part {i}.</p>"))
            .collect();
        let page = |before: &str, after: &str| {
            format!(
                r#"<html><body><div class="post">{before}
                  <div class="cta"><a href="/demo">Book a demo</a></div>
                  <div class="rich-text">{rest}</div>{after}
                </div></body></html>"#
            )
        };
        let opening = format!(r#"<div class="rich-text"><p>{PROSE} Opening.</p></div>"#);
        let text = text_of(&page(&opening, ""));
        assert!(text.contains("Opening."), "{text}");
        assert!(text.contains("Part 7."), "{text}");
        assert!(!text.contains("Book a demo"), "{text}");
        // Set in the same style after the article, a bio stays out.
        let bio = r#"<div class="rich-text"><p>Jane Roe writes about local transport and town planning for us.</p></div>"#;
        let text = text_of(&page("", bio));
        assert!(text.starts_with("The council voted"), "{text}");
        assert!(text.ends_with("Part 7."), "{text}");
    }

    #[test]
    fn nested_layouts_give_the_article_and_leave_the_chrome() {
        let html = format!(
            r#"<html><head><title>T</title><script>var x = "<p>no</p>";</script></head><body>
            <header><nav><a href="/">Home</a> <a href="/news">News</a></nav></header>
            <div class="wrap"><div class="col"><div class="inner"><article>
              <h1>Bridge to be rebuilt</h1>
              <div class="body"><p>{PROSE}</p><p>{PROSE} Second.</p>
              <h2>What happens next</h2><ul><li>Work starts in May</li><li>Ends in 2027</li></ul>
              <p>{PROSE} Third.</p></div>
            </article></div></div>
            <aside class="sidebar"><p>{PROSE} Sidebar.</p></aside></div>
            <footer><p>Copyright 2024, all rights reserved, by the publisher of this site.</p></footer>
            </body></html>"#
        );
        let text = text_of(&html);
        assert!(text.starts_with("The council voted"), "{text}");
        assert!(
            text.contains("What happens next\n\nWork starts in May\nEnds in 2027\n\n"),
            "{text}"
        );
        assert!(text.ends_with("Third."), "{text}");
        for chrome in ["Home", "Sidebar", "Copyright", "no</p>"] {
            assert!(!text.contains(chrome), "{chrome} in {text}");
        }
    }

    #[test]
    fn raw_text_ends_at_its_own_end_tag_and_scripts_with_comments_are_left_to_the_tokenizer() {
        let style = RawSkip::Rawtext("style");
        assert_eq!(raw_text_end("p{} </styles> </STYLE >x", style), Some(14));
        assert_eq!(raw_text_end("a</style/>", style), Some(1));
        // No end tag, or one cut off by the end of the page.
        assert_eq!(raw_text_end("p{}", style), None);
        assert_eq!(raw_text_end("p{}</style", style), None);
        assert_eq!(
            raw_text_end("if (a</b) x = '</p>';</script>", RawSkip::Script),
            Some(21)
        );
        assert_eq!(raw_text_end("<!-- x --></script>", RawSkip::Script), None);
    }

    #[test]
    fn scripts_and_styles_stepped_over_leave_the_text_around_them() {
        let texts = |html: &str| -> Vec<String> {
            segment(html, Pass::Shown)
                .blocks
                .into_iter()
                .map(|b| b.text)
                .collect()
        };
        // A script's markup-like text, a style, a style in capitals that
        // runs to the end of the page.
        let html = r#"<body><p>Before the script.</p><script>if (a</b) x = "</p><p>not text";</script>
            <style>p { color: red } </stylex> </style ><p>After the style.</p>
            <noscript><p>Enable scripts</p></noscript><p>Last.</p><STYLE>p{}"#;
        assert_eq!(
            texts(html),
            ["Before the script.", "After the style.", "Last."]
        );
        // Inside a comment in a script, a nested script's end tag does not end
        // it (the tokenizer's double-escaped state): read as the tokenizer reads it.
        let html =
            r#"<body><script><!-- document.write("<script>x</script>"); --></script><p>After.</p>"#;
        assert_eq!(texts(html), ["After."]);
        // A comment in a script that does not nest one ends at the first end tag.
        let html = r#"<body><script><!-- x = 1; </script><p>After.</p>"#;
        assert_eq!(texts(html), ["After."]);
    }

    #[test]
    fn a_related_links_block_inside_the_body_is_left_out() {
        let html = format!(
            r#"<article><p>{PROSE}</p>
            <div class="related-stories"><h3>Related</h3><ul>
              <li><a href="/a">Council approves new budget after a long and heated debate</a></li>
              <li><a href="/b">River levels rise after a week of heavy rain across the region</a></li></ul></div>
            <p>Readers also liked: <a href="/c">Ten bridges that changed the city forever and for good</a></p>
            <p>{PROSE} After.</p></article>"#
        );
        let text = text_of(&html);
        assert!(text.contains("After."), "{text}");
        assert!(
            !text.contains("Council approves") && !text.contains("Ten bridges"),
            "{text}"
        );
    }

    #[test]
    fn teasers_under_a_related_heading_at_the_end_are_left_out() {
        // Plain text teasers, not links: only the label says what they are.
        let teaser = "The harbour board met again on Monday and agreed a timetable for dredging the channel before the summer season begins...";
        let html = format!(
            r#"<div class="content"><p>{PROSE}</p><p>{PROSE} Second.</p>
            <p>ALSO IN THE NEWS</p><p>Front Page</p><p>{teaser}</p><p>Front Page</p><p>{teaser} Again.</p></div>"#
        );
        let text = text_of(&html);
        assert!(text.contains("Second."), "{text}");
        assert!(
            !text.contains("harbour") && !text.contains("ALSO IN"),
            "{text}"
        );
    }

    #[test]
    fn dated_cards_under_a_latest_news_label_are_left_out() {
        // Long excerpts: only the dates say these are cards.
        let excerpt = format!("{PROSE} {PROSE} {PROSE}");
        let html = format!(
            r#"<div class="page"><p>{PROSE}</p><p>{PROSE} Two.</p><h3>Latest News</h3>
            <h4>Harbour dredging agreed</h4><p>March 29, 2025</p><p>{excerpt} Card one.</p>
            <h4>Bridge tolls to rise</h4><p>March 27, 2025</p><p>{excerpt} Card two.</p></div>"#
        );
        let text = text_of(&html);
        assert!(text.contains("Two."), "{text}");
        assert!(
            !text.contains("Card one") && !text.contains("Latest"),
            "{text}"
        );
    }

    #[test]
    fn dated_cards_without_a_label_at_the_end_are_left_out() {
        let html = format!(
            r#"<div class="page"><p>{PROSE}</p><p>{PROSE} Two.</p><p>The deal ends on Friday.</p>
            <p>09/28/2025</p><p>Not quite its lowest price ever, but a good deal.</p>
            <p>10/16/2025</p><p>Our top pick for students is at a record low.</p>
            <p>11/26/2025</p><p>Live stream the first round from anywhere.</p></div>"#
        );
        let text = text_of(&html);
        assert!(text.contains("Two.") && text.contains("Friday"), "{text}");
        assert!(
            !text.contains("record low") && !text.contains("2025"),
            "{text}"
        );
    }

    #[test]
    fn a_related_box_followed_by_more_article_is_not_the_end() {
        let html = format!(
            r#"<article><p>{PROSE}</p><p>{PROSE} Two.</p><h3>Related article</h3>
            <p>The smart thermostat buying guide</p><p>{PROSE} {PROSE} Three.</p></article>"#
        );
        let text = text_of(&html);
        assert!(text.contains("Three."), "{text}");
    }

    #[test]
    fn a_related_heading_before_most_of_the_article_is_not_the_end() {
        let html = format!(
            r#"<article><p>{PROSE}</p><h2>Related reading</h2><p>{PROSE} Two.</p><p>{PROSE} Three.</p><p>Short line.</p></article>"#
        );
        let text = text_of(&html);
        assert!(text.contains("Two.") && text.contains("Three."), "{text}");
    }

    #[test]
    fn template_filler_is_left_out() {
        let html = format!(
            r#"<article><p>{PROSE}</p><div class="tabs"><h3>Head Line 1</h3>
            <p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt.</p></div>
            <p>{PROSE} End.</p></article>"#
        );
        let text = text_of(&html);
        assert!(text.contains("End."), "{text}");
        assert!(!text.to_lowercase().contains("lorem"), "{text}");
    }

    #[test]
    fn a_head_with_many_unclosed_elements_still_gives_its_body() {
        let html = format!(
            "<html><head>{}</head><body><article><p>{PROSE}</p></article></body></html>",
            "<template>".repeat(70)
        );
        assert!(text_of(&html).contains(PROSE), "{}", text_of(&html));
    }

    #[test]
    fn a_collapsed_accordion_panel_is_article_and_other_hidden_text_is_not() {
        let html = format!(
            r#"<article><p>{PROSE} One.</p><div class="steps">
            <button aria-expanded="false" aria-controls="s1">Week 1</button>
            <div id="s1" role="region" aria-labelledby="b1" style="display: none"><p>{PROSE} Folded.</p></div></div>
            <div style="display:none"><p>{PROSE} Popup.</p></div><p>{PROSE} Two.</p></article>"#
        );
        let text = text_of(&html);
        assert!(text.contains("Folded."), "{text}");
        assert!(!text.contains("Popup."), "{text}");
    }

    #[test]
    fn header_in_the_middle_of_a_class_name_is_a_style_not_chrome() {
        let html = format!(
            r#"<body><div class="site-header"><p>{PROSE} Masthead.</p></div><article>
            <p>{PROSE} One.</p><div class="acc kt-pane-header-alignment-left"><p>{PROSE} Folded.</p></div>
            <p>{PROSE} Two.</p></article></body>"#
        );
        let text = text_of(&html);
        assert!(text.contains("Folded."), "{text}");
        assert!(!text.contains("Masthead."), "{text}");
    }

    #[test]
    fn a_card_shown_twice_in_a_row_is_taken_once_and_table_cells_may_repeat() {
        let card = |t: &str| {
            format!(
                r#"<div class="card"><h3>{t}</h3><p>A museum in a small town, told to the whole region.</p></div>
                <div class="hover"><h3>{t}</h3><p>A museum in a small town, told to the whole region.</p></div>"#
            )
        };
        let html = format!(
            r#"<article><p>{PROSE} One.</p>{}<table><tr><td>Rest</td><td>Rest</td></tr></table>
            <p>{PROSE} Two.</p></article>"#,
            card("Universal Appeal")
        );
        let text = text_of(&html);
        assert_eq!(text.matches("small town").count(), 1, "{text}");
        assert_eq!(text.matches("Rest").count(), 2, "{text}");
    }

    #[test]
    fn a_page_whose_article_is_all_hidden_by_style_is_read_with_it_shown() {
        let html = format!(
            r#"<body><nav><a href="/">Home</a></nav><div class="grid" style="display:none">
            <p>{PROSE} One.</p><p>{PROSE} Two.</p></div></body>"#
        );
        let text = text_of(&html);
        assert!(text.contains("One.") && text.ends_with("Two."), "{text}");
    }

    #[test]
    fn a_page_whose_only_prose_is_in_a_region_named_like_chrome_still_gives_it() {
        let html = format!(
            r#"<body><nav><p>{PROSE} Menu.</p></nav><article><div class="hub--header">
            <p>{PROSE} One.</p><p>{PROSE} Two.</p></div></article><footer><p>{PROSE} Foot.</p></footer></body>"#
        );
        let text = text_of(&html);
        assert!(
            text.starts_with("The council") && text.ends_with("Two."),
            "{text}"
        );
        // Where prose outside such regions exists, they stay out.
        let html = format!(
            r#"<body><article><div class="hub--header"><p>{PROSE} One.</p></div>
            <p>{PROSE} Two.</p></article></body>"#
        );
        let text = text_of(&html);
        assert!(!text.contains("One.") && text.ends_with("Two."), "{text}");
    }

    #[test]
    fn a_paywall_notice_is_left_out() {
        let html = format!(
            r#"<main><p>{PROSE}</p><div class="paywall"><p>Subscribe now to keep reading, only one pound a week for the first year.</p></div>
            <div id="cookie-consent"><p>We use cookies to improve your experience of this site, accept them all.</p></div></main>"#
        );
        let text = text_of(&html);
        assert_eq!(text, PROSE);
    }

    #[test]
    fn of_two_articles_the_longer_is_taken_whole() {
        let html = format!(
            r#"<body><article><p>Short note, a few words only, but it is prose with commas.</p></article>
            <article><p>{PROSE}</p><p>{PROSE} Two.</p><p>{PROSE} Three.</p></article></body>"#
        );
        let text = text_of(&html);
        assert!(
            text.ends_with("Three.") && !text.contains("Short note"),
            "{text}"
        );
    }

    #[test]
    fn paragraphs_each_in_their_own_wrappers_are_taken_together() {
        let para =
            |s: &str| format!(r#"<div><div class="rich-text"><p>{PROSE} {s}</p></div></div>"#);
        let html = format!(
            r##"<body><div class="layout"><div class="toc"><a href="#a">Start</a></div>
            <div class="story">{}{}{}{}</div></div>
            <aside><p>{PROSE} Elsewhere.</p></aside></body>"##,
            para("One."),
            para("Two, with more words, so that it is the longest paragraph on the page."),
            para("Three."),
            para("Four.")
        );
        let text = text_of(&html);
        for w in ["One.", "longest paragraph", "Three.", "Four."] {
            assert!(text.contains(w), "{w} missing from {text}");
        }
        assert!(!text.contains("Elsewhere"), "{text}");
    }

    #[test]
    fn an_article_inside_a_layout_named_for_its_sidebar_is_kept() {
        let html = format!(
            r#"<body><nav><a href="/">Home</a></nav><div class="with-sidebar-layout">
            <article><p>{PROSE}</p><p>{PROSE} Two.</p></article>
            <div class="comments"><p>{PROSE} A comment.</p>
            <ol><li class="comment"><article><p>{PROSE} Listed comment.</p></article></li></ol>
            <article class="article-comment-2"><p>{PROSE} Comment two.</p></article></div></div>
            <aside><article><p>{PROSE} A teaser.</p></article></aside></body>"#
        );
        let text = text_of(&html);
        assert!(text.ends_with("Two."), "{text}");
        assert!(
            !text.contains("comment") && !text.contains("teaser"),
            "{text}"
        );
    }

    #[test]
    fn the_main_column_of_a_layout_named_for_its_sidebar_is_kept() {
        // The layout holds under 60% of the page's text, so only its main
        // column says it is not a sidebar.
        let footer = format!("<p>{PROSE}</p>").repeat(4);
        let html = format!(
            r#"<body><div class="c-layout-sidebar-left"><nav><a href="/a">Guide</a></nav>
            <div class="c-layout-main"><div class="c-wysiwyg"><p>{PROSE} One.</p></div>
            <div class="c-wysiwyg"><p>{PROSE} Two.</p></div></div></div>
            <footer class="site-footer">{footer}</footer></body>"#
        );
        let text = text_of(&html);
        assert!(text.contains("One.") && text.contains("Two."), "{text}");
    }

    #[test]
    fn link_lists_left_out_do_not_stop_widening() {
        let links: String = (0..10)
            .map(|i| format!(r#"<li><a href="/pr/{i}">Regenerate the intrinsics and update the dependency {i}</a></li>"#))
            .collect();
        let html = format!(
            r#"<div class="doc"><div class="sect1"><div class="sectionbody"><p>{PROSE}</p><p>{PROSE}</p><p>{PROSE} One.</p></div></div>
            <div class="sect1"><div class="sectionbody"><p>{PROSE} Two.</p><ul>{links}</ul></div></div></div>"#
        );
        let text = text_of(&html);
        assert!(text.contains("One.") && text.contains("Two."), "{text}");
    }

    #[test]
    fn widening_looks_past_an_ancestor_that_adds_too_little() {
        let links = r#"<a href="/t">Bridges and rivers of the region</a> "#.repeat(20);
        let html = format!(
            r#"<body><div class="page"><div class="part1">
            <div class="a"><p>{PROSE} One.</p><p>{PROSE} Two.</p><p>{PROSE} Three.</p></div>
            <div class="topics">{links}</div><div class="note">A short note, with a comma.</div></div>
            <div class="part2"><p>{PROSE} Four.</p><p>{PROSE} Five.</p></div></div></body>"#
        );
        let text = text_of(&html);
        assert!(text.contains("One.") && text.ends_with("Five."), "{text}");
        assert!(!text.contains("Bridges and rivers"), "{text}");
    }

    #[test]
    fn a_list_article_takes_its_introduction_along() {
        // Distinct items: a repeat is no gain when widening.
        let items: String = (1..=8)
            .map(|i| format!("<li>{PROSE} Item {i}, with a comma or two, and more words.</li>"))
            .collect();
        let html = format!(
            r#"<body><nav><a href="/">Home</a></nav><div class="content">
            <p>{PROSE} Intro.</p><ol>{items}</ol></div></body>"#
        );
        let text = text_of(&html);
        assert!(
            text.contains("Intro.") && text.ends_with("more words."),
            "{text}"
        );
    }

    #[test]
    fn an_article_laid_out_twice_is_taken_once() {
        let copy = format!(
            r#"<div class="text"><p>{PROSE} One.</p><p>{PROSE} Two.</p><p>{PROSE} Three.</p></div>"#
        );
        let html = format!(
            r#"<body><div class="page"><div class="wide">{copy}</div>
            <div class="narrow">{copy}</div></div></body>"#
        );
        let text = text_of(&html);
        assert_eq!(text.matches("One.").count(), 1, "{text}");
        assert!(text.ends_with("Three."), "{text}");
    }

    #[test]
    fn a_repeated_run_of_paragraphs_is_dropped_and_a_lone_repeat_kept() {
        let note = "Prices were checked on the day of writing and may well have changed since then, so do check before you buy.";
        let html = format!(
            r#"<article><p>{PROSE} One.</p><p>{PROSE} Two.</p>
            <div class="slides"><p>{PROSE} One.</p><p>{PROSE} Two.</p></div>
            <h2>First pick</h2><p>{note}</p><h2>Second pick</h2><p>{note}</p>
            <p>{PROSE} Three.</p></article>"#
        );
        let text = text_of(&html);
        assert_eq!(text.matches("One.").count(), 1, "{text}");
        assert_eq!(text.matches("Two.").count(), 1, "{text}");
        assert_eq!(text.matches("day of writing").count(), 2, "{text}");
        assert!(text.ends_with("Three."), "{text}");
    }

    #[test]
    fn widening_does_not_take_a_bio_that_adds_a_fifth_more_prose() {
        let html = format!(
            r#"<body><div class="post"><div class="text"><p>{PROSE} One.</p><p>{PROSE} Two.</p>
            <p>{PROSE} Three.</p><p>{PROSE} Four.</p><p>{PROSE} Five.</p></div>
            <div class="about"><p>Sam Reed writes about towns, roads and rivers, has covered the council for ten years, and lives by the old bridge with two cats.</p></div>
            </div></body>"#
        );
        let text = text_of(&html);
        assert!(
            text.starts_with("The council") && text.ends_with("Five."),
            "{text}"
        );
    }

    #[test]
    fn widening_passes_wrappers_above_a_refused_ancestor() {
        let wrap = |s: String| {
            format!(
                r#"<div class="w"><div class="x"><div class="y"><div class="z">{s}</div></div></div></div>"#
            )
        };
        let part1 = format!(
            r#"<div class="part"><div class="text"><p>{PROSE} One.</p><p>{PROSE} Two.</p>
            <p>{PROSE} Three.</p><p>{PROSE} Four.</p><p>{PROSE} Five.</p></div>
            <p>{PROSE} A caption under the text.</p></div>"#
        );
        let html = format!(
            r#"<body><div class="page">{}<div class="part2"><p>{PROSE} Six.</p><p>{PROSE} Seven.</p>
            <p>{PROSE} Eight.</p></div></div></body>"#,
            wrap(part1)
        );
        let text = text_of(&html);
        assert!(text.contains("One.") && text.ends_with("Eight."), "{text}");
    }

    #[test]
    fn widening_reaches_an_article_five_nested_sections_up() {
        let paras = |n: usize, tag: &str| -> String {
            (0..n)
                .map(|k| format!("<p>{PROSE} {tag}{k}.</p>"))
                .collect()
        };
        let mut inner = format!(r#"<div class="s5">{}</div>"#, paras(20, "Deep"));
        for k in (1..=4).rev() {
            inner = format!(r#"<div class="s{k}"><p>{PROSE} Level{k}.</p>{inner}</div>"#);
        }
        let html = format!(
            r#"<body><div class="page">{}{inner}</div></body>"#,
            paras(10, "Intro")
        );
        let text = text_of(&html);
        assert!(text.starts_with(&format!("{PROSE} Intro0.")), "{text}");
        assert!(
            text.contains("Level1.") && text.ends_with("Deep19."),
            "{text}"
        );
    }

    #[test]
    fn a_byline_card_and_footnotes_in_the_body_are_left_out() {
        let html = format!(
            r#"<article><div class="byline vcard"><span class="fn">Sam Reed</span>, city desk</div>
            <p>{PROSE}</p><p>{PROSE} Two.</p>
            <div class="footnotes"><ol><li>Minutes of the council meeting, page four.</li></ol></div></article>"#
        );
        assert_eq!(text_of(&html), format!("{PROSE}\n\n{PROSE} Two."));
    }

    #[test]
    fn pages_without_prose_have_no_article() {
        assert!(article_blocks("<nav><a href=/>Home</a></nav><p>Hi.</p>").is_empty());
        assert!(article_blocks("").is_empty());
        assert!(article_blocks(&format!("<p>{PROSE}</p><script>unclosed <p>x</p>")).len() == 1);
    }

    #[test]
    fn an_unclosed_head_does_not_hide_the_body() {
        let text = text_of(&format!("<html><head><meta charset=utf-8><p>{PROSE}</p>"));
        assert_eq!(text, PROSE);
    }
}

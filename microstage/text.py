"""Safe rendering of creator-written text (Markdown in, sanitised HTML out)."""
import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe

_TAGS = {"p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "a", "h2", "h3", "h4", "blockquote", "code",
         "pre", "hr"}


def render_markdown(text: str) -> SafeString:
    html = markdown.markdown(text or "", extensions=["sane_lists"], output_format="html")
    clean = nh3.clean(html, tags=_TAGS, attributes={"a": {"href", "title"}}, link_rel="noopener nofollow ugc",
                      url_schemes={"http", "https", "mailto"})
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above

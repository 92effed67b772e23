"""The report as one self-contained HTML file: inline CSS and JS, inline SVG charts, no
network request of any kind, readable from a phone to a wide screen.

Every piece of repository content goes through html.escape (quotes included), and the
page carries a Content-Security-Policy that allows only its own inline script and style
by hash: even a string that slipped past escaping could not run. The filter (severity,
dimension) shows and hides the finding groups of section 4.
"""

from __future__ import annotations

import base64
import hashlib
import re
from html import escape

from prodaudit.findings import AuditResult
from prodaudit.report.blocks import (
    Badge,
    BarChart,
    Block,
    BulletList,
    Code,
    CodeBlock,
    Document,
    Group,
    Heading,
    Inline,
    Link,
    Paragraph,
    Rich,
    Section,
    Strong,
    Table,
    Text,
)

CSS = """
:root{--fg:#1d2330;--muted:#5b6475;--bg:#fff;--panel:#f5f7fa;--line:#dde2ea;--link:#1f5fbf;
--critical:#b3141b;--high:#d9480f;--medium:#b07d00;--low:#1c7ed6;--info:#6b7380;--ok:#2b8a3e}
*{box-sizing:border-box}
body{margin:0;font:15px/1.55 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
color:var(--fg);background:var(--bg)}
main{max-width:1100px;margin:0 auto;padding:0 16px 48px}
header{padding:20px 16px 8px;max-width:1100px;margin:0 auto}
h1{font-size:1.6em;margin:0 0 4px}
h2{font-size:1.35em;margin:32px 0 8px;padding-top:8px;border-top:2px solid var(--line)}
h3{font-size:1.12em;margin:22px 0 6px}
h4{font-size:1em;margin:18px 0 6px;color:var(--muted)}
a{color:var(--link)}
.sub{color:var(--muted);margin:0}
.filters{position:sticky;top:0;z-index:2;background:var(--bg);border-bottom:1px solid var(--line);
padding:8px 16px;display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center}
.filters label{font-size:.9em;color:var(--muted)}
.filters select{font:inherit;padding:2px 6px}
.filters output{font-size:.9em;color:var(--muted)}
code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--panel);
padding:1px 4px;border-radius:3px;overflow-wrap:anywhere}
pre{background:var(--panel);border:1px solid var(--line);border-radius:4px;padding:8px 10px;overflow-x:auto;
margin:6px 0 10px}
pre code{background:none;padding:0;white-space:pre}
pre .ln{color:var(--muted);user-select:none;margin-right:12px}
.kw{color:#8a3ffc;font-weight:600}.st{color:#0b7a3e}.cm{color:#6b7380;font-style:italic}.nu{color:#b35c00}
.table-wrap{overflow-x:auto;margin:6px 0 12px}
table{border-collapse:collapse;min-width:50%;font-size:.93em}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--panel)}
td.num,th.num{text-align:right}
.badge{display:inline-block;padding:0 7px;border-radius:10px;color:#fff;font-size:.85em;font-weight:600;
background:var(--info)}
.b-critical{background:var(--critical)}.b-high{background:var(--high)}.b-medium{background:var(--medium)}
.b-low{background:var(--low)}.b-info{background:var(--info)}.b-ok{background:var(--ok)}
.b-rating-A{background:var(--ok)}.b-rating-B{background:#5c940d}.b-rating-C{background:var(--medium)}
.b-rating-D{background:var(--high)}.b-rating-E{background:var(--critical)}
.group[hidden]{display:none}
ul,ol{padding-left:22px}
ul.check{list-style:none;padding-left:4px}
ul.check li::before{content:"\\2610  ";color:var(--muted)}
figure{margin:10px 0 16px}
figcaption{font-weight:600;margin-bottom:4px}
svg text{font:12px sans-serif;fill:var(--fg)}
svg.chart{max-width:100%;height:auto}
nav.toc a{white-space:nowrap}
@media (max-width:640px){body{font-size:14px}h1{font-size:1.3em}th,td{padding:3px 5px}}
@media print{.filters{display:none}}
"""

JS = """
(function(){
  var sev=document.getElementById('f-severity'), dim=document.getElementById('f-dimension');
  var out=document.getElementById('f-count');
  function apply(){
    var s=sev.value, d=dim.value, shown=0;
    document.querySelectorAll('.group[data-dimension]').forEach(function(g){
      var ok=(!s||g.dataset.severity===s)&&(!d||g.dataset.dimension===d);
      g.hidden=!ok; if(ok){shown+=Number(g.dataset.count||0);}
    });
    document.querySelectorAll('.group[data-severity]:not([data-dimension])').forEach(function(g){
      var visible=g.querySelectorAll('.group[data-dimension]:not([hidden])').length>0;
      g.hidden=(s&&g.dataset.severity!==s)||!visible;
    });
    out.value=shown;
  }
  sev.addEventListener('change',apply); dim.addEventListener('change',apply); apply();
})();
"""

KEYWORDS = ("False|None|True|and|as|assert|async|await|break|class|continue|def|del|elif|else|"
            "except|finally|for|from|global|if|import|in|is|lambda|nonlocal|not|or|pass|raise|"
            "return|try|while|with|yield|match|case")
TOKEN = re.compile(
    r"(?P<cm>#.*$)"
    r"|(?P<st>(?:[rRbBuUfF]{0,2})(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'(?:\\.|[^'\\\n])*'?|\"(?:\\.|[^\"\\\n])*\"?))"
    rf"|(?P<kw>\b(?:{KEYWORDS})\b)"
    r"|(?P<nu>\b\d[\d_]*(?:\.\d+)?\b)", re.MULTILINE)
BAR_COLOURS = {"rating-A": "#2b8a3e", "rating-B": "#5c940d", "rating-C": "#b07d00",
               "rating-D": "#d9480f", "rating-E": "#b3141b", "rating-na": "#adb5bd", "bar": "#1c7ed6"}


def render_html(result: AuditResult, lang: str = "en", date: str = "") -> str:
    from prodaudit.report.sections import build_document

    return serialize(build_document(result, lang, date))


def highlight(code: str) -> str:
    """Python-ish colouring by a regex scanner; every piece escaped. Not a parser: an excerpt
    is often a fragment (`except:`) that no parser accepts."""
    out = []
    position = 0
    for match in TOKEN.finditer(code):
        out.append(escape(code[position:match.start()]))
        out.append(f'<span class="{match.lastgroup}">{escape(match.group())}</span>')
        position = match.end()
    out.append(escape(code[position:]))
    return "".join(out)


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


class _Writer:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.ids: dict[str, int] = {}

    def anchor(self, anchor: str) -> str:
        count = self.ids.get(anchor, 0)
        self.ids[anchor] = count + 1
        return anchor if count == 0 else f"{anchor}-{count}"

    def inline(self, part: Inline) -> str:
        if isinstance(part, Text):
            return escape(part.text)
        if isinstance(part, Code):
            return f"<code>{escape(part.text)}</code>" if part.text else ""
        if isinstance(part, Strong):
            return f"<strong>{escape(part.text)}</strong>"
        if isinstance(part, Badge):
            kind = re.sub(r"[^A-Za-z0-9-]", "", part.kind)
            return f'<span class="badge b-{kind}">{escape(part.text)}</span>'
        if isinstance(part, Link):
            return f'<a href="#{escape(part.target.lstrip("#"))}">{escape(part.text)}</a>'
        if isinstance(part, Rich):
            pieces = part.text.split("`")
            if len(pieces) % 2 == 0:
                return escape(part.text)
            return "".join(f"<code>{escape(p)}</code>" if i % 2 else escape(p) for i, p in enumerate(pieces))
        raise TypeError(part)  # pragma: no cover

    def spans(self, parts) -> str:
        return "".join(self.inline(p) for p in parts)

    def block(self, block: Block) -> None:
        w = self.out.append
        if isinstance(block, Section):
            w("<section>")
            self.block(block.heading)
            for child in block.children:
                self.block(child)
            w("</section>")
        elif isinstance(block, Heading):
            w(f'<h{block.level} id="{escape(self.anchor(block.anchor))}">{escape(block.text)}</h{block.level}>')
        elif isinstance(block, Paragraph):
            w(f"<p>{self.spans(block.content)}</p>")
        elif isinstance(block, BulletList):
            tag = "ol" if block.ordered else "ul"
            css = ' class="check"' if block.checklist else ""
            w(f"<{tag}{css}>" + "".join(f"<li>{self.spans(item)}</li>" for item in block.items) + f"</{tag}>")
        elif isinstance(block, Table):
            head = "".join(f'<th{" class=num" if i in block.numeric else ""}>{escape(h)}</th>'
                           for i, h in enumerate(block.headers))
            rows = []
            for row in block.rows:
                cells = "".join(f'<td{" class=num" if i in block.numeric else ""}>{self.spans(cell)}</td>'
                                for i, cell in enumerate(row))
                rows.append(f"<tr>{cells}</tr>")
            w(f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')
        elif isinstance(block, CodeBlock):
            lines = block.code.replace("\r", "").split("\n")
            body = []
            for offset, line in enumerate(lines):
                number = f'<span class="ln">{block.first_line + offset}</span>' if block.first_line else ""
                body.append(number + highlight(line))
            w(f"<pre><code>{chr(10).join(body)}</code></pre>")
        elif isinstance(block, Group):
            attrs = ' class="group"'
            if block.severity:
                attrs += f' data-severity="{escape(block.severity)}"'
            if block.dimension:
                attrs += f' data-dimension="{escape(block.dimension)}" data-count="{block.count}"'
            w(f"<div{attrs}>")
            for child in block.children:
                self.block(child)
            w("</div>")
        elif isinstance(block, BarChart):
            w(bar_chart(block))
        else:  # pragma: no cover
            raise TypeError(block)


def bar_chart(chart: BarChart) -> str:
    label_width, bar_width, row = 150, 260, 22
    height = row * len(chart.bars) + 8
    width = label_width + bar_width + 50
    parts = [(f'<figure><figcaption>{escape(chart.title)}</figcaption>'
              f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" role="img" '
              f'aria-label="{escape(chart.title)}" xmlns="http://www.w3.org/2000/svg">')]
    for index, (label, value, kind) in enumerate(chart.bars):
        y = 4 + index * row
        length = 0 if chart.maximum <= 0 else round(bar_width * max(0.0, value) / chart.maximum, 1)
        colour = BAR_COLOURS.get(kind, "#1c7ed6")
        shown = f"{value:g}" if kind == "bar" else (f"{value:.1f}" if kind != "rating-na" else "n/a")
        parts.append(f'<text x="{label_width - 6}" y="{y + 14}" text-anchor="end">{escape(label)}</text>'
                     f'<rect x="{label_width}" y="{y + 3}" width="{length}" height="14" rx="2" fill="{colour}"/>'
                     f'<text x="{label_width + length + 4}" y="{y + 14}">{escape(shown)}</text>')
    parts.append("</svg></figure>")
    return "".join(parts)


def serialize(document: Document) -> str:
    writer = _Writer()
    for section in document.sections:
        writer.block(section)
    severity, dimension, everything = document.filter_labels
    options_severity = "".join(f'<option value="{escape(v)}">{escape(label)}</option>' for v, label in document.severities)
    options_dimension = "".join(f'<option value="{escape(v)}">{escape(label)}</option>' for v, label in document.dimensions)
    css, js = CSS.strip(), JS.strip()
    # Only our own inline style and script may run: hashes, no 'unsafe-inline'.
    policy = (f"default-src 'none'; style-src '{_sha256(css)}'; script-src '{_sha256(js)}'; "
              "img-src data:; base-uri 'none'; form-action 'none'")
    head = (f'<!DOCTYPE html>\n<html lang="{escape(document.lang)}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{escape(policy)}">\n'
            f"<title>{escape(document.title)}</title>\n<style>{css}</style>\n</head>\n<body>\n")
    header = (f"<header><h1>{escape(document.title)}</h1><p class=\"sub\">{writer.spans(document.subtitle)}</p></header>\n"
              f'<div class="filters"><label>{escape(severity)} <select id="f-severity"><option value="">{escape(everything)}'
              f"</option>{options_severity}</select></label>"
              f'<label>{escape(dimension)} <select id="f-dimension"><option value="">{escape(everything)}'
              f'</option>{options_dimension}</select></label><output id="f-count"></output></div>\n')
    body = "<main>\n" + "\n".join(writer.out) + "\n</main>\n"
    return head + header + body + f"<script>{js}</script>\n</body>\n</html>\n"

"""Extract the forbidden phrases from the seed documents themselves (/work/shared/seeds/*.txt).

`python tests/qa_corpus/seed_phrases.py` prints the list, per seed, with where each came from.

What is read, and how (the seeds are scraped documents, so the layout varies):

1. Line sections. A line that is only a heading naming 禁语 / 忌语 / 禁用语 / 禁忌, marked with
   a Chinese numeral or ◆ (000 "二、服务禁语", "一、服务禁忌"; 001 "八、服务禁语:",
   "七、服务的禁忌:"; 003 "◆服务忌语"). The lines after it are read up to the next heading:
   - category lines ("1、直呼客户:", "讽刺语:") name the category of the items below;
   - numbered items "(1)…", "1、…" (several may share a line: "…(12)…"), or, in a section
     without numbering (001), each short line is an item;
   - the section ends at the next Chinese-numeral heading, or, in a numbered section, at the
     first line that is neither an item nor a category.
   In a 禁忌 section the lines describe behaviour, not phrases: only the examples in
   "(如:嗯,喽,嘛等)" are taken (habitual fillers).
2. Paragraph sections, where a scrape joined the section into one line: "(二)、服务忌语 …"
   (000) up to the next "(三)" heading, and "三、 服务禁用语 …" (002) up to "第四章". There the
   items are the 、-separated lists and the "如:" examples (split on 。 and /).
3. Inline prohibitions anywhere in a seed: the quoted words after 不可以说 / 不能够说 /
   不可以直接说 / 不可以回答 / 严禁说 / 切不行说 / 忌:, "不许以“…”作回答", 答复:「…」, and the
   口头禅 examples (如“就是说”“比如说”).

Items are cleaned (numbering, quotes and a trailing 等 removed), split on "或" between
sentences and on "/", and a parenthesis that holds a whole sentence ("(你问我,我问谁?)") becomes
its own item, while a short one is an alternative word and is dropped ("喂(嘿)" -> "喂").
Items with a placeholder (XX, „„, **) are kept for the report; `testable()` says which can be
spoken as they are (XX is replaced by a neutral word; an item with „„ is skipped).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from shared_dir import SEEDS

CN_NUM = "一二三四五六七八九十"
KEYWORDS = "禁语|忌语|禁用语|禁忌"
LINE_HEADING = re.compile(rf"^(?:[{CN_NUM}]+、|◆)\s*(?:服务的?)?({KEYWORDS})[:：]?\s*$")
ANY_HEADING = re.compile(rf"^(?:[{CN_NUM}]+、|◆)")
PARA_HEADINGS = [
    # (start, end) of sections a scrape joined into one line
    (
        re.compile(rf"\(\s*[{CN_NUM}]+\s*\)\s*、\s*服务忌语"),
        re.compile(rf"\(\s*[{CN_NUM}]+\s*\)\s*、"),
    ),
    (re.compile(rf"[{CN_NUM}]+、\s*服务禁用语"), re.compile(r"第\s*\S\s*章")),
]
NUMBERED = re.compile(r"^\s*(?:\(\d+\)|\d+\s*、)")
ITEM_SPLIT = re.compile(r"\(\d+\)|(?:^|\s)\d+\s*、")
CATEGORY = re.compile(r"^\s*(?:\d+\s*、)?\s*([^\s,，。!！?？()（）]{1,14})[:：]\s*$")
TRAILING_CATEGORY = re.compile(r"\s+([^\s,，。!！?？]{1,8}语)[:：]\s*$")
EXAMPLES = re.compile(r"[(（]如[:：]\s*([^)）]+?)等?[)）]")
INLINE = [
    re.compile(
        r"(?:不可以说|不能够说|不可以直接说|不可以回答|严禁说|切不行说|忌)[:：]?\s*((?:“[^”()（）]{1,40}”\s*)+)"
    ),
    re.compile(r"不许以\s*“([^”]{1,40})”\s*作回答"),
    re.compile(r"答复[:：]\s*「([^」]{1,20})」"),
    re.compile(r"口头禅[^“]{0,6}如\s*((?:“[^”]{1,10}”\s*)+)"),
]
PLACEHOLDER = re.compile(r"XX|xx|X{2,}|„„|\*\*|……")
PROSE_MAX = 40


@dataclass(frozen=True, slots=True)
class Phrase:
    """One forbidden phrase as the seed writes it, and where it was found."""

    seed: str
    text: str
    section: str
    category: str

    def testable(self) -> str | None:
        """The phrase as an agent would say it, or None when it is only a template."""
        if "„„" in self.text or "……" in self.text or "**" in self.text:
            return None
        spoken = re.sub(r"\s*(?:X{2,}|xx)\s*", "别的", self.text)
        if spoken != self.text and len(re.findall(r"[\u4e00-\u9fff]", spoken)) < 5:
            return None  # "你去 XXXXXX": too little left to say
        return spoken


def _han_join(text: str) -> str:
    # Scrapes break lines inside words ("我问 你手机号码"): drop spaces between Han characters.
    return re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])", "", text).strip()


def _clean(item: str) -> str:
    item = _han_join(item)
    item = re.sub(r"^\s*(?:\(\d+\)|\d+\s*、|\d+\s*[.．])\s*", "", item)
    item = item.strip(" “”「」\"'")
    item = re.sub(r"等[。.:：]?$", "", item).strip()
    item = re.sub(r"^如[:：]", "", item)
    return item.strip(" “”「」\"'/")


def _expand(item: str) -> list[str]:
    """Split one list item into the phrases it holds."""
    out: list[str] = []
    # A parenthesis holding a sentence is a phrase of its own; a short one is an alternative.
    for inner in re.findall(r"[(（]([^()（）]*)[)）]", item):
        if re.search(r"[,，。!！?？]", inner) or len(inner) > 5:
            out.extend(_expand(inner))
    item = re.sub(r"[(（][^()（）]*[)）]", "", item)
    for part in re.split(r"(?<=[!！?？。])\s*或|/", item):
        part = _clean(part)
        if part and len(part) <= PROSE_MAX:
            out.append(part)
    return out


def _line_section(lines: list[str], start: int, keyword: str) -> list[tuple[str, str]]:
    """(category, item) pairs of the section whose heading is lines[start]."""
    found: list[tuple[str, str]] = []
    category = ""
    numbered: bool | None = None
    for raw in lines[start + 1 :]:
        line = raw.strip()
        if not line:
            continue
        if ANY_HEADING.match(line):
            break
        if keyword == "禁忌":
            for ex in EXAMPLES.findall(line):
                found.extend(
                    ("口头禅/语气助词", w.strip()) for w in re.split(r"[、,，]", ex) if w.strip()
                )
            if numbered is None:
                numbered = bool(NUMBERED.match(line))
            elif numbered and not NUMBERED.match(line):
                break
            continue
        cat = CATEGORY.match(line)
        if cat:
            category = cat.group(1)
            continue
        is_item = bool(NUMBERED.match(line))
        if numbered is None:
            if not is_item and len(line) > PROSE_MAX:
                continue  # a preamble sentence ("规范:…")
            numbered = is_item
        elif numbered and not is_item:
            break
        trailing = TRAILING_CATEGORY.search(line)
        next_category = None
        if trailing:
            next_category = trailing.group(1)
            line = line[: trailing.start()]
        for piece in ITEM_SPLIT.split(line):
            for phrase in _expand(piece):
                found.append((category, phrase))
        if next_category:
            category = next_category
    return found


def _list_run(segment: str) -> list[str]:
    """The 、-separated list in a run of text (tokens joined across scrape line breaks)."""
    tokens = segment.split()
    runs: list[str] = []
    cur = ""
    for tok in tokens:
        if cur and ("、" in tok or cur.endswith("、") or re.search(r"等[。.]?$", tok)):
            cur += tok
        else:
            if "、" in cur:
                runs.append(cur)
            cur = tok if "、" in tok else ""
    if "、" in cur:
        runs.append(cur)
    return [p for run in runs for p in run.split("、")]


def _para_section(body: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for seg in re.split(r"\uf06c", body):
        parts = re.split(r"如[:：]", seg, maxsplit=1)
        if len(parts) == 1:  # a bare list: "常见禁用词 喂、什么、…"
            found.extend(("", p) for item in _list_run(seg) for p in _expand(item))
            continue
        category = _han_join(parts[0]).rstrip(":： ")
        ex = parts[1].strip()
        if "。" in ex:  # sentences; „„ marks a template ("你快„„ /没这回事。")
            items = re.split(r"[。/]|(?<=„„)\s", ex)
        else:  # a word list; a final „„ means "and so on"
            items = re.split(r"[、/]", re.sub(r"„„\s*$", "", ex))
        for item in items:
            found.extend((category, p) for p in _expand(item))
    return found


def extract_text(seed: str, text: str) -> list[Phrase]:
    """Every forbidden phrase of one seed document, deduplicated, in document order."""
    out: list[Phrase] = []
    seen: set[str] = set()

    def add(section: str, category: str, phrase: str) -> None:
        key = re.sub(r"[\W_]", "", phrase)
        if key and key not in seen:
            seen.add(key)
            out.append(Phrase(seed, phrase, section, category))

    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = LINE_HEADING.match(line.strip())
        if m:
            for category, phrase in _line_section(lines, i, m.group(1)):
                add(line.strip(), category, phrase)
    for start, end in PARA_HEADINGS:
        for m in start.finditer(text):
            stop = end.search(text, m.end())
            body = text[m.end() : stop.start() if stop else len(text)]
            for category, phrase in _para_section(body):
                add(_han_join(m.group(0)), category, phrase)
    for pattern in INLINE:
        for m in pattern.finditer(text):
            for quoted in re.findall(r"“([^”]+)”", m.group(1)) or [m.group(1)]:
                for piece in re.split(r"、", quoted):
                    for phrase in _expand(piece):
                        add("inline: " + m.group(0)[:12], "", phrase)
    return out


def extract(seeds: Path = SEEDS) -> dict[str, list[Phrase]]:
    """Phrases per seed file (keyed by its number, e.g. "000")."""
    return {
        p.name[:3]: extract_text(p.name[:3], p.read_text(encoding="utf-8"))
        for p in sorted(seeds.glob("*.txt"))
    }


def main() -> int:
    for seed, phrases in extract().items():
        print(f"== seed {seed}: {len(phrases)} phrases")
        for ph in phrases:
            mark = "" if ph.testable() else "  [template, not spoken]"
            print(f"  {ph.text}\t<{ph.category or '-'}> ({ph.section}){mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

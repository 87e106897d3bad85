"""Deterministic tokenizer test prompts (>= 500), grouped by what they exercise.

Each entry is (category, text). Categories: empty, ascii, accents, cjk, emoji, html,
whitespace, unicode_norm, special_tokens, mixed, long, control, corpus_neg.
"""
import random

from corpus import ACTIONS, EXTRA, MULTILINGUAL, PLACES, STYLES, SUBJECTS

WORDS_OOV = ["xylophone", "quizzical", "zephyr", "jukebox", "kumquat", "pneumonoultramicroscopic",
             "Mxyzptlk", "Hvítserkur", "floccinaucinihilipilification", "QWERTYUIOP", "iPhone15ProMax",
             "snake_case_identifier", "camelCaseIdentifier", "https://example.com/a?b=c&d=e#frag",
             "user@example.org", "C:\\Windows\\System32", "/usr/local/bin", "v1.2.3-rc.4", "0x7FFFFFFF"]

ACCENTED = ["café", "naïve", "façade", "résumé", "crème brûlée", "jalapeño", "Zürich", "São Paulo", "Ångström",
            "Dvořák", "Łódź", "Øresund", "Þórsmörk", "straße", "Ærø", "coöperate", "piñata", "Kraków",
            "ĳssel", "Ĳmuiden", "Mañana", "über", "doña", "Orléans", "Bjørn", "İzmir", "Đà Nẵng", "Nguyễn"]

CJK = ["猫", "一只猫", "一只小猫在窗台上睡觉", "東京タワー", "カメラがゆっくり動く", "ひらがなだけのぶん",
       "서울 밤거리", "고양이", "漢字とかなとカナ", "龍", "𠮷野家", "鬱", "中文English混合text",
       "山川草木", "未知的汉字鑫犇淼", "繁體中文測試", "한국어와 English", "日本語の文章です。"]

EMOJI = ["🙂", "😀", "🐱", "🐶🐱🐭", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "🇯🇵🇰🇷", "❤️", "❤", "✨ sparkle ✨",
         "🎬 movie time 🍿", "a cat 🐈 on a mat", "🚀🌕", "👩🏻‍🚀", "☺", "🤖 robot", "🔥🔥🔥", "1️⃣ 2️⃣ #️⃣"]

HTML = ["Tom &amp; Jerry", "&lt;b&gt;bold&lt;/b&gt;", "it&#39;s a &quot;test&quot;", "caf&eacute;",
        "a&nbsp;b", "double &amp;amp; escaped", "&amp;lt;tag&amp;gt;", "&#x1F431; cat", "&copy; 2024",
        "5 &lt; 6 &gt; 4", "&unknown; entity", "&amp", "AT&T", "<p>raw html</p>", "&#8212; dash &mdash;",
        "triple &amp;amp;amp; escaped", "&#0; null", "&hellip;"]

WHITESPACE = ["  leading spaces", "trailing spaces   ", "multiple     inner    spaces", "tab\tseparated\twords",
              "new\nline", "crlf\r\nline", "\n\nleading newlines", "trailing newline\n", " ", "   ", "\t", "\n",
              "nbsp\u00a0between", "thin\u2009space", "ideographic\u3000space", "zero\u200bwidth",
              "zwnj\u200cjoiner\u200d", "bom\ufeffinside", "soft\u00adhyphen", "en\u2002em\u2003spaces",
              "line\u2028separator", "para\u2029separator", "mixed \t\n \u00a0 whitespace", "\u00a0\u00a0",
              "vertical\x0btab", "form\x0cfeed", "\u200b", "narrow\u202fnbsp", "figure\u2007space", "ogham\u1680space"]

UNICODE_NORM = ["ﬁne ﬂower", "ＡＢＣ　ｆｕｌｌｗｉｄｔｈ", "１２３", "x²+y³", "Ⅻ Ⅸ ⅳ", "½ ¼ ¾", "e\u0301 combining",
                "a\u0308 vs ä", "Å vs A\u030a", "ｶﾀｶﾅ halfwidth", "℃ ℉", "№ 5", "™ ®", "µ vs μ", "Ω vs Ω",
                "…", "“smart quotes” ‘single’", "— em – en - hyphen", "«guillemets»", "ﬀ ﬃ ﬄ", "㎏ ㎞ ㍻",
                "①②③", "⑴ ⒜", "Ǆ ǅ ǆ", "ﷺ", "ｱｲｳｴｵ", "Ⓐ Ⓑ", "𝐁𝐨𝐥𝐝 𝑖𝑡𝑎𝑙𝑖𝑐", "ℌ𝔢𝔩𝔩𝔬", "ſ long s"]

SPECIAL = ["</s>", "<pad>", "<unk>", "<extra_id_0>", "a </s> b", "x<extra_id_99>y", "<extra_id_100>",
           "<s>", "</s></s>", "<pad> padded", "text <unk> text", "<extra_id_5> fill <extra_id_6>", "< /s>",
           "<EXTRA_ID_0>", "▁", "▁▁x", "a▁b"]

CONTROL = ["bell\x07char", "null\x00char", "escape\x1b[31mred", "del\x7fchar", "c1\x85control",
           "\x01\x02\x03", "rtl\u202eoverride", "lrm\u200emark", "variation\ufe0fselector", "private\ue000use",
           "noncharacter\ufffe", "replacement\ufffdchar", "lone surrogate free 𝄞 clef"]


def _sentence(rng):
    s = f"{rng.choice(SUBJECTS)} {rng.choice(ACTIONS)} {rng.choice(PLACES)}, {rng.choice(STYLES)}"
    if rng.random() < 0.5:
        s += ", " + rng.choice(STYLES)
    s += "."
    if rng.random() < 0.4:
        s += " " + rng.choice(EXTRA)
    return s[0].upper() + s[1:]


def all_prompts():
    rng = random.Random(7)
    out = [("empty", "")]
    for _ in range(200):
        out.append(("ascii", _sentence(rng)))
    for w in WORDS_OOV:
        out.append(("ascii", f"{_sentence(rng)[:-1]} with a {w}."))
    for w in ACCENTED:
        out.append(("accents", w))
        out.append(("accents", f"A photo of {w}, {rng.choice(STYLES)}."))
    for s in MULTILINGUAL:
        out.append(("multilingual", s))
    for s in CJK:
        out.append(("cjk", s))
    for s in EMOJI:
        out.append(("emoji", s))
        out.append(("emoji", f"{_sentence(rng)} {s}"))
    for s in HTML:
        out.append(("html", s))
    for s in WHITESPACE:
        out.append(("whitespace", s))
        out.append(("whitespace", s.join(["A cat", "on a", "mat"])))
    for s in UNICODE_NORM:
        out.append(("unicode_norm", s))
    for s in SPECIAL:
        out.append(("special_tokens", s))
    for s in CONTROL:
        out.append(("control", s))
    # mixed: random concatenations of the groups above
    pools = [ACCENTED, CJK, EMOJI, HTML, WHITESPACE, UNICODE_NORM, MULTILINGUAL, WORDS_OOV]
    while len(out) < 560:
        parts = [rng.choice(rng.choice(pools)) for _ in range(rng.randint(2, 5))]
        sep = rng.choice([" ", "", "  ", "\t", ", ", "\n"])
        out.append(("mixed", sep.join(parts)))
    # single characters and tiny strings
    for s in ["a", "A", ".", ",", "0", "-", "'", "\"", "é", "猫", "🐱", "x y", "I", "i", "ab"]:
        out.append(("tiny", s))
    # very long prompts (> 512 tokens)
    long1 = " ".join(_sentence(rng) for _ in range(60))
    long2 = "".join(rng.choice(MULTILINGUAL) for _ in range(30))
    long3 = " ".join(["cat"] * 700)
    long4 = "一只小猫在窗台上睡觉，" * 80
    long5 = " ".join(rng.choice(WORDS_OOV + ACCENTED) for _ in range(400))
    for s in [long1, long2, long3, long4, long5]:
        out.append(("long", s))
    return out


if __name__ == "__main__":
    ps = all_prompts()
    print(len(ps))

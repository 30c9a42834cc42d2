#!/usr/bin/env python3
"""Writes tests/fixtures/tokenizer/v3_corpus.json: the varied texts whose DeepSeek-V3 token ids
(from the npm reference, tools/tokenizer_ref.js) are committed as a fixture. Run by
tools/make_tokenizer_fixtures.sh. Deterministic (no randomness)."""
import json, os, sys

S = {
    "bos": "<｜begin▁of▁sentence｜>", "eos": "<｜end▁of▁sentence｜>", "user": "<｜User｜>",
    "asst": "<｜Assistant｜>", "pad": "<｜▁pad▁｜>",
}
texts = [
    "Hello, my dog is cute", "Hello world", " 12345 tokens\n\nnew", "中文测试，日本語のテキスト",
    "<｜User｜>Hi<｜Assistant｜>", "don't  stop!!\n", "pi = 3.14159265", "def f(x):\n    return x**2\n",
    "emoji 😀 ok", "HELLO\tworld  \n\n\n  end", "1234567", "Ünïcödé naïve café",
    # English prose
    "The quick brown fox jumps over the lazy dog. It's 5 o'clock; we'll see—won't we? \"Quoted\" (paren) [bracket] {brace}",
    "Mr. O'Neil's co-operative re-entry: e-mail me at john.doe@example.com or visit https://example.org/a/b?c=1&d=2#frag.",
    "I'VE, YOU'LL, they'D, she's; ALL CAPS SENTENCE HERE. MiXeD cAsE wOrDs.",
    # Chinese / Japanese / Korean / others
    "深度求索（DeepSeek）是一家人工智能公司。我们今天学习了3个新词：模型、训练、推理。",
    "東京は日本の首都です。ひらがな、カタカナ、漢字が混ざった文章。ｶﾀｶﾅ（半角）とＡＢＣ（全角）。",
    "한국어 문장도 토큰화합니다. 안녕하세요!", "Привет, мир! Это тест токенизатора.", "مرحبا بالعالم، هذا اختبار.",
    "नमस्ते दुनिया, यह एक परीक्षण है।", "สวัสดีชาวโลก นี่คือการทดสอบ", "Γειά σου Κόσμε! αβγδε ΑΒΓΔΕ",
    "עברית: שלום עולם", "Tiếng Việt có dấu: Xin chào thế giới", "ẞtraße Maß Ödön ÆØÅ æøå ĳ œ",
    # code
    "#include <stdio.h>\nint main(void) {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\n",
    "for (let i = 0; i < n; ++i) { arr[i] += i * 2; } // comment\n/* block */",
    "SELECT id, name FROM users WHERE age >= 21 AND name LIKE '%son';",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true, \"c\": -1.5e-10}}",
    "    if x == y:\n        pass\n    elif x != y and not z:\n        raise ValueError('bad')\n",
    "$ ls -la | grep '\\.c$' && echo \"done\" > /dev/null 2>&1",
    "<div class=\"a\"><p>Text &amp; more</p></div>", "a->b = c::d<e>(f); x <<= 2; y >>>= 3; z ||= w;",
    # numbers
    "0 00 000 0000 00000 123456789012345678901234567890", "3.14159265358979323846264338327950288419716939937510",
    "1,234,567.89 and -0.001 and 1e+10 and 0x1F and 1_000_000", "٣٤٥ ١٢٣ (Arabic-Indic) ⅠⅡⅢ ½ ¾ ² ³ ①②③",
    "Year 2024: Q1 +12.5%, Q2 -3.2%; total $1,024.00 (¥7,300 / €950)",
    "12+34=46\n100-1=99\n7*8=56\n81/9=9\n2^10=1024\n",
    # emoji and symbols
    "👍🏽 👨‍👩‍👧‍👦 🇯🇵 ❤️ ✔ ☃ ♠♣♥♦ → ⇒ ∀x∈ℝ: x² ≥ 0 ∑ ∫ √ ∞ ≠ ≈",
    "😀😃😄😁😆😅😂🤣🥲☺️😊😇", "©®™ °C µs Å ‰ † ‡ • … ‹› «» „“ ‚‘",
    # whitespace runs
    "a  b   c    d     e      f", "\n\n\n\n", "   leading and trailing   ", "\t\t\ttabs\t\tand\tspaces  \t ",
    "line1\r\nline2\r\n\r\nline3\rline4", " \n \n  \n   x", "x\u00a0y\u2003z\u3000w\u2009v", "end with spaces     ",
    "   ", " ", "\n", "\t", "", "a", "  \n\n  \n", "word\n\n\n\n\nword", ".\n.\n\n.",
    # punctuation
    "!!!???...,,,;;;:::---___+++===", "'''\"\"\"```~~~", "Wait... what?! Really?!?! (yes) [no] {maybe}",
    "email:a@b.c;url:http://x.y/z;path:C:\\Users\\me\\file.txt", "...and then—suddenly—nothing…",
    # special tokens inside text
    S["bos"] + "You are helpful." + S["user"] + "What is 2+2?" + S["asst"] + "<think>\nsimple\n</think>\n\n4" + S["eos"],
    "text" + S["eos"] + S["eos"] + "more" + S["pad"] + " x", "not special: <|User|> <User> <｜User> ｜User｜",
    S["user"] + S["asst"] + S["user"] + "  spaced  " + S["asst"] + "\n",
    "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
    "<｜place▁holder▁no▁5｜> and <｜place▁holder▁no▁797｜> and <|EOT|>",
    # long runs
    "a" * 300, "ab" * 200, "1" * 500, " " * 200 + "x", "\n" * 100, "ha" * 50 + "!" * 50,
    "supercalifragilisticexpialidocious " * 5, "中" * 150, "😀" * 60, "-=" * 80,
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. " * 3,
    # combining marks and odd characters
    "e\u0301 a\u0308 n\u0303 Z\u0336\u0335a\u0334l\u0337g\u0336o", "zero\u200bwidth\u200cjoin\u200d!", "\ufb01 \ufb02 ﬀ",
    "\x01\x02\x1f control \x7f chars", "mixed中文English日本語123한국어!", "R1-Zero uses <answer>42</answer> tags",
    "\\boxed{\\frac{1}{2}} and $$\\int_0^1 x^2\\,dx = \\frac13$$", "#### 72\nThe answer is 72.",
]
out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/tokenizer/v3_corpus.json"
with open(out, "w", encoding="utf-8") as f:
    json.dump(texts, f, ensure_ascii=False, indent=0)
    f.write("\n")
print(f"{out}: {len(texts)} texts", file=sys.stderr)

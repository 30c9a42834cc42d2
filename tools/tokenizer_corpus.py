#!/usr/bin/env python3
"""Writes the varied texts whose token ids (from the references in tools/tokenizer_ref.js) are
committed as fixtures. Run by tools/make_tokenizer_fixtures.sh. Deterministic (no randomness).

  tokenizer_corpus.py [OUT]                  v3_corpus.json: the DeepSeek-V3 corpus
  tokenizer_corpus.py --families [OUT]       families_corpus.json: the same texts and more, for the
                                             Qwen and Llama-3 files: text whose Unicode
                                             normalization changes it (NFC), more scripts, code,
                                             digit and whitespace runs, their special tokens
"""
import json, sys

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
# Text that NFC changes or must keep: combining sequences, reordering of marks, Hangul jamo,
# singletons, compatibility characters (NFC keeps them; NFKC would not), CJK compatibility
# ideographs, and marks right after special tokens (normalized per segment between them).
families = [
    "cafe\u0301 nai\u0308ve re\u0301sume\u0301 Cre\u0300me bru\u0302le\u0301e", "A\u030a \u212b \u00c5 \u2126 \u212a K",
    "a\u0323\u0307 a\u0307\u0323 q\u0307\u0323 s\u0323\u0307 d\u031b\u0323", "\u1100\u1161 \u1112\u1161\u11ab\u1100\u1173\u11af \u110b\u1165 \u1100\u1161\u11a8",
    "\u037e \u0387 \u1fef \u0340\u0341 \u0344 \u0f73 \u2000\u2001", "\uf900\uf901 \ufa10 \U0002f800 \ufb1d \ufb2a",
    "\ufb01 \u2460 \u00bd \u2075 \uff21\uff22 \u3300 \u1e9b\u0323 \u00b5 \u017f", "e\u0301\u0301\u0301 \u0301start o\u0328\u0304 \u01ed",
    "<|im_start|>\u0301x<|im_end|>e\u0301<|endoftext|>", "<|begin_of_text|>\u0301<|eot_id|>A\u030a",
    "\u0915\u093c \u0929 \u09a1\u09bc \u0b47\u0b3e \u0bc6\u0bbe \u0cbf\u0cd5 \u0d46\u0d3e", "\u05d1\u05bc \u05e9\u05c1\u05bc \u0627\u0653 \u0648\u0654",
    "\u1e0a\u0323 \u1e0c\u0307 D\u0307\u0323 \u00c7\u0301 \u1e08", "\u304b\u3099 \u30cf\u309a \u304c \u30d1 \uff76\uff9e",
    # more scripts
    "Ελληνικά: ἀρχὴ ἥμισυ παντός. Ἐν ἀρχῇ ἦν ὁ λόγος.", "ქართული ენა · Հայերեն լեզու · ᏣᎳᎩ", "ဗမာစာ ខ្មែរ ລາວ ᠮᠣᠩᠭᠣᠯ",
    "አማርኛ ቋንቋ ·  ߒߞߏ · ⵜⴰⵎⴰⵣⵉⵖⵜ", "தமிழ் తెలుగు ಕನ್ನಡ മലയാളം ગુજરાતી ਪੰਜਾਬੀ ଓଡ଼ିଆ বাংলা සිංහල",
    "Ӑӑ Ӓӓ Ѐѐ Ёё Її Ґґ Ўў Љљ Њњ Џџ", "Ł ł Ś ś Ź ź Ż ż Ő ő Ű ű Ā ā Ē ē Ī ī Ō ō Ū ū",
    "𝐀𝐁𝐂 𝔄𝔅 𝕒𝕓 𝟘𝟙𝟚 🄰🄱 ℌℑℜ", "中文繁體：臺灣、香港；简体：台湾、香港。龘 𠀀𠀁 𪚥",
    # code
    "fn main() -> Result<(), Box<dyn Error>> {\n    let v: Vec<u8> = vec![0x1f; 16];\n    println!(\"{:?}\", v);\n    Ok(())\n}\n",
    "class Foo(Bar):\n    \"\"\"Doc.\"\"\"\n    def __init__(self, *args, **kw):\n        super().__init__(*args, **kw)\n        self._x: int = 0  # noqa\n",
    "const re = /^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+)@(?:\\w+\\.)+$/iu;\nawait fetch(`${base}/api?q=${encodeURIComponent(q)}`);",
    "\\documentclass{article}\n\\begin{align}\n  e^{i\\pi} + 1 &= 0 \\\\\n  \\sum_{k=1}^{n} k^2 &= \\tfrac{n(n+1)(2n+1)}{6}\n\\end{align}",
    "diff --git a/x.c b/x.c\n@@ -1,3 +1,4 @@\n-int a;\n+int a = 0;\n+int b;\n", "<?php echo htmlspecialchars($_GET['q'] ?? ''); ?>\t// ok\r\n",
    # digits
    "9" * 37, "0.1 + 0.2 = 0.30000000000000004", "v1.2.3-rc.4+build.567 2024-02-29T23:59:59.999Z",
    "+1 (555) 010-9999 ext. 12345", "٠١٢٣٤٥٦٧٨٩ ۰۱۲۳ ०१२३४ ০১২৩ ๐๑๒๓ ０１２３４５",
    "1234567890123456789012345678901234567890 12 345 6789 01234",
    # whitespace runs
    "x" + " " * 17 + "y" + "\t" * 9 + "z", "\r\n\r\n\r\n  \r\n", "a \n b  \n\n  c   \n\n\n   d",
    "\u00a0\u00a0x\u2028y\u2029z\u0085w\u200b\u3000\u3000v", " " * 33, "\t \t \t \n\t\n", "tail \n ",
    # their special tokens inside text
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHello",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    "<tool_call>{\"name\": \"f\"}</tool_call> <|fim_prefix|>a<|fim_suffix|>b<|fim_middle|> <|reserved_special_token_7|>",
    "<|im_start|<|im_end|>> <|endoftext|x <|eot_id|><|eot_id|> <think></think><think>",
    # the text between the added tokens of the R1-Distill chat prompt in tests/test_tokenizer_families.c
    "You are a careful solver.", "Then you.", "What is 2+2?", "\n\n4", "And 3+3? Think in Espan\u0303ol.",
]

if len(sys.argv) > 1 and sys.argv[1] == "--families":
    texts = texts + families
    out = sys.argv[2] if len(sys.argv) > 2 else "tests/fixtures/tokenizer/families_corpus.json"
else:
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/tokenizer/v3_corpus.json"
with open(out, "w", encoding="utf-8") as f:
    json.dump(texts, f, ensure_ascii=False, indent=0)
    f.write("\n")
print(f"{out}: {len(texts)} texts", file=sys.stderr)

/**
 * The name rules (docs/protocol.md, "Names") of handlers/lib/auth/names.ts, and the page's copy of them in
 * web/names.js, held to the same cases: what one accepts the other accepts, normalized the same way.
 */
import { checkName } from "../handlers/lib/auth/names";

// The page's module is plain JavaScript (the browser loads it as is); jest's transform makes it loadable here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const page = require("../web/names.js") as { checkName: typeof checkName };

const ACCEPTED: Array<[string, string]> = [
  ["alice", "alice"],
  ["  Alice   Liddell  ", "Alice Liddell"],
  ["Ａｌｉｃｅ", "Alice"],
  ["Zoë_o.k-9", "Zoë_o.k-9"],
  ["e\u0301tienne", "étienne"],
  ["山田 たろう カタカナ", "山田 たろう カタカナ"],
  ["김민준 金", "김민준 金"],
  ["Ελληνικά", "Ελληνικά"],
  ["Иван Петров", "Иван Петров"],
  ["①", "1"],
  ["x".repeat(64), "x".repeat(64)],
];

const REFUSED: Array<[string, string, string]> = [
  ["empty", "", "length"],
  ["only spaces", " \u3000 ", "length"],
  ["65 characters", "x".repeat(65), "length"],
  ["U+3164 HANGUL FILLER", "\u3164", "invisible"],
  ["U+FFA0 HALFWIDTH HANGUL FILLER", "a\uFFA0b", "invisible"],
  ["U+115F HANGUL CHOSEONG FILLER", "\u115Fa", "invisible"],
  ["U+1160 HANGUL JUNGSEONG FILLER", "a\u1160", "invisible"],
  ["U+200B ZERO WIDTH SPACE", "a\u200Bb", "invisible"],
  ["U+200D ZERO WIDTH JOINER", "a\u200Db", "invisible"],
  ["U+200F RIGHT-TO-LEFT MARK", "a\u200Fb", "invisible"],
  ["U+202A LEFT-TO-RIGHT EMBEDDING", "a\u202Ab", "invisible"],
  ["U+202E RIGHT-TO-LEFT OVERRIDE", "a\u202Eb", "invisible"],
  ["U+2060 WORD JOINER", "a\u2060b", "invisible"],
  ["U+2064 INVISIBLE PLUS", "a\u2064b", "invisible"],
  ["U+FEFF ZERO WIDTH NO-BREAK SPACE", "a\uFEFFb", "invisible"],
  ["U+2800 BRAILLE PATTERN BLANK", "a\u2800b", "characters"],
  ["a tab", "a\tb", "characters"],
  ["a slash", "a/b", "characters"],
  ["markup", "<b>x</b>", "characters"],
  ["an emoji", "alice 🙂", "characters"],
  ["Latin with a Cyrillic а", "p\u0430ypal", "scripts"],
  ["Latin with Greek", "Ωmega", "scripts"],
  ["Latin with Arabic-Indic digits", "abc\u0661", "scripts"],
  ["Cyrillic with Latin", "Иван Petrov", "scripts"],
];

describe.each([
  ["handlers/lib/auth/names.ts", checkName],
  ["web/names.js", page.checkName],
])("%s", (_module, check) => {
  test.each(ACCEPTED)("accepts %j as %j", (raw, normalized) => {
    expect(check(raw)).toEqual({ ok: true, name: normalized });
  });

  test.each(REFUSED)("refuses %s: %j, by the %s rule", (_what, raw, rule) => {
    expect(check(raw)).toMatchObject({ ok: false, rule });
  });
});

test("the page's copy says exactly what the handlers' module says, message included", () => {
  for (const raw of [...ACCEPTED.map(([raw]) => raw), ...REFUSED.map(([, raw]) => raw)]) expect(page.checkName(raw)).toEqual(checkName(raw));
});

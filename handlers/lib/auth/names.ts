/**
 * Display names (docs/protocol.md, "Names"): what one user shows others, so it must not pass for someone
 * else's. Built on RegExp Unicode properties only (no library: nothing added to the bundles), so the rules
 * follow the Unicode version of the Node.js that runs them. web/names.js repeats them for the page;
 * __tests__/names.test.ts holds both to the same cases.
 *
 * A name is normalized first (NFKC, trimmed, inner runs of spaces made one), then must be:
 * - 1 to 64 characters (code points);
 * - letters, marks, digits, spaces, `_`, `.` and `-` only;
 * - free of invisible and format characters: Default_Ignorable_Code_Point (zero-width spaces, joiners,
 *   the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, ...) and Cf (bidirectional overrides U+202A-U+202E,
 *   U+2060-U+2064, ...);
 * - of one script: the Script_Extensions of its characters other than Common and Inherited share one
 *   script, where Han, Hiragana and Katakana count as one (Japanese), as do Han and Hangul (Korean), and
 *   Han and Bopomofo: UTS #39's augmented script sets (https://www.unicode.org/reports/tr39/#Mixed_Script_Detection),
 *   so "pаypal" with a Cyrillic "а" is refused.
 */

export const MAX_NAME_LENGTH = 64;

/** Which rule a name breaks: the message names it in words. */
export type NameRule = "length" | "characters" | "invisible" | "scripts";

export type NameCheck = { readonly ok: true; readonly name: string } | { readonly ok: false; readonly rule: NameRule; readonly message: string };

const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}]/u;
const ALLOWED = /^[\p{L}\p{M}\p{N} _.-]*$/u;
/** A name in these characters is one script (Latin) and needs no per-character look-up. */
const ASCII = /^[\x20-\x7e]*$/;

/** Normalizes `raw` and says whether it is a name, or which rule it breaks. */
export function checkName(raw: string): NameCheck {
  const name = normalizeName(raw);
  const length = [...name].length;
  if (length < 1 || length > MAX_NAME_LENGTH) return broken("length", `a name is 1 to ${MAX_NAME_LENGTH} characters after trimming (this one has ${length})`);
  if (INVISIBLE.test(name)) return broken("invisible", "a name may not contain invisible or format characters (zero-width spaces, direction overrides, fillers)");
  if (!ALLOWED.test(name)) return broken("characters", 'a name is letters, marks, digits, spaces, "_", "." and "-" only');
  if (!ASCII.test(name) && !singleScript(name)) return broken("scripts", "a name may not mix letters of different scripts (such as Latin and Cyrillic)");
  return { ok: true, name };
}

/** NFKC, trimmed, each inner run of spaces one space. */
export function normalizeName(raw: string): string {
  return raw.normalize("NFKC").trim().replace(/\p{Zs}+/gu, " ");
}

function broken(rule: NameRule, message: string): NameCheck {
  return { ok: false, rule, message };
}

/**
 * The scripts a Script_Extensions value may name (Unicode 15.1, which Node.js 22 supports), by their
 * short names, without Common (Zyyy), Inherited (Zinh) and Unknown (Zzzz).
 */
const SCRIPTS = (
  "Adlm Aghb Ahom Arab Armi Armn Avst Bali Bamu Bass Batk Beng Bhks Bopo Brah Brai Bugi Buhd Cakm Cans Cari Cham Cher Chrs Copt Cpmn " +
  "Cprt Cyrl Deva Diak Dogr Dsrt Dupl Egyp Elba Elym Ethi Geor Glag Gong Gonm Goth Gran Grek Gujr Guru Hang Hani Hano Hatr Hebr Hira " +
  "Hluw Hmng Hmnp Hung Ital Java Kali Kana Kawi Khar Khmr Khoj Kits Knda Kthi Lana Laoo Latn Lepc Limb Lina Linb Lisu Lyci Lydi Mahj " +
  "Maka Mand Mani Marc Medf Mend Merc Mero Mlym Modi Mong Mroo Mtei Mult Mymr Nagm Nand Narb Nbat Newa Nkoo Nshu Ogam Olck Orkh Orya " +
  "Osge Osma Ougr Palm Pauc Perm Phag Phli Phlp Phnx Plrd Prti Rjng Rohg Runr Samr Sarb Saur Sgnw Shaw Shrd Sidd Sind Sinh Sogd Sogo " +
  "Sora Soyo Sund Sylo Syrc Tagb Takr Tale Talu Taml Tang Tavt Telu Tfng Tglg Thaa Thai Tibt Tirh Tnsa Toto Ugar Vaii Vith Wara Wcho " +
  "Xpeo Xsux Yezi Yiii Zanb"
).split(" ");

/** Writing systems that mix scripts, as UTS #39 augments a character's scripts with them. */
const AUGMENTED: Readonly<Record<string, readonly string[]>> = {
  Hani: ["Jpan", "Kore", "Hanb"],
  Hira: ["Jpan"],
  Kana: ["Jpan"],
  Hang: ["Kore"],
  Bopo: ["Hanb"],
};

/** The scripts each augmented set stands for. */
const MEMBERS: Readonly<Record<string, readonly string[]>> = { Jpan: ["Hani", "Hira", "Kana"], Kore: ["Hang", "Hani"], Hanb: ["Hani", "Bopo"] };
const COMMON_OR_INHERITED = /^[\p{Script_Extensions=Common}\p{Script_Extensions=Inherited}]$/u;
const LATIN_LETTER = /^[A-Za-z]$/;

const scriptPatterns = new Map<string, RegExp>();
function hasScript(character: string, script: string): boolean {
  let pattern = scriptPatterns.get(script);
  if (!pattern) scriptPatterns.set(script, (pattern = new RegExp(`\\p{Script_Extensions=${script}}`, "u")));
  return pattern.test(character);
}

/** Whether the characters that belong to a script all share one (augmented) script. */
function singleScript(name: string): boolean {
  let shared: Set<string> | undefined;
  for (const character of new Set(name)) {
    // Common and Inherited characters (digits, punctuation, combining marks) fit any script.
    if (COMMON_OR_INHERITED.test(character)) continue;
    // Once a script is known only the scripts that could share it are looked up, not all ~160.
    const candidates = LATIN_LETTER.test(character) ? ["Latn"] : shared ? [...shared].flatMap((script) => MEMBERS[script] ?? [script]) : SCRIPTS;
    const scripts = candidates.filter((script) => hasScript(character, script));
    const augmented = new Set(scripts.flatMap((script) => [script, ...(AUGMENTED[script] ?? [])]));
    shared = shared ? new Set([...shared].filter((script) => augmented.has(script))) : augmented;
    if (shared.size === 0) return false;
  }
  return true;
}

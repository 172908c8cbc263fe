/**
 * The INI dialect wireproxy reads (go-ini with Insensitive, AllowShadows and AllowNonUniqueSections),
 * scanned into sections of keyed lines that remember where they came from, so every later error can
 * name the file and line.
 *
 * What is read as go-ini reads it: a UTF-8 byte-order mark is skipped; blank lines and lines that start
 * with '#' or ';' are comments; `[Name]` opens a section (names and keys are case-insensitive, and a
 * name may repeat: each occurrence is its own section); a key ends at the first '=' or ':'; a value
 * wrapped in double quotes or backquotes is taken literally, otherwise an inline '#' or ';' ends it;
 * keys before the first section belong to the unnamed root section.
 *
 * What is refused here, where go-ini would guess: a line that is neither a section, a comment nor
 * `Key = Value`, and an unterminated section header. (Multi-line values and line continuations, which
 * go-ini offers and wireproxy's configurations never use, are not read.)
 */

export interface IniEntry {
  /** As written, for messages. */
  key: string;
  /** Lower-case: keys are case-insensitive. */
  name: string;
  value: string;
  line: number;
}

export interface IniSection {
  /** As written ('' for the root section before any header). */
  title: string;
  /** Lower-case. */
  name: string;
  /** Line of the header (0 for the root section). */
  line: number;
  entries: IniEntry[];
}

/** A line the scanner cannot read; `line` is 1-based. */
export class IniSyntaxError extends Error {
  readonly line: number;
  readonly key: string;
  constructor(line: number, key: string, message: string) {
    super(message);
    this.name = 'IniSyntaxError';
    this.line = line;
    this.key = key;
  }
}

/** go-ini's KeyValueDelimiters default: the first of these ends the key. */
const KEY_DELIMITERS = /[=:]/;

/**
 * Scan `text` into sections, the root section first (possibly empty).
 * @throws IniSyntaxError naming the line for a line that is not a section, comment or key
 */
export function scanIni(text: string): IniSection[] {
  const root: IniSection = { title: '', name: '', line: 0, entries: [] };
  const sections: IniSection[] = [root];
  let current = root;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.trim();
    if (line === '' || line[0] === '#' || line[0] === ';') continue;
    if (line[0] === '[') {
      const close = line.indexOf(']');
      const rest = close < 0 ? '' : line.slice(close + 1).trim();
      if (close < 0 || (rest !== '' && rest[0] !== '#' && rest[0] !== ';')) {
        throw new IniSyntaxError(lineNo, line, "expected a section header like '[Socks5]'");
      }
      const title = line.slice(1, close).trim();
      if (title === '') throw new IniSyntaxError(lineNo, line, 'empty section name');
      current = { title, name: title.toLowerCase(), line: lineNo, entries: [] };
      sections.push(current);
      continue;
    }
    const m = KEY_DELIMITERS.exec(line);
    if (m === null) throw new IniSyntaxError(lineNo, line, "expected 'Key = Value'");
    const key = line.slice(0, m.index).trim();
    if (key === '') throw new IniSyntaxError(lineNo, '', `expected 'Key = Value', found no key before '${m[0]}'`);
    current.entries.push({ key, name: key.toLowerCase(), value: readValue(line.slice(m.index + 1).trim()), line: lineNo });
  }
  return sections;
}

/** A quoted value is literal (go-ini's hasSurroundedQuote and backquote rules); otherwise an inline comment ends it. */
function readValue(raw: string): string {
  const q = raw[0];
  if ((q === '"' || q === '`' || q === "'") && raw.length >= 2) {
    const close = raw.lastIndexOf(q);
    if (close > 0) {
      const after = raw.slice(close + 1).trim();
      if (after === '' || after[0] === '#' || after[0] === ';') return raw.slice(1, close);
    }
  }
  const hash = raw.search(/[#;]/);
  return (hash >= 0 ? raw.slice(0, hash) : raw).trim();
}

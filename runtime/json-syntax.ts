/**
 * Describes a JSON syntax error by line and column. V8 (Node 20) reports an
 * offset for some errors only, and for others an excerpt of the source, so
 * the offset is found here with a small RFC 8259 scanner.
 */

/** Returns V8's reason for a JSON syntax error, without the source excerpt, plus the line and column. */
export const describeSyntaxError = (text: string, error: unknown): string => {
  // V8 (Node 20) appends either "in JSON at position N" or an excerpt of the
  // source. The excerpt is file content, so it is dropped and the position is
  // located here instead, because V8 does not report it for every error.
  const reason = (error instanceof Error ? error.message : String(error))
    .replace(/,\s*".*" is not valid JSON$/s, '')
    .replace(/\s*in JSON at position \d+.*$/s, '')
    .replace(/^Unexpected end of JSON input$/, 'unexpected end of input');
  const offset = locateJsonError(text);
  if (offset === undefined) return `is not valid JSON: ${reason}`;

  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `is not valid JSON at line ${line}, column ${column}: ${reason}`;
};

class JsonStop {
  constructor(readonly offset: number | undefined) {}
}

/** Max nesting that the locator follows; deeper text gets no position. */
const MAX_LOCATE_DEPTH = 256;

/**
 * Returns the offset of the first character at which `text` stops being JSON
 * (RFC 8259), or undefined when it finds none or the nesting is too deep.
 */
export function locateJsonError(text: string): number | undefined {
  let i = 0;
  const stop = (): never => {
    throw new JsonStop(i);
  };
  const skipWhitespace = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i += 1;
  };
  const expectWord = (word: string): void => {
    for (const character of word) {
      if (text[i] !== character) stop();
      i += 1;
    }
  };
  const readString = (): void => {
    i += 1;
    for (;;) {
      const character = text[i];
      if (character === undefined || character < ' ') stop();
      i += 1;
      if (character === '"') return;
      if (character !== '\\') continue;

      const escape = text[i];
      if (escape === 'u') {
        i += 1;
        for (let digit = 0; digit < 4; digit += 1) {
          if (!/[0-9a-fA-F]/.test(text[i] ?? '')) stop();
          i += 1;
        }
      } else if (escape !== undefined && '"\\/bfnrt'.includes(escape)) {
        i += 1;
      } else {
        stop();
      }
    }
  };
  const isDigit = (character: string | undefined): boolean => character !== undefined && character >= '0' && character <= '9';
  const readDigits = (): void => {
    if (!isDigit(text[i])) stop();
    while (isDigit(text[i])) i += 1;
  };
  const readNumber = (): void => {
    if (text[i] === '-') i += 1;
    if (text[i] === '0') i += 1;
    else readDigits();
    if (text[i] === '.') {
      i += 1;
      readDigits();
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i += 1;
      if (text[i] === '+' || text[i] === '-') i += 1;
      readDigits();
    }
  };
  const readContainer = (close: string, readMember: () => void): void => {
    i += 1;
    skipWhitespace();
    if (text[i] === close) {
      i += 1;
      return;
    }
    for (;;) {
      readMember();
      skipWhitespace();
      if (text[i] === close) {
        i += 1;
        return;
      }
      if (text[i] !== ',') stop();
      i += 1;
    }
  };
  const readValue = (depth: number): void => {
    if (depth > MAX_LOCATE_DEPTH) throw new JsonStop(undefined);
    skipWhitespace();
    const character = text[i];
    if (character === '{') {
      return readContainer('}', () => {
        skipWhitespace();
        if (text[i] !== '"') stop();
        readString();
        skipWhitespace();
        if (text[i] !== ':') stop();
        i += 1;
        readValue(depth + 1);
      });
    }
    if (character === '[') return readContainer(']', () => readValue(depth + 1));
    if (character === '"') return readString();
    if (character === 't') return expectWord('true');
    if (character === 'f') return expectWord('false');
    if (character === 'n') return expectWord('null');
    if (character === '-' || isDigit(character)) return readNumber();
    stop();
  };

  try {
    readValue(0);
    skipWhitespace();
    if (i < text.length) stop();
    return undefined;
  } catch (error) {
    if (error instanceof JsonStop) return error.offset;
    throw error;
  }
}

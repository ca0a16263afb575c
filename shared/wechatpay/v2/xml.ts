import { XMLParser } from 'fast-xml-parser';
import { LONE_SURROGATE } from '../core/text-fields';

/** WeChat's messages are a few hundred bytes; anything near this cap is hostile. */
export const DEFAULT_MAX_XML_BYTES = 64 * 1024;

export class XmlError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'XmlError';
  }
}

// XML 1.0 forbids these code points anywhere in a document (C0 controls except tab, LF, CR;
// U+FFFE/U+FFFF; lone surrogates).
const FORBIDDEN_CHARS = new RegExp(
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  `${/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.source}|${LONE_SURROGATE.source}`,
);

const PREDEFINED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

function isXmlChar(codePoint: number): boolean {
  return (
    codePoint === 0x9 ||
    codePoint === 0xa ||
    codePoint === 0xd ||
    (codePoint >= 0x20 && codePoint <= 0xd7ff) ||
    (codePoint >= 0xe000 && codePoint <= 0xfffd) ||
    (codePoint >= 0x10000 && codePoint <= 0x10ffff)
  );
}

/**
 * Decodes only what XML itself defines: the five predefined entities and character references.
 * Anything else (an entity a DOCTYPE would declare) is an error, so no declaration can ever expand.
 */
export function decodeXmlText(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(
    /&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|[A-Za-z][A-Za-z0-9]{0,15})?(;)?/g,
    (_match, ref?: string, semi?: string) => {
      if (ref === undefined || semi === undefined) throw new XmlError('a bare "&" must be written &amp;');
      if (ref.startsWith('#')) {
        const codePoint = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
        if (!isXmlChar(codePoint)) throw new XmlError(`character reference &${ref}; is not an XML character`);
        return String.fromCodePoint(codePoint);
      }
      const value = PREDEFINED_ENTITIES[ref];
      if (value === undefined) throw new XmlError(`undeclared entity &${ref};`);
      return value;
    },
  );
}

/** fast-xml-parser's decoder hook: declared (DOCTYPE) entities are dropped, never registered. */
const strictEntityDecoder = {
  setExternalEntities(): void {},
  addInputEntities(): void {},
  reset(): void {},
  setXmlVersion(): void {},
  decode: decodeXmlText,
};

const parser = new XMLParser({
  ignoreAttributes: true,
  // Values stay strings: out_trade_no "000123" and 28-digit transaction_ids must survive byte for byte.
  parseTagValue: false,
  parseAttributeValue: false,
  // Entities are handled by strictEntityDecoder only; CDATA content is never decoded.
  processEntities: true,
  entityDecoder: strictEntityDecoder,
  htmlEntities: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: false,
  // The envelope is two levels deep; a small cap stops deep-nesting attacks before they cost anything.
  maxNestedTags: 4,
});

function escapeCdata(value: string): string {
  // A CDATA section cannot contain "]]>"; split it across two sections.
  return value.replaceAll(']]>', ']]]]><![CDATA[>');
}

function escapeText(value: string): string {
  return value.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;'));
}

const ELEMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `<xml><k><![CDATA[v]]></k>…</xml>` (`rootName`: a refund's req_info is `<root>`); undefined and
 * empty values are left out, as WeChat does.
 * Digits go bare (as WeChat writes total_fee); a value holding CR is escaped instead of put in CDATA,
 * because parsers turn a literal CR into LF and the value would not survive.
 */
export function toXml(params: Record<string, string | undefined>, rootName = 'xml'): string {
  if (!ELEMENT_NAME.test(rootName)) throw new XmlError(`invalid element name: ${rootName}`);
  let out = `<${rootName}>`;
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === '') continue;
    if (!ELEMENT_NAME.test(key)) throw new XmlError(`invalid element name: ${key}`);
    if (FORBIDDEN_CHARS.test(value)) throw new XmlError(`field ${key} holds a character XML cannot carry`);
    let content: string;
    if (/^[0-9]+$/.test(value)) content = value;
    else if (value.includes('\r')) content = escapeText(value);
    else content = `<![CDATA[${escapeCdata(value)}]]>`;
    out += `<${key}>${content}</${key}>`;
  }
  return `${out}</${rootName}>`;
}

/**
 * Parses WeChat's flat `<xml>` envelope (`<root>` inside a refund's req_info) into string fields.
 * Refuses DOCTYPE and entity declarations (no XXE, no billion laughs), characters XML forbids,
 * nested elements, mixed content, repeated fields and documents over `maxBytes`. Only XML's five
 * predefined entities and character references are decoded (outside CDATA).
 */
export function parseXml(body: string, maxBytes = DEFAULT_MAX_XML_BYTES, rootName = 'xml'): Record<string, string> {
  if (typeof body !== 'string') throw new XmlError('document must be a string');
  // Cheap length bound first: a UTF-8 byte is at least one UTF-16 unit.
  if (body.length > maxBytes || Buffer.byteLength(body, 'utf8') > maxBytes) {
    throw new XmlError(`document larger than ${maxBytes} bytes`);
  }
  // A byte order mark is allowed before the document; the parser does not expect one.
  if (body.startsWith('\uFEFF')) body = body.slice(1);
  if (/<!DOCTYPE|<!ENTITY/i.test(body)) throw new XmlError('DOCTYPE and entity declarations are not allowed');
  if (FORBIDDEN_CHARS.test(body)) throw new XmlError('document holds a character XML forbids');
  return readFlatXml(body, rootName) ?? parseXmlDocument(body, rootName);
}

/** XML's white space, which separates fields; JavaScript's \s holds more. */
const XML_SPACE = /[ \t\n\r]*/y;
/**
 * One field as WeChat writes it: `<name>` then one CDATA section (which cannot hold "]]>") or text
 * without markup, then `</name>`. Sticky, so the document is read in one pass from where the last
 * field ended.
 */
const FLAT_FIELD = /<([A-Za-z_][A-Za-z0-9_]*)>(?:<!\[CDATA\[((?:(?!\]\]>)[^\r])*)\]\]>|([^<>&\r]*))<\/\1>/y;

/**
 * The document read as WeChat writes it, without a general parser: the root element holding, apart
 * from white space, only fields in FLAT_FIELD's form, each once. Undefined for anything else (a
 * declaration, a comment, attributes, entities, CR, an empty root, a repeated field…): parseXml then
 * reads it with the general parser, which alone words a refusal. What this reads, the general parser
 * reads to the same fields (the tests compare them), about ten times slower.
 */
export function readFlatXml(body: string, rootName = 'xml'): Record<string, string> | undefined {
  let at = skipSpace(body, 0);
  const open = `<${rootName}>`;
  if (!body.startsWith(open, at)) return undefined;
  at = skipSpace(body, at + open.length);
  const fields: Record<string, string> = {};
  let count = 0;
  for (;;) {
    FLAT_FIELD.lastIndex = at;
    const field = FLAT_FIELD.exec(body);
    if (field === null) break;
    const name = field[1] as string;
    // A repeated field, or a name an object already answers to (__proto__, constructor…): the general
    // parser's to refuse.
    if (name in fields) return undefined;
    fields[name] = field[2] ?? (field[3] as string);
    count += 1;
    at = skipSpace(body, FLAT_FIELD.lastIndex);
  }
  const close = `</${rootName}>`;
  if (count === 0 || !body.startsWith(close, at)) return undefined;
  return skipSpace(body, at + close.length) === body.length ? fields : undefined;
}

function skipSpace(body: string, at: number): number {
  XML_SPACE.lastIndex = at;
  XML_SPACE.exec(body);
  return XML_SPACE.lastIndex;
}

/**
 * The general reading of a document parseXml has checked (size, declarations, characters), by
 * fast-xml-parser: comments, declarations, attributes, entities, mixed CDATA and text, and every
 * refusal.
 */
export function parseXmlDocument(body: string, rootName = 'xml'): Record<string, string> {
  let doc: unknown;
  try {
    doc = parser.parse(body, true);
  } catch (err) {
    if (err instanceof XmlError) throw err;
    throw new XmlError(`malformed XML: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (typeof doc !== 'object' || doc === null) throw new XmlError('not an XML document');
  const root = (doc as Record<string, unknown>)[rootName];
  if (Object.keys(doc).length !== 1 || root === undefined) throw new XmlError(`root element must be <${rootName}>`);
  if (typeof root === 'string') {
    if (root.trim() === '') return {};
    throw new XmlError(`<${rootName}> must hold fields, not text`);
  }
  if (typeof root !== 'object' || root === null || Array.isArray(root))
    throw new XmlError(`root element must be <${rootName}> once`);
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(root as Record<string, unknown>)) {
    if (key === '#text') {
      // Whitespace between fields (pretty-printed documents) is not content.
      if (typeof value === 'string' && value.trim() === '') continue;
      throw new XmlError(`<${rootName}> must not mix text with fields`);
    }
    if (Array.isArray(value)) throw new XmlError(`field ${key} is repeated`);
    if (typeof value !== 'string') throw new XmlError(`field ${key} must be a single text value`);
    fields[key] = value;
  }
  return fields;
}
